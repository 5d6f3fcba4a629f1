"""Where the tracker gets frame images and sizes from (flow trackers need frames)."""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from sleapish.errors import InvalidValueError


def frame_hw(lf, img=None) -> Optional[tuple]:
    """`(height, width)` of a frame: from its video, else from the image (or None)."""
    try:
        shape = getattr(getattr(lf, "video", None), "shape", None)
    except Exception:  # video file not found: size unknown
        shape = None
    if shape is not None and len(shape) >= 3:
        return tuple(int(s) for s in shape[1:3])
    if img is not None:
        s = np.shape(img)
        return tuple(s[-3:-1]) if len(s) >= 3 and s[-1] in (1, 3) else tuple(s[-2:])
    return None


class FrameImages:
    """Frames for flow tracking, read from the videos in chunks when not given.

    Args:
        frames: The `sleap_io.LabeledFrame`s being tracked, in order.
        images: None (read from `lf.video`), a callable `images(lf)`, or a
            sequence/array aligned with `frames`.
        chunk: Frames decoded per read.

    Calling the object with a position `i` returns frame `i` as an array.
    """

    def __init__(self, frames: list, images: Any, chunk: int = 32):
        self.frames, self.images, self.chunk = frames, images, chunk
        self._cache: Dict[int, np.ndarray] = {}

    def __call__(self, i: int) -> np.ndarray:
        if self.images is not None:
            if callable(self.images):
                return np.asarray(self.images(self.frames[i]))
            return np.asarray(self.images[i])
        if i not in self._cache:
            from sleapish.io.video import read_frames

            self._cache.clear()
            video = self.frames[i].video
            if video is None:
                raise InvalidValueError(f"Frame {self.frames[i].frame_idx} has no video to read "
                                        "for flow tracking. Received: video=None")
            idx = []
            for k in range(i, min(i + self.chunk, len(self.frames))):
                if self.frames[k].video is not video:
                    break
                idx.append(k)
            imgs = read_frames(video, [self.frames[k].frame_idx for k in idx])
            self._cache.update({k: im for k, im in zip(idx, imgs)})
        return self._cache[i]


__all__ = ["FrameImages", "frame_hw"]

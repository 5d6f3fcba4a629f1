"""Opening videos and reading frames the way SLEAP read them.

sleapish pins the OpenCV decoder (the wheel of `opencv-python-headless` bundles its
own FFmpeg, so frames are identical on every machine with the same wheel), as SLEAP
did. SLEAP read frames as OpenCV's BGR and, for a grayscale video, kept channel 0 of
that BGR frame (blue). sleap-io flips frames to RGB and keeps channel 0 of *that*
(red); :func:`read_frames` undoes the difference so pixels match SLEAP's.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

from sleapish.errors import InputNotFoundError, InvalidValueError, SleapishError

#: Decoder used for media files (mp4, avi, ...), pinned for reproducible frames.
VIDEO_PLUGIN = "opencv"


class VideoReadError(SleapishError, RuntimeError):
    """A video could not be opened or a frame could not be decoded."""


_LOCKS: dict = {}
_LOCKS_GUARD = threading.Lock()


def video_lock(video) -> threading.Lock:
    """One lock per video object, shared by every reader of that object.

    FFmpeg decoders are not thread-safe: two threads decoding through the same
    `sleap_io.Video` abort the process. Training reads one video from the training,
    validation and test pipelines at once, so every read of a video goes through
    its lock.
    """
    key = id(video)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.Lock()
            weakref.finalize(video, _LOCKS.pop, key, None)
        return lock


def ensure_open(video):
    """Open a `sleap_io.Video` whose backend is closed, as SLEAP opens videos on read.

    Videos from `Labels.extract(...)`, `sio.Video(filename, open_backend=False)` or
    a labels file loaded with closed backends have no backend yet. Media files are
    opened with the pinned decoder (:data:`VIDEO_PLUGIN`).

    Args:
        video: A `sleap_io.Video`.

    Returns:
        The same video, with an open backend.

    Raises:
        VideoReadError: If the file is missing or cannot be opened; the message names
            the file.
    """
    if getattr(video, "backend", None) is not None:
        return video
    filename = video.filename
    with video_lock(video):
        if video.backend is not None:
            return video
        if isinstance(filename, (list, tuple)):  # image sequence
            missing = [f for f in filename if not Path(f).exists()]
        else:
            missing = [] if Path(filename).exists() else [filename]
        if missing:
            raise VideoReadError(f"Video {filename} is not open and its file is missing. "
                                 f"Received: {missing[0]!r}")
        kwargs = {}
        if not isinstance(filename, (list, tuple)) and Path(filename).suffix.lower() not in (
                ".h5", ".hdf5", ".slp") and not Path(filename).is_dir():
            kwargs["plugin"] = VIDEO_PLUGIN
        try:
            video.open(**kwargs)
        except Exception as e:
            raise VideoReadError(f"Could not open {filename} as a video "
                                 f"({type(e).__name__}: {e}). Received: {filename!r}"
                                 ) from None
        if video.backend is None:
            raise VideoReadError(f"Could not open {filename} as a video. "
                                 f"Received: {filename!r}")
    return video


def video_shape(video):
    """`video.shape` read under the video's lock (sleap-io may decode a frame for it).

    A closed video is opened first (:func:`ensure_open`) when its file exists.

    Returns:
        `(n_frames, height, width, channels)` or `None` if unknown.
    """
    if getattr(video, "backend", None) is None:
        try:
            ensure_open(video)
        except VideoReadError:
            pass
    with video_lock(video):
        return video.shape


def path_basename(path: str) -> str:
    """File name of a stored path, splitting on both `/` and `\\` (Windows paths)."""
    return re.split(r"[\\/]", str(path))[-1]


def load_video(filename: Union[str, os.PathLike], grayscale: Optional[bool] = None,
               **kwargs):
    """Open a video file (media, image folder or HDF5) with the pinned decoder.

    Args:
        filename: Path of the video.
        grayscale: Force 1-channel (`True`) or 3-channel (`False`) frames; detect
            from the first frame when `None`.
        **kwargs: Passed to `sleap_io.load_video` (e.g. `dataset` for HDF5).

    Returns:
        A `sleap_io.Video`.

    Raises:
        FileNotFoundError: If the file does not exist.
        VideoReadError: If the file exists but cannot be opened as a video.
    """
    import sleap_io as sio

    path = Path(filename)
    if not path.exists():
        raise InputNotFoundError(f"Video file not found. Received: {str(filename)!r}")
    if path.suffix.lower() not in (".h5", ".hdf5", ".slp") and not path.is_dir():
        kwargs.setdefault("plugin", VIDEO_PLUGIN)
    try:
        video = sio.load_video(str(path), grayscale=grayscale, **kwargs)
        if video.shape is None or len(video) == 0:
            raise InvalidValueError("no frames")
    except Exception as e:  # sleap-io raises many types for undecodable files
        raise VideoReadError(
            f"Could not open {path} as a video ({type(e).__name__}: {e}). "
            f"Received: {str(filename)!r}") from None
    return video


def _is_bgr_media(video) -> bool:
    backend = getattr(video, "backend", None)
    return type(backend).__name__ == "MediaVideo" and getattr(
        backend, "plugin", None) == "opencv"


def read_frames(video, frame_inds: Sequence[int]) -> np.ndarray:
    """Read frames as SLEAP did.

    Args:
        video: An open `sleap_io.Video`.
        frame_inds: Frame indices to read.

    Returns:
        `uint8` array of shape `(len(frame_inds), height, width, channels)`; for a
        grayscale video decoded from 3 channels, the single channel is the blue one
        (channel 0 of OpenCV's BGR frame), as in SLEAP.

    A closed video (e.g. from `Labels.extract`) is opened first, as SLEAP does.

    Raises:
        VideoReadError: If the video cannot be opened or a frame does not decode;
            the message names the video file and the frame index.
    """
    inds: List[int] = [int(i) for i in frame_inds]
    ensure_open(video)
    lock = video_lock(video)
    with lock:  # len() and shape may decode a frame too
        n = len(video)
    bad = [i for i in inds if not 0 <= i < n]
    if bad:
        raise VideoReadError(
            f"Frame index out of range for {video.filename} ({n} frames). "
            f"Received: {bad[:5]}")
    frames = []
    for i in inds:
        try:
            with lock:
                if _is_bgr_media(video) and video.backend.grayscale:
                    img = video.backend._read_frame(i)  # RGB, 3 channels
                    img = img[..., 2:3] if img.ndim == 3 and img.shape[-1] == 3 else img
                else:
                    img = video.backend.get_frame(i)
        except Exception as e:
            raise VideoReadError(
                f"Frame {i} of {video.filename} could not be decoded "
                f"({type(e).__name__}: {e}). Received: frame_idx={i}") from None
        if img is None:
            raise VideoReadError(
                f"Frame {i} of {video.filename} could not be decoded. "
                f"Received: frame_idx={i}")
        if img.ndim == 2:
            img = img[..., None]
        frames.append(np.asarray(img, dtype=np.uint8))
    if not frames:
        with lock:
            h, w, c = video.shape[1:]
        return np.zeros((0, h, w, c), dtype=np.uint8)
    return np.stack(frames, axis=0)

"""Running a tracker over labeled frames: `run_tracker` (SLEAP's) and `retrack`."""

from __future__ import annotations

from typing import Any, Dict, List

import sleap_io as sio

from sleapish.nn.tracking.frames import FrameImages, frame_hw


def run_tracker(frames: List, tracker) -> list:
    """Track frames in the given order into new frames (SLEAP's `run_tracker`).

    The instances' tracks are cleared first; each returned `sleap_io.LabeledFrame`
    holds the frame's tracked instances. As in SLEAP, `final_pass` is not run (call
    `tracker.final_pass(frames)` after). Frames are read from their videos only when
    the tracker needs images (SLEAP read every frame to get its size).

    Args:
        frames: `sleap_io.LabeledFrame`s in time order.
        tracker: A `Tracker` or `KalmanTracker`.

    Returns:
        New `LabeledFrame`s (same video and frame index), or `frames` unchanged if
        the tracker is not valid (tracker "none").
    """
    if not tracker.is_valid:
        return frames
    images = FrameImages(list(frames), None) if tracker.uses_image else None
    out = []
    for i, lf in enumerate(frames):
        for inst in lf.instances:
            inst.track = None
        img = images(i) if images is not None else None
        tracked = tracker.track(list(lf.instances), img_hw=frame_hw(lf, img), img=img,
                                t=lf.frame_idx)
        out.append(sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx,
                                    instances=list(tracked)))
    return out


def _ordered_tracks(tracker, frames: list) -> list:
    """Tracks used in `frames`, in SLEAP's `Labels` order (spawn frame, then name)."""
    seen: Dict[int, Any] = {}
    for lf in frames:
        for inst in lf.instances:
            if inst.track is not None:
                seen.setdefault(id(inst.track), inst.track)
    tracks = getattr(tracker, "tracks", None) or []
    if {id(t) for t in tracks} == set(seen):  # the tracker's own (SLEAP) order
        return list(tracks)
    spawned_on = getattr(tracker, "spawned_on", {})
    return sorted(seen.values(), key=lambda tr: (spawned_on.get(id(tr), 0), tr.name))


def retrack(labels, tracker, video=None, images: Any = None,
            progress: bool = False):
    """Track the predictions of a labels file again (SLEAP's retracking).

    Existing tracks are cleared, frames are tracked in frame order, and new labels
    are returned with the used tracks in SLEAP's order (spawn frame, then name). The
    input is modified in place (its instances get the new tracks). Each video is
    tracked in turn by the same tracker.

    Args:
        labels: `sleap_io.Labels` with predicted instances.
        tracker: A `Tracker` (e.g. from `Tracker.make_tracker_by_name`).
        video: Track only this video's frames (default: every video in turn).
        images: See `Tracker.track_frames` (None reads frames from the videos).
        progress: Show a progress bar.

    Returns:
        `sleap_io.Labels` with the tracked frames.
    """
    videos = [video] if video is not None else list(labels.videos)
    out_frames = []
    for v in videos:
        frames = sorted((lf for lf in labels.labeled_frames if lf.video is v),
                        key=lambda lf: lf.frame_idx)
        out_frames.extend(tracker.track_frames(frames, images=images, progress=progress))
    return sio.Labels(labeled_frames=out_frames, videos=videos,
                      skeletons=list(labels.skeletons),
                      tracks=_ordered_tracks(tracker, out_frames),
                      provenance=dict(labels.provenance))


__all__ = ["retrack", "run_tracker"]

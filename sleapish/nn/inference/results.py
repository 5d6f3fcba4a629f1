"""Turning inference outputs into sleap-io objects, and progress reporting."""

from __future__ import annotations

import json
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from sleapish.errors import InvalidValueError


def instances_from_arrays(points: np.ndarray, point_scores: np.ndarray,
                          instance_scores: np.ndarray, skeleton,
                          tracks: Optional[Sequence] = None) -> list:
    """`PredictedInstance`s from one frame's arrays (all-NaN instances are skipped).

    Args:
        points: float `(n_instances, n_nodes, 2)` in image pixels (NaN missing).
        point_scores: float `(n_instances, n_nodes)`.
        instance_scores: float `(n_instances,)`.
        skeleton: `sleap_io.Skeleton`.
        tracks: Optional track per instance (multi-class models), `None` entries ok.

    Returns:
        List of `sleap_io.PredictedInstance`.
    """
    import sleap_io as sio

    out = []
    for i in range(len(points)):
        pts = np.asarray(points[i], np.float64)
        if np.isnan(pts).all():
            continue
        scores = np.nan_to_num(np.asarray(point_scores[i], np.float64), nan=0.0)
        score = float(instance_scores[i]) if np.isfinite(instance_scores[i]) else 0.0
        track = tracks[i] if tracks is not None else None
        # SLEAP stores a tracking score of 0.0 on untracked predictions.
        out.append(sio.PredictedInstance.from_numpy(pts, skeleton, point_scores=scores,
                                                    score=score, track=track,
                                                    tracking_score=0.0))
    return out


class ProgressReporter:
    """Progress of a prediction run: a tqdm bar ("rich"), JSON lines ("json") or
    nothing ("none").

    Args:
        total: Number of frames expected (or None).
        verbosity: "rich", "json" or "none".
        report_period: Seconds between JSON reports.
        stream: Where JSON lines go (stdout by default).
    """

    def __init__(self, total: Optional[int], verbosity: str = "rich",
                 report_period: float = 2.0, stream=None):
        if verbosity not in ("rich", "json", "none"):
            raise InvalidValueError("verbosity must be 'rich', 'json' or 'none'. "
                                    f"Received: {verbosity!r}")
        self.total, self.verbosity, self.report_period = total, verbosity, report_period
        self.stream = stream or sys.stdout
        self.done = 0
        self.t0 = time.perf_counter()
        self._last = self.t0
        self._bar = None
        if verbosity == "rich":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="frame", desc="Predicting", leave=True)

    def update(self, n: int) -> None:
        """Record `n` more frames done."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.verbosity == "json":
            now = time.perf_counter()
            if now - self._last >= self.report_period:
                self._last = now
                self._emit("running")

    def _emit(self, status: str) -> None:
        elapsed = time.perf_counter() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = ((self.total - self.done) / rate) if (self.total and rate) else None
        self.stream.write(json.dumps({
            "status": status, "n_processed": self.done, "n_total": self.total,
            "elapsed": round(elapsed, 3), "rate": round(rate, 3),
            "eta": None if eta is None else round(eta, 3)}) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Finish the bar or write the final JSON line."""
        if self._bar is not None:
            self._bar.close()
        elif self.verbosity == "json":
            self._emit("done")


def frame_groups(video_inds: np.ndarray, frame_inds: np.ndarray) -> List[tuple]:
    """`(video_ind, frame_ind)` pairs of a batch, as Python ints."""
    return [(int(v), int(f)) for v, f in zip(video_inds, frame_inds)]
def drop_outside_points(out: Dict[str, np.ndarray], image_hw) -> int:
    """Make points outside the image invisible, in place.

    Integral refinement on weak, noisy maps can move a peak far off the image (seen at
    (-77, -211) on a 1024 x 1024 frame). Points outside the image's extent, `[-0.5,
    width - 0.5] x [-0.5, height - 0.5]` (pixel centres at integers), get NaN
    coordinates and values.

    Args:
        out: Numpy outputs with "instance_peaks" float `(n, instances, nodes, 2)` and
            "instance_peak_vals" `(n, instances, nodes)`.
        image_hw: `(height, width)` of the frames.

    Returns:
        The number of points dropped.
    """
    pts = out.get("instance_peaks")
    if pts is None or not np.size(pts):
        return 0
    h, w = float(image_hw[0]), float(image_hw[1])
    with np.errstate(invalid="ignore"):
        outside = ((pts[..., 0] < -0.5) | (pts[..., 0] > w - 0.5)
                   | (pts[..., 1] < -0.5) | (pts[..., 1] > h - 0.5))
    n = int(outside.sum())
    if n:
        pts = np.array(pts, copy=True)
        pts[outside] = np.nan
        out["instance_peaks"] = pts
        if "instance_peak_vals" in out:
            vals = np.array(out["instance_peak_vals"], dtype=np.float32, copy=True)
            vals[outside] = np.nan
            out["instance_peak_vals"] = vals
    return n



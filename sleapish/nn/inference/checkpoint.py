"""Resumable prediction: a side file that survives `kill -9` (`sleapish-track --resume`).

While a video is predicted, :class:`PredictionCheckpoint` writes `<output>.resume` every
`every_frames` frames or `every_seconds` seconds (whichever comes first), atomically:
the instances of the frames done so far, the tracker (its tracks, candidates and, for
flow trackers, the last images) and how far into the frame list it got, under the job
key of the models and options. A rerun with `--resume` loads it, restores the tracker and
predicts only the rest; the final `.slp` is written when the video is done, and the side
file removed. Resuming with other models or options is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from pathlib import Path
from typing import Any, List, Tuple

from sleapish.errors import SleapishError
from sleapish.io.files import atomic_output

FAULT_ENV = "SLEAPISH_FAULT_KILL_AFTER_FRAMES"  # fault injection for the tests
_VERSION = 1


class CheckpointError(SleapishError, ValueError):
    """A checkpoint that does not belong to this job or cannot be read."""


_KEY_OPTIONS = ("peak_threshold", "batch_size", "max_instances", "refinement",
                "max_edge_length_ratio", "dist_penalty_weight", "no_empty_frames",
                "keep_outside_points")


def job_key(args) -> str:
    """Hash of what determines an output: model folders and prediction/tracking
    options (not the inputs, outputs or cluster settings)."""
    opts = {k: getattr(args, k, None) for k in _KEY_OPTIONS}
    opts.update({k: v for k, v in vars(args).items() if k.startswith("tracking.")})
    blob = json.dumps({"models": [os.path.abspath(m) for m in args.models or []],
                       "options": opts}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()


def checkpoint_path(output) -> Path:
    """The side file of an output: `<output>.resume`."""
    output = Path(output)
    return output.with_name(output.name + ".resume")


class PredictionCheckpoint:
    """Periodic, atomic snapshots of a prediction in progress.

    Attributes:
        path: The side file.
        key: Job key (models and options) the snapshot must match.
        every_frames: Save after at least this many new frames.
        every_seconds: ... or after this many seconds.
    """

    def __init__(self, path, key: str, every_frames: int = 200,
                 every_seconds: float = 60.0):
        self.path = Path(path)
        self.key = key
        self.every_frames = int(every_frames)
        self.every_seconds = float(every_seconds)
        self._last_n = 0
        self._last_t = time.monotonic()

    def exists(self) -> bool:
        """Whether a snapshot is on disk."""
        return self.path.is_file()

    def load(self) -> Tuple[List[Tuple[int, list]], Any, int]:
        """`(frames, tracker, n_consumed)`: `(frame_idx, instances)` of the frames
        done, the tracker (or None) and how many of the frame list were consumed.

        Raises:
            CheckpointError: If the file is unreadable or from another job.
        """
        try:
            with open(self.path, "rb") as f:
                data = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as e:
            raise CheckpointError(f"Checkpoint {self.path} cannot be read ({e}): delete "
                                  "it or pass --overwrite to start over.") from None
        if data.get("version") != _VERSION or data.get("key") != self.key:
            raise CheckpointError(
                f"Checkpoint {self.path} was made with other models or options: pass "
                "--overwrite to start over, or resume with the original command.")
        self._last_n = len(data["frames"])
        return data["frames"], data["tracker"], int(data["n_consumed"])

    def maybe_save(self, frames: list, tracker, n_consumed: int) -> bool:
        """Save if enough frames or time passed since the last save; returns whether
        it saved."""
        due = (len(frames) - self._last_n >= self.every_frames
               or time.monotonic() - self._last_t >= self.every_seconds)
        if not due:
            return False
        self.save(frames, tracker, n_consumed)
        return True

    def save(self, frames: list, tracker, n_consumed: int) -> None:
        """Write a snapshot of `frames` (`LabeledFrame`s) and `tracker` atomically."""
        data = {"version": _VERSION, "key": self.key, "n_consumed": int(n_consumed),
                "frames": [(int(lf.frame_idx), list(lf.instances)) for lf in frames],
                "tracker": tracker}
        with atomic_output(self.path) as tmp:
            with open(tmp, "wb") as f:
                pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
        self._last_n = len(frames)
        self._last_t = time.monotonic()
        limit = os.environ.get(FAULT_ENV)
        if limit and len(frames) >= int(limit):
            os.kill(os.getpid(), 9)  # fault injection: die right after a snapshot

    def remove(self) -> None:
        """Delete the side file (after the final output is written)."""
        self.path.unlink(missing_ok=True)


def restore_frames(frames: List[Tuple[int, list]], video) -> list:
    """`LabeledFrame`s of a snapshot's `(frame_idx, instances)` on `video`."""
    import sleap_io as sio

    return [sio.LabeledFrame(video=video, frame_idx=f, instances=list(insts))
            for f, insts in frames]


__all__ = ["PredictionCheckpoint", "CheckpointError", "checkpoint_path", "job_key",
           "restore_frames"]

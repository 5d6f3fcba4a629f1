"""SLEAP 1.4.1's own tracking expectations on `centered_pair_predictions.slp`."""

from __future__ import annotations

import time

import sleapish
from sleapish.nn.tracking import make_tracker_by_name, retrack


def _untracked(shared_data):
    labels = sleapish.load_file(shared_data / "labels" / "centered_pair_predictions.slp",
                                search_paths=[shared_data / "videos"])
    for lf in labels:
        for inst in lf.instances:
            inst.track = None
    labels.tracks = []
    assert len(labels) == 1100
    return labels


def test_simple_tracker_defaults_gives_27_tracks(shared_data):
    labels = _untracked(shared_data)
    t0 = time.perf_counter()
    out = retrack(labels, make_tracker_by_name("simple"))
    elapsed = time.perf_counter() - t0
    assert len(out.tracks) == 27
    assert [t.name for t in out.tracks] == [f"track_{k}" for k in range(27)]
    print(f"simple tracker: {1100 / elapsed:.0f} frames/s")


def test_simplemaxtracks_caps_at_2_tracks(shared_data):
    labels = _untracked(shared_data)
    out = retrack(labels, make_tracker_by_name("simplemaxtracks", max_tracking=True,
                                               max_tracks=2))
    assert len(out.tracks) == 2

"""SLEAP 1.4.1's own tracking expectations on `centered_pair_predictions.slp`."""

from __future__ import annotations

import time

import pytest

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


@pytest.mark.slow
def test_flow_tracks_equal_sleap_141_on_bottomup_predictions(shared_data):
    """SLEAP 1.4.1's own `sleap-track --tracking.tracker flow` on bottom-up predictions
    of centered_pair_low_quality.mp4 frames 0-499 (numpy 1.26.4, AVX-512 machine):
    38 tracks; every one of the 759 instances gets the same track here. Tie order
    matters (many similarities are exactly 0.0): with numpy 1.22's scalar order on
    this input 189 instances would differ from frame 181 on. See
    tests/data/make_flow_tracks_reference.py."""
    from pathlib import Path

    import numpy as np
    import sleap_io as sio

    from sleapish.nn.tracking import Tracker, sorting

    ref = np.load(Path(__file__).resolve().parents[2] / "data" /
                  "sleap141_flow_tracks_centered_pair_0-499.npz")
    video = sleapish.load_video(shared_data / "videos" / "centered_pair_low_quality.mp4")
    skel = sio.Skeleton(["A", "B"])
    frames = [sio.LabeledFrame(video=video, frame_idx=f, instances=[]) for f in range(500)]
    insts = []
    for f, pts, pscores, score in zip(ref["frame_idx"], ref["points"],
                                      ref["point_scores"], ref["scores"]):
        inst = sio.PredictedInstance.from_numpy(pts.astype(np.float64), skel,
                                                point_scores=pscores, score=float(score))
        frames[f].instances.append(inst)
        insts.append(inst)
    images = sleapish.read_frames(video, range(500))
    tracker = Tracker.make_tracker_by_name(tracker="flow")
    tracker.track_frames(frames, images=list(images))
    got = [i.track.name for i in insts]
    assert len(set(got)) == 38
    if sorting.simd_argsort_available():  # the reference machine's numpy sort path
        expected = [str(ref["track_names"][t]) for t in ref["track"]]
        assert sum(a != b for a, b in zip(got, expected)) == 0
        np.testing.assert_allclose([i.tracking_score for i in insts],
                                   ref["tracking_score"], atol=1e-4)

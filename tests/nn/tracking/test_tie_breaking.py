"""Ties between equal similarities are broken as SLEAP 1.4.1 breaks them.

SLEAP's greedy matcher visits edges in `np.argsort(cost, axis=None)` order. On numpy
1.26 (what `pip install sleap==1.4.1` runs on) that is an AVX-512 sorting network on
AVX-512 machines and, elsewhere, numpy's scalar introsort: insertion sort (stable) for
at most 16 entries; for more, a median-of-3 quicksort whose order of equal entries
can be worked out by hand. `sleap_argsort` takes the same two paths. The tracker-level
expectations below are for the scalar path (forced by the `scalar_sort` fixture), as
derived from that algorithm and checked against numpy 1.24.4's `np.argsort` (the same
scalar code); the AVX-512 path is numpy's own argsort, checked against SLEAP 1.4.1 end
to end in `test_tracking_shared.py`.

Rows are the frame's instances in input order. Columns are the candidate tracks in
order of first appearance among the candidates. Cost is -similarity, and
`instance_similarity` is exactly 0.0 for instances more than ~28 px apart.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import sleap_io as sio

from sleapish.nn.tracking import (
    Tracker,
    greedy_matching,
    hungarian_matching,
    legacy_argsort,
    nms_fast,
    retrack,
    sleap_argsort,
    sorting,
)

SKEL = sio.Skeleton(["a", "b", "c"])
VIDEO = sio.Video(filename="fake.mp4")
FAR = 1e3  # farther than this from everything: similarity exactly 0.0


def _inst(x, y, score=1.0):
    pts = np.array([[x, y], [x + 1.0, y], [x, y + 1.0]], np.float64)
    return sio.PredictedInstance.from_numpy(pts, skeleton=SKEL, point_scores=np.ones(3),
                                            score=score)


def _texture(h=128, w=128, seed=3):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (h // 4, w // 4)).astype(np.float32)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(img, (5, 5), 1.5).clip(0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def scalar_sort(monkeypatch):
    """Take numpy 1.26's scalar (non-AVX-512) sort path, whatever this CPU has."""
    monkeypatch.setattr(sorting, "simd_argsort_available", lambda: False)


def test_sleap_argsort_takes_numpys_simd_path_on_avx512(monkeypatch):
    a = -np.zeros((5, 4))
    assert sleap_argsort(a).tolist() == legacy_argsort(a).tolist()  # scalar path
    monkeypatch.setattr(sorting, "simd_argsort_available", lambda: True)
    assert sleap_argsort(a).tolist() == np.argsort(a, axis=None).tolist()
    b = np.array([[3.0, 1.0], [2.0, 0.0]])  # no ties: every path agrees
    assert sleap_argsort(b).tolist() == [3, 1, 2, 0]


# ------------------------------------------------------------------ the sort order
def test_legacy_argsort_small_inputs_are_stable():
    assert legacy_argsort([0.0, -1.0, 0.0, -1.0]).tolist() == [1, 3, 0, 2]
    assert legacy_argsort([[np.nan, 0.0], [np.nan, 0.0]]).tolist() == [1, 3, 0, 2]
    assert legacy_argsort(-np.zeros(16)).tolist() == list(range(16))


def test_legacy_argsort_large_inputs_follow_numpy_1_22_introsort():
    # 20 equal entries: one partition around element 9 swaps pairs (1, 17), (2, 16),
    # ... (8, 10), then both halves (<= 16 each) are insertion-sorted (no moves).
    assert legacy_argsort(np.zeros(20)).tolist() == [0, 17, 16, 15, 14, 13, 12, 11, 10,
                                                     9, 8, 7, 6, 5, 4, 3, 2, 1, 18, 19]
    a = np.array([(i * 7) % 3 for i in range(24)], float) * -0.5
    a[[5, 11]] = np.nan
    assert legacy_argsort(a).tolist() == [23, 2, 20, 8, 17, 14, 1, 4, 19, 7, 10, 22, 13,
                                          16, 21, 18, 0, 12, 9, 6, 3, 15, 5, 11]
    ints = np.array([3, 1, 2, 1] * 4 + [3, 1])
    assert legacy_argsort(ints).tolist() == [17, 1, 3, 15, 5, 7, 9, 11, 13, 2, 6, 14, 10,
                                             0, 16, 4, 12, 8]


def test_legacy_argsort_heapsort_fallback_sorts():
    # a median-of-3 killer sequence drives the depth limit below 0 (heapsort)
    n, k = 256, 128
    a = np.zeros(n)
    for i in range(k):
        a[i] = i + 1 if i % 2 == 0 else k + i
        a[k + i] = 2 * (i + 1)
    order = legacy_argsort(a)
    assert np.all(np.diff(a[order]) >= 0) and sorted(order.tolist()) == list(range(n))


# ---------------------------------------------------------------- the matchers
def test_greedy_equal_costs_small_matrix_row_major():
    # <= 16 entries: stable, so of equal costs the first in row-major order wins
    assert greedy_matching(np.array([[0.0, 0.0], [-1.0, -1.0]])) == [(1, 0), (0, 1)]
    assert greedy_matching(np.array([[0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]])) == [
        (1, 0), (0, 1)]
    assert greedy_matching(np.array([[0.0, 0.0, 0.0], [0.0, -1.0, -1.0]])) == [
        (1, 1), (0, 0)]


def test_greedy_equal_costs_large_matrix():
    # 5 x 4 all equal: flat order 0, 17, 16, 15, ... -> (0,0), (4,1), (3,3), (2,2)
    assert greedy_matching(-np.zeros((5, 4))) == [(0, 0), (4, 1), (3, 3), (2, 2)]


def test_hungarian_equal_costs_are_scipys():
    # scipy's shortest augmenting path; a constant matrix gives the identity
    assert hungarian_matching(np.array([[0.0, 0.0], [-1.0, -1.0]])) == [(0, 0), (1, 1)]
    assert hungarian_matching(-np.zeros((5, 4))) == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_nms_equal_scores_visit_order():
    # 18 equal scores: argsort order [0, 15, 14, ..., 1, 16, 17]; NMS takes the last
    # (17) first. Boxes 16 and 17 overlap completely, so 16 is suppressed.
    boxes = np.array([[10.0 * i, 0.0, 10.0 * i + 5, 5.0] for i in range(18)])
    boxes[16] = boxes[17]
    picks = nms_fast(boxes, np.ones(18), iou_threshold=0.5)
    assert picks[0] == 17 and 16 not in picks
    assert picks[1:] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]


# ---------------------------------------------------------------- the trackers
def _duplicate_then_split():
    """Frame 0: two identical instances (track_0, track_1). Frame 1: X far from
    both (similarity 0.0 to each track), Y where they were (1.0 to each)."""
    f0 = sio.LabeledFrame(video=VIDEO, frame_idx=0, instances=[_inst(40, 40),
                                                               _inst(40, 40)])
    x, y = _inst(100, 100), _inst(40, 40)
    f1 = sio.LabeledFrame(video=VIDEO, frame_idx=1, instances=[x, y])
    return [f0, f1], x, y


@pytest.mark.parametrize("kwargs", [
    dict(tracker="simple"),
    dict(tracker="flow"),
    dict(tracker="simplemaxtracks", max_tracks=2, max_tracking=True),
    dict(tracker="flowmaxtracks", max_tracks=2, max_tracking=True),
    dict(tracker="simplemaxtracks", max_tracks=0),
])
def test_greedy_tie_between_two_tracks(kwargs):
    # cost rows [X, Y] = [[-0, -0], [-1, -1]]: the edges (Y, track_0) and
    # (Y, track_1) tie; SLEAP takes (Y, track_0) first, so X gets track_1 at 0.0
    frames, x, y = _duplicate_then_split()
    tracker = Tracker.make_tracker_by_name(**kwargs)
    img = _texture()
    tracker.track_frames(frames, images=[img, img])
    assert (y.track.name, x.track.name) == ("track_0", "track_1")
    assert y.tracking_score == pytest.approx(1.0, abs=1e-3) and x.tracking_score == 0.0
    assert [i.track.name for i in frames[1].instances] == ["track_0", "track_1"]


def test_hungarian_tie_between_two_tracks():
    frames, x, y = _duplicate_then_split()
    tracker = Tracker.make_tracker_by_name("simple", match="hungarian")
    tracker.track_frames(frames)
    assert (x.track.name, y.track.name) == ("track_0", "track_1")  # scipy: rows in order


@pytest.mark.parametrize("tracker", ["simple", "flow"])
def test_greedy_tie_among_twenty_zero_similarities(tracker):
    # 4 tracks, then 5 instances far from all of them and from each other: every
    # cost is -0.0; greedy gives (0, track_0), (4, track_1), (3, track_3),
    # (2, track_2); instance 1 spawns track_4 (tracking score 0.0)
    starts = [(10, 10), (10, 60), (60, 10), (60, 60)]
    f0 = sio.LabeledFrame(video=VIDEO, frame_idx=0, instances=[_inst(*c) for c in starts])
    new = [_inst(35, 35), _inst(35, 100), _inst(100, 35), _inst(100, 100),
           _inst(115, 115)]
    f1 = sio.LabeledFrame(video=VIDEO, frame_idx=1, instances=list(new))
    img = _texture()
    t = Tracker.make_tracker_by_name(tracker)
    t.track_frames([f0, f1], images=[img, img])
    assert [i.track.name for i in new] == ["track_0", "track_4", "track_2", "track_3",
                                           "track_1"]
    assert [i.tracking_score for i in new] == [0.0] * 5
    # output order: matches in greedy order, then the spawned instance
    assert [i.track.name for i in f1.instances] == ["track_0", "track_1", "track_3",
                                                    "track_2", "track_4"]


# -------------------------------------------------- spawned tracks, order, time step
def test_spawned_instances_get_tracking_score_zero(tmp_path):
    frames = [sio.LabeledFrame(video=VIDEO, frame_idx=0, instances=[_inst(10, 10),
                                                                    _inst(60, 60)])]
    assert frames[0].instances[0].tracking_score is None  # as sleap-io builds it
    labels = retrack(sio.Labels(labeled_frames=frames),
                     Tracker.make_tracker_by_name("simple"))
    assert [i.tracking_score for i in labels[0].instances] == [0.0, 0.0]
    path = tmp_path / "tracked.slp"
    sio.save_slp(labels, str(path))
    back = sio.load_slp(str(path))
    assert [float(i.tracking_score) for i in back[0].instances] == [0.0, 0.0]


def test_existing_tracking_score_of_spawned_instance_is_kept():
    inst = _inst(10, 10)
    inst.tracking_score = 0.25  # e.g. from an earlier tracking run, as SLEAP keeps it
    Tracker.make_tracker_by_name("simple").track([inst], t=0)
    assert inst.track.name == "track_0" and inst.tracking_score == 0.25


def test_tracks_listed_by_spawn_frame_then_name():
    # SLEAP's Labels sort tracks by (spawned_on, name): names compare as strings
    f0 = sio.LabeledFrame(video=VIDEO, frame_idx=0,
                          instances=[_inst(40.0 * i, 0) for i in range(9)])
    f1 = sio.LabeledFrame(video=VIDEO, frame_idx=1,
                          instances=[_inst(40.0 * i, 0) for i in range(9)]
                          + [_inst(0, 300), _inst(300, 300)])
    tracker = Tracker.make_tracker_by_name("simple", match="hungarian")
    out = retrack(sio.Labels(labeled_frames=[f0, f1]), tracker)
    names = [t.name for t in out.tracks]
    assert names == [f"track_{k}" for k in range(9)] + ["track_10", "track_9"]
    assert [t.name for t in tracker.tracks] == names


def test_time_step_inferred_as_sleap():
    tracker = Tracker.make_tracker_by_name("simple", track_window=3)
    tracker.save_tracked_instances = True
    tracker.track([_inst(10, 10)], t=10)
    tracker.track([_inst(10, 10)])
    assert sorted(tracker.tracked_instances) == [10, 11]
    tracker.reset_candidates()  # SLEAP counts from 0 again without history
    tracker.track([_inst(10, 10)])
    assert sorted(tracker.tracked_instances) == [0, 10, 11]
    # per-track history: the last step of the track with the longest history, + 1
    mt = Tracker.make_tracker_by_name("simplemaxtracks", max_tracks=2, max_tracking=True,
                                      track_window=2)
    mt.save_tracked_instances = True
    mt.track([_inst(10, 10), _inst(60, 60)], t=0)
    mt.track([_inst(10, 10), _inst(60, 60)], t=1)
    mt.track([_inst(60, 60)], t=7)  # only track_1 seen; both histories hold 2 items
    mt.track([_inst(60, 60)])  # track_0 (first of the longest) last seen at t=1 -> t=2
    assert sorted(mt.tracked_instances) == [0, 1, 2, 7]


def test_flowmaxtracks_keeps_default_flow_options_as_sleap():
    flow = Tracker.make_tracker_by_name("flow", img_scale=0.5, of_window_size=11,
                                        save_shifted_instances=True, track_window=3)
    cm = flow.candidate_maker
    assert (cm.img_scale, cm.of_window_size, cm.save_shifted_instances,
            cm.track_window) == (0.5, 11, True, 3)
    fmt = Tracker.make_tracker_by_name("flow", img_scale=0.5, of_window_size=11,
                                       save_shifted_instances=True, track_window=3,
                                       max_tracks=2, max_tracking=True)
    cm = fmt.candidate_maker
    assert type(cm).__name__ == "FlowMaxTracksCandidateMaker" and cm.max_tracks == 2
    assert (cm.img_scale, cm.of_window_size, cm.save_shifted_instances,
            cm.track_window) == (1.0, 21, False, 5)
    assert fmt.track_window == 3  # the history length itself is honoured


def test_frame_matches_from_sleap_io_instances():
    from sleapish.nn.tracking import FrameMatches, instance_similarity

    t0, t1 = sio.Track("a"), sio.Track("b")
    cands = [_inst(40, 40), _inst(40, 40), _inst(100, 100)]
    for c, tr in zip(cands, [t0, t1, t1]):
        c.track = tr
    x, y = _inst(200, 200), _inst(40, 40)
    fm = FrameMatches.from_candidate_instances([x, y], cands, instance_similarity,
                                               greedy_matching)
    # columns [a, b]; both rows tie across the columns: (y, a) then (x, b)
    assert [(m.instance is y, m.track.name, m.score) for m in fm.matches] == [
        (True, "a", 1.0), (False, "b", 0.0)]
    assert not fm.unmatched_instances and fm.cost_matrix.shape == (2, 2)


def test_kalman_tracked_instances_get_tracking_score_zero():
    frames = [sio.LabeledFrame(video=VIDEO, frame_idx=t,
                               instances=[_inst(10 + 2 * t, 20), _inst(100 - 2 * t, 80)])
              for t in range(12)]
    tracker = Tracker.make_tracker_by_name("simple", target_instance_count=2,
                                           kf_init_frame_count=5, kf_node_indices=[0, 1])
    tracker.track_frames(frames)
    assert tracker.init_done
    scores = [i.tracking_score for lf in frames[6:] for i in lf.instances]
    assert scores == [0.0] * len(scores) and len(scores) == 12

"""Kalman filters and the Kalman tracker."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from sleapish.nn.tracking import KalmanTracker, make_tracker_by_name
from sleapish.nn.tracking.kalman import (
    get_track_instance_matches,
    remove_second_bests_from_cost_matrix,
)
from sleapish.nn.tracking.kalman_filter import KalmanFilter, constant_velocity_matrices

SKEL = sio.Skeleton(["a", "b", "c"])
VIDEO = sio.Video(filename="fake.mp4")


def test_constant_velocity_matrices():
    a, c = constant_velocity_matrices(2)
    np.testing.assert_array_equal(a, [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1]])
    np.testing.assert_array_equal(c, [[1, 0, 0, 0], [0, 0, 1, 0]])


def test_filter_learns_constant_velocity():
    obs = np.arange(8, dtype=np.float64)[:, None] * 2.0  # x = 2 t
    a, c = constant_velocity_matrices(1)
    kf = KalmanFilter(a, c, [0.0, 0.0]).em(obs, n_iter=20)
    means, covs = kf.filter(obs)
    assert means.shape == (8, 2) and covs.shape == (8, 2, 2)
    nxt, _ = kf.filter_update(means[-1], covs[-1])
    assert nxt[0] == pytest.approx(16.0, abs=1.0) and nxt[1] == pytest.approx(2.0, abs=0.5)
    # a missing observation only predicts
    with_nan, _ = kf.filter_update(means[-1], covs[-1], np.array([np.nan]))
    np.testing.assert_allclose(with_nan, nxt)


def test_remove_second_bests_hand_cases():
    clear = np.array([[1.0, 10.0], [10.0, 1.0]])
    np.testing.assert_array_equal(remove_second_bests_from_cost_matrix(clear, 1.0), clear)
    ambiguous = np.array([[1.0, 5.0], [2.0, 9.0]])  # column 0: 1 and 2 within 1.5
    assert np.isnan(remove_second_bests_from_cost_matrix(ambiguous, 1.5)).all()


def test_track_instance_matches_greedy_on_finite_costs():
    t0, t1 = sio.Track("t0"), sio.Track("t1")
    cost = np.array([[1.0, 5.0], [np.nan, 2.0], [np.nan, np.nan]])
    matches = get_track_instance_matches(cost, ["a", "b", "c"], [t0, t1],
                                         lambda x, y: False)
    assert [(m.instance, m.track.name, m.score) for m in matches] == [
        ("a", "t0", 1.0), ("b", "t1", 2.0)]


def _inst(x, y, score=1.0):
    pts = np.array([[x, y], [x + 3, y], [x, y + 3]], np.float64)
    return sio.PredictedInstance.from_numpy(pts, skeleton=SKEL, point_scores=np.ones(3),
                                            score=score)


def test_kalman_tracker_keeps_identities():
    frames = [sio.LabeledFrame(video=VIDEO, frame_idx=t,
                               instances=[_inst(10 + 2 * t, 20), _inst(100 - 2 * t, 80)])
              for t in range(30)]
    tracker = make_tracker_by_name("simple", target_instance_count=2, kf_init_frame_count=5,
                                   kf_node_indices=[0, 1])
    assert isinstance(tracker, KalmanTracker)
    assert tracker.get_name() == "kalman.SimpleCandidateMaker.instance_similarity.greedy_matching"
    out = tracker.track_frames(frames)
    assert tracker.init_done
    assert [t.name for t in tracker.tracks] == ["track_0", "track_1"]
    for lf in out:
        by_y = {round(i.numpy()[0, 1]): i.track.name for i in lf.instances}
        assert by_y == {20: "track_0", 80: "track_1"}
    with pytest.raises(ValueError, match="node indices"):
        make_tracker_by_name("simple", target_instance_count=2, kf_init_frame_count=5)

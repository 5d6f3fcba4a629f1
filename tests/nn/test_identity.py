"""Identity grouping: Hungarian on class probabilities, best-class filter."""

from __future__ import annotations

import numpy as np

from sleapish.nn.identity import (
    classify_peaks_from_maps,
    classify_peaks_from_vectors,
    group_class_peaks,
)

NAN = np.nan


def test_group_class_peaks_hungarian_and_best_class_filter():
    probs = np.array([[0.9, 0.1], [0.8, 0.2],   # sample 0, channel 0
                      [0.3, 0.7],               # sample 0, channel 1
                      [0.6, 0.4], [0.1, 0.9]],  # sample 1, channel 0
                     np.float32)
    peak_inds, class_inds = group_class_peaks(probs, [0, 0, 0, 1, 1], [0, 0, 1, 0, 0], 2, 2)
    got = sorted(zip(peak_inds.numpy().tolist(), class_inds.numpy().tolist()))
    # Peak 1 was matched to class 1 but its best class is 0: dropped.
    assert got == [(0, 0), (2, 1), (3, 0), (4, 1)]
    empty = group_class_peaks(np.zeros((0, 3), np.float32), np.zeros(0, np.int32),
                              np.zeros(0, np.int32), 1, 1)
    assert empty[0].shape == (0,) and empty[1].shape == (0,)


def test_classify_peaks_from_maps():
    class_maps = np.zeros((1, 4, 4, 2), np.float32)
    class_maps[0, :, :2, 0] = 0.9  # left half: class 0
    class_maps[0, :, 2:, 1] = 0.8  # right half: class 1
    pts = np.array([[0.6, 1.0], [3.0, 2.0], [2.9, 0.2]], np.float32)
    vals = np.array([0.5, 0.6, 0.7], np.float32)
    points, pvals, cprobs = classify_peaks_from_maps(class_maps, pts, vals, [0, 0, 0],
                                                     [0, 0, 1], n_channels=2)
    assert points.shape == (1, 2, 2, 2)
    np.testing.assert_allclose(points[0, 0, 0], [0.6, 1.0])
    np.testing.assert_allclose(points[0, 1, 0], [3.0, 2.0])
    np.testing.assert_allclose(points[0, 1, 1], [2.9, 0.2])
    assert np.isnan(points[0, 0, 1]).all()
    np.testing.assert_allclose(pvals[0, 1], [0.6, 0.7])
    np.testing.assert_allclose(cprobs[0, 0, 0], 0.9)


def test_classify_peaks_from_vectors():
    pts = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    vals = np.ones((3, 2), np.float32)
    probs = np.array([[0.2, 0.8], [0.7, 0.3], [0.6, 0.4]], np.float32)
    points, pvals, cprobs = classify_peaks_from_vectors(pts, vals, probs, [0, 0, 1], 2)
    assert points.shape == (2, 2, 2, 2) and cprobs.shape == (2, 2)
    np.testing.assert_array_equal(points[0, 1], pts[0])
    np.testing.assert_array_equal(points[0, 0], pts[1])
    np.testing.assert_array_equal(points[1, 0], pts[2])
    assert np.isnan(points[1, 1]).all() and np.isnan(cprobs[1, 1])
    np.testing.assert_allclose(cprobs[0], [0.7, 0.8])


def test_classify_peaks_outside_the_map_are_clipped():
    class_maps = np.zeros((1, 4, 4, 2), np.float32)
    class_maps[0, 0, 0] = [0.9, 0.1]
    class_maps[0, 3, 3] = [0.2, 0.7]
    pts = np.array([[-77.0, -211.0], [9.0, 12.0]], np.float32)  # off the grid
    points, _, cprobs = classify_peaks_from_maps(class_maps, pts, np.ones(2, np.float32),
                                                 [0, 0], [0, 0], n_channels=1)
    np.testing.assert_allclose(points[0, 0, 0], [-77.0, -211.0])  # corner (0, 0): class 0
    np.testing.assert_allclose(points[0, 1, 0], [9.0, 12.0])  # corner (3, 3): class 1
    np.testing.assert_allclose(cprobs[0, :, 0], [0.9, 0.7])


def test_ties_between_saturated_probabilities_go_to_the_first_peak():
    # Two peaks of one channel with class probability exactly 1.0 (a saturated
    # float32 sigmoid): SLEAP's Hungarian (scipy) takes the earlier peak in
    # (sample, row, col) order, whatever the peaks' confidence values.
    probs = np.array([[0.9979198, 8.9e-10], [1.0, 8.8e-09], [0.9996647, 4.4e-11],
                      [3.2e-22, 3.1e-03], [1.0, 1.2e-11], [1.2e-09, 1.0],
                      [0.9995401, 3.0e-07], [7.7e-13, 0.7644638]], np.float32)
    peak_inds, class_inds = group_class_peaks(probs, np.zeros(8, np.int32),
                                              np.zeros(8, np.int32), 1, 1)
    assert sorted(zip(peak_inds.numpy().tolist(), class_inds.numpy().tolist())) == [
        (1, 0), (5, 1)]
    # With the later peak 1 ulp higher, it wins.
    probs[1, 0] = np.nextafter(np.float32(1.0), np.float32(0.0))
    peak_inds, _ = group_class_peaks(probs, np.zeros(8, np.int32),
                                     np.zeros(8, np.int32), 1, 1)
    assert sorted(peak_inds.numpy().tolist()) == [4, 5]


def test_assignment_reproduces_sleap_on_clip_given_sleaps_class_maps():
    """SLEAP 1.4.1's own identities on clip.mp4 frames 0-149, from its class maps.

    `tests/data/multiclass_clip_tf215_peaks.npz` holds the local peaks of
    `min_tracks_2node.UNet.bottomup_multiclass` on those frames and the class-map
    probabilities TensorFlow 2.15 (SLEAP's) computes there (see
    `tests/data/make_multiclass_tf215_peaks.py`). Given them, sleapish's assignment
    picks the same peak for every class and node as SLEAP did: all 600 points of
    `reference_runs/multiclass_clip_0-149.npz` within 0.01 px.
    """
    import os
    from pathlib import Path

    import pytest

    here = Path(__file__).resolve().parents[1] / "data"
    ref_path = Path(__file__).resolve().parents[3] / "shared" / "reference_runs" / \
        "multiclass_clip_0-149.npz"
    if not ref_path.exists():
        msg = f"SLEAP reference run not found at {ref_path}"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    fx = np.load(here / "multiclass_clip_tf215_peaks.npz")
    ref = np.load(ref_path)
    h, w = (int(v) for v in fx["grid_hw"])
    n_frames = 150
    maps = np.zeros((n_frames, h, w, 2), np.float32)
    rc = np.round(fx["points"][:, ::-1]).astype(int)
    maps[fx["sample_inds"], rc[:, 0], rc[:, 1]] = fx["class_probs"]
    points, vals, probs = classify_peaks_from_maps(
        maps, fx["points"], fx["vals"], fx["sample_inds"], fx["channel_inds"],
        n_channels=2)
    points = points.numpy() * float(fx["stride"]) / float(fx["input_scale"]) + 0.5
    assert len(ref["frame_idx"]) == 300
    for f, t, p in zip(ref["frame_idx"], ref["track_ind"], ref["points"]):
        np.testing.assert_allclose(points[f, t], p, atol=0.01, err_msg=f"frame {f}")
    # Every (frame, class) pair SLEAP did not output is empty here too.
    found = {(int(f), int(t)) for f, t in zip(ref["frame_idx"], ref["track_ind"])}
    for f in range(n_frames):
        for t in range(2):
            if (f, t) not in found:
                assert np.isnan(points[f, t]).all()

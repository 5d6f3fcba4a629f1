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

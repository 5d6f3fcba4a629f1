"""Offset maps: `(point - grid) / stride`, zero for missing points, masked by maps."""

from __future__ import annotations

import numpy as np

from sleapish.nn.data.offset_regression import make_offsets, mask_offsets
from sleapish.nn.data.utils import make_grid_vectors

NAN = np.nan


def test_make_offsets_values_in_stride_units():
    xv, yv = make_grid_vectors(8, 8, 2)  # grid coordinates 0, 2, 4, 6
    off = make_offsets([[3.0, 5.0], [0.0, 7.0]], xv, yv, stride=2).numpy()
    assert off.shape == (4, 4, 2, 2) and off.dtype == np.float32
    # Grid point (x=2, y=4) is [row 2, col 1]: ((3 - 2) / 2, (5 - 4) / 2).
    np.testing.assert_allclose(off[2, 1, 0], [0.5, 0.5])
    # Grid point (x=6, y=0): ((0 - 6) / 2, (7 - 0) / 2).
    np.testing.assert_allclose(off[0, 3, 1], [-3.0, 3.5])


def test_make_offsets_missing_point_gives_zeros():
    xv, yv = make_grid_vectors(3, 4, 1)
    points = np.array([[1.0, 2.0], [NAN, NAN], [NAN, 1.0]], np.float32)
    off = make_offsets(points, xv, yv).numpy()
    assert off.shape == (3, 4, 3, 2)
    np.testing.assert_array_equal(off[:, :, 1], 0.0)
    # Only the NaN coordinate is zeroed: y offsets of (NaN, 1) are 1 - yv.
    np.testing.assert_array_equal(off[:, :, 2, 0], 0.0)
    np.testing.assert_allclose(off[:, 0, 2, 1], [1.0, 0.0, -1.0])
    np.testing.assert_allclose(off[2, 3, 0], [1 - 3, 2 - 2])


def test_mask_offsets_keeps_strictly_above_threshold():
    xv, yv = make_grid_vectors(8, 8, 2)
    off = make_offsets([[3.0, 5.0]], xv, yv, stride=2).numpy()
    cm = np.full((4, 4, 1), 0.1, np.float32)
    cm[2] = 0.9
    cm[3, 0] = 0.2  # equal to the threshold: masked
    masked = mask_offsets(off, cm, threshold=0.2).numpy()
    assert masked.shape == off.shape
    np.testing.assert_array_equal(masked[2], off[2])
    assert np.all(masked[[0, 1, 3]] == 0)

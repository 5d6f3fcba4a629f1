"""Shared target helpers in `sleapish.nn.data.utils` (grid vectors, Gaussian, ranks).

The targets themselves are tested per module: test_confidence_maps.py,
test_offset_regression.py, test_edge_maps.py, test_identity.py.
"""

from __future__ import annotations

import numpy as np

from sleapish.nn._backend import tf
from sleapish.nn.data.utils import expand_to_rank, gaussian_pdf, make_grid_vectors


def test_grid_vectors_and_helpers():
    xv, yv = make_grid_vectors(image_height=6, image_width=8, output_stride=4)
    np.testing.assert_array_equal(xv, [0, 4])
    np.testing.assert_array_equal(yv, [0, 4])
    xv, yv = make_grid_vectors(5, 3, 1)
    assert xv.shape == (3,) and yv.shape == (5,)
    np.testing.assert_allclose(gaussian_pdf([0.0, 1.0, 2.0], sigma=2.0),
                               [1.0, np.exp(-1 / 8), np.exp(-4 / 8)], rtol=1e-6)
    assert expand_to_rank(tf.zeros([3]), 3).shape == (1, 1, 3)
    assert expand_to_rank(tf.zeros([3]), 3, prepend=False).shape == (3, 1, 1)

"""sleapish.nn.utils: SLEAP's small helpers."""

from __future__ import annotations

import numpy as np
import pytest
from clean_env import clean_env

from sleapish.nn._backend import keras, tf
from sleapish.nn.utils import (
    compute_iou,
    group_array,
    match_points,
    reset_input_layer,
    tf_linear_sum_assignment,
)


def test_group_array_keeps_first_seen_key_order():
    out = group_array(np.arange(10, 15), np.array([1, 5, 2, 1, 5]))
    assert list(out) == [1, 5, 2]
    np.testing.assert_array_equal(out[1], [10, 13])
    np.testing.assert_array_equal(out[5], [11, 14])
    rows = group_array(np.arange(6).reshape(3, 2), np.array(["b", "a", "b"]))
    np.testing.assert_array_equal(rows["b"], [[0, 1], [4, 5]])


def test_compute_iou_counts_inclusive_pixels():
    # 3x3 boxes ([0, 2] inclusive) overlapping in a 2x3 strip: 6 / (9 + 9 - 6).
    assert compute_iou(np.array([0, 0, 2, 2]), np.array([1, 0, 3, 2])) == 0.5
    assert compute_iou(np.array([0, 0, 2, 2]), np.array([5, 5, 6, 6])) == 0.0


def test_linear_sum_assignment_and_match_points_in_a_graph():
    cost = np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0]], np.float32)
    rows, cols = tf.function(tf_linear_sum_assignment)(tf.constant(cost))
    assert rows.numpy().tolist() == [0, 1] and cols.numpy().tolist() == [1, 0]
    a = np.array([[0.0, 0.0], [10.0, 10.0], [5.0, 0.0]])
    b = np.array([[9.0, 11.0], [0.5, 0.0]])
    inds1, inds2 = match_points(a, b)
    assert sorted(zip(inds1.numpy().tolist(), inds2.numpy().tolist())) == [(0, 1), (1, 0)]


def test_reset_input_layer_takes_sleaps_four_element_shape():
    x = keras.Input((8, 8, 1))
    model = keras.Model(x, keras.layers.Conv2D(2, 3, padding="same")(x))
    free = reset_input_layer(model)
    assert free.input_shape == (None, None, None, 1)
    fixed = reset_input_layer(model, (None, 16, 16, 1))
    assert fixed.input_shape == (None, 16, 16, 1)
    img = np.random.default_rng(0).random((1, 16, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(fixed(img), free(img), atol=1e-6)


@pytest.mark.slow
def test_submodules_load_on_attribute_access():
    import subprocess
    import sys

    code = ("import sys, sleapish.nn as nn; assert 'tensorflow' not in sys.modules; "
            "m = nn.utils.match_points; print(nn.utils.__name__, nn.peak_finding.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=clean_env())
    assert out.stdout.split()[-2:] == ["sleapish.nn.utils", "sleapish.nn.peak_finding"]

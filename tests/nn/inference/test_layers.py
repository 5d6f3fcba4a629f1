"""Keras inference layers (preprocessing, heads and strides, the single-instance layer;
nn/inference/layers.py)."""

from __future__ import annotations

import numpy as np
import pytest
from layer_models import cms_at, const_model, identity_model
from numpy.testing import assert_allclose, assert_array_equal

from sleapish.nn._backend import keras, tf
from sleapish.nn.inference import (
    FindInstancePeaks,
    InferenceLayer,
    SingleInstanceInferenceLayer,
    find_head,
    infer_output_stride,
)


def test_inference_layer_preprocessing():
    model = identity_model([None, None, 1], "out")
    layer = InferenceLayer(model)
    assert layer.ensure_grayscale
    out = layer(tf.fill([1, 4, 4, 1], tf.constant(255, tf.uint8)))
    assert out.dtype == tf.float32 and tuple(out.shape) == (1, 4, 4, 1)
    assert_allclose(out, 1.0)

    # RGB uint8 -> luma computed on uint8, as SLEAP's tf.image.rgb_to_grayscale.
    rgb = tf.constant([[[[10, 200, 30]]]], tf.uint8)
    out = layer(rgb)
    expected = tf.cast(tf.image.rgb_to_grayscale(rgb), tf.float32) / 255.0
    assert tuple(out.shape) == (1, 1, 1, 1)
    assert_allclose(out, expected)

    # Gray -> RGB for an RGB model.
    layer = InferenceLayer(identity_model([None, None, 3], "out"))
    assert not layer.ensure_grayscale
    assert tuple(layer(tf.zeros([2, 4, 4, 1], tf.uint8)).shape) == (2, 4, 4, 3)

    # Scaling truncates the size (SLEAP: int(9 * 0.5) = 4), then pads to the stride.
    layer = InferenceLayer(model, input_scale=0.5)
    assert tuple(layer(tf.zeros([1, 9, 9, 1], tf.uint8)).shape) == (1, 4, 4, 1)
    layer = InferenceLayer(model, input_scale=0.5, pad_to_stride=4)
    assert tuple(layer(tf.zeros([1, 12, 12, 1], tf.uint8)).shape) == (1, 8, 8, 1)
    layer = InferenceLayer(model, pad_to_stride=2)
    assert tuple(layer(tf.zeros([1, 3, 3, 1], tf.uint8)).shape) == (1, 4, 4, 1)


def test_find_head_and_output_stride():
    x_in = keras.Input([8, 8, 1])
    a = keras.layers.MaxPool2D(2, name="CentroidConfmapsHead_0")(x_in)
    b = keras.layers.MaxPool2D(4, name="OffsetRefinementHead")(x_in)
    model = keras.Model(x_in, [a, b])
    assert find_head(model, "CentroidConfmapsHead") == 0
    assert find_head(model, "OffsetRefinementHead") == 1
    assert find_head(model, "PartAffinityFieldsHead") is None
    assert infer_output_stride(model, 0) == 2
    assert infer_output_stride(model, 1) == 4
    # Unknown input size: found by static shape inference.
    x_in = keras.Input([None, None, 1])
    model = keras.Model(x_in, keras.layers.MaxPool2D(4, name="X")(x_in))
    assert infer_output_stride(model, 0) == 4
    with pytest.raises(ValueError, match="CenteredInstanceConfmapsHead"):
        FindInstancePeaks(model)


def test_stacked_model_heads_are_the_final_stack():
    """Hourglass-style stacks: `<Head>_0`, `<Head>_1` are intermediate, `<Head>` is
    the final output; inference uses the final one, whatever the output order."""
    inter0 = cms_at([[3.0, 4.0]], 16, 16, stride=2)
    inter1 = cms_at([[9.0, 2.0]], 16, 16, stride=2)
    final = cms_at([[12.0, 10.0]], 16, 16, stride=2)
    name = "SingleInstanceConfmapsHead"
    model = const_model({f"{name}_0": inter0, f"{name}_1": inter1, name: final},
                        [16, 16, 1])
    assert find_head(model, name) == 2
    out = SingleInstanceInferenceLayer(model, refinement=None)(tf.zeros([1, 16, 16, 1]))
    assert_allclose(out["instance_peaks"].numpy()[0, 0], [[12.0, 10.0]])
    # Legacy files (SLEAP < 1.1) have only suffixed names: the last stack wins.
    legacy = const_model({f"{name}_0": inter0, f"{name}_1": final}, [16, 16, 1])
    assert find_head(legacy, name) == 1
    # Otherwise SLEAP's rule: the first output whose name contains the string.
    assert find_head(legacy, "SingleInstance") == 0


def test_single_instance_layer_exact_points():
    points = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    cms = np.stack([cms_at(points, 12, 12), cms_at(points + 1, 12, 12)])
    model = identity_model([12, 12, 3], "SingleInstanceConfmapsHead")
    layer = SingleInstanceInferenceLayer(model, refinement="local", ensure_grayscale=False)
    assert layer.output_stride == 1 and layer.refinement == "local"
    out = layer(cms)
    assert tuple(out["instance_peaks"].shape) == (2, 1, 3, 2)
    assert_array_equal(out["instance_peaks"][:, 0], np.stack([points, points + 1]))
    assert_allclose(out["instance_peak_vals"], 1.0)
    assert "confmaps" not in out
    # Stride 2: maps sampled on the even grid, points mapped back by * 2.
    layer = SingleInstanceInferenceLayer(identity_model([12, 12, 3],
                                                        "SingleInstanceConfmapsHead", 2),
                                         refinement=None, return_confmaps=True,
                                         ensure_grayscale=False)
    pts = np.array([[2.0, 4.0], [6.0, 2.0], [8.0, 10.0]], np.float32)
    out = layer(cms_at(pts, 12, 12)[None])
    assert layer.output_stride == 2
    assert_array_equal(out["instance_peaks"][0, 0], pts)
    assert tuple(out["confmaps"].shape) == (1, 6, 6, 3)


def test_single_instance_input_scale_rule_and_threshold():
    grid = np.array([[3.0, 5.0], [7.0, 2.0]], np.float32)  # on the output grid
    model = const_model({"SingleInstanceConfmapsHead": cms_at(grid, 10, 10)}, [40, 40, 1])
    layer = SingleInstanceInferenceLayer(model, input_scale=0.5, output_stride=4,
                                         refinement=None)
    out = layer(np.zeros([1, 80, 80, 1], np.uint8))
    assert_allclose(out["instance_peaks"][0, 0], grid * 4 / 0.5 + 0.5)
    layer.peak_threshold = 1.5
    out = layer(np.zeros([1, 80, 80, 1], np.uint8))
    assert np.isnan(out["instance_peaks"].numpy()).all()
    assert_allclose(out["instance_peak_vals"][0, 0], 1.0)  # values kept (SLEAP TF)


def test_refinement_choices_and_offsets_override():
    true = np.array([[4.3, 5.6]], np.float32)
    cms = cms_at(true, 12, 12, sigma=1.5)
    peaks = {}
    for ref in (None, "local", "integral"):
        model = const_model({"SingleInstanceConfmapsHead": cms}, [12, 12, 1])
        out = SingleInstanceInferenceLayer(model, refinement=ref)(np.zeros([1, 12, 12, 1]))
        peaks[ref] = out["instance_peaks"].numpy()[0, 0, 0]
    assert_array_equal(peaks[None], [4.0, 6.0])
    assert_array_equal(peaks["local"], [4.25, 5.75])
    # Integral regression on the 5x5 patch moves the grid peak toward the true one.
    assert (np.abs(peaks["integral"] - true[0]) < np.abs(peaks[None] - true[0])).all()
    with pytest.raises(ValueError, match="refinement"):
        SingleInstanceInferenceLayer(model, refinement="quadratic")

    offsets = np.zeros([12, 12, 2], np.float32)
    offsets[..., 0], offsets[..., 1] = 0.3, -0.2
    model = const_model({"SingleInstanceConfmapsHead": cms,
                         "OffsetRefinementHead": offsets}, [24, 24, 1])
    layer = SingleInstanceInferenceLayer(model, refinement="integral")
    assert layer.offsets_ind == 1 and layer.output_stride == 2
    out = layer(np.zeros([1, 24, 24, 1], np.uint8))
    expected = (np.array([4.0, 6.0]) + [0.3, -0.2]) * 2
    assert_allclose(out["instance_peaks"][0, 0, 0], expected)

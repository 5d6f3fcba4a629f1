"""Top-down inference layers (centroid crops, instance peaks, ground-truth halves,
identity; nn/inference/layers_topdown.py)."""

from __future__ import annotations

import numpy as np
import pytest
from layer_models import centroid_model as _centroid_model
from layer_models import cms_at, const_model, identity_model
from layer_models import frames as _frames
from layer_models import instance_model as _instance_model
from numpy.testing import assert_allclose, assert_array_equal

from sleapish.nn._backend import keras, tf
from sleapish.nn.inference import (
    CentroidCrop,
    CentroidCropGroundTruth,
    FindInstancePeaks,
    FindInstancePeaksGroundTruth,
    TopDownInferenceModel,
    TopDownMultiClassFindPeaks,
    TopDownMultiClassInferenceModel,
)


def test_centroid_crop_coordinates_crops_and_offsets():
    frames = _frames()
    layer = CentroidCrop(_centroid_model(), crop_size=5, refinement=None)
    assert layer.output_stride == 2 and layer.return_crops and layer.max_instances is None
    out = layer(frames)
    assert isinstance(out["centroids"], tf.RaggedTensor)
    assert_array_equal(out["centroids"].row_lengths(), [2, 2])
    # Local peaks come in (row, column) order: (20, 6) first, then (8, 10).
    assert_allclose(out["centroids"][0], [[20.0, 6.0], [8.0, 10.0]])
    assert_allclose(out["centroid_vals"][0], [0.8, 1.0], atol=1e-6)
    assert_allclose(out["crop_offsets"][0], [[17.5, 3.5], [5.5, 7.5]])  # c - S / 2
    crops = out["crops"]
    assert crops.dtype == tf.uint8 and tuple(crops.values.shape) == (4, 5, 5, 1)
    # The box starts at c - (S - 1) / 2 = (18, 4): an exact slice for integer c, odd S.
    assert_array_equal(crops[0][0].numpy(), frames[0, 4:9, 18:23])
    assert_array_equal(crops[1][1].numpy(), frames[1, 8:13, 6:11])


def test_centroid_crop_uint8_truncation_and_scale():
    frames = _frames(1)
    # S = 4 around integer c: the box starts at c - 1.5, so values are half-pixel
    # averages; uint8 crops are truncated as SLEAP's cast does.
    out = CentroidCrop(_centroid_model(), crop_size=4, refinement=None)(frames)
    expected = (frames[0, 8:12, 6:10].astype(float) + frames[0, 9:13, 7:11]
                + frames[0, 8:12, 7:11] + frames[0, 9:13, 6:10]) / 4
    assert_array_equal(out["crops"][0][1].numpy(), np.floor(expected).astype(np.uint8))
    assert_allclose(out["crop_offsets"][0][1], [6.0, 8.0])
    # Float input crops stay float (no truncation).
    out = CentroidCrop(_centroid_model(), crop_size=4, refinement=None)(
        frames.astype(np.float32))
    assert_allclose(out["crops"][0][1].numpy(), expected, atol=1e-4)
    # input_scale: x * stride / scale + 0.5.
    model = _centroid_model(32, 32, 1)
    out = CentroidCrop(model, crop_size=3, input_scale=0.5, refinement=None,
                       return_crops=False)(np.zeros([1, 64, 64, 1], np.uint8))
    assert "crops" not in out
    assert_allclose(out["centroids"][0], [[20.0 / 0.5 + 0.5, 6.0 / 0.5 + 0.5],
                                          [8.0 / 0.5 + 0.5, 10.0 / 0.5 + 0.5]])


def test_centroid_crop_max_instances_and_empty_frames():
    h = w = 32
    cms = np.stack([np.maximum.reduce([0.5 * cms_at([[4.0, 4.0]], h, w, 2),
                                       0.9 * cms_at([[20.0, 8.0]], h, w, 2),
                                       0.8 * cms_at([[8.0, 24.0]], h, w, 2)]),
                    0.7 * cms_at([[16.0, 16.0]], h, w, 2),
                    np.zeros([16, 16, 1], np.float32)])
    model = identity_model([h, w, 1], "CentroidConfmapsHead", 2)
    frames = np.zeros([3, h, w, 1], np.float32)
    frames[..., :] = np.kron(cms, np.ones([1, 2, 2, 1]))  # 2x upsampled maps as images
    layer = CentroidCrop(model, crop_size=4, refinement=None, max_instances=2)
    out = layer(frames)
    assert_array_equal(out["centroids"].row_lengths(), [2, 1, 0])
    # Over the limit: top values in decreasing order; under it: original order.
    assert_allclose(out["centroids"][0], [[20.0, 8.0], [8.0, 24.0]])
    assert_allclose(out["centroid_vals"][0], [0.9, 0.8], atol=1e-6)
    assert_allclose(out["centroids"][1], [[16.0, 16.0]])
    # `call` is a tf.function (as SLEAP's): settings are read when it is traced.
    layer = CentroidCrop(model, crop_size=4, refinement=None, max_instances=3)
    assert_allclose(layer(frames)["centroids"][0], [[4.0, 4.0], [20.0, 8.0], [8.0, 24.0]])
    # Empty frames give empty rows and (n, 0, S, S, C) crops.
    out = CentroidCrop(model, crop_size=4)(np.zeros([2, h, w, 1], np.float32))
    assert_array_equal(out["centroids"].row_lengths(), [0, 0])
    assert out["crops"].to_tensor().shape[1] == 0


def test_find_instance_peaks_resizes_full_size_crops_by_default():
    """SLEAP's default `resize_input_image=True`: full-size crops are resized by
    `input_scale` for the model, and peaks map back as `x / scale + 0.5`."""
    x_in = keras.Input([12, 12, 2])
    model = keras.Model(x_in, keras.layers.Lambda(
        lambda x: x, name="CenteredInstanceConfmapsHead")(x_in))
    pts = np.array([[6.5, 9.0], [14.0, 4.5]], np.float32)  # full-size crop pixels
    crops = cms_at(pts, 24, 24, sigma=2.0)[None]  # (1, 24, 24, 2)
    layer = FindInstancePeaks(model, input_scale=0.5, refinement="integral")
    out = layer(crops)
    assert tuple(out["instance_peaks"].bounding_shape()) == (1, 1, 2, 2)
    assert_allclose(out["instance_peaks"][0][0].numpy(), pts, atol=0.15)
    with pytest.raises(ValueError):  # not resized: 24x24 does not fit the model
        FindInstancePeaks(model, input_scale=0.5, resize_input_image=False)(crops)


def test_find_instance_peaks_offsets_and_scale():
    model, q = _instance_model()
    crops = tf.RaggedTensor.from_row_lengths(tf.zeros([3, 8, 8, 1], tf.uint8), [2, 0, 1])
    offsets = tf.RaggedTensor.from_row_lengths(
        tf.constant([[10.0, 20.0], [30.0, 40.0], [5.0, 6.0]]), [2, 0, 1])
    layer = FindInstancePeaks(model, refinement=None, return_confmaps=True)
    out = layer({"crops": crops, "crop_offsets": offsets, "centroids": offsets,
                 "centroid_vals": offsets[..., 0]})
    assert_array_equal(out["instance_peaks"].row_lengths(), [2, 0, 1])
    assert_allclose(out["instance_peaks"][0][1], q * 2 + [30.0, 40.0])
    assert_allclose(out["instance_peaks"][2][0], q * 2 + [5.0, 6.0])
    assert "centroids" in out and "centroid_vals" in out
    assert tuple(out["instance_confmaps"].values.shape) == (3, 4, 4, 2)
    # Scaled crops (already at the model's scale): x * stride / scale + 0.5 + offset.
    out = FindInstancePeaks(model, input_scale=0.5, resize_input_image=False,
                            refinement=None)({"crops": crops, "crop_offsets": offsets})
    assert_allclose(out["instance_peaks"][0][0], q * 2 / 0.5 + 0.5 + [10.0, 20.0])
    # Dense crops without offsets: one instance per sample, crop coordinates.
    out = FindInstancePeaks(model, refinement=None)(np.zeros([2, 8, 8, 1], np.uint8))
    assert_array_equal(out["instance_peaks"].row_lengths(), [1, 1])
    assert_allclose(out["instance_peaks"][1][0], q * 2)


def test_topdown_precrop_resize():
    """Scaled centered-instance models: crop S px around s * c in the resized image."""
    frames = _frames(1, 64, 64)
    model, q = _instance_model(crop=8, stride=2)
    cms = np.maximum(cms_at([[16.0, 20.0]], 64, 64, 4, sigma=4.0),
                     0.8 * cms_at([[40.0, 12.0]], 64, 64, 4, sigma=4.0))
    cent = CentroidCrop(const_model({"CentroidConfmapsHead": cms}, [64, 64, 1]),
                        crop_size=8, refinement=None, precrop_resize=0.5)
    out = cent(frames)
    c = out["centroids"][0].numpy()
    assert_allclose(c, [[40.0, 12.0], [16.0, 20.0]])
    assert_allclose(out["crop_offsets"][0], c - 8 / (2 * 0.5))
    resized = tf.cast(tf.image.resize(frames.astype(np.float32), [32, 32]), tf.uint8)
    box = tf.constant([[c[1, 1] * 0.5 - 3.5, c[1, 0] * 0.5 - 3.5,
                        c[1, 1] * 0.5 + 3.5, c[1, 0] * 0.5 + 3.5]]) / 31.0
    expected = tf.cast(tf.image.crop_and_resize(tf.cast(resized, tf.float32), box, [0],
                                                [8, 8]), tf.uint8)
    assert_array_equal(out["crops"][0][1].numpy(), expected[0].numpy())
    td = TopDownInferenceModel(cent, FindInstancePeaks(model, input_scale=0.5,
                                                       resize_input_image=False,
                                                       refinement=None))
    pk = td.predict(frames)["instance_peaks"][0]
    assert_allclose(pk[1], q * 2 / 0.5 + 0.5 + c[1] - 8.0)


def test_ground_truth_layers():
    frames = _frames(2)
    centroids = tf.ragged.constant([[[10.0, 12.0], [20.0, 20.0]], []], ragged_rank=1)
    out = CentroidCropGroundTruth(crop_size=5)({"image": frames, "centroids": centroids})
    assert_array_equal(out["crops"].row_lengths(), [2, 0])
    assert_array_equal(out["crops"][0][0].numpy(), frames[0, 10:15, 8:13])
    assert_allclose(out["crop_offsets"][0], [[7.5, 9.5], [17.5, 17.5]])
    assert_allclose(out["centroid_vals"][0], [1.0, 1.0])
    # Dense NaN-padded centroids work too.
    dense = np.array([[[10.0, 12.0], [np.nan, np.nan]], [[5.0, 5.0], [6.0, 6.0]]])
    out2 = CentroidCropGroundTruth(crop_size=5)({"image": frames, "centroids": dense})
    assert_array_equal(out2["centroids"].row_lengths(), [1, 2])

    instances = np.array([[[[19.0, 19.0], [25.0, 25.0]], [[9.0, 11.0], [np.nan, np.nan]]],
                          [[[1.0, 1.0], [2.0, 2.0]], [[np.nan] * 2] * 2]], np.float32)
    res = FindInstancePeaksGroundTruth()({"instances": instances}, out)
    assert_array_equal(res["instance_peaks"].row_lengths(), [2, 0])
    assert_allclose(res["instance_peaks"][0][0], instances[0, 1])
    assert_allclose(res["instance_peaks"][0][1], instances[0, 0])
    assert_allclose(res["instance_peak_vals"][0], 1.0)

    # Centroid-only top-down model with ground-truth instances.
    td = TopDownInferenceModel(CentroidCrop(_centroid_model(), crop_size=1),
                               FindInstancePeaksGroundTruth())
    gt = np.array([[[[21.0, 7.0], [25.0, 9.0]], [[7.0, 9.0], [2.0, 3.0]]]] * 2, np.float32)
    out = td.predict({"image": _frames(2), "instances": gt})
    assert_allclose(out["instance_peaks"][0], gt[0])
    assert_allclose(out["centroid_vals"][0], [0.8, 1.0], atol=1e-6)
    with pytest.raises(ValueError, match="instances"):
        td.predict(_frames(1))


def test_topdown_multiclass():
    """Class vectors from the crop's mean intensity: bright crops are class 0."""
    x_in = keras.Input([6, 6, 1])
    q = np.array([[1.0, 2.0], [2.0, 1.0]], np.float32)
    cms = tf.constant(cms_at(q * 2, 6, 6, 2))
    cm_out = keras.layers.Lambda(lambda x: tf.tile(cms[None], [tf.shape(x)[0], 1, 1, 1]),
                                 name="CenteredInstanceConfmapsHead")(x_in)
    cv_out = keras.layers.Lambda(
        lambda x: tf.stack([tf.reduce_mean(x, [1, 2, 3]),
                            1.0 - tf.reduce_mean(x, [1, 2, 3])], axis=1),
        name="ClassVectorsHead")(x_in)
    model = keras.Model(x_in, [cm_out, cv_out])
    frames = np.zeros([1, 32, 32, 1], np.uint8)
    frames[0, 2:11, 16:25] = 230  # bright around (x, y) = (20, 6)
    centroids = tf.ragged.constant([[[20.0, 6.0], [8.0, 10.0]]], ragged_rank=1)
    layer = TopDownMultiClassFindPeaks(model, refinement=None, return_class_vectors=True)
    td = TopDownMultiClassInferenceModel(CentroidCropGroundTruth(6), layer)
    out = td.predict({"image": frames, "centroids": centroids})
    assert out["instance_peaks"].shape == (1, 2, 2, 2)
    assert_allclose(out["instance_peaks"][0, 0], q * 2 + [20.0, 6.0] - 3.0)  # class 0
    assert_allclose(out["instance_peaks"][0, 1], q * 2 + [8.0, 10.0] - 3.0)
    assert out["instance_scores"][0, 0] > 0.8 and out["instance_scores"][0, 1] > 0.9
    assert out["class_vectors"].shape == (2, 2)
    layer.optimal_grouping = False
    raw = td.predict_on_batch({"image": frames, "centroids": centroids}, numpy=True)
    assert raw["instance_peaks"].shape == (2, 2, 2)

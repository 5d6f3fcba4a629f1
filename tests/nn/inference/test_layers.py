"""Inference layers and models on small synthetic Keras models whose outputs we control.

Most models here ignore their input and return fixed maps built with
`make_confmaps`, so the expected coordinates follow exactly from SLEAP's rules:
`x * output_stride`, then `/ input_scale + 0.5` when scaled, and top-down crop offsets
`c - S / 2` for crop boxes that start at `c - (S - 1) / 2`.
"""

from __future__ import annotations

import numpy as np
import pytest
from layer_models import cms_at, const_model, identity_model
from numpy.testing import assert_allclose, assert_array_equal

from sleapish.nn._backend import keras, tf
from sleapish.nn.inference import (
    BottomUpInferenceLayer,
    BottomUpInferenceModel,
    BottomUpMultiClassInferenceLayer,
    BottomUpMultiClassInferenceModel,
    CentroidCrop,
    CentroidCropGroundTruth,
    CentroidInferenceModel,
    FindInstancePeaks,
    FindInstancePeaksGroundTruth,
    InferenceLayer,
    SingleInstanceInferenceLayer,
    SingleInstanceInferenceModel,
    TopDownInferenceModel,
    TopDownMultiClassFindPeaks,
    TopDownMultiClassInferenceModel,
    find_head,
    infer_output_stride,
)
from sleapish.nn.paf_grouping import PAFScorer


# ---------------------------------------------------------------------- helpers
def ragged_rows(x):
    return [r.numpy() for r in x]


# ------------------------------------------------------------------ preprocessing
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


# --------------------------------------------------------------- single instance
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


# ----------------------------------------------------------------------- top-down
def _frames(n=2, h=32, w=32):
    """uint8 frames whose pixel (y, x) holds x + 2 * y (+ 50 in frame 1)."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([(xx + 2 * yy + 50 * i) % 256 for i in range(n)]
                    ).astype(np.uint8)[..., None]


def _centroid_model(h=32, w=32, stride=2):
    """Centroid maps with peaks (grid) at (4, 5) and (10, 3): image (8, 10), (20, 6)."""
    cms = np.maximum(cms_at([[8.0, 10.0]], h, w, stride),
                     0.8 * cms_at([[20.0, 6.0]], h, w, stride))
    return const_model({"CentroidConfmapsHead": cms}, [h, w, 1])


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


def _instance_model(crop=8, stride=2, q=((1.0, 2.0), (3.0, 1.0))):
    """Centered-instance maps with node peaks at crop-grid points `q`."""
    q = np.asarray(q, np.float32)
    return const_model({"CenteredInstanceConfmapsHead":
                        cms_at(q * stride, crop, crop, stride)}, [crop, crop, 1]), q


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


def test_topdown_model_maps_back_with_c_minus_half_crop():
    model, q = _instance_model(crop=6, stride=2, q=((1.0, 2.0), (2.0, 0.0)))
    td = TopDownInferenceModel(CentroidCrop(_centroid_model(), crop_size=6,
                                            refinement=None),
                               FindInstancePeaks(model, refinement=None))
    out = td.predict(_frames(3), batch_size=2)
    assert_array_equal(out["n_valid"], [2, 2, 2])
    centroids = np.array([[20.0, 6.0], [8.0, 10.0]])
    for c, pk in zip(centroids, out["instance_peaks"][0]):
        # Boxes start at c - 2.5 but SLEAP maps back with c - 3 (0.5 px low).
        assert_allclose(pk, q * 2 + c - 3.0)
    assert_allclose(out["centroid_vals"][:, 1], 1.0, atol=1e-6)

    # Empty frames: NaN-padded to 0 instances.
    empty = const_model({"CentroidConfmapsHead": np.zeros([16, 16, 1])}, [32, 32, 1])
    td = TopDownInferenceModel(CentroidCrop(empty, crop_size=6), FindInstancePeaks(model))
    out = td.predict(np.zeros([2, 32, 32, 1], np.uint8))
    assert out["instance_peaks"].shape == (2, 0, 2, 2)
    assert_array_equal(out["n_valid"], [0, 0])


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


# ---------------------------------------------------------------------- bottom-up
def _bottomup_model(h=32, w=48):
    """Two horizontal instances A -> B; PAFs point along +x everywhere."""
    a = np.array([[8.0, 8.0], [8.0, 24.0]], np.float32)
    b = np.array([[32.0, 8.0], [32.0, 24.0]], np.float32)
    cms = np.concatenate([np.maximum(cms_at(a[:1], h, w, 2), cms_at(a[1:], h, w, 2)),
                          np.maximum(cms_at(b[:1], h, w, 2), cms_at(b[1:], h, w, 2))], -1)
    pafs = np.zeros([h // 4, w // 4, 2], np.float32)
    pafs[..., 0] = 1.0
    return const_model({"MultiInstanceConfmapsHead": cms, "PartAffinityFieldsHead": pafs},
                       [h, w, 1]), a, b


def test_bottomup_layer_groups_instances():
    model, a, b = _bottomup_model()
    scorer = PAFScorer(["A", "B"], [("A", "B")], pafs_stride=4, max_edge_length_ratio=1.0)
    layer = BottomUpInferenceLayer(model, scorer, refinement="integral",
                                   return_confmaps=True, return_pafs=True,
                                   return_paf_graph=True)
    assert (layer.cm_output_stride, layer.paf_output_stride) == (2, 4)
    assert layer.pafs_ind == 1 and layer.offsets_ind is None
    out = BottomUpInferenceModel(layer).predict(np.zeros([2, 32, 48, 1], np.uint8))
    assert_array_equal(out["n_valid"], [2, 2])
    got = sorted(map(tuple, out["instance_peaks"][0].reshape(2, 4)))
    want = sorted(map(tuple, np.concatenate([a, b], 1)))
    assert_allclose(got, want, atol=1e-4)
    assert_allclose(out["instance_scores"][0], [1.0, 1.0], atol=1e-5)
    assert {"confmaps", "part_affinity_fields", "peaks", "edge_inds",
            "line_scores"} <= set(out)
    # Default ratio 0.25: lines longer than 0.25 * max(8, 12, 2) * 4 = 12 px are
    # penalized by min(12 / 24 - 1, 0) = -0.5.
    # (Grid peaks, refinement=None: SLEAP's "local" step on these exactly symmetric
    # peaks is crop_and_resize rounding noise, +-0.25 grid px.)
    scorer = PAFScorer(["A", "B"], [("A", "B")], pafs_stride=4)
    out = BottomUpInferenceLayer(model, scorer, refinement=None)(
        np.zeros([1, 32, 48, 1], np.uint8))
    assert_allclose(out["instance_scores"][0], [0.5, 0.5], atol=1e-5)
    # input_scale: / scale + 0.5 after grouping.
    layer = BottomUpInferenceLayer(model, scorer, input_scale=0.5, refinement=None)
    out = layer(np.zeros([1, 64, 96, 1], np.uint8))
    assert_allclose(np.sort(out["instance_peaks"][0].numpy()[:, 0, 1]),
                    np.sort(a[:, 1]) / 0.5 + 0.5)
    # Connections below min_line_scores are not used.
    strict = PAFScorer(["A", "B"], [("A", "B")], pafs_stride=4, min_line_scores=1.1)
    out = BottomUpInferenceLayer(model, strict)(np.zeros([1, 32, 48, 1], np.uint8))
    assert out["instance_peaks"].row_lengths().numpy().tolist() == [0]


def test_bottomup_multiclass_layer():
    h, w = 32, 48
    _, a, b = _bottomup_model(h, w)
    pts = [np.concatenate([a[i:i + 1], b[i:i + 1]]) for i in range(2)]
    confmaps = np.maximum(cms_at(pts[0], h, w, 2), cms_at(pts[1], h, w, 2))
    class_maps = np.zeros([h // 2, w // 2, 2], np.float32)
    class_maps[:8, :, 1] = 1.0  # top half (instance 0) is class 1
    class_maps[8:, :, 0] = 1.0
    model = const_model({"MultiInstanceConfmapsHead": confmaps,
                         "ClassMapsHead": class_maps}, [h, w, 1])
    layer = BottomUpMultiClassInferenceLayer(model, refinement="local",
                                             return_class_maps=True)
    out = BottomUpMultiClassInferenceModel(layer).predict(np.zeros([1, h, w, 1], np.uint8))
    assert out["instance_peaks"].shape == (1, 2, 2, 2)
    # SLEAP's "local" step on exactly symmetric peaks is crop_and_resize rounding
    # noise: +-0.25 grid px (0.5 px at stride 2), as SLEAP 1.4.1 gives here.
    assert_allclose(out["instance_peaks"][0, 0], pts[1], atol=0.5)
    assert_allclose(out["instance_peaks"][0, 1], pts[0], atol=0.5)
    assert_allclose(out["instance_scores"][0], 1.0)
    assert "class_maps" in out


# ------------------------------------------------------------------ predict inputs
@pytest.mark.slow
def test_predict_input_types_and_batching():
    model, q = _instance_model(crop=8, stride=2)
    layer = SingleInstanceInferenceLayer(
        const_model({"SingleInstanceConfmapsHead": cms_at(q * 2, 8, 8, 2)}, [8, 8, 1]),
        refinement=None)
    sim = SingleInstanceInferenceModel(layer)
    frames = np.zeros([5, 8, 8, 3], np.uint8)  # RGB into a grayscale model
    expected = np.broadcast_to(q * 2, (5, 1, 2, 2))
    for data in (frames, tf.constant(frames), {"image": frames, "frame_ind": np.arange(5)},
                 tf.data.Dataset.from_tensor_slices(frames).batch(2),
                 tf.data.Dataset.from_tensor_slices(frames),
                 tf.data.Dataset.from_tensor_slices({"image": frames}).batch(3)):
        out = sim.predict(data, batch_size=2)
        assert_allclose(out["instance_peaks"], expected)
    # One traced step per input structure, whatever the batch sizes and channels.
    sim = SingleInstanceInferenceModel(layer)
    sim.predict(frames, batch_size=2)  # batches of 2, 2, 1
    assert sim._sleapish_predict_step.experimental_get_tracing_count() <= 2
    sim.predict(np.zeros([7, 8, 8, 1], np.uint8), batch_size=3)
    sim.predict(np.zeros([4, 16, 16, 3], np.uint8), batch_size=4)
    n_traces = sim._sleapish_predict_step.experimental_get_tracing_count()
    sim.predict(np.zeros([9, 8, 8, 1], np.uint8), batch_size=4)
    sim.predict(np.zeros([2, 24, 16, 3], np.uint8), batch_size=4)
    assert sim._sleapish_predict_step.experimental_get_tracing_count() == n_traces
    # Changing a layer attribute takes effect (the step is rebuilt).
    layer.peak_threshold = 1.5
    assert np.isnan(sim.predict(frames)["instance_peaks"]).all()
    layer.peak_threshold = 0.2
    single = sim.predict_on_batch(frames[0])
    assert tuple(single["instance_peaks"].shape) == (1, 1, 2, 2)

    td = TopDownInferenceModel(CentroidCrop(_centroid_model(), crop_size=8,
                                            refinement=None),
                               FindInstancePeaks(model, refinement=None))
    ragged = td.predict(_frames(3), numpy=False, batch_size=2)
    assert isinstance(ragged["instance_peaks"], tf.RaggedTensor)
    assert_array_equal(ragged["instance_peaks"].row_lengths(), [2, 2, 2])
    cm = CentroidInferenceModel(CentroidCrop(_centroid_model(), crop_size=8,
                                             return_crops=False))
    assert set(cm.predict(_frames(1))) == {"centroids", "centroid_vals", "n_valid"}
    with pytest.raises(TypeError, match="Received"):
        sim.predict("not an image")
    with pytest.raises(KeyError, match="image"):
        sim.predict({"frames": frames})


def test_inference_model_rejects_unknown_keyword_arguments():
    model = SingleInstanceInferenceModel(SingleInstanceInferenceLayer(
        identity_model([16, 16, 1], "SingleInstanceConfmapsHead"), refinement=None))
    frames = np.zeros([2, 16, 16, 1], np.uint8)
    out = model.predict(frames, verbose=0)  # Keras's predict options are accepted
    assert out["instance_peaks"].shape == (2, 1, 1, 2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchsize'"):
        model.predict(frames, batchsize=2)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        model.predict_on_batch(frames, numpy=True, batch_size=2)

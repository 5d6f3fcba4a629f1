"""Image dtype, channel and ImageNet normalization (SLEAP's conversions)."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import tf
from sleapish.nn.config import PreprocessingConfig
from sleapish.nn.data import normalization as N
from sleapish.nn.data.normalization import (
    Normalizer,
    convert_rgb_to_bgr,
    ensure_float,
    ensure_grayscale,
    ensure_int,
    ensure_min_image_rank,
    ensure_rgb,
    scale_image_range,
    scale_to_imagenet_caffe_mode,
    scale_to_imagenet_tf_mode,
    scale_to_imagenet_torch_mode,
)


def _run(transformer, example):
    ds = transformer.transform_dataset(tf.data.Dataset.from_tensors(example))
    return [{k: v.numpy() for k, v in ex.items()} for ex in ds]


def test_preprocessing_config_importable_where_sleap_tests_import_it():
    assert N.PreprocessingConfig is PreprocessingConfig


def test_ensure_min_image_rank_appends_axes():
    assert ensure_min_image_rank(tf.zeros([2, 3])).shape == (2, 3, 1)
    assert ensure_min_image_rank(tf.zeros([5])).shape == (5, 1, 1)
    assert ensure_min_image_rank(tf.zeros([2, 3, 4])).shape == (2, 3, 4)
    assert ensure_min_image_rank(tf.zeros([1, 2, 3, 4])).shape == (1, 2, 3, 4)


def test_ensure_float_multiplies_by_reciprocal_of_dtype_max():
    img = np.array([0, 51, 128, 255], np.uint8)
    out = ensure_float(img).numpy()
    assert out.dtype == np.float32
    # convert_image_dtype multiplies by float32(1 / 255); it is not a division.
    expected = img.astype(np.float32) * np.float32(1.0 / 255.0)
    np.testing.assert_array_equal(out, expected)
    assert out[-1] == 1.0
    assert ensure_float(np.array([65535], np.uint16)).numpy()[0] == 1.0
    # Floats are only cast.
    np.testing.assert_array_equal(ensure_float(np.array([0.25, 3.0])), [0.25, 3.0])


def test_ensure_int_truncates_like_convert_image_dtype():
    # [0, 1] floats: x * 255.5 truncated -> 0.5 gives 127 (not 128), 0.25 gives 63.
    out = ensure_int(tf.constant([0.0, 0.25, 0.5, 1.0]))
    assert out.dtype == tf.uint8
    np.testing.assert_array_equal(out, [0, 63, 127, 255])
    # Floats beyond 1 are plainly cast (truncated).
    np.testing.assert_array_equal(ensure_int(tf.constant([0.0, 2.7, 127.0, 255.0])),
                                  [0, 2, 127, 255])
    # Non-float inputs come back untouched (same object, same dtype).
    ints = tf.constant([0, 127, 255])
    assert ensure_int(ints) is ints
    arr = np.array([1, 2], np.int16)
    assert ensure_int(arr) is arr
    # numpy floats and graph mode work too.
    np.testing.assert_array_equal(ensure_int(np.array([0.5])), [127])
    np.testing.assert_array_equal(ensure_int([0.0, 1.0]), [0, 255])
    graph = tf.function(ensure_int)(tf.constant([0.5, 1.0]))
    np.testing.assert_array_equal(graph, [127, 255])


def test_ensure_grayscale_is_luma_on_the_input_dtype():
    img = np.array([[[10, 200, 30]]], np.uint8)
    gray = ensure_grayscale(img).numpy()
    # luma = (0.2989 * 10 + 0.587 * 200 + 0.114 * 30) / 255 = 0.48553; back to uint8
    # by x * 255.5 truncated = 124.
    assert gray.shape == (1, 1, 1) and gray.dtype == np.uint8 and gray[0, 0, 0] == 124
    flt = ensure_grayscale(tf.ones([2, 2, 3], tf.float32)).numpy()
    np.testing.assert_allclose(flt, np.ones((2, 2, 1)), atol=1e-4)
    one = tf.ones([2, 2, 1], tf.uint8)
    assert ensure_grayscale(one) is one


def test_ensure_rgb_and_bgr():
    gray = tf.constant([[[7]]], tf.uint8)
    np.testing.assert_array_equal(ensure_rgb(gray), [[[7, 7, 7]]])
    two = tf.zeros([1, 1, 2])
    assert ensure_rgb(two) is two
    rgb = tf.constant([[[1, 2, 3]]], tf.uint8)
    np.testing.assert_array_equal(convert_rgb_to_bgr(rgb), [[[3, 2, 1]]])
    # Grayscale becomes RGB first (3 channels), as in SLEAP.
    np.testing.assert_array_equal(convert_rgb_to_bgr(gray), [[[7, 7, 7]]])


def test_scale_image_range_keeps_float_dtype():
    np.testing.assert_array_equal(scale_image_range(tf.constant([0.0, 0.5, 1.0]), -1, 1),
                                  [-1, 0, 1])
    out = scale_image_range(tf.constant([0.5], tf.float64), 0.0, 255.0)
    assert out.dtype == tf.float64 and out.numpy()[0] == 127.5


def test_imagenet_modes():
    gray = np.array([[[0], [255]]], np.uint8)  # (1, 2, 1)
    tf_mode = scale_to_imagenet_tf_mode(gray).numpy()
    assert tf_mode.shape == (1, 2, 3)  # grayscale made RGB
    np.testing.assert_array_equal(tf_mode[0, 0], [-1, -1, -1])
    np.testing.assert_array_equal(tf_mode[0, 1], [1, 1, 1])
    assert scale_to_imagenet_tf_mode(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)

    rgb = np.array([[[255, 0, 0]]], np.uint8)  # pure red
    caffe = scale_to_imagenet_caffe_mode(rgb).numpy()[0, 0]  # BGR minus BGR means
    np.testing.assert_allclose(caffe, [0 - 103.939, 0 - 116.779, 255 - 123.68],
                               atol=1e-4)
    torch = scale_to_imagenet_torch_mode(rgb).numpy()[0, 0]
    np.testing.assert_allclose(torch, [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224,
                                       (0 - 0.406) / 0.225], rtol=1e-5)


def test_normalizer_order_and_channels():
    img = np.full((4, 4, 1), 255, np.uint8)
    # SLEAP's attribute order: image_key, ensure_float, ensure_rgb, ensure_grayscale.
    norm = Normalizer("image", True, True)
    assert norm.ensure_rgb and not norm.ensure_grayscale
    (out,) = _run(norm, {"image": img})
    assert out["image"].shape == (4, 4, 3) and out["image"].dtype == np.float32
    # RGB first, then grayscale: both flags give 1 channel.
    (both,) = _run(Normalizer(ensure_rgb=True, ensure_grayscale=True), {"image": img})
    assert both["image"].shape == (4, 4, 1)
    np.testing.assert_allclose(both["image"], 1.0, atol=1e-4)
    # ImageNet modes make RGB, even after ensure_grayscale.
    (imnet,) = _run(Normalizer(ensure_grayscale=True, imagenet_mode="tf"),
                    {"image": img})
    assert imnet["image"].shape == (4, 4, 3)
    np.testing.assert_allclose(imnet["image"], 1.0, atol=1e-4)
    # Without ensure_float, uint8 stays uint8.
    (raw,) = _run(Normalizer(ensure_float=False, ensure_rgb=True), {"image": img})
    assert raw["image"].dtype == np.uint8 and raw["image"].shape == (4, 4, 3)


def test_normalizer_batches_and_unknown_channels():
    batch = np.zeros((2, 4, 4, 3), np.uint8)
    (out,) = _run(Normalizer(ensure_grayscale=True), {"image": batch})
    assert out["image"].shape == (2, 4, 4, 1)

    def gen():
        yield {"image": np.full((3, 3, 3), 255, np.uint8)}

    ds = tf.data.Dataset.from_generator(
        gen, output_signature={"image": tf.TensorSpec([None, None, None], tf.uint8)})
    ds = Normalizer(ensure_grayscale=True).transform_dataset(ds)
    assert ds.element_spec["image"].shape.as_list() == [None, None, 1]
    assert next(iter(ds))["image"].shape == (3, 3, 1)


def test_normalizer_from_config_and_errors():
    norm = Normalizer.from_config(PreprocessingConfig(ensure_rgb=True, imagenet_mode="tf"),
                                  image_key="instance_image")
    assert norm.image_key == "instance_image" and norm.ensure_float
    assert norm.ensure_rgb and not norm.ensure_grayscale and norm.imagenet_mode == "tf"
    assert norm.input_keys == norm.output_keys == ["instance_image"]
    with pytest.raises(ValueError, match="imagenet_mode"):
        Normalizer(imagenet_mode="keras")
    bad = tf.data.Dataset.from_tensors({"image": np.zeros((1, 1, 4, 4, 1), np.uint8)})
    with pytest.raises(ValueError, match="rank 2, 3 or 4.*Received: shape"):
        Normalizer().transform_dataset(bad)

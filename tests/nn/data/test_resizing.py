"""Padding to a stride, resizing, `Resizer`, `SizeMatcher` and `PointsRescaler`."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import tf
from sleapish.nn.config import PreprocessingConfig
from sleapish.nn.data import resizing as R
from sleapish.nn.data.resizing import (
    PointsRescaler,
    Resizer,
    SizeMatcher,
    find_padding_for_stride,
    pad_image_to_stride,
    pad_to_stride,
    resize_image,
)


def _run(transformer, examples):
    if isinstance(examples, dict):
        examples = [examples]
    ds = tf.data.Dataset.from_tensors(examples[0])
    for ex in examples[1:]:
        ds = ds.concatenate(tf.data.Dataset.from_tensors(ex))
    return [{k: v.numpy() for k, v in ex.items()} for ex in transformer.transform_dataset(ds)]


def test_preprocessing_config_importable_where_sleap_tests_import_it():
    assert R.PreprocessingConfig is PreprocessingConfig


def test_find_padding_for_stride():
    assert find_padding_for_stride(127, 129, 32) == (1, 31)
    assert find_padding_for_stride(128, 128, 32) == (0, 0)
    assert find_padding_for_stride(10, 16, 8) == (6, 0)


def test_pad_to_stride_values_dtype_and_rank():
    padded = pad_to_stride(tf.ones([3, 5, 1]), max_stride=2).numpy()
    assert padded.shape == (4, 6, 1)
    assert padded[:3, :5].min() == 1 and padded[3].max() == 0 and padded[:, 5].max() == 0
    assert pad_to_stride(tf.ones([3, 5, 1], tf.uint8), 2).dtype == tf.uint8
    assert pad_to_stride(tf.ones([4, 4, 1]), 2).shape == (4, 4, 1)
    assert pad_to_stride(np.ones((2, 10, 16, 1)), 8).shape == (2, 16, 16, 1)
    assert pad_to_stride(tf.ones([3, 5, 1]), 1).shape == (3, 5, 1)


def test_pad_to_stride_is_a_tf_function_like_sleap():
    # SLEAP decorates pad_to_stride with tf.function; its tests call __wrapped__.
    assert isinstance(pad_to_stride, tf.types.experimental.PolymorphicFunction)
    plain = pad_to_stride.__wrapped__(tf.ones([3, 5, 1]), max_stride=2)
    assert plain.shape == (4, 6, 1)
    # Eager calls on many new sizes retrace at most twice (reduce_retracing).
    before = pad_to_stride.experimental_get_tracing_count()
    for i in range(6):
        h, w = 7 + i, 9 + 2 * i
        out = pad_to_stride(tf.zeros([h, w, 1]), 4)
        assert out.shape == (-(-h // 4) * 4, -(-w // 4) * 4, 1)
    assert pad_to_stride.experimental_get_tracing_count() - before <= 2
    # A generalized trace still pads exactly (unknown static shape inside).
    np.testing.assert_array_equal(pad_to_stride(tf.ones([3, 5, 1]), 2).shape, (4, 6, 1))
    assert pad_to_stride(tf.ones([1, 3, 5, 2]), 4).shape == (1, 4, 8, 2)


def test_pad_image_to_stride_keeps_static_shapes_in_graphs():
    @tf.function
    def padded_static(x):
        out = pad_image_to_stride(x, 16)
        assert out.shape.as_list() == [2, 32, 48, 3]
        return out

    padded_static(tf.zeros([2, 20, 33, 3]))

    @tf.function(input_signature=[tf.TensorSpec([None, None, 1], tf.float32)])
    def padded_dynamic(x):
        return pad_image_to_stride(x, 16)

    assert padded_dynamic(tf.zeros([20, 33, 1])).shape == (32, 48, 1)

    @tf.function(input_signature=[tf.TensorSpec(None, tf.uint8)])
    def padded_any_rank(x):
        return pad_image_to_stride(x, 8)

    assert padded_any_rank(tf.zeros([2, 5, 9, 1], tf.uint8)).shape == (2, 8, 16, 1)
    assert padded_any_rank(tf.zeros([5, 9, 3], tf.uint8)).shape == (8, 16, 3)
    with pytest.raises(ValueError, match="Received: shape"):
        pad_image_to_stride(tf.zeros([4, 4]), 2)


def test_resize_image_sizes_per_axis_scale_and_truncation():
    img = tf.ones([4, 8, 1], tf.uint8)
    # [scale_x, scale_y]: width 8 * 0.25 = 2, height 4 * 3 = 12.
    assert resize_image(img, scale=[0.25, 3]).shape == (12, 2, 1)
    assert resize_image(img, scale=0.5).shape == (2, 4, 1)
    assert resize_image(img, 0.5).dtype == tf.uint8
    assert resize_image(tf.ones([4, 8, 1]), 0.5).dtype == tf.float32
    # Sizes are truncated: 5 * 0.5 = 2.5 -> 2.
    assert resize_image(tf.ones([5, 5, 1]), 0.5).shape == (2, 2, 1)
    assert resize_image(tf.ones([2, 4, 8, 1]), 0.5).shape == (2, 2, 4, 1)
    # Half-pixel bilinear: one output pixel from [0, 255] samples x = 0.5 -> 127.5,
    # truncated to 127 for uint8 (SLEAP casts, it does not round).
    pair = tf.constant([[[0], [255]]], tf.uint8)
    assert resize_image(pair, [0.5, 1.0]).numpy()[0, 0, 0] == 127
    assert resize_image(tf.cast(pair, tf.float32), [0.5, 1.0]).numpy()[0, 0, 0] == 127.5
    assert resize_image(img, 1.0) is not None and resize_image(img, 1.0).shape == (4, 8, 1)


def _frame(h=30, w=40):
    return {"image": np.zeros((h, w, 1), np.uint8), "scale": np.ones(2, np.float32),
            "instances": np.array([[[10.0, 20.0]]], np.float32)}


def test_resizer_scales_points_and_pads_after_scaling():
    (out,) = _run(Resizer(scale=0.5, pad_to_stride=16, keep_full_image=True), _frame())
    assert out["image"].shape == (16, 32, 1)  # 15 x 20 padded to 16 x 32
    assert out["full_image"].shape == (30, 40, 1)
    np.testing.assert_allclose(out["instances"], [[[5.0, 10.0]]])
    np.testing.assert_allclose(out["scale"], [0.5, 0.5])
    # A custom scale key (SLEAP's attribute order: image_key, scale_key, points_key).
    r = Resizer("image", "s", None, 0.5)
    assert r.scale_key == "s" and r.points_key is None and r.input_keys == ["image", "s"]
    ex = {"image": np.zeros((8, 8, 1), np.float32), "s": np.ones(2, np.float32)}
    (out,) = _run(r, ex)
    assert out["image"].shape == (4, 4, 1)
    np.testing.assert_allclose(out["s"], [0.5, 0.5])


def test_resizer_from_config_pad_to_stride_rules():
    r = Resizer.from_config(PreprocessingConfig(input_scaling=0.5, pad_to_stride=32))
    assert (r.image_key, r.points_key, r.scale, r.pad_to_stride) == (
        "image", "instances", 0.5, 32)
    # The config's integer wins over the argument.
    assert Resizer.from_config(PreprocessingConfig(pad_to_stride=32),
                               pad_to_stride=16).pad_to_stride == 32
    # The argument fills a missing config value.
    assert Resizer.from_config(PreprocessingConfig(pad_to_stride=None),
                               pad_to_stride=8).pad_to_stride == 8
    with pytest.raises(ValueError, match="pad_to_stride"):
        Resizer.from_config(PreprocessingConfig(pad_to_stride=None))
    r = Resizer.from_config(PreprocessingConfig(pad_to_stride=4), scale_key="s",
                            keep_full_image=True, full_image_key="big", points_key=None)
    assert (r.scale_key, r.keep_full_image, r.full_image_key, r.points_key) == (
        "s", True, "big", None)
    assert r.output_keys == ["image", "s", "big"]


def _robot_and_box():
    """A 320 x 560 frame and a 512 x 512 frame (the sizes of SLEAP's test videos)."""
    a = {"image": np.full((320, 560, 1), 9, np.uint8), "scale": np.ones(2, np.float32),
         "instances": np.array([[[128.0, 128.0]]], np.float32)}
    b = {"image": np.full((512, 512, 1), 9, np.uint8), "scale": np.ones(2, np.float32),
         "instances": np.array([[[128.0, 128.0]]], np.float32)}
    return a, b


def test_size_matcher_bottom_right_padding():
    a, b = _robot_and_box()
    out_a, out_b = _run(SizeMatcher(max_image_height=560, max_image_width=560), [a, b])
    # 320 x 560 -> ratio min(560/320, 560/560) = 1: padded below row 320.
    assert out_a["image"].shape == (560, 560, 1)
    assert (out_a["image"][:320] == 9).all() and (out_a["image"][320:] == 0).all()
    np.testing.assert_allclose(out_a["scale"], [1, 1])
    # 512 x 512 -> scaled up by 560 / 512 to 560 x 560, no padding.
    assert out_b["image"].shape == (560, 560, 1) and (out_b["image"] == 9).all()
    np.testing.assert_allclose(out_b["scale"], [560 / 512] * 2, rtol=1e-6)
    np.testing.assert_allclose(out_b["instances"], [[[140.0, 140.0]]], rtol=1e-6)
    assert out_a["offset_x"] == out_a["offset_y"] == 0

    out_a, out_b = _run(SizeMatcher(max_image_height=320, max_image_width=560), [a, b])
    assert (out_a["image"] == 9).all()  # already the target size: unchanged
    # 512 x 512 -> 320 x 320 (ratio 0.625), padded on the right from column 320.
    assert out_b["image"].shape == (320, 560, 1)
    assert (out_b["image"][:, 320:] == 0).all() and (out_b["image"][:, :320] == 9).all()
    np.testing.assert_allclose(out_b["instances"], [[[80.0, 80.0]]])
    np.testing.assert_allclose(out_b["scale"], [0.625, 0.625])

    out_a, out_b = _run(SizeMatcher(max_image_height=750, max_image_width=750), [a, b])
    # 320 x 560 -> ratio 750 / 560: int(320 * 1.339) = 428 rows, padded from row 428.
    # tf.image.resize_with_pad(428, 750) then fits 560 * 428 / 320 = 749 columns
    # (floor), so SLEAP's last column is padding too.
    assert out_a["image"].shape == (750, 750, 1)
    assert (out_a["image"][428:] == 0).all() and (out_a["image"][:, 749] == 0).all()
    assert (out_a["image"][:428, :749] == 9).all()
    np.testing.assert_allclose(out_a["scale"], [750 / 560] * 2, rtol=1e-6)


def test_size_matcher_center_pad_offsets_points():
    a, _ = _robot_and_box()
    (out,) = _run(SizeMatcher(max_image_height=560, max_image_width=560, center_pad=True),
                  a)
    # 320 rows centred in 560: 120 rows of padding on top and bottom.
    assert out["offset_x"] == 0 and out["offset_y"] == 120
    assert out["offset_y"].dtype == np.int32
    assert (out["image"][:120] == 0).all() and (out["image"][440:] == 0).all()
    assert (out["image"][120:440] == 9).all()
    np.testing.assert_allclose(out["instances"], [[[128.0, 248.0]]])


def test_size_matcher_noop_and_from_config():
    a, _ = _robot_and_box()
    ds = tf.data.Dataset.from_tensors(a)
    assert SizeMatcher().transform_dataset(ds) is ds
    assert SizeMatcher.from_config(PreprocessingConfig(resize_and_pad_to_target=False),
                                   ).max_image_height is None

    class Provider:
        max_height_and_width = (64, 96)

    cfg = PreprocessingConfig(resize_and_pad_to_target=True)
    m = SizeMatcher.from_config(cfg, provider=Provider())
    assert (m.max_image_height, m.max_image_width) == (64, 96)
    assert (cfg.target_height, cfg.target_width) == (64, 96)
    cfg = PreprocessingConfig(target_height=10, target_width=20)
    m = SizeMatcher.from_config(cfg, provider=Provider(), points_key=None)
    assert (m.max_image_height, m.max_image_width, m.points_key) == (10, 20, None)
    assert m.output_keys == ["image", "scale", "offset_x", "offset_y"]


def test_size_matcher_casts_back_by_truncation():
    # 2 x 4 image with columns [0, 255, 0, 255] fitted into 2 x 2: ratio 0.5 gives
    # 1 x 2; output column 0 samples x = 0.5 -> 127.5, truncated to 127; row 1 is padding.
    row = [[0], [255], [0], [255]]
    ex = {"image": np.array([row, row], np.uint8), "scale": np.ones(2, np.float32)}
    (out,) = _run(SizeMatcher(max_image_height=2, max_image_width=2, points_key=None), ex)
    np.testing.assert_array_equal(out["image"][..., 0], [[127, 127], [0, 0]])


def test_points_rescaler():
    ex = {"predicted_instances": np.array([[[10.0, 20.0]]], np.float32),
          "scale": np.array([0.5, 0.25], np.float32)}
    (back,) = _run(PointsRescaler(), ex)
    np.testing.assert_allclose(back["predicted_instances"], [[[20.0, 80.0]]])
    (fwd,) = _run(PointsRescaler(invert=False), ex)
    np.testing.assert_allclose(fwd["predicted_instances"], [[[5.0, 5.0]]])


def test_size_matcher_dynamic_shapes_match_static_path():
    a, b = _robot_and_box()
    matcher = SizeMatcher(max_image_height=320, max_image_width=560, center_pad=True)

    def gen():
        yield a
        yield b

    sig = {"image": tf.TensorSpec([None, None, 1], tf.uint8),
           "scale": tf.TensorSpec([2], tf.float32),
           "instances": tf.TensorSpec([None, 1, 2], tf.float32)}
    ds = matcher.transform_dataset(tf.data.Dataset.from_generator(gen,
                                                                   output_signature=sig))
    assert ds.element_spec["image"].shape.as_list() == [320, 560, 1]
    dynamic = [{k: v.numpy() for k, v in ex.items()} for ex in ds]
    static = _run(matcher, [a, b])
    for d, s in zip(dynamic, static):
        assert d.keys() == s.keys()
        for k in d:
            np.testing.assert_array_equal(d[k], s[k], err_msg=k)
    # 512 x 512 -> 320 x 320 centred in 560 columns: offset_x = 120.
    assert dynamic[1]["offset_x"] == 120 and dynamic[0]["offset_x"] == 0
    np.testing.assert_allclose(dynamic[1]["instances"], [[[200.0, 80.0]]])

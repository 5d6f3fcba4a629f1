"""Normalization, resizing, centroids and instance cropping."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.datasets import synthetic_skeleton
from sleapish.nn._backend import tf
from sleapish.nn.config import InstanceCroppingConfig, PreprocessingConfig
from sleapish.nn.data.instance_centroids import (
    InstanceCentroidFinder,
    find_points_bbox_midpoint,
    get_instance_anchors,
)
from sleapish.nn.data.instance_cropping import (
    InstanceCropper,
    crop_bboxes,
    find_instance_crop_size,
    make_centered_bboxes,
    normalize_bboxes,
)
from sleapish.nn.data.normalization import (
    Normalizer,
    ensure_float,
    ensure_grayscale,
    ensure_int,
    ensure_rgb,
    scale_to_imagenet_caffe_mode,
    scale_to_imagenet_tf_mode,
    scale_to_imagenet_torch_mode,
)
from sleapish.nn.data.resizing import (
    PointsRescaler,
    Resizer,
    SizeMatcher,
    find_padding_for_stride,
    pad_to_stride,
    resize_image,
)

NAN = np.nan


def _run(transformer, example):
    ds = transformer.transform_dataset(tf.data.Dataset.from_tensors(example))
    return [{k: v.numpy() for k, v in ex.items()} for ex in ds]


def test_normalization_functions():
    img = np.array([[[0, 128, 255]]], np.uint8)
    np.testing.assert_allclose(ensure_float(img), [[[0, 128 / 255, 1]]], rtol=1e-6)
    np.testing.assert_array_equal(ensure_int(ensure_float(img)), img)
    gray = ensure_grayscale(img).numpy()
    assert gray.shape == (1, 1, 1) and gray[0, 0, 0] == round(0.587 * 128 + 0.114 * 255)
    assert ensure_rgb(gray).shape == (1, 1, 3)
    np.testing.assert_allclose(scale_to_imagenet_tf_mode(img), [[[-1, 128 / 255 * 2 - 1, 1]]],
                               atol=1e-6)
    caffe = scale_to_imagenet_caffe_mode(img).numpy()  # BGR minus means
    np.testing.assert_allclose(caffe[0, 0], [255 - 103.939, 128 - 116.779, 0 - 123.68],
                               atol=1e-3)
    torch = scale_to_imagenet_torch_mode(img).numpy()
    np.testing.assert_allclose(torch[0, 0, 0], (0 - 0.485) / 0.229, rtol=1e-5)


def test_normalizer_from_config_and_errors():
    norm = Normalizer.from_config(PreprocessingConfig(ensure_rgb=True))
    (out,) = _run(norm, {"image": np.full((4, 4, 1), 255, np.uint8)})
    assert out["image"].shape == (4, 4, 3) and out["image"].dtype == np.float32
    assert out["image"].max() == 1.0
    bad = tf.data.Dataset.from_tensors({"image": np.zeros((1, 4, 4, 1), np.uint8)})
    with pytest.raises(ValueError, match="rank 2 or 3.*Received: shape"):
        norm.transform_dataset(bad)
    with pytest.raises(ValueError, match="imagenet_mode"):
        Normalizer(imagenet_mode="keras")


def test_padding_and_resizing():
    assert find_padding_for_stride(10, 16, 8) == (6, 0)
    padded = pad_to_stride(np.ones((10, 16, 1), np.float32), 8).numpy()
    assert padded.shape == (16, 16, 1) and padded[10:].max() == 0
    assert pad_to_stride(np.ones((2, 10, 16, 1)), 8).shape == (2, 16, 16, 1)
    small = resize_image(np.full((10, 20, 1), 200, np.uint8), 0.5)
    assert small.shape == (5, 10, 1) and small.dtype == tf.uint8
    assert int(small.numpy().min()) == 200
    ex = {"image": np.zeros((30, 40, 1), np.uint8), "scale": np.ones(2, np.float32),
          "instances": np.array([[[10.0, 20.0]]], np.float32)}
    (out,) = _run(Resizer.from_config(PreprocessingConfig(input_scaling=0.5,
                                                          pad_to_stride=16)), ex)
    assert out["image"].shape == (16, 32, 1)
    np.testing.assert_allclose(out["instances"], [[[5.0, 10.0]]])
    np.testing.assert_allclose(out["scale"], [0.5, 0.5])
    (back,) = _run(PointsRescaler(points_key="instances"), out)
    np.testing.assert_allclose(back["instances"], [[[10.0, 20.0]]])


def test_size_matcher_fits_and_pads():
    ex = {"image": np.full((40, 20, 1), 7, np.uint8), "scale": np.ones(2, np.float32),
          "instances": np.array([[[10.0, 30.0]]], np.float32)}
    (out,) = _run(SizeMatcher(max_image_height=20, max_image_width=30), ex)
    assert out["image"].shape == (20, 30, 1)
    np.testing.assert_allclose(out["scale"], [0.5, 0.5])
    np.testing.assert_allclose(out["instances"], [[[5.0, 15.0]]])
    assert out["image"][:, 10:].max() == 0  # padded on the right
    (same,) = _run(SizeMatcher(max_image_height=64, max_image_width=64), ex)
    assert same["image"].shape == (64, 64, 1) and same["scale"][0] == 1.0


def test_centroids():
    inst = np.array([[[1, 2], [3, NAN], [NAN, 6]], [[NAN, NAN]] * 3], np.float32)
    np.testing.assert_allclose(find_points_bbox_midpoint(inst), [[2, 4], [NAN, NAN]])
    inst2 = np.array([[[1, 2], [3, 4]], [[5, 6], [NAN, NAN]]], np.float32)
    np.testing.assert_allclose(get_instance_anchors(inst2, 1), [[3, 4], [5, 6]])
    skel = synthetic_skeleton()
    finder = InstanceCentroidFinder.from_config(
        InstanceCroppingConfig(center_on_part="thorax"), skeletons=[skel])
    pts = np.array([[[0, 0], [10, 20], [5, 5], [1, 1]]], np.float32)
    (out,) = _run(finder, {"instances": pts})
    np.testing.assert_allclose(out["centroids"], [[10, 20]])
    with pytest.raises(ValueError, match="'wing' is not a node"):
        InstanceCentroidFinder(True, "wing", [skel]).anchor_ind


def test_bboxes_and_crops():
    boxes = make_centered_bboxes(np.array([[5.0, 4.0]], np.float32), 3, 5).numpy()
    np.testing.assert_allclose(boxes, [[3, 3, 5, 7]])  # [y1, x1, y2, x2]
    np.testing.assert_allclose(normalize_bboxes(boxes, 11, 9), [[0.3, 3 / 8, 0.5, 7 / 8]])
    img = np.arange(100, dtype=np.uint8).reshape(10, 10, 1)
    crop = crop_bboxes(img, boxes).numpy()
    assert crop.shape == (1, 3, 5, 1) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop[0, :, :, 0], img[3:6, 3:8, 0])
    edge = crop_bboxes(img, make_centered_bboxes([[0.0, 0.0]], 3, 3)).numpy()
    assert edge[0, 0, 0, 0] == 0 and edge[0, 1, 1, 0] == img[0, 0, 0]


def test_instance_cropper_one_example_per_instance():
    img = np.arange(400, dtype=np.float32).reshape(20, 20, 1)
    inst = np.array([[[5, 5], [7, 7]], [[14, 12], [NAN, NAN]]], np.float32)
    ex = {"image": img, "instances": inst, "centroids": np.array([[6, 6], [14, 12]],
                                                                    np.float32),
          "track_inds": np.array([1, 0], np.int32), "scale": np.ones(2, np.float32),
          "frame_ind": np.int64(9)}
    crops = _run(InstanceCropper(crop_width=4, crop_height=4), ex)
    assert len(crops) == 2
    a, b = crops
    assert a["instance_image"].shape == (4, 4, 1)
    np.testing.assert_allclose(a["bbox"], [4.5, 4.5, 7.5, 7.5])
    np.testing.assert_allclose(a["center_instance"], [[0.5, 0.5], [2.5, 2.5]])
    np.testing.assert_allclose(a["centroid"], [1.5, 1.5])
    assert a["all_instances"].shape == (2, 2, 2) and a["track_ind"] == 1
    assert b["track_ind"] == 0 and b["frame_ind"] == 9 and np.isnan(b["center_instance"][1]).all()
    assert "image" not in a and a["full_image_height"] == 20
    # Integer-aligned box -> exact pixels.
    (c,) = _run(InstanceCropper(crop_width=3, crop_height=3),
                {"image": img, "instances": inst[:1], "centroids": np.array([[6, 6]],
                                                                             np.float32)})
    np.testing.assert_array_equal(c["instance_image"][..., 0], img[5:8, 5:8, 0])
    none = _run(InstanceCropper(crop_width=3, crop_height=3),
                {"image": img, "instances": np.zeros((0, 2, 2), np.float32),
                 "centroids": np.zeros((0, 2), np.float32)})
    assert none == []


def test_find_instance_crop_size(synthetic):
    import sleapish

    labels = sleapish.load_file(synthetic.labels_path)
    # Rigid animals span 27 px head to tail: ceil((27 + 16) / 16) * 16 = 48.
    assert find_instance_crop_size(labels, padding=16, maximum_stride=16) == 48
    assert find_instance_crop_size(labels, padding=0, maximum_stride=4,
                                   input_scaling=0.5) == 16
    assert find_instance_crop_size(labels, maximum_stride=8, min_crop_size=64) == 64
    empty = sleapish.Labels(skeletons=[synthetic_skeleton()])
    with pytest.raises(ValueError, match="no user instance"):
        find_instance_crop_size(empty)

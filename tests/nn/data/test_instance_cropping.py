"""Bounding boxes, crops, crop sizes and the instance croppers."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

import sleapish
from sleapish.datasets import synthetic_skeleton
from sleapish.nn._backend import tf
from sleapish.nn.config import InstanceCroppingConfig
from sleapish.nn.data.instance_centroids import InstanceCentroidFinder
from sleapish.nn.data.instance_cropping import (
    InstanceCropper,
    PredictedInstanceCropper,
    crop_bboxes,
    find_instance_crop_size,
    make_centered_bboxes,
    normalize_bboxes,
    unnormalize_bboxes,
)
from sleapish.nn.data.providers import LabelsReader

NAN = np.nan


def _run(transformer, example):
    ds = transformer.transform_dataset(tf.data.Dataset.from_tensors(example))
    return [{k: v.numpy() for k, v in ex.items()} for ex in ds]


def test_normalize_and_unnormalize_bboxes():
    box = np.array([[0, 0, 3, 3]], np.float32)
    norm = normalize_bboxes(box, 9, 9)
    np.testing.assert_array_equal(norm, [[0, 0, 0.375, 0.375]])  # 3 / (9 - 1)
    np.testing.assert_array_equal(unnormalize_bboxes(norm, 9, 9), box)
    np.testing.assert_allclose(normalize_bboxes([[3, 3, 5, 7]], 11, 9),
                               [[0.3, 3 / 8, 0.5, 7 / 8]])


def test_make_centered_bboxes():
    np.testing.assert_array_equal(make_centered_bboxes([[1.0, 1.0]], 3, 3), [[0, 0, 2, 2]])
    np.testing.assert_array_equal(make_centered_bboxes([[2.0, 2.0]], 4, 4),
                                  [[0.5, 0.5, 3.5, 3.5]])
    # (x, y) = (5, 4), height 3, width 5 -> [y1, x1, y2, x2] = [3, 3, 5, 7].
    np.testing.assert_array_equal(make_centered_bboxes([[5.0, 4.0]], 3, 5), [[3, 3, 5, 7]])
    # Any leading shape.
    assert make_centered_bboxes(np.zeros((2, 3, 2), np.float32), 3, 3).shape == (2, 3, 4)


def test_crop_bboxes_exact_slices_and_dtype():
    img = np.arange(100, dtype=np.uint8).reshape(10, 10, 1)
    crop = crop_bboxes(img, [[3, 3, 5, 7]]).numpy()
    assert crop.shape == (1, 3, 5, 1) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop[0, :, :, 0], img[3:6, 3:8, 0])
    # Outside the image is 0.
    edge = crop_bboxes(img, make_centered_bboxes([[0.0, 0.0]], 3, 3)).numpy()
    assert edge[0, 0, 0, 0] == 0 and edge[0, 1, 1, 0] == img[0, 0, 0]
    # The size comes from the first box, rounded: 100 x 100 for a fractional centre.
    boxes = make_centered_bboxes([[464.42838, 550.14276]], 100, 100)
    assert crop_bboxes(tf.zeros([16, 16, 1]), boxes).shape == (1, 100, 100, 1)
    assert crop_bboxes(img, np.zeros((0, 4), np.float32), (3, 3)).shape == (0, 3, 3, 1)


def test_crop_bboxes_truncates_integer_crops_like_sleap():
    img = np.array([[[0], [255]]], np.uint8)  # (1, 2, 1)
    # A 1 x 1 box at x = 0.5 samples halfway: 127.5 -> 127 (cast, not round).
    box = [[0.0, 0.5, 0.0, 0.5]]
    assert crop_bboxes(img, box).numpy()[0, 0, 0, 0] == 127
    assert crop_bboxes(img.astype(np.float32), box).numpy()[0, 0, 0, 0] == 127.5


def _labels_with_extent(*extents, predicted=None):
    skel = sio.Skeleton(["a", "b"])
    video = sio.Video(filename="fake.mp4", open_backend=False)
    insts = [sio.Instance.from_numpy(np.array([[0, 0], [e, e / 2]], float), skeleton=skel)
             for e in extents]
    if predicted is not None:
        insts.append(sio.PredictedInstance.from_numpy(
            np.array([[0, 0], [predicted, 0]], float), skeleton=skel))
    insts.append(sio.Instance.from_numpy(np.full((2, 2), NAN), skeleton=skel))  # empty
    return sio.Labels([sio.LabeledFrame(video=video, frame_idx=0, instances=insts)])


def test_find_instance_crop_size_sleap_rules():
    labels = _labels_with_extent(20.0, 30.0, predicted=500.0)  # predictions ignored
    # ceil((30 + 16) / 16) * 16 = 48.
    assert find_instance_crop_size(labels, padding=16, maximum_stride=16) == 48
    # Scaled extents: ceil(15 / 4) * 4 = 16.
    assert find_instance_crop_size(labels, maximum_stride=4, input_scaling=0.5) == 16
    # A user size divisible by the stride is returned as is, even if smaller.
    assert find_instance_crop_size(labels, padding=16, maximum_stride=8,
                                   min_crop_size=16) == 16
    # Otherwise it is a lower bound before padding: max(30, 50 - 16) + 16 = 50 -> 64.
    assert find_instance_crop_size(labels, padding=16, maximum_stride=16,
                                   min_crop_size=50) == 64
    assert find_instance_crop_size(labels, padding=0, maximum_stride=16,
                                   min_crop_size=20) == 32
    empty = sleapish.Labels(skeletons=[synthetic_skeleton()])
    with pytest.raises(ValueError, match="no user instance"):
        find_instance_crop_size(empty)


def _frame():
    img = np.arange(400, dtype=np.float32).reshape(20, 20, 1)
    inst = np.array([[[5, 5], [7, 7]], [[14, 12], [NAN, NAN]]], np.float32)
    return {"image": img, "instances": inst,
            "centroids": np.array([[6, 6], [14, 12]], np.float32),
            "track_inds": np.array([1, 0], np.int32),
            "skeleton_inds": np.array([0, 0], np.int32),
            "class_vectors": np.array([[0, 1], [1, 0]], np.float32),
            "scale": np.ones(2, np.float32), "frame_ind": np.int64(9)}


def test_instance_cropper_keys_and_values():
    a, b = _run(InstanceCropper(crop_width=4, crop_height=4), _frame())
    assert a["instance_image"].shape == (4, 4, 1)
    np.testing.assert_allclose(a["bbox"], [4.5, 4.5, 7.5, 7.5])
    np.testing.assert_allclose(a["center_instance"], [[0.5, 0.5], [2.5, 2.5]])
    np.testing.assert_allclose(a["all_instances"][1], [[9.5, 7.5], [NAN, NAN]])
    # The centroid stays in full-image coordinates, as in SLEAP.
    np.testing.assert_allclose(a["centroid"], [6, 6])
    np.testing.assert_allclose(b["centroid"], [14, 12])
    assert a["center_instance_ind"] == 0 and b["center_instance_ind"] == 1
    assert a["track_ind"] == 1 and b["track_ind"] == 0
    # Each crop gets its own class vector row; other frame keys are repeated.
    np.testing.assert_array_equal(a["class_vectors"], [0, 1])
    np.testing.assert_array_equal(b["class_vectors"], [1, 0])
    np.testing.assert_array_equal(a["track_inds"], [1, 0])
    np.testing.assert_array_equal(b["skeleton_inds"], [0, 0])
    assert b["frame_ind"] == 9 and np.isnan(b["center_instance"][1]).all()
    assert a["full_image_height"] == 20 and a["full_image_width"] == 20
    assert "image" not in a and "instances" not in a and "centroids" not in a
    assert "centroid_confidence" not in a


def test_instance_cropper_options():
    ex = _frame()
    (c, _) = _run(InstanceCropper(3, 3, keep_full_image=True,
                                  mock_centroid_confidence=True), ex)
    np.testing.assert_array_equal(c["instance_image"][..., 0], ex["image"][5:8, 5:8, 0])
    assert c["image"].shape == (20, 20, 1) and c["centroid_confidence"] == 1.0
    (frame,) = _run(InstanceCropper(3, 3, unbatch=False), ex)
    assert frame["instance_image"].shape == (2, 3, 3, 1)
    assert frame["class_vectors"].shape == (2, 2) and frame["track_inds"].shape == (2, 2)
    empty = dict(ex, instances=np.zeros((0, 2, 2), np.float32),
                 centroids=np.zeros((0, 2), np.float32),
                 track_inds=np.zeros(0, np.int32), skeleton_inds=np.zeros(0, np.int32),
                 class_vectors=np.zeros((0, 2), np.float32))
    assert _run(InstanceCropper(3, 3), empty) == []
    with pytest.raises(ValueError, match="rank 3"):
        InstanceCropper(3, 3).transform_dataset(
            tf.data.Dataset.from_tensors(dict(ex, image=ex["image"][None])))


def test_instance_cropper_from_config():
    c = InstanceCropper.from_config(InstanceCroppingConfig(crop_size=16))
    assert (c.crop_width, c.crop_height, c.keep_full_image) == (16, 16, False)
    assert InstanceCropper.from_config(InstanceCroppingConfig(crop_size=16),
                                       crop_size=24).crop_width == 16
    assert InstanceCropper.from_config(InstanceCroppingConfig(),
                                       crop_size=24).crop_height == 24
    with pytest.raises(ValueError, match="crop size"):
        InstanceCropper.from_config(InstanceCroppingConfig(crop_size=None))


def test_instance_cropper_on_labels_reader(synthetic):
    labels = sleapish.load_file(synthetic.labels_path)
    reader = LabelsReader(labels, example_indices=[0])
    ds = InstanceCentroidFinder(center_on_anchor_part=True, anchor_part_names="thorax",
                                skeletons=labels.skeletons).transform_dataset(
        reader.make_dataset())
    ds = InstanceCropper(crop_width=32, crop_height=32).transform_dataset(ds)
    spec = ds.element_spec
    assert spec["instance_image"].shape.as_list() == [32, 32, 1]
    ex = next(iter(ds))
    assert ex["instance_image"].dtype == tf.uint8
    assert ex["skeleton_inds"].shape == (2,) and ex["skeleton_inds"].dtype == tf.int32
    assert ex["frame_ind"].dtype == tf.int64 and ex["video_ind"].dtype == tf.int32
    assert ex["all_instances"].shape == (2, 4, 2) and ex["bbox"].dtype == tf.float32
    np.testing.assert_array_equal(ex["scale"], [1, 1])


def test_predicted_instance_cropper_maps_centroids_to_full_image():
    full = np.arange(400, dtype=np.uint8).reshape(20, 20, 1)
    ex = {"full_image": full, "full_image_scale": np.ones(2, np.float32),
          "scale": np.full(2, 0.5, np.float32),
          "predicted_centroids": np.array([[3.0, 3.0]], np.float32),  # (6, 6) full
          "predicted_centroid_confidences": np.array([0.9], np.float32),
          "video_ind": np.int32(0), "frame_ind": np.int64(4)}
    (c,) = _run(PredictedInstanceCropper(crop_width=3, crop_height=3), ex)
    np.testing.assert_allclose(c["centroid"], [6, 6])
    np.testing.assert_array_equal(c["instance_image"][..., 0], full[5:8, 5:8, 0])
    np.testing.assert_array_equal(c["scale"], [1, 1])
    assert c["centroid_confidence"] == pytest.approx(0.9) and c["frame_ind"] == 4

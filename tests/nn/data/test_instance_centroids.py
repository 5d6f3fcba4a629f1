"""Instance centroids: bounding-box midpoints, anchors and the finder."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from sleapish.datasets import synthetic_skeleton
from sleapish.nn._backend import tf
from sleapish.nn.config import InstanceCroppingConfig
from sleapish.nn.data.instance_centroids import (
    InstanceCentroidFinder,
    find_points_bbox_midpoint,
    get_instance_anchors,
)

NAN = np.nan


def _run(transformer, example):
    ds = transformer.transform_dataset(tf.data.Dataset.from_tensors(example))
    return [{k: v.numpy() for k, v in ex.items()} for ex in ds]


def test_find_points_bbox_midpoint():
    inst = np.array([[[1, 2], [3, NAN], [NAN, 6]], [[NAN, NAN]] * 3], np.float32)
    np.testing.assert_allclose(find_points_bbox_midpoint(inst), [[2, 4], [NAN, NAN]])
    mid = find_points_bbox_midpoint(np.array([[1.0, 2.0], [4.0, 3.0]], np.float64))
    assert mid.dtype == tf.float64
    np.testing.assert_array_equal(mid, [2.5, 2.5])
    np.testing.assert_array_equal(find_points_bbox_midpoint([[0, 0], [3, 1]]), [1.5, 0.5])


def test_get_instance_anchors_is_a_plain_slice():
    inst = np.array([[[1, 2], [3, 4]], [[5, 6], [NAN, NAN]]], np.float32)
    # A missing anchor gives a NaN row: no fallback here.
    np.testing.assert_allclose(get_instance_anchors(inst, 1), [[3, 4], [NAN, NAN]])
    np.testing.assert_allclose(get_instance_anchors(inst, np.array([1, 0], np.int64)),
                               [[3, 4], [5, 6]])
    ints = tf.reshape(tf.range(12, dtype=tf.int32), [2, 3, 2])
    anchors = get_instance_anchors(ints, tf.constant([2, 0], tf.int32))
    assert anchors.dtype == tf.int32
    np.testing.assert_array_equal(anchors, [[4, 5], [6, 7]])


def test_finder_anchor_with_bbox_fallback():
    skel = synthetic_skeleton()  # head, thorax, abdomen, tail
    finder = InstanceCentroidFinder(center_on_anchor_part=True, anchor_part_names="thorax",
                                    skeletons=skel)
    assert finder.anchor_part_names == ["thorax"] and finder.skeletons == [skel]
    pts = np.array([[[0, 0], [10, 20], [5, 5], [1, 1]],
                    [[0, 0], [NAN, NAN], [4, 6], [2, 2]],
                    [[0, 0], [NAN, 9], [4, 6], [2, 2]]], np.float32)
    (out,) = _run(finder, {"instances": pts})
    assert out["centroids"].dtype == np.float32
    # Missing thorax: bbox midpoint; per coordinate when only x is missing.
    np.testing.assert_allclose(out["centroids"], [[10, 20], [2, 3], [2, 9]])
    (out,) = _run(InstanceCentroidFinder(), {"instances": pts})
    np.testing.assert_allclose(out["centroids"], [[5, 10], [2, 3], [2, 4.5]])
    with pytest.raises(ValueError, match="'wing' is not a node"):
        _ = InstanceCentroidFinder(True, "wing", [skel]).anchor_ind


def test_finder_picks_each_instance_anchor_by_skeleton():
    s1 = sio.Skeleton(["a", "b"])
    s2 = sio.Skeleton(["b", "a"])
    finder = InstanceCentroidFinder(True, ["a", "a"], [s1, s2])
    assert finder.anchor_inds == [0, 1]
    pts = np.array([[[1, 1], [2, 2]], [[3, 3], [4, 4]]], np.float32)
    (out,) = _run(finder, {"instances": pts, "skeleton_inds": np.array([0, 1], np.int32)})
    np.testing.assert_allclose(out["centroids"], [[1, 1], [4, 4]])


def test_finder_from_config():
    finder = InstanceCentroidFinder.from_config(InstanceCroppingConfig(center_on_part=None),
                                                skeletons=[synthetic_skeleton()])
    assert not finder.center_on_anchor_part
    assert finder.anchor_part_names is None and finder.skeletons is None
    skel = sio.Skeleton(["A", "B"])
    finder = InstanceCentroidFinder.from_config(InstanceCroppingConfig(center_on_part="A"),
                                                skeletons=skel)
    assert finder.center_on_anchor_part
    assert finder.anchor_part_names == ["A"]
    assert finder.skeletons[0].node_names == ["A", "B"]
    with pytest.raises(ValueError, match="Skeletons must be provided"):
        InstanceCentroidFinder.from_config(InstanceCroppingConfig(center_on_part="A"),
                                           skeletons=None)

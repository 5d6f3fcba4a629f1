"""Confidence maps, offsets, PAFs and class maps: hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import tf
from sleapish.nn.data.confidence_maps import (
    InstanceConfidenceMapGenerator,
    MultiConfidenceMapGenerator,
    SingleInstanceConfidenceMapGenerator,
    make_confmaps,
    make_multi_confmaps,
    make_multi_confmaps_with_offsets,
)
from sleapish.nn.data.edge_maps import (
    PartAffinityFieldsGenerator,
    distance_to_edge,
    make_edge_maps,
    make_multi_pafs,
)
from sleapish.nn.data.identity import (
    ClassMapGenerator,
    ClassVectorGenerator,
    make_class_maps,
    make_class_vectors,
)
from sleapish.nn.data.offset_regression import make_offsets, mask_offsets
from sleapish.nn.data.utils import expand_to_rank, gaussian_pdf, make_grid_vectors

NAN = np.nan


def _first(transformer, example):
    ds = tf.data.Dataset.from_tensors(example)
    return {k: v.numpy() for k, v in next(iter(transformer.transform_dataset(ds))).items()}


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


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_make_confmaps_values(stride):
    xv, yv = make_grid_vectors(8, 8, stride)
    cm = make_confmaps([[4.0, 2.0], [NAN, NAN]], xv, yv, sigma=2.0).numpy()
    assert cm.shape == (8 // stride, 8 // stride, 2)
    # Value at grid point (x=4, y=0): distance 2 -> exp(-4 / 8).
    assert cm[0, 4 // stride, 0] == pytest.approx(np.exp(-4 / 8), rel=1e-6)
    assert cm[:, :, 1].max() == 0.0  # missing point: all zeros
    if stride in (1, 2):
        assert cm[2 // stride, 4 // stride, 0] == pytest.approx(1.0)


def test_multi_confmaps_max_and_empty():
    xv, yv = make_grid_vectors(6, 6, 1)
    inst = np.array([[[1.0, 1.0]], [[2.0, 1.0]]], np.float32)
    cm = make_multi_confmaps(inst, xv, yv, sigma=1.0).numpy()
    # At (x=1.5 -> no grid), check (x=1, y=1): max(1, exp(-1/2)) = 1; (x=2): 1.
    assert cm[1, 1, 0] == pytest.approx(1.0) and cm[1, 2, 0] == pytest.approx(1.0)
    # (x=3, y=1): max(exp(-4/2), exp(-1/2)) = exp(-0.5), not the sum.
    assert cm[1, 3, 0] == pytest.approx(np.exp(-0.5), rel=1e-6)
    empty = make_multi_confmaps(np.zeros((0, 3, 2), np.float32), xv, yv, 1.0).numpy()
    assert empty.shape == (6, 6, 3) and empty.max() == 0


def test_offsets_values_mask_and_sum():
    xv, yv = make_grid_vectors(8, 8, 2)
    off = make_offsets([[3.0, 5.0]], xv, yv, stride=2).numpy()
    assert off.shape == (4, 4, 1, 2)
    np.testing.assert_allclose(off[2, 1, 0], [(3 - 2) / 2, (5 - 4) / 2])
    masked = mask_offsets(off, np.where(np.arange(4)[:, None, None] == 2, 0.9, 0.1)
                          * np.ones((4, 4, 1)), threshold=0.2).numpy()
    assert np.all(masked[[0, 1, 3]] == 0) and np.any(masked[2] != 0)
    inst = np.array([[[3.0, 5.0], [NAN, NAN]], [[3.0, 3.0], [1.0, 1.0]]], np.float32)
    cm, off = make_multi_confmaps_with_offsets(inst, xv, yv, stride=2, sigma=2.0,
                                               offsets_threshold=0.2)
    cm, off = cm.numpy(), off.numpy()
    assert cm.shape == (4, 4, 2) and off.shape == (4, 4, 2, 2)
    # Grid (x=2, y=4): instance 0 conf exp(-2/8) > 0.2 and instance 1 exp(-2/8) > 0.2:
    # offsets are summed: ((3-2)/2 + (3-2)/2, (5-4)/2 + (3-4)/2) = (1, 0).
    np.testing.assert_allclose(off[2, 1, 0], [1.0, 0.0], atol=1e-6)
    assert np.isfinite(off).all()  # the missing point adds nothing (no NaN)
    # Far from every point: zero.
    np.testing.assert_array_equal(off[0, 3, 0], [0, 0])


def test_confmap_generators_scale_sigma_by_stride_and_drop_outside():
    img = np.zeros((16, 16, 1), np.uint8)
    inst = np.array([[[4.0, 4.0], [8.0, 8.0]], [[40.0, 40.0], [50.0, 50.0]]], np.float32)
    ex = {"image": img, "instances": inst}
    out = _first(MultiConfidenceMapGenerator(sigma=1.0, output_stride=2), ex)
    cm = out["confidence_maps"]
    assert cm.shape == (8, 8, 2)
    # sigma passed is sigma * stride = 2: grid (x=6, y=4) is 2 px away -> exp(-4/8).
    assert cm[2, 3, 0] == pytest.approx(np.exp(-4 / 8), rel=1e-6)
    single = _first(SingleInstanceConfidenceMapGenerator(sigma=1.0, output_stride=1,
                                                         with_offsets=True), ex)
    assert single["confidence_maps"][4, 4, 0] == pytest.approx(1.0)
    assert single["offsets"].shape == (16, 16, 4)  # [n0x, n0y, n1x, n1y]
    cents = {"image": img, "centroids": np.array([[6.0, 6.0], [99.0, 99.0]], np.float32)}
    out = _first(MultiConfidenceMapGenerator(sigma=1.5, output_stride=2, centroids=True),
                 cents)
    assert out["centroid_confidence_maps"].shape == (8, 8, 1)
    assert out["centroid_confidence_maps"].max() == pytest.approx(1.0)
    crop = {"instance_image": img, "center_instance": inst[0], "all_instances": inst}
    out = _first(InstanceConfidenceMapGenerator(sigma=1.0, output_stride=4,
                                                all_instances=True), crop)
    assert out["instance_confidence_maps"].shape == (4, 4, 2)
    assert out["instance_confidence_maps"][1, 1, 0] == pytest.approx(1.0)
    assert out["all_instance_confidence_maps"].shape == (4, 4, 2)
    # Zero instances: zeros.
    out = _first(SingleInstanceConfidenceMapGenerator(),
                 {"image": img, "instances": np.zeros((0, 2, 2), np.float32)})
    assert out["confidence_maps"].max() == 0


def test_distance_to_edge_is_squared_and_pafs_use_it():
    d = distance_to_edge(np.array([[0.0, 3.0], [5.0, 5.0], [2.0, 1.0]], np.float32),
                         [[1.0, 1.0]], [[4.0, 1.0]]).numpy()
    # Closest points (1,1), (4,1), (2,1): squared distances 5, 17, 0.
    np.testing.assert_allclose(d[:, 0], [5.0, 17.0, 0.0])
    xv, yv = make_grid_vectors(6, 6, 1)
    maps = make_edge_maps(xv, yv, [[1.0, 1.0]], [[4.0, 1.0]], sigma=2.0).numpy()
    assert maps.shape == (6, 6, 1, 2)
    np.testing.assert_allclose(maps[1, 2, 0], [1.0, 0.0])
    # 1 px off the edge: squared distance 1, weight exp(-1^2 / 8); 2 px: exp(-16/8).
    np.testing.assert_allclose(maps[2, 2, 0, 0], np.exp(-1 / 8), rtol=1e-6)
    np.testing.assert_allclose(maps[3, 2, 0, 0], np.exp(-16 / 8), rtol=1e-6)


def test_multi_pafs_sum_and_missing():
    xv, yv = make_grid_vectors(4, 4, 1)
    src = np.array([[[0.0, 1.0]], [[0.0, 1.0]], [[NAN, 0.0]]], np.float32)
    dst = np.array([[[3.0, 1.0]], [[3.0, 1.0]], [[2.0, 2.0]]], np.float32)
    pafs = make_multi_pafs(xv, yv, src, dst, sigma=1.0).numpy()
    np.testing.assert_allclose(pafs[1, 1, 0], [2.0, 0.0])  # summed, not max
    assert np.isfinite(pafs).all()
    out = _first(PartAffinityFieldsGenerator(sigma=1.0, output_stride=2, edge_inds=[(0, 1)]),
                 {"image": np.zeros((8, 8, 1), np.uint8),
                  "instances": np.array([[[0.0, 2.0], [6.0, 2.0]]], np.float32)})
    pafs = out["part_affinity_fields"]
    assert pafs.shape == (4, 4, 2)  # [e0x, e0y]; sigma NOT scaled by the stride
    np.testing.assert_allclose(pafs[1, 1], [1.0, 0.0])
    np.testing.assert_allclose(pafs[2, 1, 0], np.exp(-16 / 2), rtol=1e-5)
    with pytest.raises(ValueError, match="skeletons or edge_inds"):
        PartAffinityFieldsGenerator()


def test_class_vectors_and_maps():
    np.testing.assert_array_equal(make_class_vectors([1, -1, 0], 2),
                                  [[0, 1], [0, 0], [1, 0]])
    cm = np.zeros((1, 3, 2), np.float32)
    cm[0, 0] = [0.9, 0.3]
    cm[0, 1] = [0.3, 0.8]
    cm[0, 2] = [0.1, 0.15]
    maps = make_class_maps(cm, [2, 0], n_classes=3, threshold=0.2).numpy()
    np.testing.assert_array_equal(maps[0], [[0, 0, 1], [1, 0, 0], [0, 0, 0]])
    ex = {"image": np.zeros((8, 8, 1), np.uint8), "n_tracks": np.int32(2),
          "track_inds": np.array([1, 0], np.int32),
          "instances": np.array([[[1.0, 1.0]], [[6.0, 6.0]]], np.float32)}
    out = _first(ClassMapGenerator(sigma=1.0, output_stride=2), ex)
    assert out["class_maps"].shape == (4, 4, 2)
    np.testing.assert_array_equal(out["class_maps"][0, 0], [0, 1])
    np.testing.assert_array_equal(out["class_maps"][3, 3], [1, 0])
    out = _first(ClassVectorGenerator(), ex)
    np.testing.assert_array_equal(out["class_vectors"], [[0, 1], [1, 0]])

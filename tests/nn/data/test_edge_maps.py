"""Edge maps and part affinity fields: hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from sleapish.nn._backend import tf
from sleapish.nn.data.edge_maps import (
    PartAffinityFieldsGenerator,
    distance_to_edge,
    get_edge_points,
    make_edge_maps,
    make_multi_pafs,
    make_pafs,
)
from sleapish.nn.data.utils import make_grid_vectors

NAN = np.nan


def _first(transformer, example):
    ds = tf.data.Dataset.from_tensors(example)
    return {k: v.numpy() for k, v in next(iter(transformer.transform_dataset(ds))).items()}


def test_distance_to_edge_is_squared():
    d = distance_to_edge(np.array([[0.0, 3.0], [5.0, 5.0], [2.0, 1.0]], np.float32),
                         [[1.0, 1.0]], [[4.0, 1.0]]).numpy()
    # Closest points (1,1), (4,1), (2,1): squared distances 5, 17, 0.
    np.testing.assert_allclose(d[:, 0], [5.0, 17.0, 0.0])
    # A single point and a single edge are promoted to rank 2.
    d = distance_to_edge([0.0, 3.0], [1.0, 1.0], [4.0, 1.0]).numpy()
    np.testing.assert_allclose(d, [[5.0]])


def test_make_edge_maps_gaussian_of_squared_distance():
    xv, yv = make_grid_vectors(6, 6, 1)
    maps = make_edge_maps(xv, yv, [[1.0, 1.0], [0.0, 0.0]], [[4.0, 1.0], [NAN, 2.0]],
                          sigma=2.0).numpy()
    assert maps.shape == (6, 6, 2)
    assert maps[1, 2, 0] == pytest.approx(1.0)  # on the edge
    # 1 px off the edge: squared distance 1 -> exp(-1^2 / 8); 2 px: exp(-4^2 / 8).
    assert maps[2, 2, 0] == pytest.approx(np.exp(-1 / 8), rel=1e-6)
    assert maps[3, 2, 0] == pytest.approx(np.exp(-16 / 8), rel=1e-6)
    # Past the end (x=5, y=1): 1 px from (4, 1).
    assert maps[1, 5, 0] == pytest.approx(np.exp(-1 / 8), rel=1e-6)
    assert np.isnan(maps[..., 1]).all()  # a missing endpoint gives NaN (as SLEAP)


def test_make_pafs_unit_vectors_times_edge_maps():
    xv, yv = make_grid_vectors(6, 6, 1)
    src = [[1.0, 1.0], [2.0, 2.0], [0.0, 0.0]]
    dst = [[4.0, 1.0], [2.0, 2.0], [3.0, 4.0]]
    pafs = make_pafs(xv, yv, src, dst, sigma=2.0).numpy()
    assert pafs.shape == (6, 6, 3, 2)
    np.testing.assert_allclose(pafs[2, 2, 0], [np.exp(-1 / 8), 0.0], rtol=1e-6)
    assert np.isnan(pafs[:, :, 1]).all()  # zero-length edge: NaN (as SLEAP)
    # Edge (0,0)->(3,4) has unit vector (0.6, 0.8); the grid point (3, 4) is on it.
    np.testing.assert_allclose(pafs[4, 3, 2], [0.6, 0.8], rtol=1e-6)


def test_multi_pafs_sum_and_missing():
    xv, yv = make_grid_vectors(4, 4, 1)
    src = np.array([[[0.0, 1.0]], [[0.0, 1.0]], [[NAN, 0.0]], [[1.0, 1.0]]], np.float32)
    dst = np.array([[[3.0, 1.0]], [[3.0, 1.0]], [[2.0, 2.0]], [[1.0, 1.0]]], np.float32)
    pafs = make_multi_pafs(xv, yv, src, dst, sigma=1.0).numpy()
    assert pafs.shape == (4, 4, 1, 2)
    np.testing.assert_allclose(pafs[1, 1, 0], [2.0, 0.0])  # summed, not max
    assert np.isfinite(pafs).all()  # missing and zero-length edges add nothing
    empty = make_multi_pafs(xv, yv, np.zeros((0, 2, 2), np.float32),
                            np.zeros((0, 2, 2), np.float32), sigma=1.0).numpy()
    assert empty.shape == (4, 4, 2, 2) and empty.max() == 0


def test_get_edge_points_keeps_dtype():
    inst = np.arange(12, dtype=np.int32).reshape(2, 3, 2)
    src, dst = get_edge_points(inst, np.array([[0, 2], [2, 1]], np.int64))
    np.testing.assert_array_equal(src, [[[0, 1], [4, 5]], [[6, 7], [10, 11]]])
    np.testing.assert_array_equal(dst, [[[4, 5], [2, 3]], [[10, 11], [8, 9]]])
    assert src.dtype == tf.int32


def test_paf_generator_shapes_and_drop_outside():
    skel = sio.Skeleton(["a", "b"], edges=[("a", "b")])
    # Grid coordinates 0, 2, 4, 6. Instance 0: (1, 2) -> (5, 2). Instance 1 has no
    # node strictly inside the grid ((7, 0), (7, 6)) and is dropped.
    ex = {"image": np.zeros((8, 8, 1), np.uint8),
          "instances": np.array([[[1.0, 2.0], [5.0, 2.0]], [[7.0, 0.0], [7.0, 6.0]]],
                                np.float32)}
    gen = PartAffinityFieldsGenerator(sigma=1.0, output_stride=2, skeletons=skel)
    assert gen.skeletons == [skel] and gen.flatten_channels is False
    pafs = _first(gen, ex)["part_affinity_fields"]
    assert pafs.shape == (4, 4, 1, 2)
    np.testing.assert_allclose(pafs[1, 1, 0], [1.0, 0.0])  # on the edge
    # Grid (x=6, y=2) is 1 px from (5, 2): exp(-1 / 2) along x; instance 1 (1 px away
    # too, pointing along y) would add (0, exp(-1/2)) if it were kept.
    np.testing.assert_allclose(pafs[1, 3, 0], [np.exp(-0.5), 0.0], rtol=1e-6)
    # sigma is NOT scaled by the stride: grid (x=2, y=4), 2 px off -> exp(-16 / 2).
    np.testing.assert_allclose(pafs[2, 1, 0, 0], np.exp(-16 / 2), rtol=1e-5)
    flat = _first(PartAffinityFieldsGenerator(1.0, 2, [skel], True), ex)
    assert flat["part_affinity_fields"].shape == (4, 4, 2)  # [e0x, e0y]
    np.testing.assert_array_equal(flat["part_affinity_fields"], pafs.reshape(4, 4, 2))


def test_paf_generator_arguments():
    gen = PartAffinityFieldsGenerator(8, "2", edge_inds=[(1, 0)])
    assert gen.sigma == 8.0 and isinstance(gen.sigma, float) and gen.output_stride == 2
    assert gen.edge_inds == [(1, 0)]
    with pytest.raises(ValueError, match="skeletons or edge_inds"):
        PartAffinityFieldsGenerator()
    with pytest.raises(TypeError):
        PartAffinityFieldsGenerator(1.0, 1, None, True, [(0, 1)])  # edge_inds: keyword

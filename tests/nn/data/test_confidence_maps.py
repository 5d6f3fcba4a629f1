"""Confidence maps and their generators: hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import tf
from sleapish.nn.data.confidence_maps import (
    InstanceConfidenceMapGenerator,
    MultiConfidenceMapGenerator,
    SingleInstanceConfidenceMapGenerator,
    instances_in_grid,
    make_confmaps,
    make_multi_confmaps,
    make_multi_confmaps_with_offsets,
)
from sleapish.nn.data.utils import make_grid_vectors

NAN = np.nan


def _first(transformer, example):
    ds = tf.data.Dataset.from_tensors(example)
    return {k: v.numpy() for k, v in next(iter(transformer.transform_dataset(ds))).items()}


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
    assert cm[1, 1, 0] == pytest.approx(1.0) and cm[1, 2, 0] == pytest.approx(1.0)
    # (x=3, y=1): max(exp(-4/2), exp(-1/2)) = exp(-0.5), not the sum.
    assert cm[1, 3, 0] == pytest.approx(np.exp(-0.5), rel=1e-6)
    empty = make_multi_confmaps(np.zeros((0, 3, 2), np.float32), xv, yv, 1.0).numpy()
    assert empty.shape == (6, 6, 3) and empty.max() == 0


def test_instances_in_grid_is_strict_against_the_last_grid_point():
    xv, yv = make_grid_vectors(8, 8, 2)  # last grid coordinate 6 (image is 8 wide)
    inst = np.array([
        [[3.0, 3.0], [NAN, NAN]],    # inside
        [[0.0, 3.0], [3.0, 0.0]],    # on the zero edges: out
        [[6.0, 3.0], [6.5, 7.5]],    # at / past the last grid point: out
        [[-1.0, 3.0], [5.9, 0.1]],   # second node inside
        [[NAN, NAN], [NAN, NAN]],    # nothing visible
    ], np.float32)
    np.testing.assert_array_equal(instances_in_grid(inst, xv, yv),
                                  [True, False, False, True, False])


def test_multi_confmaps_drop_instances_without_a_node_in_the_grid():
    xv, yv = make_grid_vectors(6, 6, 1)
    # The second instance is 1 px left of the image: dropped, although its Gaussian
    # would reach column 0.
    inst = np.array([[[2.0, 2.0]], [[-1.0, 2.0]]], np.float32)
    cm = make_multi_confmaps(inst, xv, yv, sigma=1.0).numpy()
    assert cm[2, 0, 0] == pytest.approx(np.exp(-4 / 2), rel=1e-6)  # not exp(-1/2)
    cm, off = make_multi_confmaps_with_offsets(inst, xv, yv, stride=1, sigma=1.0,
                                               offsets_threshold=0.1)
    assert cm.numpy()[2, 0, 0] == pytest.approx(np.exp(-2), rel=1e-6)
    # exp(-2) = 0.135 > 0.1: only the first instance's offset (2 - 0, 2 - 2) is left.
    np.testing.assert_allclose(off.numpy()[2, 0, 0], [2.0, 0.0])
    # Only out-of-grid instances: zeros.
    cm = make_multi_confmaps(inst[1:], xv, yv, sigma=1.0).numpy()
    assert cm.shape == (6, 6, 1) and cm.max() == 0


def test_multi_confmaps_with_offsets_sum_and_mask():
    xv, yv = make_grid_vectors(8, 8, 2)
    inst = np.array([[[3.0, 5.0], [NAN, NAN]], [[3.0, 3.0], [1.0, 1.0]]], np.float32)
    cm, off = make_multi_confmaps_with_offsets(inst, xv, yv, stride=2, sigma=2.0,
                                               offsets_threshold=0.2)
    cm, off = cm.numpy(), off.numpy()
    assert cm.shape == (4, 4, 2) and off.shape == (4, 4, 2, 2)
    # Grid (x=2, y=4): both instances' maps are exp(-2/8) > 0.2, so the offsets add:
    # ((3-2)/2 + (3-2)/2, (5-4)/2 + (3-4)/2) = (1, 0).
    np.testing.assert_allclose(off[2, 1, 0], [1.0, 0.0], atol=1e-6)
    assert np.isfinite(off).all()  # the missing point adds nothing
    np.testing.assert_array_equal(off[0, 3, 0], [0, 0])  # far from every point


@pytest.mark.slow
def test_generators_scale_sigma_by_stride_and_drop_outside():
    img = np.zeros((16, 16, 1), np.uint8)
    inst = np.array([[[4.0, 4.0], [8.0, 8.0]], [[40.0, 40.0], [50.0, 50.0]]], np.float32)
    ex = {"image": img, "instances": inst}
    out = _first(MultiConfidenceMapGenerator(sigma=1.0, output_stride=2), ex)
    cm = out["confidence_maps"]
    assert cm.shape == (8, 8, 2)
    # sigma used is sigma * stride = 2: grid (x=6, y=4) is 2 px away -> exp(-4/8).
    assert cm[2, 3, 0] == pytest.approx(np.exp(-4 / 8), rel=1e-6)
    out = _first(MultiConfidenceMapGenerator(sigma=1.0, output_stride=2,
                                             with_offsets=True, flatten_offsets=False), ex)
    assert out["offsets"].shape == (8, 8, 2, 2)
    cents = {"image": img, "centroids": np.array([[6.0, 6.0], [99.0, 99.0]], np.float32)}
    out = _first(MultiConfidenceMapGenerator(sigma=1.5, output_stride=2, centroids=True,
                                             with_offsets=True), cents)
    assert out["centroid_confidence_maps"].shape == (8, 8, 1)
    assert out["centroid_confidence_maps"].max() == pytest.approx(1.0)
    assert out["offsets"].shape == (8, 8, 2)


def test_single_instance_generator_points_offsets_and_empty():
    img = np.zeros((16, 16, 1), np.uint8)
    inst = np.array([[[4.0, 4.0], [-3.0, 8.0]], [[9.0, 9.0], [9.0, 9.0]]], np.float32)
    out = _first(SingleInstanceConfidenceMapGenerator(sigma=1.0, output_stride=1,
                                                      with_offsets=True), {
        "image": img, "instances": inst})
    np.testing.assert_array_equal(out["points"], inst[0])
    cm = out["confidence_maps"]
    assert cm[4, 4, 0] == pytest.approx(1.0)
    # No in-grid filter on the single instance: node 1 at x=-3 still reaches x=0.
    assert cm[8, 0, 1] == pytest.approx(np.exp(-9 / 2), rel=1e-6)
    assert out["offsets"].shape == (16, 16, 4)  # [n0x, n0y, n1x, n1y]
    np.testing.assert_allclose(out["offsets"][5, 4, :2], [0.0, -1.0])
    out = _first(SingleInstanceConfidenceMapGenerator(),
                 {"image": img, "instances": np.zeros((0, 2, 2), np.float32)})
    assert out["confidence_maps"].max() == 0
    assert np.isnan(out["points"]).all() and out["points"].shape == (2, 2)


def test_instance_generator_all_instances_and_offsets():
    img = np.zeros((16, 16, 1), np.uint8)
    inst = np.array([[[4.0, 4.0], [8.0, 8.0]], [[-2.0, 4.0], [-1.0, 20.0]]], np.float32)
    crop = {"instance_image": img, "center_instance": inst[1], "all_instances": inst}
    out = _first(InstanceConfidenceMapGenerator(sigma=1.0, output_stride=4,
                                                all_instances=True, with_offsets=True),
                 crop)
    assert set(out) >= {"instance_confidence_maps", "offsets",
                        "all_instance_confidence_maps", "all_instance_offsets"}
    # The centered instance is never dropped: (-2, 4) at sigma 4 reaches (0, 4).
    assert out["instance_confidence_maps"][1, 0, 0] == pytest.approx(np.exp(-4 / 32))
    # In the all-instances maps it is dropped (no node inside the grid).
    all_cm = out["all_instance_confidence_maps"]
    assert all_cm.shape == (4, 4, 2)
    assert all_cm[1, 0, 0] == pytest.approx(np.exp(-16 / 32), rel=1e-6)
    assert out["offsets"].shape == (4, 4, 4)
    assert out["all_instance_offsets"].shape == (4, 4, 4)
    # Grid (x=4, y=4), instance 0 node 0 exactly there: offset 0; node 1 (8, 8) is
    # (1, 1) grid steps away.
    np.testing.assert_allclose(out["all_instance_offsets"][1, 1], [0, 0, 1, 1])
    out = _first(InstanceConfidenceMapGenerator(sigma=1.0, output_stride=4,
                                                all_instances=True, with_offsets=True,
                                                flatten_offsets=False), crop)
    assert out["all_instance_offsets"].shape == (4, 4, 2, 2)
    out = _first(InstanceConfidenceMapGenerator(all_instances=True), crop)
    assert "all_instance_offsets" not in out and "offsets" not in out


def test_generator_fields_in_sleap_order():
    g = MultiConfidenceMapGenerator(2.0, 4, True, True, 0.3, False)
    assert (g.sigma, g.output_stride, g.centroids, g.with_offsets, g.offsets_threshold,
            g.flatten_offsets) == (2.0, 4, True, True, 0.3, False)
    g = InstanceConfidenceMapGenerator(2.0, 4, True, True)
    assert g.all_instances and g.with_offsets
    assert g.output_keys == ["instance_confidence_maps", "offsets",
                             "all_instance_confidence_maps", "all_instance_offsets"]
    assert SingleInstanceConfidenceMapGenerator(with_offsets=True).output_keys == [
        "points", "confidence_maps", "offsets"]

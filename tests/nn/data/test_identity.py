"""Class vectors and class maps: hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import tf
from sleapish.nn.data.identity import (
    ClassMapGenerator,
    ClassVectorGenerator,
    make_class_maps,
    make_class_vectors,
)


def _first(transformer, example):
    ds = tf.data.Dataset.from_tensors(example)
    return {k: v.numpy() for k, v in next(iter(transformer.transform_dataset(ds))).items()}


def test_make_class_vectors_int32_one_hot():
    vecs = make_class_vectors(np.array([1, -1, 0], np.int64), tf.constant([2]))
    assert vecs.dtype == tf.int32
    np.testing.assert_array_equal(vecs, [[0, 1], [0, 0], [1, 0]])


def test_make_class_maps_weights_by_share_of_confidence():
    cm = np.zeros((1, 4, 2), np.float32)
    cm[0, 0] = [0.9, 0.3]   # shares 0.75 / 0.25, both above 0.2
    cm[0, 1] = [0.3, 0.8]
    cm[0, 2] = [0.1, 0.15]  # both at or below the threshold
    cm[0, 3] = [0.9, 0.1]   # 0.1 is below the threshold but counts in the sum
    maps = make_class_maps(cm, [2, 0], n_classes=3, threshold=0.2).numpy()
    assert maps.shape == (1, 4, 3) and maps.dtype == np.float32
    np.testing.assert_allclose(maps[0], [[0.25, 0, 0.75], [0.8 / 1.1, 0, 0.3 / 1.1],
                                         [0, 0, 0], [0, 0, 0.9]], rtol=1e-6)
    # Two instances of one class: the larger share, not the sum.
    same = make_class_maps(np.array([[[0.6, 0.4]]], np.float32), [1, 1], 2).numpy()
    np.testing.assert_allclose(same[0, 0], [0, 0.6], rtol=1e-6)
    # No instances: zeros.
    none = make_class_maps(np.zeros((2, 3, 0), np.float32), np.zeros([0], np.int32), 2)
    np.testing.assert_array_equal(none, np.zeros((2, 3, 2)))


def test_class_map_generator_values():
    ex = {"image": np.zeros((8, 8, 1), np.uint8), "n_tracks": np.int32(2),
          "track_inds": np.array([1, 0], np.int32),
          "instances": np.array([[[1.0, 1.0]], [[6.0, 6.0]]], np.float32),
          "centroids": np.array([[1.0, 1.0], [6.0, 6.0]], np.float32)}
    # sigma * stride = 2. Grid (0, 0): instance 0 at squared distance 2, instance 1
    # at 72; grid (6, 6): instance 1 exactly, instance 0 at 50.
    a, b = np.exp(-2 / 8), np.exp(-72 / 8)
    c = np.exp(-50 / 8)
    for centroids in (False, True):
        out = _first(ClassMapGenerator(sigma=1.0, output_stride=2, centroids=centroids),
                     ex)["class_maps"]
        assert out.shape == (4, 4, 2)
        np.testing.assert_allclose(out[0, 0], [0, a / (a + b)], rtol=1e-5)
        np.testing.assert_allclose(out[3, 3], [1 / (1 + c), 0], rtol=1e-5)


def test_class_map_generator_leaves_out_nodes_outside_the_grid_for_all_instances():
    # SLEAP makes the masks with make_multi_confmaps over the *nodes* axis: node 1 is
    # outside the grid for the only instance, so it is left out, although its
    # Gaussian (0.5 px left of the image) would cover grid (0, 2).
    ex = {"image": np.zeros((8, 8, 1), np.uint8), "n_tracks": np.int32(1),
          "track_inds": np.array([0], np.int32),
          "instances": np.array([[[6.0, 6.0], [-0.5, 2.0]]], np.float32)}
    out = _first(ClassMapGenerator(sigma=1.0, output_stride=1), ex)["class_maps"]
    np.testing.assert_array_equal(out[2, 0], [0.0])
    np.testing.assert_array_equal(out[6, 6], [1.0])


def test_class_vector_generator_frames_and_crops():
    ex = {"n_tracks": np.int32(3), "track_inds": np.array([2, -1], np.int32)}
    out = _first(ClassVectorGenerator(), ex)
    assert out["class_vectors"].dtype == np.float32
    np.testing.assert_array_equal(out["class_vectors"], [[0, 0, 1], [0, 0, 0]])
    out = _first(ClassVectorGenerator(), {"n_tracks": np.int32(3), "track_ind": np.int32(1)})
    np.testing.assert_array_equal(out["class_vectors"], [0, 1, 0])
    with pytest.raises(KeyError, match="track_inds"):
        ClassVectorGenerator().transform_dataset(
            tf.data.Dataset.from_tensors({"n_tracks": np.int32(3)}))

"""Similarity functions against hand-computed values."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import sleap_io as sio

from sleapish.nn.tracking import (
    centroid_distance,
    factory_object_keypoint_similarity,
    instance_iou,
    instance_similarity,
    normalized_instance_similarity,
)

NAN = np.nan


def test_instance_similarity_hand_values():
    ref = np.array([[0.0, 0.0], [1.0, 0.0]])
    query = np.array([[0.0, 0.0], [2.0, 0.0]])
    # (exp(0) + exp(-1)) / 2 visible reference points
    assert instance_similarity(ref, query) == pytest.approx((1 + np.exp(-1)) / 2)


def test_instance_similarity_nan_points():
    # missing reference point: not counted in the denominator
    assert instance_similarity(np.array([[0.0, 0.0], [NAN, NAN]]),
                               np.array([[0.0, 0.0], [5.0, 5.0]])) == pytest.approx(1.0)
    # missing query point: counts zero, denominator keeps both reference points
    assert instance_similarity(np.array([[0.0, 0.0], [1.0, 1.0]]),
                               np.array([[0.0, 0.0], [NAN, NAN]])) == pytest.approx(0.5)
    # reference without points: undefined (the tracker turns this into cost inf)
    assert np.isnan(instance_similarity(np.full((2, 2), NAN), np.zeros((2, 2))))


def test_instance_similarity_matrix_matches_pairwise():
    rng = np.random.default_rng(0)
    ref = rng.uniform(0, 3, (3, 4, 2))
    query = rng.uniform(0, 3, (5, 4, 2))
    query[1, 2] = NAN
    mat = instance_similarity(ref, query)
    assert mat.shape == (3, 5) and mat.dtype == np.float64
    for i in range(3):
        for j in range(5):
            assert mat[i, j] == pytest.approx(instance_similarity(ref[i], query[j]))


def test_instance_similarity_accepts_sleap_io_instances():
    skel = sio.Skeleton(["a", "b"])
    a = sio.PredictedInstance.from_numpy(np.array([[0.0, 0.0], [1.0, 0.0]]), skeleton=skel,
                                         point_scores=np.ones(2), score=1.0)
    b = sio.Instance.from_numpy(np.array([[0.0, 0.0], [2.0, 0.0]]), skeleton=skel)
    assert instance_similarity(a, b) == pytest.approx((1 + np.exp(-1)) / 2)
    assert instance_similarity([a, b], [a]).shape == (2, 1)


def test_normalized_instance_similarity():
    # img_hw = (10, 20): x / 20, y / 10 -> distance^2 = 0.1^2 + 0.1^2
    out = normalized_instance_similarity(np.array([[0.0, 0.0]]), np.array([[2.0, 1.0]]),
                                         img_hw=(10, 20))
    assert out == pytest.approx(np.exp(-0.02))


def test_centroid_distance():
    ref = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]])  # median (2, 0)
    query = np.array([[2.0, 3.0], [2.0, 3.0], [NAN, NAN]])  # median (2, 3)
    assert centroid_distance(ref, query) == pytest.approx(-3.0)
    assert np.isnan(centroid_distance(np.full((3, 2), NAN), query))


def test_instance_iou_pixel_inclusive():
    a = np.array([[0.0, 0.0], [1.0, 1.0]])  # 2x2 pixels
    b = np.array([[1.0, 1.0], [2.0, 2.0]])  # 2x2 pixels, 1 pixel shared
    assert instance_iou(a, b) == pytest.approx(1 / 7)
    assert instance_iou(a, a) == pytest.approx(1.0)
    far = a + 10
    assert instance_iou(a, far) == 0.0
    # NaN points are ignored for the box
    assert instance_iou(np.array([[0.0, 0.0], [1.0, 1.0], [NAN, NAN]]),
                        np.array([[0.0, 0.0], [1.0, 1.0], [NAN, NAN]])) == pytest.approx(1.0)


def test_object_keypoint_similarity_normalizations():
    ref = np.array([[0.0, 0.0], [0.0, 0.0]])
    query = np.array([[1.0, 0.0], [NAN, NAN]])
    e = np.exp(-0.5)  # distance^2 = 1, precision = 1 / (2 * 1^2)
    assert factory_object_keypoint_similarity()(ref, query) == pytest.approx(e / 2)
    assert factory_object_keypoint_similarity(
        normalization_keypoints="ref")(ref, query) == pytest.approx(e / 2)
    assert factory_object_keypoint_similarity(
        normalization_keypoints="union")(ref, query) == pytest.approx(e)
    # errors of 2 px: precision 1/8
    assert factory_object_keypoint_similarity(keypoint_errors=[2.0, 2.0])(
        ref, query) == pytest.approx(np.exp(-1 / 8) / 2)
    # no shared visible node under "union": 0
    assert factory_object_keypoint_similarity(normalization_keypoints="union")(
        np.array([[0.0, 0.0], [NAN, NAN]]), np.array([[NAN, NAN], [0.0, 0.0]])) == 0.0
    with pytest.raises(ValueError, match="Received"):
        factory_object_keypoint_similarity(normalization_keypoints="bad")


def test_object_keypoint_similarity_score_weighting_and_padding(caplog):
    ref = np.array([[0.0, 0.0], [0.0, 0.0]])
    query = np.array([[0.0, 0.0], [0.0, 0.0]])
    oks = factory_object_keypoint_similarity(score_weighting=True)
    out = oks(ref, query, ref_scores=np.array([[0.5, 1.0]]),
              query_scores=np.array([[0.5, 0.0]]))
    assert out == pytest.approx((0.25 + 0.0) / 2)
    with caplog.at_level(logging.WARNING):
        padded = factory_object_keypoint_similarity(keypoint_errors=[1.0, 2.0])(
            np.zeros((3, 2)), np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]))
    assert "one value per node" in caplog.text
    assert padded == pytest.approx((np.exp(-0.5) + 2 * np.exp(-1 / 8)) / 3)

"""Small helpers SLEAP exposes as `sleap.nn.utils`.

Grouping arrays, bounding-box IoU, a graph-callable Hungarian assignment and point
matching, and resetting a model's input layer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from sleapish.nn._backend import tf


def group_array(X: np.ndarray, groups: np.ndarray, axis: int = 0) -> Dict:
    """Split an array into a dict keyed by a grouping vector.

    Args:
        X: Array with `n` entries along `axis`.
        groups: `(n,)` group key of each entry.
        axis: Axis of `X` that `groups` indexes.

    Returns:
        Dict from each distinct key (in first-seen order) to the entries of `X` with
        that key, in their original order.

    Example:
        >>> group_array(np.arange(5), np.array([1, 5, 2, 1, 5]))
        {1: array([0, 3]), 5: array([1, 4]), 2: array([2])}
    """
    inds = defaultdict(list)
    for i, key in enumerate(groups):
        inds[key].append(i)
    return {key: np.take(X, ind, axis=axis) for key, ind in inds.items()}


def compute_iou(bbox1: np.ndarray, bbox2: np.ndarray) -> float:
    """Intersection over union of two boxes in inclusive pixel coordinates.

    Args:
        bbox1: `[y1, x1, y2, x2]`.
        bbox2: `[y1, x1, y2, x2]`.

    Returns:
        The IoU, counting a box as `(x2 - x1 + 1) * (y2 - y1 + 1)` pixels (SLEAP's
        convention).
    """
    ay1, ax1, ay2, ax2 = bbox1
    by1, bx1, by2, bx2 = bbox2
    inter = (max(min(ax2, bx2) - max(ax1, bx1) + 1, 0)
             * max(min(ay2, by2) - max(ay1, by1) + 1, 0))
    area1 = (ax2 - ax1 + 1) * (ay2 - ay1 + 1)
    area2 = (bx2 - bx1 + 1) * (by2 - by1 + 1)
    return inter / (area1 + area2 - inter)


def _lsa(cost: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    rows, cols = linear_sum_assignment(cost)
    return rows.astype(np.int32), cols.astype(np.int32)


def tf_linear_sum_assignment(cost_matrix) -> Tuple[tf.Tensor, tf.Tensor]:
    """Minimum-cost assignment (`scipy.optimize.linear_sum_assignment`) in a graph.

    Args:
        cost_matrix: float `(n_rows, n_cols)` costs; replace NaN with `inf` first.

    Returns:
        `(rows, cols)`: int32 `(min(n_rows, n_cols),)` matched indices.
    """
    rows, cols = tf.numpy_function(_lsa, [cost_matrix], [tf.int32, tf.int32])
    rows.set_shape([None])
    cols.set_shape([None])
    return rows, cols


def match_points(points1, points2) -> Tuple[tf.Tensor, tf.Tensor]:
    """Match two point sets by Euclidean distance (Hungarian algorithm).

    Args:
        points1: float `(N, D)` reference points.
        points2: float `(M, D)` points to match.

    Returns:
        `(inds1, inds2)`: int32 `(min(N, M),)` indices into `points1` and `points2` of
        the matched pairs.
    """
    p1 = tf.cast(points1, tf.float32)[:, None]
    p2 = tf.cast(points2, tf.float32)[None]
    return tf_linear_sum_assignment(tf.linalg.norm(p1 - p2, axis=-1))


def reset_input_layer(keras_model, new_shape: Optional[Sequence[Optional[int]]] = None):
    """A copy of `keras_model` whose input shape is `new_shape`.

    Args:
        keras_model: A functional `tf_keras.Model` with one image input.
        new_shape: SLEAP's `(batch, height, width, channels)` or `(height, width,
            channels)`; `(None, None, None, channels)` by default.

    Returns:
        A new model with the same layers and weights.
    """
    from sleapish.nn.inference.loading import reset_input_layer as _reset

    if new_shape is not None and len(new_shape) == 4:
        new_shape = tuple(new_shape)[1:]
    return _reset(keras_model, new_shape)


__all__ = ["group_array", "compute_iou", "tf_linear_sum_assignment", "match_points",
           "reset_input_layer"]

"""Pairwise instance similarities used to match instances to tracks.

Every function takes a reference set and a query set of points and returns the
matrix of similarities between them, higher meaning more alike:

* `ref`: `(n_ref, n_nodes, 2)` float array of `(x, y)` points (NaN = missing);
* `query`: `(n_query, n_nodes, 2)` float array;
* result: `(n_ref, n_query)` float64 array.

A single instance (a `sleap_io.Instance`, or an `(n_nodes, 2)` array) is also accepted
on either side; when both sides are single instances the result is a float, as in
SLEAP's pairwise functions. In the tracker the *reference* is the untracked instance
of the current frame and the *query* a candidate from an earlier frame (as in SLEAP).

The numbers are SLEAP 1.4.1's (`sleap.nn.tracker.components`).
"""

from __future__ import annotations

import logging
import warnings
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from sleapish.errors import InvalidValueError

logger = logging.getLogger(__name__)


def instance_points(instance) -> np.ndarray:
    """`(n_nodes, 2)` float64 points of an instance-like object (NaN = missing).

    Accepts `sleap_io` instances (invisible points become NaN), objects with a
    `points_array` attribute (candidates) and plain arrays.
    """
    if isinstance(instance, np.ndarray):
        return np.asarray(instance, np.float64)
    pts = getattr(instance, "points_array", None)
    if pts is not None:
        return np.asarray(pts, np.float64)
    return np.asarray(instance.numpy(), np.float64)


def _as_stack(x) -> Tuple[np.ndarray, bool]:
    """Stack instances into `(n, n_nodes, 2)`; also say whether `x` was single."""
    if isinstance(x, np.ndarray):
        arr = np.asarray(x, np.float64)
        if arr.ndim == 2:
            return arr[None], True
        return arr, False
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            return np.zeros((0, 0, 2)), False
        return np.stack([instance_points(i) for i in x]), False
    return instance_points(x)[None], True


def _pairwise(fn: Callable) -> Callable:
    """Wrap a `(N, K, 2) x (M, K, 2) -> (N, M)` kernel to accept single instances."""

    def wrapper(ref, query, *args, **kwargs):
        r, r_single = _as_stack(ref)
        q, q_single = _as_stack(query)
        out = fn(r, q, *args, **kwargs)
        if r_single and q_single:
            return float(out[0, 0])
        return out

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _visible(points: np.ndarray) -> np.ndarray:
    """`(n, K)` bool: points without NaN."""
    return ~np.isnan(points).any(axis=-1)


def _squared_distances(ref: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`(N, M, K)` squared distances between matching nodes (NaN if either missing)."""
    diff = ref[:, None, :, :] - query[None, :, :, :]
    return np.sum(diff * diff, axis=-1)


@_pairwise
def instance_similarity(ref: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Mean over the reference's visible nodes of `exp(-squared distance)`.

    `sum_k exp(-|r_k - q_k|^2) / n_visible(ref)`, nodes missing on either side count
    zero. Distances are in pixels, so this is ~0 beyond a couple of pixels.

    Args:
        ref: `(N, K, 2)` points (or one instance).
        query: `(M, K, 2)` points (or one instance).

    Returns:
        `(N, M)` float64 similarities in [0, 1] (NaN if the reference has no
        visible node).
    """
    d = _squared_distances(ref, query)
    n_vis = _visible(ref).sum(axis=-1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nansum(np.exp(-d), axis=-1) / n_vis[:, None]


def normalized_instance_similarity(ref, query, img_hw: Sequence[int]):
    """`instance_similarity` on points divided by the image size `(W, H)`.

    Args:
        ref: `(N, K, 2)` points (or one instance).
        query: `(M, K, 2)` points (or one instance).
        img_hw: `(height, width)` of the frames.

    Returns:
        `(N, M)` float64 similarities (a float for two single instances).
    """
    factors = np.array((img_hw[1], img_hw[0]), np.float64)
    r, r_single = _as_stack(ref)
    q, q_single = _as_stack(query)
    out = instance_similarity(r / factors, q / factors)
    return float(out[0, 0]) if (r_single and q_single) else out


@_pairwise
def centroid_distance(ref: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Negative Euclidean distance between centroids (node-wise medians).

    Args:
        ref: `(N, K, 2)` points (or one instance).
        query: `(M, K, 2)` points (or one instance).

    Returns:
        `(N, M)` float64, `-|median(ref) - median(query)|` (NaN for empty instances).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cr = np.nanmedian(ref, axis=1) if ref.shape[1] else np.full((len(ref), 2), np.nan)
        cq = (np.nanmedian(query, axis=1) if query.shape[1]
              else np.full((len(query), 2), np.nan))
    diff = cr[:, None, :] - cq[None, :, :]
    return -np.sqrt(np.sum(diff * diff, axis=-1))


def bounding_boxes(points: np.ndarray) -> np.ndarray:
    """`(n, 4)` boxes `[y1, x1, y2, x2]` around `(n, K, 2)` points (NaN if empty)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(points, axis=1) if points.shape[1] else np.full((len(points), 2),
                                                                        np.nan)
        hi = np.nanmax(points, axis=1) if points.shape[1] else np.full((len(points), 2),
                                                                        np.nan)
    return np.concatenate([lo[:, ::-1], hi[:, ::-1]], axis=1)


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """IoU of `[y1, x1, y2, x2]` boxes with SLEAP's inclusive `+1` pixel areas.

    Args:
        boxes1: `(N, 4)` float boxes.
        boxes2: `(M, 4)` float boxes.

    Returns:
        `(N, M)` float64 intersection over union (NaN where a box is NaN).
    """
    a = boxes1[:, None, :]
    b = boxes2[None, :, :]
    ih = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1,
                    0)
    iw = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1,
                    0)
    inter = ih * iw
    area_a = (a[..., 3] - a[..., 1] + 1) * (a[..., 2] - a[..., 0] + 1)
    area_b = (b[..., 3] - b[..., 1] + 1) * (b[..., 2] - b[..., 0] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (area_a + area_b - inter)


@_pairwise
def instance_iou(ref: np.ndarray, query: np.ndarray) -> np.ndarray:
    """IoU of the instances' bounding boxes (pixel-inclusive, as SLEAP).

    Args:
        ref: `(N, K, 2)` points (or one instance).
        query: `(M, K, 2)` points (or one instance).

    Returns:
        `(N, M)` float64 IoU in [0, 1] (NaN for empty instances).
    """
    return box_iou(bounding_boxes(ref), bounding_boxes(query))


def factory_object_keypoint_similarity(
        keypoint_errors: Optional[Union[List[float], float]] = None,
        score_weighting: bool = False,
        normalization_keypoints: str = "all") -> Callable:
    """Make an object keypoint similarity (OKS) function.

    `sum_k s_r s_q exp(-|r_k - q_k|^2 / (2 e_k^2)) / n`, where `n` is the node count
    (`"all"`), the reference's visible nodes (`"ref"`), or nodes visible in both
    (`"union"`, named as in SLEAP). With `n == 0` the similarity is 0.

    Args:
        keypoint_errors: Per-node standard error `e_k` in pixels; None or a scalar
            means the same error for every node (default 1). A list of the wrong
            length is truncated or padded with its last value (with a warning).
        score_weighting: Weight each node by the point scores of both instances
            (`s_r`, `s_q`; 1 where an instance has no scores).
        normalization_keypoints: "all", "ref" or "union".

    Returns:
        `object_keypoint_similarity(ref, query, ref_scores=None, query_scores=None)`
        returning `(N, M)` similarities (a float for two single instances). Scores are
        `(N, K)`/`(M, K)`; taken from the instances' point scores when instances
        are passed.
    """
    if normalization_keypoints not in ("all", "ref", "union"):
        raise InvalidValueError("oks_normalization must be 'all', 'ref' or 'union'. "
                                f"Received: {normalization_keypoints!r}")
    errors = 1 if keypoint_errors is None or (
        not np.isscalar(keypoint_errors) and len(keypoint_errors) == 0) else keypoint_errors
    with np.errstate(divide="ignore"):
        precision = 1.0 / (2.0 * np.asarray(errors, np.float64) ** 2)
    state = {"precision": precision}

    def _scores(x, n):
        if isinstance(x, (list, tuple)):
            rows = [_point_scores(i) for i in x]
            return np.stack(rows) if rows else None
        if isinstance(x, np.ndarray):
            return None
        s = _point_scores(x)
        return None if s is None else s[None]

    def object_keypoint_similarity(ref, query, ref_scores=None, query_scores=None):
        r, r_single = _as_stack(ref)
        q, q_single = _as_stack(query)
        n_nodes = r.shape[1] if r.size else q.shape[1]
        prec = state["precision"]
        if prec.size > 1 and prec.size != n_nodes:  # fixed once, warned once (as SLEAP)
            logger.warning("keypoint_errors should have one value per node: %d != %d; %s.",
                           prec.size, n_nodes,
                           "truncating" if prec.size > n_nodes else "padding with the last")
            prec = (prec[:n_nodes] if prec.size > n_nodes
                    else np.pad(prec, (0, n_nodes - prec.size), "edge"))
            state["precision"] = prec
        if score_weighting:
            rs = ref_scores if ref_scores is not None else _scores(ref, len(r))
            qs = query_scores if query_scores is not None else _scores(query, len(q))
            rs = np.ones(r.shape[:2]) if rs is None else np.asarray(rs, np.float64)
            qs = np.ones(q.shape[:2]) if qs is None else np.asarray(qs, np.float64)
            w = rs[:, None, :] * qs[None, :, :]
        else:
            w = 1.0
        d = _squared_distances(r, q) * prec
        if normalization_keypoints == "all":
            n = np.full((len(r), len(q)), float(n_nodes))
        elif normalization_keypoints == "ref":
            n = np.repeat(_visible(r).sum(-1, dtype=np.float64)[:, None], len(q), axis=1)
        else:
            n = (_visible(r)[:, None, :] & _visible(q)[None, :, :]).sum(-1, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.nansum(w * np.exp(-d), axis=-1) / n
        out = np.where(n == 0, 0.0, out)
        return float(out[0, 0]) if (r_single and q_single) else out

    object_keypoint_similarity.score_weighting = bool(score_weighting)
    return object_keypoint_similarity


def _point_scores(instance) -> Optional[np.ndarray]:
    """`(K,)` point scores of a predicted instance, None for others."""
    scores = getattr(instance, "scores", None)
    if scores is not None:
        return np.asarray(scores, np.float64)
    points = getattr(instance, "points", None)
    if points is not None and getattr(points, "dtype", None) is not None \
            and points.dtype.names and "score" in points.dtype.names:
        return np.asarray(points["score"], np.float64)
    return None


similarity_policies = dict(
    instance=instance_similarity,
    centroid=centroid_distance,
    iou=instance_iou,
    normalized_instance=normalized_instance_similarity,
    object_keypoint=factory_object_keypoint_similarity,
)

__all__ = [
    "bounding_boxes",
    "box_iou",
    "centroid_distance",
    "factory_object_keypoint_similarity",
    "instance_iou",
    "instance_points",
    "instance_similarity",
    "normalized_instance_similarity",
    "similarity_policies",
]

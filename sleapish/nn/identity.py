"""Classifying peaks into identities (SLEAP's `sleap.nn.identity`).

Peaks are assigned to classes (animal identities) per sample and channel by the
Hungarian algorithm on their class probabilities; an assignment is kept only if the
class is the peak's own most likely one. SLEAP ran one assignment per sample and
channel as separate graph ops; here one `tf.numpy_function` call handles the batch
(scipy), or, with `in_graph=True`, a `tf.while_loop` over the groups running
:func:`sleapish.nn.assignment.linear_sum_assignment` (same assignments, ties included),
for exported models that must not call back into Python.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from sleapish.nn._backend import tf
from sleapish.nn.assignment import linear_sum_assignment as linear_sum_assignment_tf


def _assign_groups(probs: np.ndarray, sample_inds: np.ndarray,
                   channel_inds: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Hungarian assignment (max probability) per (sample, channel) group."""
    peak_out, class_out = [], []
    if len(probs):
        keys = sample_inds.astype(np.int64) * (int(channel_inds.max()) + 1) + channel_inds
        for key in np.unique(keys):
            inds = np.flatnonzero(keys == key)
            rows, cols = linear_sum_assignment(-probs[inds])
            peak_out.append(inds[rows])
            class_out.append(cols)
    if not peak_out:
        return np.zeros([0], np.int32), np.zeros([0], np.int32)
    return (np.concatenate(peak_out).astype(np.int32),
            np.concatenate(class_out).astype(np.int32))


def _assign_groups_graph(probs, sample_inds, channel_inds):
    """:func:`_assign_groups` as graph ops (groups with NaN probabilities, where scipy
    raises, are left unassigned)."""
    n = tf.size(sample_inds)
    keys = (tf.cast(sample_inds, tf.int64) * (tf.cast(tf.reduce_max(
        tf.concat([channel_inds, [0]], 0)), tf.int64) + 1) + tf.cast(channel_inds, tf.int64))
    unique_keys = tf.sort(tf.unique(keys)[0])
    n_groups = tf.size(unique_keys)

    def body(g, count, peak_buf, class_buf):
        inds = tf.boolean_mask(tf.range(n), tf.equal(keys, unique_keys[g]))
        rows, cols, ok = linear_sum_assignment_tf(-tf.gather(probs, inds))
        m = tf.where(ok, tf.size(rows), 0)
        at = (count + tf.range(m))[:, None]
        peak_buf = tf.tensor_scatter_nd_update(peak_buf, at, tf.gather(inds, rows[:m]))
        class_buf = tf.tensor_scatter_nd_update(class_buf, at, cols[:m])
        return g + 1, count + m, peak_buf, class_buf

    # Fixed-size buffers rather than TensorArrays (ONNX has no tensor lists).
    _, count, peak_buf, class_buf = tf.while_loop(
        lambda g, *_: g < n_groups, body,
        (tf.constant(0), tf.constant(0), tf.fill([n], -1), tf.fill([n], -1)))
    return peak_buf[:count], class_buf[:count]


def group_class_peaks(peak_class_probs, peak_sample_inds, peak_channel_inds,
                      n_samples: int, n_channels: int, in_graph: bool = False):
    """Group peaks into classes by their class probabilities.

    Args:
        peak_class_probs: float32 `(n_peaks, n_classes)`.
        peak_sample_inds: int32 `(n_peaks,)`.
        peak_channel_inds: int32 `(n_peaks,)`.
        n_samples: Number of samples in the batch.
        n_channels: Number of channels (nodes).
        in_graph: Assign with graph ops instead of a scipy callback.

    Returns:
        `(peak_inds, class_inds)`: int32 vectors of matched peak indices (into
        `[0, n_peaks)`) and their classes; at most one peak per class per sample and
        channel, and only where the class is the peak's highest-probability class.
    """
    del n_samples, n_channels  # groups are found from the indices themselves
    probs = tf.convert_to_tensor(peak_class_probs, tf.float32)
    sample_inds = tf.cast(peak_sample_inds, tf.int32)
    channel_inds = tf.cast(peak_channel_inds, tf.int32)
    if in_graph:
        peak_inds, class_inds = _assign_groups_graph(probs, sample_inds, channel_inds)
    else:
        peak_inds, class_inds = tf.numpy_function(
            _assign_groups, [probs, sample_inds, channel_inds], [tf.int32, tf.int32])
    peak_inds.set_shape([None])
    class_inds.set_shape([None])
    matched = tf.gather_nd(probs, tf.stack([peak_inds, class_inds], axis=1))
    best = tf.reduce_max(tf.gather(probs, peak_inds), axis=1)
    keep = matched == best
    return tf.boolean_mask(peak_inds, keep), tf.boolean_mask(class_inds, keep)


def classify_peaks_from_maps(class_maps, peak_points, peak_vals, peak_sample_inds,
                             peak_channel_inds, n_channels: int, in_graph: bool = False):
    """Classify local peaks by the class maps at their (rounded) positions.

    Args:
        class_maps: float32 `(n_samples, height, width, n_classes)`.
        peak_points: float32 `(n_peaks, 2)` (x, y) in class-map grid coordinates.
        peak_vals: float32 `(n_peaks,)` confidence values.
        peak_sample_inds: int32 `(n_peaks,)`.
        peak_channel_inds: int32 `(n_peaks,)`.
        n_channels: Number of nodes per instance.
        in_graph: Assign with graph ops instead of a scipy callback.

    Returns:
        `(points, point_vals, class_probs)`: float32 `(n_samples, n_classes,
        n_channels, 2)`, `(n_samples, n_classes, n_channels)` and
        `(n_samples, n_classes, n_channels)`; NaN where no peak was assigned.
    """
    class_maps = tf.convert_to_tensor(class_maps, tf.float32)
    n_samples, n_classes = tf.shape(class_maps)[0], tf.shape(class_maps)[3]
    sample_inds = tf.cast(peak_sample_inds, tf.int32)
    channel_inds = tf.cast(peak_channel_inds, tf.int32)
    peak_points = tf.convert_to_tensor(peak_points, tf.float32)
    # Rounded (row, col) on the class-map grid, clipped to it: refined peaks (e.g.
    # integral refinement on low, noisy maps) can land outside it, where SLEAP's CPU
    # path fails and its GPU path reads zeros.
    rc = tf.cast(tf.round(peak_points[:, ::-1]), tf.int32)
    hw = tf.shape(class_maps)[1:3]
    rc = tf.clip_by_value(rc, 0, hw[None, :] - 1)
    subs = tf.concat([sample_inds[:, None], rc], axis=1)
    probs = tf.gather_nd(class_maps, subs)
    peak_inds, class_inds = group_class_peaks(probs, sample_inds, channel_inds,
                                              n_samples, n_channels, in_graph)
    out = tf.stack([tf.gather(sample_inds, peak_inds), class_inds,
                    tf.gather(channel_inds, peak_inds)], axis=1)
    shape = [n_samples, n_classes, n_channels]
    points = tf.tensor_scatter_nd_update(tf.fill(shape + [2], float("nan")), out,
                                         tf.gather(peak_points, peak_inds))
    vals = tf.tensor_scatter_nd_update(tf.fill(shape, float("nan")), out,
                                       tf.gather(tf.cast(peak_vals, tf.float32), peak_inds))
    cls = tf.tensor_scatter_nd_update(
        tf.fill(shape, float("nan")), out,
        tf.gather_nd(probs, tf.stack([peak_inds, class_inds], axis=1)))
    return points, vals, cls


def classify_peaks_from_vectors(peak_points, peak_vals, peak_class_probs,
                                crop_sample_inds, n_samples: int, in_graph: bool = False):
    """Assign top-down instances (one per crop) to classes by their class vectors.

    Args:
        peak_points: float32 `(n_crops, n_nodes, 2)`.
        peak_vals: float32 `(n_crops, n_nodes)`.
        peak_class_probs: float32 `(n_crops, n_classes)` class vectors.
        crop_sample_inds: int32 `(n_crops,)` sample of each crop.
        n_samples: Number of samples in the batch.
        in_graph: Assign with graph ops instead of a scipy callback.

    Returns:
        `(points, point_vals, class_probs)`: float32 `(n_samples, n_classes,
        n_nodes, 2)`, `(n_samples, n_classes, n_nodes)` and `(n_samples, n_classes)`;
        NaN for classes without an instance.
    """
    sample_inds = tf.cast(crop_sample_inds, tf.int32)
    probs = tf.convert_to_tensor(peak_class_probs, tf.float32)
    peak_points = tf.convert_to_tensor(peak_points, tf.float32)
    n_samples = tf.cast(n_samples, tf.int32)
    n_nodes, n_classes = tf.shape(peak_points)[1], tf.shape(probs)[1]
    peak_inds, class_inds = group_class_peaks(probs, sample_inds,
                                              tf.zeros_like(sample_inds), n_samples, 1,
                                              in_graph)
    out = tf.stack([tf.gather(sample_inds, peak_inds), class_inds], axis=1)
    points = tf.tensor_scatter_nd_update(
        tf.fill([n_samples, n_classes, n_nodes, 2], float("nan")), out,
        tf.gather(peak_points, peak_inds))
    vals = tf.tensor_scatter_nd_update(
        tf.fill([n_samples, n_classes, n_nodes], float("nan")), out,
        tf.gather(tf.cast(peak_vals, tf.float32), peak_inds))
    cls = tf.tensor_scatter_nd_update(
        tf.fill([n_samples, n_classes], float("nan")), out,
        tf.gather_nd(probs, tf.stack([peak_inds, class_inds], axis=1)))
    return points, vals, cls


__all__ = ["group_class_peaks", "classify_peaks_from_maps", "classify_peaks_from_vectors"]

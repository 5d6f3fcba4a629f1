"""Offset (sub-pixel refinement) targets."""

from __future__ import annotations

from sleapish.nn._backend import tf


def make_offsets(points, xv, yv, stride: int = 1):
    """Offsets from each grid point to each point, in units of the grid stride.

    Args:
        points: float32 `(n_nodes, 2)` (x, y) points in full-resolution pixels
            (NaN for missing).
        xv: float32 `(grid_width,)` grid x coordinates (full-resolution pixels).
        yv: float32 `(grid_height,)` grid y coordinates.
        stride: Grid stride; offsets are divided by it.

    Returns:
        float32 `(grid_height, grid_width, n_nodes, 2)`: `(point - grid) / stride`,
        with the last axis (dx, dy); NaN where the point is missing.
    """
    points = tf.convert_to_tensor(points, tf.float32)
    dx = (points[None, None, :, 0] - xv[None, :, None]) / float(stride)
    dy = (points[None, None, :, 1] - yv[:, None, None]) / float(stride)
    dx = tf.broadcast_to(dx, [tf.shape(yv)[0], tf.shape(xv)[0], tf.shape(points)[0]])
    dy = tf.broadcast_to(dy, tf.shape(dx))
    return tf.stack([dx, dy], axis=-1)


def mask_offsets(offsets, confmaps, threshold: float = 0.2):
    """Zero offsets where the confidence map is at or below `threshold`.

    Args:
        offsets: float32 `(height, width, n_nodes, 2)`.
        confmaps: float32 `(height, width, n_nodes)`.
        threshold: Confidence below or at which offsets become 0.

    Returns:
        Masked offsets, same shape; NaNs (missing points) become 0 too.
    """
    keep = tf.expand_dims(confmaps > threshold, -1)
    keep = tf.logical_and(keep, tf.logical_not(tf.math.is_nan(offsets)))
    return tf.where(keep, offsets, tf.zeros_like(offsets))

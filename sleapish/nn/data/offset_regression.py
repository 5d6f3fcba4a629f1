"""Offset (sub-pixel refinement) targets (SLEAP's `sleap.nn.data.offset_regression`).

An offset map holds, at every grid point, the vector from the grid point to a point,
in units of the grid stride: `((x - xv) / stride, (y - yv) / stride)`. Offsets of a
missing (NaN) point are 0. `mask_offsets` keeps them only where the point's
confidence map is above a threshold (SLEAP uses 0.2 by default).
"""

from __future__ import annotations

from sleapish.nn._backend import tf


def make_offsets(points, xv, yv, stride: int = 1):
    """Offsets from each grid point to each point, in units of the grid stride.

    Args:
        points: float `(n_points, 2)` (x, y) points in full-resolution pixels (NaN
            for missing). Other numeric dtypes are cast to float32.
        xv: float32 `(grid_width,)` grid x coordinates (full-resolution pixels), e.g.
            from `sleapish.nn.data.utils.make_grid_vectors`.
        yv: float32 `(grid_height,)` grid y coordinates.
        stride: Grid stride; offsets are divided by it.

    Returns:
        float32 `(grid_height, grid_width, n_points, 2)`: `(point - grid) / stride`,
        the last axis `(dx, dy)`. Non-finite offsets (missing points) are 0.

    Example:
        >>> xv, yv = make_grid_vectors(4, 4, output_stride=2)   # [0, 2]
        >>> make_offsets([[3.0, 1.0]], xv, yv, stride=2)[0, 1, 0].numpy()
        array([0.5, 0.5], dtype=float32)
    """
    points = tf.cast(tf.convert_to_tensor(points), tf.float32)
    xv = tf.cast(xv, tf.float32)
    yv = tf.cast(yv, tf.float32)
    dx = points[None, None, :, 0] - xv[None, :, None]  # (1, w, n)
    dy = points[None, None, :, 1] - yv[:, None, None]  # (h, 1, n)
    shape = tf.stack([tf.shape(yv)[0], tf.shape(xv)[0], tf.shape(points)[0]])
    offsets = tf.stack([tf.broadcast_to(dx, shape), tf.broadcast_to(dy, shape)], axis=-1)
    offsets = offsets / tf.cast(stride, tf.float32)
    return tf.where(tf.math.is_finite(offsets), offsets, tf.zeros_like(offsets))


def mask_offsets(offsets, confmaps, threshold: float = 0.2):
    """Zero offsets wherever the confidence map is not above `threshold`.

    Args:
        offsets: float32 `(grid_height, grid_width, n_points, 2)`, e.g. from
            :func:`make_offsets`.
        confmaps: float32 `(grid_height, grid_width, n_points)` maps of the same
            points, e.g. from `sleapish.nn.data.confidence_maps.make_confmaps`.
        threshold: Offsets are kept where `confmaps > threshold`, else 0.

    Returns:
        float32 offsets of the shape of `offsets`.
    """
    offsets = tf.convert_to_tensor(offsets, tf.float32)
    keep = tf.expand_dims(tf.convert_to_tensor(confmaps, tf.float32) > threshold, -1)
    return tf.where(keep, offsets, tf.zeros_like(offsets))


__all__ = ["make_offsets", "mask_offsets"]

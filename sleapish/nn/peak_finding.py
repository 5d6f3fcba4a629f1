"""Peak finding on confidence maps (NHWC), with optional sub-pixel refinement.

Ported from sleap-nn's `sleap_nn.inference.peak_finding` to TensorFlow and SLEAP TF's
conventions: maps are `(samples, height, width, channels)`, points are `(x, y)` in
map grid coordinates (multiply by the output stride for image pixels), and
below-threshold global peaks have NaN points but keep their values (SLEAP TF). All
functions are graph-compatible and batched: no Python loop per peak.

Refinement: `"integral"` replaces each grid peak by the centre of mass of the
`integral_patch_size` x `integral_patch_size` patch around it; `"local"` moves it
0.25 px toward the larger neighbour on each axis. An offset head
(:func:`refine_peaks_with_offsets`) overrides both.
"""

from __future__ import annotations

from typing import Optional, Tuple

from sleapish.nn._backend import tf
from sleapish.nn.data.instance_cropping import normalize_bboxes

_NAN = float("nan")


def crop_bboxes(images, bboxes, sample_inds, crop_size: Optional[Tuple[int, int]] = None):
    """Crop boxes from a batch of images.

    Args:
        images: float32 `(samples, height, width, channels)`.
        bboxes: float32 `(n_bboxes, 4)` `[y1, x1, y2, x2]` inclusive pixel-centre
            coordinates (a 3x3 patch centred at (1, 1) is `(0, 0, 2, 2)`, i.e.
            `images[:, 0:3, 0:3]`).
        sample_inds: int32 `(n_bboxes,)` image of each box.
        crop_size: `(height, width)` of the crops; from the first box when `None`.

    Returns:
        float32 `(n_bboxes, crop_height, crop_width, channels)`; bilinear for
        fractional boxes, 0 outside the image.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    bboxes = tf.convert_to_tensor(bboxes, tf.float32)
    if crop_size is None:
        extent = tf.concat([bboxes[:, 2:] - bboxes[:, :2], tf.zeros([1, 2])], axis=0)
        size = tf.cast(tf.round(tf.reduce_max(extent, axis=0)), tf.int32) + 1
    else:
        size = tf.constant([int(crop_size[0]), int(crop_size[1])], tf.int32)
    s = tf.shape(images)
    return tf.image.crop_and_resize(images, normalize_bboxes(bboxes, s[1], s[2]),
                                    tf.cast(sample_inds, tf.int32), size,
                                    method="bilinear", extrapolation_value=0.0)


def integral_regression(cms, xv, yv):
    """Centre of mass of each map on a coordinate grid.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        xv: float32 `(width,)` x coordinate of each column.
        yv: float32 `(height,)` y coordinate of each row.

    Returns:
        `(x_hat, y_hat)`, each float32 `(samples, channels)`; NaN where a map sums
        to 0.
    """
    cms = tf.convert_to_tensor(cms, tf.float32)
    z = tf.reduce_sum(cms, axis=[1, 2])
    x_hat = tf.reduce_sum(cms * tf.reshape(xv, [1, 1, -1, 1]), axis=[1, 2]) / z
    y_hat = tf.reduce_sum(cms * tf.reshape(yv, [1, -1, 1, 1]), axis=[1, 2]) / z
    return x_hat, y_hat


def find_offsets_local_direction(centered_patches, delta: float = 0.25):
    """Quarter-pixel steps toward the larger neighbour.

    Args:
        centered_patches: float32 `(n, 3, 3)` or `(n, 3, 3, 1)` patches centred on
            grid peaks.
        delta: Step size in grid pixels.

    Returns:
        float32 `(n, 2)` offsets `(dx, dy)`, each in `{-delta, 0, +delta}`.
    """
    p = tf.convert_to_tensor(centered_patches, tf.float32)
    if p.shape.rank == 4:
        p = p[..., 0]
    dx = delta * tf.sign(p[:, 1, 2] - p[:, 1, 0])
    dy = delta * tf.sign(p[:, 2, 1] - p[:, 0, 1])
    return tf.stack([dx, dy], axis=1)


def find_global_peaks_rough(cms, threshold: float = 0.1):
    """Location of the maximum of every sample and channel.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        threshold: Peaks with a value below this get NaN points (their value is
            kept, as in SLEAP TF).

    Returns:
        `(peak_points, peak_vals)`: float32 `(samples, channels, 2)` grid (x, y)
        points and float32 `(samples, channels)` values. Ties go to the first
        maximum in row-major order.
    """
    cms = tf.convert_to_tensor(cms, tf.float32)
    s = tf.shape(cms)
    flat = tf.reshape(tf.transpose(cms, [0, 3, 1, 2]), [s[0], s[3], s[1] * s[2]])
    amax = tf.argmax(flat, axis=-1, output_type=tf.int32)
    vals = tf.reduce_max(flat, axis=-1)
    points = tf.cast(tf.stack([amax % s[2], amax // s[2]], axis=-1), tf.float32)
    points = tf.where((vals < threshold)[..., None], _NAN, points)
    return points, vals


def find_local_peaks_rough(cms, threshold: float = 0.2):
    """Local maxima: strictly greater than all 8 neighbours and than `threshold`.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        threshold: Minimum value (exclusive).

    Returns:
        `(peak_points, peak_vals, peak_sample_inds, peak_channel_inds)`: float32
        `(n_peaks, 2)` grid (x, y), float32 `(n_peaks,)`, int32 `(n_peaks,)`, int32
        `(n_peaks,)`, ordered by (sample, row, column, channel). Plateaus yield no
        peak; pixels outside the map do not count as neighbours.
    """
    cms = tf.convert_to_tensor(cms, tf.float32)
    pad = tf.pad(cms, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=-float("inf"))
    h, w = tf.shape(cms)[1], tf.shape(cms)[2]
    neigh = None
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            shifted = pad[:, dy:dy + h, dx:dx + w, :]
            neigh = shifted if neigh is None else tf.maximum(neigh, shifted)
    is_peak = (cms > neigh) & (cms > threshold)
    subs = tf.cast(tf.where(is_peak), tf.int32)
    vals = tf.gather_nd(cms, subs)
    points = tf.cast(tf.stack([subs[:, 2], subs[:, 1]], axis=1), tf.float32)
    return points, vals, subs[:, 0], subs[:, 3]


def _patches(cms, points, image_inds, size: int):
    """Exact `size` x `size` patches (zeros outside) centred on integer grid points.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        points: float32 `(n, 2)` integer-valued (x, y).
        image_inds: int32 `(n,)` index into the `samples * channels` single-channel
            maps (`sample * channels + channel`).
        size: Odd patch side.

    Returns:
        float32 `(n, size, size)`.
    """
    s = tf.shape(cms)
    r = size // 2
    flat = tf.reshape(tf.transpose(cms, [0, 3, 1, 2]), [s[0] * s[3], s[1], s[2]])
    flat = tf.pad(flat, [[0, 0], [r, r], [r, r]])
    xy = tf.cast(tf.round(points), tf.int32)
    offs = tf.range(size)
    rows = xy[:, 1, None] + offs[None]  # top-left at (x - r, y - r) in padded coords
    cols = xy[:, 0, None] + offs[None]
    n = tf.shape(points)[0]
    idx = tf.stack([
        tf.broadcast_to(tf.cast(image_inds, tf.int32)[:, None, None], [n, size, size]),
        tf.broadcast_to(rows[:, :, None], [n, size, size]),
        tf.broadcast_to(cols[:, None, :], [n, size, size])], axis=-1)
    return tf.gather_nd(flat, idx)


def _refine(cms, points, image_inds, refinement, integral_patch_size):
    """Offsets `(n, 2)` for integer grid peaks `points (n, 2)`."""
    size = integral_patch_size if refinement == "integral" else 3
    patches = _patches(cms, points, image_inds, size)
    if refinement == "integral":
        gv = tf.range(size, dtype=tf.float32) - (size - 1) / 2.0
        dx, dy = integral_regression(patches[..., None], gv, gv)
        return tf.stack([dx[:, 0], dy[:, 0]], axis=1)
    return find_offsets_local_direction(patches)


def _check_refinement(refinement):
    if refinement not in (None, "integral", "local"):
        raise ValueError("refinement must be None, 'integral' or 'local'. "
                         f"Received: {refinement!r}")


def find_global_peaks(cms, threshold: float = 0.2, refinement: Optional[str] = None,
                      integral_patch_size: int = 5):
    """Global peak of every sample and channel, optionally refined.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        threshold: Below it, points are NaN (values kept).
        refinement: None, "integral" or "local".
        integral_patch_size: Patch side for integral refinement (odd).

    Returns:
        `(peak_points, peak_vals)`: float32 `(samples, channels, 2)` and
        `(samples, channels)`.
    """
    _check_refinement(refinement)
    cms = tf.convert_to_tensor(cms, tf.float32)
    points, vals = find_global_peaks_rough(cms, threshold=threshold)
    if refinement is None:
        return points, vals
    s = tf.shape(cms)
    flat_points = tf.reshape(points, [-1, 2])
    valid = tf.logical_not(tf.reduce_any(tf.math.is_nan(flat_points), axis=1))
    image_inds = tf.range(s[0] * s[3])
    offsets = _refine(cms, tf.where(valid[:, None], flat_points, 0.0), image_inds,
                      refinement, integral_patch_size)
    refined = tf.where(valid[:, None], flat_points + offsets, _NAN)
    return tf.reshape(refined, [s[0], s[3], 2]), vals


def find_local_peaks(cms, threshold: float = 0.2, refinement: Optional[str] = None,
                     integral_patch_size: int = 5):
    """Local peaks of all samples and channels, optionally refined.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        threshold: Minimum value (exclusive).
        refinement: None, "integral" or "local".
        integral_patch_size: Patch side for integral refinement (odd).

    Returns:
        `(peak_points, peak_vals, peak_sample_inds, peak_channel_inds)` as
        :func:`find_local_peaks_rough`, with refined points.
    """
    _check_refinement(refinement)
    cms = tf.convert_to_tensor(cms, tf.float32)
    points, vals, sample_inds, channel_inds = find_local_peaks_rough(cms, threshold)
    if refinement is None:
        return points, vals, sample_inds, channel_inds
    image_inds = sample_inds * tf.shape(cms)[3] + channel_inds
    offsets = _refine(cms, points, image_inds, refinement, integral_patch_size)
    return points + offsets, vals, sample_inds, channel_inds


def refine_peaks_with_offsets(peak_points, peak_sample_inds, peak_channel_inds, offsets):
    """Add predicted offsets (an offset head's output) to grid peaks.

    Args:
        peak_points: float32 `(n_peaks, 2)` grid-aligned (x, y) peaks (NaN allowed).
        peak_sample_inds: int32 `(n_peaks,)`.
        peak_channel_inds: int32 `(n_peaks,)`.
        offsets: float32 `(samples, height, width, 2 * channels)` with channels
            `[c0x, c0y, c1x, ...]`, in grid units.

    Returns:
        float32 `(n_peaks, 2)` refined points (NaN stays NaN).
    """
    pts = tf.convert_to_tensor(peak_points, tf.float32)
    valid = tf.logical_not(tf.reduce_any(tf.math.is_nan(pts), axis=1))
    cols_rows = tf.cast(tf.round(tf.where(valid[:, None], pts, 0.0)), tf.int32)
    s = tf.shape(offsets)
    off = tf.reshape(offsets, [s[0], s[1], s[2], s[3] // 2, 2])
    subs = tf.stack([tf.cast(peak_sample_inds, tf.int32), cols_rows[:, 1], cols_rows[:, 0],
                     tf.cast(peak_channel_inds, tf.int32)], axis=1)
    return pts + tf.gather_nd(off, subs)


__all__ = [
    "crop_bboxes",
    "integral_regression",
    "find_offsets_local_direction",
    "find_global_peaks_rough",
    "find_global_peaks",
    "find_local_peaks_rough",
    "find_local_peaks",
    "refine_peaks_with_offsets",
]

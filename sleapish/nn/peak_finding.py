"""Peak finding on confidence maps (NHWC), with optional sub-pixel refinement.

SLEAP 1.4.1's `sleap.nn.peak_finding`: maps are `(samples, height, width, channels)`,
points are `(x, y)` in map grid coordinates (multiply by the output stride for image
pixels), and below-threshold global peaks have NaN points but keep their values. All
functions are graph-compatible and batched: no Python loop per peak.

Refinement: `"integral"` replaces each grid peak by the centre of mass of the
`integral_patch_size` x `integral_patch_size` patch around it; `"local"` moves it
0.25 px toward the larger neighbour on each axis. Patches are cut with
`tf.image.crop_and_resize` from boxes centred on the grid peaks, as SLEAP does, so the
refined points match SLEAP's to the last bit (including its zero-filled patch rows at
some map borders, where float rounding puts a box edge just outside the map). Offset
maps from an offset regression head (:func:`find_global_peaks_with_offsets`,
:func:`find_local_peaks_with_offsets`) replace both.

As in SLEAP, :func:`find_global_peaks`, :func:`find_local_peaks` and the two
`*_with_offsets` functions are `tf.function`s (traced once per input signature; the
undecorated Python function is their `__wrapped__`); called inside another graph (an
inference model's traced step) they are traced once per shape of that graph.

Example::

    points, vals = find_global_peaks(cms, threshold=0.2, refinement="integral")
    # points: (samples, channels, 2) grid (x, y), NaN below the threshold
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.data.instance_cropping import make_centered_bboxes, normalize_bboxes

_NAN = float("nan")
_REFINEMENTS = (None, "integral", "local")


def _as_float32(x):
    """`x` as a float32 tensor (cast, not converted, so float64 inputs work)."""
    x = tf.convert_to_tensor(x)
    return x if x.dtype == tf.float32 else tf.cast(x, tf.float32)


def check_refinement(refinement):
    """Validate a `refinement` argument (None, "integral" or "local"); returns it."""
    if refinement not in _REFINEMENTS:
        raise InvalidValueError("refinement must be None, 'integral' or 'local'. "
                                f"Received: {refinement!r}")
    return refinement


# ------------------------------------------------------------------ smoothing
def make_gaussian_kernel(size: int, sigma: float):
    """Square unnormalized 2D Gaussian kernel.

    Args:
        size: Side of the kernel (odd; an even size gives `size + 1`).
        sigma: Standard deviation in pixels.

    Returns:
        float32 `(size, size)` `exp(-(x^2 + y^2) / (2 sigma^2))` on the grid
        `-(size // 2) ... size // 2`; its maximum (centre) is 1. Divide by
        `2 pi sigma^2` to normalize it as a density.
    """
    r = int(size) // 2
    gv = tf.range(-r, r + 1, dtype=tf.float32)
    sq = tf.reshape(gv, (1, -1)) ** 2 + tf.reshape(gv, (-1, 1)) ** 2
    return tf.exp(-sq / (2.0 * float(sigma) ** 2))


def smooth_imgs(imgs, kernel_size: int = 5, sigma: float = 1.0):
    """Gaussian-smooth each image and channel (zero padding, same size).

    Args:
        imgs: float32 `(samples, height, width, channels)`.
        kernel_size: Odd side of the Gaussian kernel.
        sigma: Standard deviation of the Gaussian in pixels.

    Returns:
        float32 `(samples, height, width, channels)`: depthwise convolution with
        :func:`make_gaussian_kernel` divided by `2 pi sigma^2` (SLEAP's normalization,
        which is the density's, not the truncated kernel's sum).
    """
    imgs = _as_float32(imgs)
    k = make_gaussian_kernel(kernel_size, sigma) / (2.0 * math.pi * float(sigma) ** 2)
    side = 2 * (int(kernel_size) // 2) + 1
    kernel = tf.broadcast_to(tf.reshape(k, (side, side, 1, 1)),
                             (side, side, tf.shape(imgs)[-1], 1))
    return tf.nn.depthwise_conv2d(imgs, kernel, strides=[1, 1, 1, 1], padding="SAME")


# ------------------------------------------------------------ patch utilities
def crop_bboxes(images, bboxes, sample_inds, crop_size: Optional[Tuple[int, int]] = None):
    """Crop boxes from a batch of images (`tf.image.crop_and_resize`, bilinear).

    Args:
        images: `(samples, height, width, channels)` images of any numeric dtype.
        bboxes: float32 `(n_bboxes, 4)` `[y1, x1, y2, x2]` inclusive pixel-centre
            coordinates (a 3x3 patch centred at (1, 1) is `(0, 0, 2, 2)`, i.e.
            `images[:, 0:3, 0:3]`).
        sample_inds: int `(n_bboxes,)` image of each box.
        crop_size: `(height, width)` of the crops; when `None`, that of the first
            box, `round(y2 - y1 + 1)` x `round(x2 - x1 + 1)` (as SLEAP; 1 x 1 when
            there are no boxes).

    Returns:
        `(n_bboxes, crop_height, crop_width, channels)` crops with the images' dtype;
        bilinear for fractional boxes, 0 outside the image.
    """
    images = tf.convert_to_tensor(images)
    bboxes = _as_float32(bboxes)
    if crop_size is None:
        first = tf.concat([bboxes, tf.zeros([1, 4], tf.float32)], axis=0)[0]
        size = tf.cast(tf.round(first[2:] - first[:2] + 1.0), tf.int32)
    else:
        size = tf.constant([int(crop_size[0]), int(crop_size[1])], tf.int32)
    s = tf.shape(images)
    crops = tf.image.crop_and_resize(images, normalize_bboxes(bboxes, s[1], s[2]),
                                     tf.cast(sample_inds, tf.int32), size,
                                     method="bilinear", extrapolation_value=0.0)
    return tf.cast(crops, images.dtype)


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
    cms = _as_float32(cms)
    z = tf.reduce_sum(cms, axis=[1, 2])
    x_hat = tf.reduce_sum(tf.reshape(_as_float32(xv), [1, 1, -1, 1]) * cms, axis=[1, 2]) / z
    y_hat = tf.reduce_sum(tf.reshape(_as_float32(yv), [1, -1, 1, 1]) * cms, axis=[1, 2]) / z
    return x_hat, y_hat


def find_offsets_local_direction(centered_patches, delta: float = 0.25):
    """Quarter-pixel steps toward the larger neighbour.

    Args:
        centered_patches: `(n, 3, 3, 1)` (or `(n, 3, 3)`) float patches centred on
            grid peaks.
        delta: Step size in grid pixels.

    Returns:
        `(n, 2)` offsets `(dx, dy)` in the patches' float dtype (float32 for other
        dtypes), each `sign(right - left) * delta` / `sign(bottom - top) * delta`,
        so 0 for a symmetric patch.

    Example::

        >>> p = np.array([[0., 1., 0.], [1., 3., 2.], [0., 1., 0.]]).reshape(1, 3, 3, 1)
        >>> find_offsets_local_direction(p, 0.25).numpy()
        array([[0.25, 0.  ]])
    """
    p = tf.convert_to_tensor(centered_patches)
    if not p.dtype.is_floating:
        p = tf.cast(p, tf.float32)
    if p.shape.rank == 4:
        p = p[..., 0]
    dx = p[:, 1, 2] - p[:, 1, 0]
    dy = p[:, 2, 1] - p[:, 0, 1]
    return tf.sign(tf.stack([dx, dy], axis=1)) * tf.cast(delta, p.dtype)


def _per_channel_maps(cms):
    """`(samples, h, w, c)` -> `(samples * c, h, w, 1)`, map `i = sample * c + channel`."""
    s = tf.shape(cms)
    return tf.reshape(tf.transpose(cms, [0, 3, 1, 2]), [s[0] * s[3], s[1], s[2], 1])


def _refinement_offsets(maps, points, map_inds, refinement: str, integral_patch_size: int):
    """Sub-pixel offsets of grid peaks.

    Args:
        maps: float32 `(n_maps, height, width, 1)` single-channel maps.
        points: float32 `(n, 2)` integer-valued grid (x, y) peaks (no NaN).
        map_inds: int32 `(n,)` map of each peak.
        refinement: "integral" or "local".
        integral_patch_size: Patch side for "integral".

    Returns:
        float32 `(n, 2)` offsets `(dx, dy)`.
    """
    size = int(integral_patch_size) if refinement == "integral" else 3
    boxes = make_centered_bboxes(points, box_height=size, box_width=size)
    patches = crop_bboxes(maps, boxes, map_inds, crop_size=(size, size))
    if refinement == "integral":
        gv = tf.range(size, dtype=tf.float32) - (size - 1) / 2.0
        dx, dy = integral_regression(patches, gv, gv)
        return tf.concat([dx, dy], axis=1)
    return find_offsets_local_direction(patches, 0.25)


# ---------------------------------------------------------------- rough peaks
def find_global_peaks_rough(cms, threshold: float = 0.1):
    """Grid location of the maximum of every sample and channel.

    As SLEAP, the row is the first row holding the map's maximum and the column the
    first column holding it (found separately), and the value is read at that
    (row, column). With a unique maximum this is its location; with ties in different
    rows and columns it can be a point below the maximum.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        threshold: Peaks with a value below this get NaN points (their value is
            kept).

    Returns:
        `(peak_points, peak_vals)`: float32 `(samples, channels, 2)` grid (x, y)
        points and float32 `(samples, channels)` values.
    """
    cms = _as_float32(cms)
    rows = tf.argmax(tf.reduce_max(cms, axis=2), axis=1, output_type=tf.int32)
    cols = tf.argmax(tf.reduce_max(cms, axis=1), axis=1, output_type=tf.int32)
    s = tf.shape(rows)  # (samples, channels)
    sample_subs = tf.broadcast_to(tf.range(s[0])[:, None], s)
    channel_subs = tf.broadcast_to(tf.range(s[1])[None, :], s)
    vals = tf.gather_nd(cms, tf.stack([sample_subs, rows, cols, channel_subs], axis=-1))
    points = tf.cast(tf.stack([cols, rows], axis=-1), tf.float32)
    points = tf.where(vals[..., None] < threshold, _NAN, points)
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
        peak; pixels outside the map do not count as neighbours (SLEAP's
        `dilation2d` non-maximum suppression, whose kernel also compares each pixel
        with itself minus 1).
    """
    cms = _as_float32(cms)
    pad = tf.pad(cms, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=-float("inf"))
    h, w = tf.shape(cms)[1], tf.shape(cms)[2]
    neigh = cms - 1.0
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                neigh = tf.maximum(neigh, pad[:, dy:dy + h, dx:dx + w, :])
    subs = tf.cast(tf.where((cms > neigh) & (cms > threshold)), tf.int32)
    vals = tf.gather_nd(cms, subs)
    points = tf.cast(tf.stack([subs[:, 2], subs[:, 1]], axis=1), tf.float32)
    return points, vals, subs[:, 0], subs[:, 3]


# ------------------------------------------------------------ refined peaks
@tf.function
def find_global_peaks(cms, threshold: float = 0.2, refinement: Optional[str] = None,
                      integral_patch_size: int = 5):
    """Global peak of every sample and channel, optionally refined.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        threshold: Below it, points are NaN (values kept).
        refinement: None, "integral" or "local".
        integral_patch_size: Patch side for integral refinement (odd).

    Returns:
        `(peak_points, peak_vals)`: float32 `(samples, channels, 2)` grid (x, y) and
        float32 `(samples, channels)`.

    Raises:
        ValueError: For another `refinement`.
    """
    check_refinement(refinement)
    cms = _as_float32(cms)
    points, vals = find_global_peaks_rough(cms, threshold=threshold)
    if refinement is None:
        return points, vals
    s = tf.shape(points)
    flat = tf.reshape(points, [s[0] * s[1], 2])
    valid_idx = tf.where(~tf.math.is_nan(flat[:, 0]))[:, 0]
    offsets = _refinement_offsets(_per_channel_maps(cms), tf.gather(flat, valid_idx),
                                  tf.cast(valid_idx, tf.int32), refinement,
                                  integral_patch_size)
    # Indices are unique: an update of `x + offset` (ONNX has no scatter-add).
    refined = tf.tensor_scatter_nd_update(flat, valid_idx[:, None],
                                          tf.gather(flat, valid_idx) + offsets)
    return tf.reshape(refined, s), vals


def find_global_peaks_integral(cms, crop_size: int = 5, threshold: float = 0.2):
    """:func:`find_global_peaks` with integral refinement on `crop_size` patches.

    Returns:
        `(peak_points, peak_vals)` as :func:`find_global_peaks`.
    """
    return find_global_peaks(cms, threshold=threshold, refinement="integral",
                             integral_patch_size=crop_size)


@tf.function
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

    Raises:
        ValueError: For another `refinement`.
    """
    check_refinement(refinement)
    cms = _as_float32(cms)
    points, vals, sample_inds, channel_inds = find_local_peaks_rough(cms, threshold)
    if refinement is None:
        return points, vals, sample_inds, channel_inds
    map_inds = sample_inds * tf.shape(cms)[3] + channel_inds
    offsets = _refinement_offsets(_per_channel_maps(cms), points, map_inds, refinement,
                                  integral_patch_size)
    return points + offsets, vals, sample_inds, channel_inds


def find_local_peaks_integral(cms, crop_size: int = 5, threshold: float = 0.2):
    """:func:`find_local_peaks` with integral refinement on `crop_size` patches.

    Returns:
        `(peak_points, peak_vals, peak_sample_inds, peak_channel_inds)` as
        :func:`find_local_peaks`.
    """
    return find_local_peaks(cms, threshold=threshold, refinement="integral",
                            integral_patch_size=crop_size)


# ------------------------------------------------------------ offset maps
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
    pts = _as_float32(peak_points)
    valid = tf.logical_not(tf.reduce_any(tf.math.is_nan(pts), axis=1))
    cols_rows = tf.cast(tf.round(tf.where(valid[:, None], pts, 0.0)), tf.int32)
    offsets = _as_float32(offsets)
    s = tf.shape(offsets)
    off = tf.reshape(offsets, [s[0], s[1], s[2], -1, 2])
    subs = tf.stack([tf.cast(peak_sample_inds, tf.int32), cols_rows[:, 1], cols_rows[:, 0],
                     tf.cast(peak_channel_inds, tf.int32)], axis=1)
    return pts + tf.gather_nd(off, subs)


@tf.function
def find_global_peaks_with_offsets(cms, offsets, threshold: float = 0.2):
    """Global peaks refined by offset maps.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        offsets: float32 `(samples, height, width, 2 * channels)` offset maps,
            channels `[c0x, c0y, c1x, ...]`, in grid units.
        threshold: Below it, points are NaN (values kept).

    Returns:
        `(peak_points, peak_vals)`: float32 `(samples, channels, 2)` grid (x, y), the
        grid peak plus the offsets at it, and float32 `(samples, channels)`.
    """
    points, vals = find_global_peaks_rough(cms, threshold=threshold)
    s = tf.shape(points)
    n = s[0] * s[1]
    refined = refine_peaks_with_offsets(tf.reshape(points, [n, 2]), tf.range(n) // s[1],
                                        tf.range(n) % s[1], offsets)
    return tf.reshape(refined, s), vals


@tf.function
def find_local_peaks_with_offsets(cms, offsets, threshold: float = 0.2):
    """Local peaks refined by offset maps.

    Args:
        cms: float32 `(samples, height, width, channels)`.
        offsets: float32 `(samples, height, width, 2 * channels)` offset maps,
            channels `[c0x, c0y, c1x, ...]`, in grid units.
        threshold: Minimum value (exclusive).

    Returns:
        `(peak_points, peak_vals, peak_sample_inds, peak_channel_inds)` as
        :func:`find_local_peaks_rough`, points plus the offsets at them.
    """
    points, vals, sample_inds, channel_inds = find_local_peaks_rough(cms, threshold)
    points = refine_peaks_with_offsets(points, sample_inds, channel_inds, offsets)
    return points, vals, sample_inds, channel_inds


__all__ = [
    "make_gaussian_kernel",
    "smooth_imgs",
    "crop_bboxes",
    "integral_regression",
    "find_offsets_local_direction",
    "find_global_peaks_rough",
    "find_global_peaks",
    "find_global_peaks_integral",
    "find_local_peaks_rough",
    "find_local_peaks",
    "find_local_peaks_integral",
    "refine_peaks_with_offsets",
    "find_global_peaks_with_offsets",
    "find_local_peaks_with_offsets",
]

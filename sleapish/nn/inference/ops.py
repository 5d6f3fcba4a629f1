"""Pure tensor operations of the inference layers (no Keras, no state).

Peak finding with optional offset refinement on batches, grid-to-image coordinates,
channel conversion, grouping by sample, cropping around centroids and the per-sample
instance limit: what :mod:`sleapish.nn.inference.layers`,
:mod:`~sleapish.nn.inference.layers_topdown` and
:mod:`~sleapish.nn.inference.layers_bottomup` compose into SLEAP's layers. All work
eagerly and inside `tf.function`. Resizing is
:func:`sleapish.nn.data.resizing.resize_image` (the one SLEAP rule for every caller).
"""

from __future__ import annotations

from typing import Optional

from sleapish.errors import MissingKeyError
from sleapish.nn._backend import tf
from sleapish.nn.data.instance_cropping import make_centered_bboxes, normalize_bboxes
from sleapish.nn.data.resizing import resize_image
from sleapish.nn.peak_finding import (
    find_global_peaks as _find_global_peaks_function,
)
from sleapish.nn.peak_finding import (
    find_local_peaks as _find_local_peaks_function,
)
from sleapish.nn.peak_finding import (
    find_local_peaks_rough,
    refine_peaks_with_offsets,
)

# The layers call peak finding's Python functions, traced inline into the inference
# step (no autograph; their branches are on Python values). The public functions are
# `tf.function`s with autograph, as SLEAP's: nesting them cost ~1.3 s of autograph
# conversion per trace at start-up.
find_global_peaks = _find_global_peaks_function.python_function
find_local_peaks = _find_local_peaks_function.python_function


def convert_channels(imgs, grayscale: bool):
    """1 channel (luma, `tf.image.rgb_to_grayscale` on the input dtype) or RGB (tiled).

    Works when the channel count is only known at run time (e.g. in a `tf.function`
    traced with relaxed shapes); images with another channel count pass unchanged.

    Args:
        imgs: `(..., channels)` images of any dtype.
        grayscale: Convert to 1 channel (True) or to 3 channels (False).

    Returns:
        The converted images, same dtype.
    """
    imgs = tf.convert_to_tensor(imgs)
    src = 3 if grayscale else 1
    convert = tf.image.rgb_to_grayscale if grayscale else tf.image.grayscale_to_rgb
    channels = imgs.shape[-1]
    if channels is not None:
        return convert(imgs) if channels == src else imgs
    # Channels known only at run time (1 or 3). No tf.cond: TensorFlow 2.21 runs a
    # cond branch's shape-checking ops even when the branch is not taken. Gathering
    # channels [0, min(1, c - 1), min(2, c - 1)] gives RGB for both counts (tiled
    # gray, or the image itself).
    n = tf.shape(imgs)[-1]
    rgb = tf.gather(imgs, tf.minimum(tf.range(3), n - 1), axis=-1)
    rgb = tf.ensure_shape(rgb, imgs.shape[:-1] + [3])
    if not grayscale:
        return rgb
    return tf.where(tf.equal(n, 3), tf.image.rgb_to_grayscale(rgb), rgb[..., :1])


def to_image_coords(points, output_stride, input_scale: float):
    """Map grid points to full-image pixels: `x * stride`, then `/ scale + 0.5`."""
    points = points * tf.cast(output_stride, tf.float32)
    if input_scale != 1.0:
        points = points / tf.cast(input_scale, tf.float32) + 0.5
    return points


def global_peaks(cms, offsets, threshold: float, refinement: Optional[str],
                 integral_patch_size: int):
    """Global peak of every sample and channel, refined by offsets or `refinement`.

    Args:
        cms: float32 `(samples, height, width, channels)` confidence maps.
        offsets: float32 `(samples, height, width, 2 * channels)` offset maps, or None.
        threshold: Peaks below it get NaN points (values kept).
        refinement: None, "integral" or "local"; ignored when `offsets` is given.
        integral_patch_size: Patch size for integral refinement.

    Returns:
        `(points, vals)`: float32 `(samples, channels, 2)` grid points and float32
        `(samples, channels)` values.
    """
    if offsets is None:
        return find_global_peaks(cms, threshold=threshold, refinement=refinement,
                                 integral_patch_size=integral_patch_size)
    points, vals = find_global_peaks(cms, threshold=threshold, refinement=None)
    s = tf.shape(points)
    n = s[0] * s[1]
    flat = tf.reshape(points, [n, 2])
    sample_inds = tf.range(n) // s[1]
    channel_inds = tf.range(n) % s[1]
    refined = refine_peaks_with_offsets(flat, sample_inds, channel_inds, offsets)
    return tf.reshape(refined, [s[0], s[1], 2]), vals


def local_peaks(cms, offsets, threshold: float, refinement: Optional[str],
                integral_patch_size: int):
    """All local peaks, refined by offsets or `refinement`.

    Returns:
        `(points, vals, sample_inds, channel_inds)`: float32 `(n_peaks, 2)` grid points,
        float32 `(n_peaks,)`, int32 `(n_peaks,)`, int32 `(n_peaks,)`, ordered by
        (sample, row, column, channel).
    """
    if offsets is None:
        return find_local_peaks(cms, threshold=threshold, refinement=refinement,
                                integral_patch_size=integral_patch_size)
    points, vals, sample_inds, channel_inds = find_local_peaks_rough(cms, threshold)
    points = refine_peaks_with_offsets(points, sample_inds, channel_inds, offsets)
    return points, vals, sample_inds, channel_inds


def group_by_sample(values, sample_inds, n_samples):
    """`tf.RaggedTensor` `(n_samples, (n), ...)` from flat values and sample indices."""
    return tf.RaggedTensor.from_value_rowids(
        values, tf.cast(sample_inds, tf.int64), nrows=tf.cast(n_samples, tf.int64),
        validate=False)


def get_images(data):
    """The image batch of a layer input (a tensor, or a dict with an "image" key)."""
    if isinstance(data, dict):
        if "image" not in data:
            raise MissingKeyError(f"Inference inputs must hold an 'image' key. Received keys: "
                                  f"{sorted(data)}")
        return data["image"]
    return data


def crop_around_centroids(images, centroids, sample_inds, crop_size: int,
                          precrop_resize: float = 1.0):
    """Crop `crop_size` squares centred on points, and their SLEAP crop offsets.

    Args:
        images: `(samples, height, width, channels)` full images (any dtype).
        centroids: float32 `(n, 2)` (x, y) centres in full-image pixels.
        sample_inds: int `(n,)` image of each centre.
        crop_size: Side of the crops, in pixels of the (resized) image.
        precrop_resize: Resize the images by this before cropping (centres are scaled
            along); crops are then in the scaled image's pixels.

    Returns:
        `(crops, crop_offsets)`: `(n, crop_size, crop_size, channels)` crops in the
        images' dtype (bilinear, 0 outside, cast back as SLEAP does), and float32
        `(n, 2)` offsets `c - crop_size / (2 * precrop_resize)` in full-image pixels.
    """
    images = tf.convert_to_tensor(images)
    centroids = tf.convert_to_tensor(centroids, tf.float32)
    size = int(crop_size)
    if precrop_resize != 1.0:
        images = resize_image(images, precrop_resize)
        centers = centroids * tf.cast(precrop_resize, tf.float32)
    else:
        centers = centroids
    boxes = make_centered_bboxes(centers, size, size)
    s = tf.shape(images)
    crops = tf.image.crop_and_resize(
        tf.cast(images, tf.float32), normalize_bboxes(boxes, s[1], s[2]),
        tf.cast(sample_inds, tf.int32), [size, size], method="bilinear")
    crops = tf.cast(crops, images.dtype)
    crop_offsets = centroids - size / (2.0 * float(precrop_resize))
    return crops, crop_offsets


def limit_instances(points, vals, sample_inds, n_samples, max_instances: int):
    """Keep the `max_instances` highest-valued peaks of each sample (SLEAP's rule).

    Samples with more than `max_instances` peaks keep their top ones ordered by
    decreasing value (ties: first peak first, as `tf.math.top_k`); other samples keep
    all their peaks in their original order.

    Args:
        points: float32 `(n, 2)`.
        vals: float32 `(n,)`.
        sample_inds: int `(n,)`, non-decreasing.
        n_samples: Number of samples.
        max_instances: Maximum number of peaks per sample.

    Returns:
        `(points, vals, sample_inds)` of the kept peaks, grouped by sample.
    """
    sample_inds = tf.cast(sample_inds, tf.int32)
    n = tf.shape(vals)[0]
    by_val = tf.argsort(-vals, stable=True)
    order = tf.gather(by_val, tf.argsort(tf.gather(sample_inds, by_val), stable=True))
    counts = tf.math.unsorted_segment_sum(tf.ones([n], tf.int32), sample_inds, n_samples)
    starts = tf.cumsum(counts, exclusive=True)
    rank_sorted = tf.range(n) - tf.gather(starts, tf.gather(sample_inds, order))
    rank = tf.scatter_nd(order[:, None], rank_sorted, [n])
    position = tf.range(n) - tf.gather(starts, sample_inds)
    over = tf.gather(counts, sample_inds) > max_instances
    keep = tf.logical_or(tf.logical_not(over), rank < max_instances)
    key = sample_inds * (n + 1) + tf.where(over, rank, position)
    kept = tf.boolean_mask(tf.range(n), keep)
    kept = tf.gather(kept, tf.argsort(tf.gather(key, kept), stable=True))
    return tf.gather(points, kept), tf.gather(vals, kept), tf.gather(sample_inds, kept)


def _as_ragged_points(x, rank: int):
    """Sample-grouped ragged tensor from ragged, or dense NaN-padded, input."""
    if isinstance(x, tf.RaggedTensor):
        return x
    x = tf.convert_to_tensor(x, tf.float32)
    axes = list(range(2, rank))
    valid = tf.logical_not(tf.reduce_all(tf.math.is_nan(x), axis=axes))
    return tf.ragged.boolean_mask(x, valid)


def _unscale(points, input_scale: float):
    """`points / input_scale + 0.5` when `input_scale != 1` (dense or ragged)."""
    if input_scale == 1.0:
        return points
    scale = tf.cast(input_scale, tf.float32)
    if isinstance(points, tf.RaggedTensor):
        return tf.ragged.map_flat_values(lambda v: v / scale + 0.5, points)
    return points / scale + 0.5


__all__ = ["convert_channels", "to_image_coords", "global_peaks", "local_peaks",
           "group_by_sample", "get_images", "crop_around_centroids", "limit_instances"]

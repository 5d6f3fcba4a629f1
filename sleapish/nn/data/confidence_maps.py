"""Confidence map targets (SLEAP's `sleap.nn.data.confidence_maps`).

A confidence map channel is an unnormalized 2D Gaussian
`exp(-((x - xv)^2 + (y - yv)^2) / (2 sigma^2))` sampled on the grid
`xv = arange(0, width, stride)`, `yv = arange(0, height, stride)` in full-resolution
pixels. The generators pass `sigma * output_stride` (SLEAP's behaviour, which its
trained models depend on). Multi-instance maps are the maximum over instances;
offsets are summed over instances, each masked where its own map is <= the threshold.
"""

from __future__ import annotations

from typing import List

import attrs

from sleapish.nn._backend import tf
from sleapish.nn.data.offset_regression import mask_offsets
from sleapish.nn.data.utils import make_grid_vectors


def make_confmaps(points, xv, yv, sigma: float):
    """Confidence maps of one instance.

    Args:
        points: float32 `(n_nodes, 2)` (x, y) points; NaN rows give all-zero channels.
        xv: float32 `(grid_width,)` sampling grid x coordinates.
        yv: float32 `(grid_height,)` sampling grid y coordinates.
        sigma: Gaussian standard deviation, in the units of the grid coordinates.

    Returns:
        float32 `(grid_height, grid_width, n_nodes)`, 1.0 at a grid point that
        coincides with a point.
    """
    points = tf.convert_to_tensor(points, tf.float32)
    x = points[:, 0][None, None, :]
    y = points[:, 1][None, None, :]
    d2 = tf.square(xv[None, :, None] - x) + tf.square(yv[:, None, None] - y)
    cm = tf.exp(-d2 / (2.0 * tf.square(tf.cast(sigma, tf.float32))))
    return tf.where(tf.math.is_nan(cm), tf.zeros_like(cm), cm)


def _instance_confmaps(instances, xv, yv, sigma):
    """`(n_instances, grid_height, grid_width, n_nodes)` maps, one per instance."""
    x = instances[:, :, 0][:, None, None, :]
    y = instances[:, :, 1][:, None, None, :]
    d2 = tf.square(xv[None, None, :, None] - x) + tf.square(yv[None, :, None, None] - y)
    cm = tf.exp(-d2 / (2.0 * tf.square(tf.cast(sigma, tf.float32))))
    return tf.where(tf.math.is_nan(cm), tf.zeros_like(cm), cm)


def _instance_offsets(instances, xv, yv, stride):
    """`(n_instances, grid_height, grid_width, n_nodes, 2)` unmasked offsets."""
    dx = (instances[:, None, None, :, 0] - xv[None, None, :, None]) / float(stride)
    dy = (instances[:, None, None, :, 1] - yv[None, :, None, None]) / float(stride)
    shape = tf.concat([tf.shape(instances)[:1], tf.shape(yv), tf.shape(xv),
                       tf.shape(instances)[1:2]], 0)
    return tf.stack([tf.broadcast_to(dx, shape), tf.broadcast_to(dy, shape)], axis=-1)


def make_multi_confmaps(instances, xv, yv, sigma: float):
    """Confidence maps of several instances: the maximum over instances.

    Args:
        instances: float32 `(n_instances, n_nodes, 2)` (rank 3 even for one
            instance; `n_instances` may be 0).
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.
        sigma: Gaussian standard deviation.

    Returns:
        float32 `(grid_height, grid_width, n_nodes)`; zeros when there are no
        instances.
    """
    instances = tf.convert_to_tensor(instances, tf.float32)
    n_nodes = tf.shape(instances)[1]
    out = tf.zeros([tf.shape(yv)[0], tf.shape(xv)[0], n_nodes], tf.float32)
    for_each = _instance_confmaps(instances, xv, yv, sigma)
    return tf.maximum(out, tf.reduce_max(
        tf.concat([out[None], for_each], axis=0), axis=0))


def make_multi_confmaps_with_offsets(instances, xv, yv, stride: int, sigma: float,
                                     offsets_threshold: float):
    """Multi-instance confidence maps and offsets.

    Args:
        instances: float32 `(n_instances, n_nodes, 2)`.
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.
        stride: Grid stride; offsets are in units of it.
        sigma: Gaussian standard deviation.
        offsets_threshold: Each instance's offsets count only where its own map is
            above this value.

    Returns:
        `(confmaps, offsets)`: float32 `(grid_height, grid_width, n_nodes)` (max over
        instances) and `(grid_height, grid_width, n_nodes, 2)` (sum over instances of
        the masked offsets).
    """
    instances = tf.convert_to_tensor(instances, tf.float32)
    cms = _instance_confmaps(instances, xv, yv, sigma)
    offs = mask_offsets(_instance_offsets(instances, xv, yv, stride), cms,
                        offsets_threshold)
    shape = [tf.shape(yv)[0], tf.shape(xv)[0], tf.shape(instances)[1]]
    confmaps = tf.reduce_max(tf.concat([tf.zeros(shape)[None], cms], 0), axis=0)
    offsets = tf.reduce_sum(offs, axis=0)
    offsets = tf.reshape(offsets, shape + [2])
    return confmaps, offsets


def _flatten_offsets(offsets):
    """`(h, w, n, 2)` -> `(h, w, 2n)` with channels `[n0x, n0y, n1x, n1y, ...]`."""
    s = tf.shape(offsets)
    return tf.reshape(offsets, [s[0], s[1], s[2] * 2])


def drop_instances_outside(instances, height, width):
    """Keep instances with at least one visible point inside the image.

    Args:
        instances: float32 `(n_instances, n_nodes, 2)`.
        height: Image height (pixels).
        width: Image width.

    Returns:
        The instances with some point in `[0, width) x [0, height)`.
    """
    x, y = instances[..., 0], instances[..., 1]
    inside = (x >= 0) & (x < tf.cast(width, tf.float32)) & (y >= 0) & (
        y < tf.cast(height, tf.float32))
    return tf.boolean_mask(instances, tf.reduce_any(inside, axis=1))


@attrs.define
class _ConfmapGeneratorBase:
    sigma: float = 1.0
    output_stride: int = 1
    with_offsets: bool = False
    offsets_threshold: float = 0.2
    flatten_offsets: bool = True

    def _grid(self, image):
        s = tf.shape(image)
        return make_grid_vectors(s[0], s[1], self.output_stride)

    def _offsets_out(self, offsets):
        return _flatten_offsets(offsets) if self.flatten_offsets else offsets

    def _maps(self, instances, image):
        """(confmaps, offsets-or-None) for instances on the image's grid."""
        xv, yv = self._grid(image)
        sigma = self.sigma * self.output_stride
        if self.with_offsets:
            cm, off = make_multi_confmaps_with_offsets(
                instances, xv, yv, self.output_stride, sigma, self.offsets_threshold)
            return cm, self._offsets_out(off)
        return make_multi_confmaps(instances, xv, yv, sigma), None


@attrs.define
class SingleInstanceConfidenceMapGenerator(_ConfmapGeneratorBase):
    """Confidence maps of the first instance of each example.

    Attributes:
        sigma: Gaussian spread in the current image's pixels (multiplied by the
            stride when sampling, as SLEAP does).
        output_stride: Stride of the maps relative to the image.
        with_offsets: Also make `"offsets"`.
        offsets_threshold: Confidence at or below which offsets are 0.
        flatten_offsets: Offsets as `(h, w, 2n)` (True) or `(h, w, n, 2)`.
    """

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ["instances", "image"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["confidence_maps"] + (["offsets"] if self.with_offsets else [])

    def transform_dataset(self, input_ds):
        """Add `"confidence_maps"` `(h / s, w / s, n_nodes)` (and `"offsets"`)."""

        def fn(ex):
            first = ex["instances"][:1]
            n_nodes = tf.shape(ex["instances"])[1]
            first = tf.cond(tf.shape(first)[0] > 0, lambda: first,
                            lambda: tf.fill([1, n_nodes, 2], float("nan")))
            cm, off = self._maps(first, ex["image"])
            ex["confidence_maps"] = cm
            if off is not None:
                ex["offsets"] = off
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class MultiConfidenceMapGenerator(_ConfmapGeneratorBase):
    """Multi-instance confidence maps of all instances (or of their centroids).

    Attributes:
        centroids: Use `"centroids"` `(n_instances, 2)` and write
            `"centroid_confidence_maps"` (one channel) instead of `"instances"` /
            `"confidence_maps"`.
    """

    centroids: bool = False

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ["image", "centroids" if self.centroids else "instances"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        key = "centroid_confidence_maps" if self.centroids else "confidence_maps"
        return [key] + (["offsets"] if self.with_offsets else [])

    def transform_dataset(self, input_ds):
        """Add the maps; instances with no point inside the image are dropped."""

        def fn(ex):
            pts = ex["centroids"][:, None, :] if self.centroids else ex["instances"]
            s = tf.shape(ex["image"])
            pts = drop_instances_outside(pts, s[0], s[1])
            cm, off = self._maps(pts, ex["image"])
            ex[self.output_keys[0]] = cm
            if off is not None:
                ex["offsets"] = off
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class InstanceConfidenceMapGenerator(_ConfmapGeneratorBase):
    """Confidence maps of the centered instance of instance-cropped examples.

    Attributes:
        all_instances: Also make `"all_instance_confidence_maps"` from
            `"all_instances"` (every instance in the crop).
    """

    all_instances: bool = False

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ["instance_image", "center_instance"] + (
            ["all_instances"] if self.all_instances else [])

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return (["instance_confidence_maps"]
                + (["all_instance_confidence_maps"] if self.all_instances else [])
                + (["offsets"] if self.with_offsets else []))

    def transform_dataset(self, input_ds):
        """Add `"instance_confidence_maps"` (and the others) to each crop."""

        def fn(ex):
            img = ex["instance_image"]
            cm, off = self._maps(ex["center_instance"][None], img)
            ex["instance_confidence_maps"] = cm
            if off is not None:
                ex["offsets"] = off
            if self.all_instances:
                xv, yv = self._grid(img)
                ex["all_instance_confidence_maps"] = make_multi_confmaps(
                    ex["all_instances"], xv, yv, self.sigma * self.output_stride)
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = [
    "make_confmaps",
    "make_multi_confmaps",
    "make_multi_confmaps_with_offsets",
    "drop_instances_outside",
    "SingleInstanceConfidenceMapGenerator",
    "MultiConfidenceMapGenerator",
    "InstanceConfidenceMapGenerator",
]

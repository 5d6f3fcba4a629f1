"""Confidence map targets (SLEAP's `sleap.nn.data.confidence_maps`).

A confidence map channel is an unnormalized 2D Gaussian
`exp(-((x - xv)^2 + (y - yv)^2) / (2 sigma^2))` sampled on the grid
`xv = arange(0, width, stride)`, `yv = arange(0, height, stride)` in full-resolution
pixels. The generators pass `sigma * output_stride` (SLEAP's behaviour, which its
trained models depend on). Multi-instance maps are the maximum over instances;
offsets are summed over instances, each masked where its own map is <= the threshold.

Multi-instance maps drop the instances that have no node strictly inside the
sampling grid, as SLEAP does: a node counts when `0 < x < xv[-1]` and
`0 < y < yv[-1]` (both strict, against the last grid coordinate, not the image size).
"""

from __future__ import annotations

from typing import List

import attrs

from sleapish.nn._backend import tf
from sleapish.nn.data.offset_regression import make_offsets, mask_offsets
from sleapish.nn.data.utils import image_grid_vectors, make_grid_vectors


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

    Example:
        >>> xv, yv = make_grid_vectors(image_height=4, image_width=5)
        >>> make_confmaps([[2.0, 3.0]], xv, yv, sigma=1.0)[3, 2, 0].numpy()
        1.0
    """
    points = tf.cast(tf.convert_to_tensor(points), tf.float32)
    x = points[:, 0][None, None, :]
    y = points[:, 1][None, None, :]
    d2 = tf.square(tf.cast(xv, tf.float32)[None, :, None] - x) + tf.square(
        tf.cast(yv, tf.float32)[:, None, None] - y)
    cm = tf.exp(-d2 / (2.0 * tf.square(tf.cast(sigma, tf.float32))))
    return tf.where(tf.math.is_nan(cm), tf.zeros_like(cm), cm)


def instances_in_grid(instances, xv, yv):
    """Which instances have a node strictly inside the sampling grid (SLEAP's rule).

    Args:
        instances: float32 `(n_instances, n_nodes, 2)`.
        xv: float32 `(grid_width,)` (non-empty).
        yv: float32 `(grid_height,)` (non-empty).

    Returns:
        bool `(n_instances,)`: some node has `0 < x < xv[-1]` and `0 < y < yv[-1]`
        (NaN nodes never count).
    """
    upper = tf.reshape(tf.stack([xv[-1], yv[-1]]), [1, 1, 2])
    inside = (instances > 0) & (instances < upper)
    return tf.reduce_any(tf.reduce_all(inside, axis=-1), axis=1)


def drop_instances_outside_grid(instances, xv, yv):
    """Keep the instances with a node strictly inside the sampling grid.

    Args:
        instances: float32 `(n_instances, n_nodes, 2)`.
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.

    Returns:
        float32 `(n_kept, n_nodes, 2)`; see :func:`instances_in_grid`.
    """
    instances = tf.cast(tf.convert_to_tensor(instances), tf.float32)
    return tf.boolean_mask(instances, instances_in_grid(instances, xv, yv))


def _fold_instances(instances, init, step):
    """`acc = step(acc, instances[i])` for each instance in order (graph loop)."""
    n = tf.shape(instances)[0]

    def body(i, acc):
        return i + 1, step(acc, instances[i])

    _, out = tf.while_loop(lambda i, acc: i < n, body, (tf.constant(0), init))
    return out


def make_multi_confmaps(instances, xv, yv, sigma: float):
    """Confidence maps of several instances: the maximum over instances.

    Instances without a node inside the grid (see :func:`instances_in_grid`) are
    dropped first; maps are made one instance at a time and max-reduced, so memory
    does not grow with the number of instances.

    Args:
        instances: float32 `(n_instances, n_nodes, 2)` (rank 3 even for one
            instance; `n_instances` may be 0).
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.
        sigma: Gaussian standard deviation.

    Returns:
        float32 `(grid_height, grid_width, n_nodes)`; zeros when no instance is left.
    """
    instances = drop_instances_outside_grid(instances, xv, yv)
    init = tf.zeros(tf.stack([tf.shape(yv)[0], tf.shape(xv)[0], tf.shape(instances)[1]]),
                    tf.float32)
    return _fold_instances(
        instances, init, lambda acc, pts: tf.maximum(acc, make_confmaps(pts, xv, yv, sigma)))


def make_multi_confmaps_with_offsets(instances, xv, yv, stride: int, sigma: float,
                                     offsets_threshold: float):
    """Multi-instance confidence maps and offsets.

    Args:
        instances: float32 `(n_instances, n_nodes, 2)`; instances without a node
            inside the grid are dropped (see :func:`instances_in_grid`).
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.
        stride: Grid stride; offsets are in units of it.
        sigma: Gaussian standard deviation.
        offsets_threshold: Each instance's offsets count only where its own map is
            above this value.

    Returns:
        `(confmaps, offsets)`: float32 `(grid_height, grid_width, n_nodes)` (max over
        instances) and `(grid_height, grid_width, n_nodes, 2)` (sum over instances of
        the masked offsets, last axis `(dx, dy)`).
    """
    instances = drop_instances_outside_grid(instances, xv, yv)
    shape = tf.stack([tf.shape(yv)[0], tf.shape(xv)[0], tf.shape(instances)[1]])
    init = (tf.zeros(shape, tf.float32), tf.zeros(tf.concat([shape, [2]], 0), tf.float32))

    def step(acc, pts):
        cm = make_confmaps(pts, xv, yv, sigma)
        off = mask_offsets(make_offsets(pts, xv, yv, stride=stride), cm, offsets_threshold)
        return tf.maximum(acc[0], cm), acc[1] + off

    return _fold_instances(instances, init, step)


def _flatten_offsets(offsets):
    """`(h, w, n, 2)` -> `(h, w, 2n)` with channels `[n0x, n0y, n1x, n1y, ...]`."""
    s = tf.shape(offsets)
    n = offsets.shape[2]
    return tf.reshape(offsets, [s[0], s[1], 2 * n if n is not None else s[2] * 2])


class _GeneratorMixin:
    """Grid and offset helpers shared by the generators (no attrs fields)."""

    def _grid(self, image):
        """Grid vectors of the image (static when the image shape is known)."""
        return image_grid_vectors(image, self.output_stride)

    def _offsets_out(self, offsets):
        return _flatten_offsets(offsets) if self.flatten_offsets else offsets

    def _single_maps(self, points, xv, yv):
        """(confmaps, offsets-or-None) of one instance (no in-grid filter)."""
        sigma = self.sigma * self.output_stride
        cm = make_confmaps(points, xv, yv, sigma)
        if not self.with_offsets:
            return cm, None
        off = mask_offsets(make_offsets(points, xv, yv, stride=self.output_stride), cm,
                           self.offsets_threshold)
        return cm, self._offsets_out(off)

    def _multi_maps(self, instances, xv, yv):
        """(confmaps, offsets-or-None) of several instances."""
        sigma = self.sigma * self.output_stride
        if not self.with_offsets:
            return make_multi_confmaps(instances, xv, yv, sigma), None
        cm, off = make_multi_confmaps_with_offsets(instances, xv, yv, self.output_stride,
                                                   sigma, self.offsets_threshold)
        return cm, self._offsets_out(off)


@attrs.define
class SingleInstanceConfidenceMapGenerator(_GeneratorMixin):
    """Confidence maps of the first instance of each example.

    Attributes:
        sigma: Gaussian spread in the current image's pixels (multiplied by the
            stride when sampling, as SLEAP does).
        output_stride: Stride of the maps relative to the image.
        with_offsets: Also make `"offsets"`.
        offsets_threshold: Confidence at or below which offsets are 0.
        flatten_offsets: Offsets as `(h, w, 2n)` (True) or `(h, w, n, 2)`.
    """

    sigma: float = 1.0
    output_stride: int = 1
    with_offsets: bool = False
    offsets_threshold: float = 0.2
    flatten_offsets: bool = True

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ["image", "instances"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["points", "confidence_maps"] + (["offsets"] if self.with_offsets else [])

    def transform_dataset(self, input_ds):
        """Add `"points"` `(n_nodes, 2)` (the first instance) and `"confidence_maps"`
        `(h / s, w / s, n_nodes)` (and `"offsets"`).

        An example without instances gets NaN `"points"` and all-zero maps (SLEAP
        fails on it).
        """

        def fn(ex):
            inst = tf.cast(ex["instances"], tf.float32)
            # First instance, or a NaN row when there is none.
            nan_row = tf.fill(tf.stack([1, tf.shape(inst)[1], 2]), float("nan"))
            points = tf.concat([inst[:1], nan_row], 0)[0]
            xv, yv = self._grid(ex["image"])
            cm, off = self._single_maps(points, xv, yv)
            ex["points"] = points
            ex["confidence_maps"] = cm
            if off is not None:
                ex["offsets"] = off
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class MultiConfidenceMapGenerator(_GeneratorMixin):
    """Multi-instance confidence maps of all instances (or of their centroids).

    Instances (or centroids) with no node inside the sampling grid are dropped (see
    :func:`instances_in_grid`).

    Attributes:
        sigma: Gaussian spread in the current image's pixels (times the stride).
        output_stride: Stride of the maps relative to the image.
        centroids: Use `"centroids"` `(n_instances, 2)` and write
            `"centroid_confidence_maps"` (one channel) instead of `"instances"` /
            `"confidence_maps"`.
        with_offsets: Also make `"offsets"` (summed over instances).
        offsets_threshold: Confidence at or below which an instance's offsets are 0.
        flatten_offsets: Offsets as `(h, w, 2n)` (True) or `(h, w, n, 2)`.
    """

    sigma: float = 1.0
    output_stride: int = 1
    centroids: bool = False
    with_offsets: bool = False
    offsets_threshold: float = 0.2
    flatten_offsets: bool = True

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
        """Add the maps `(h / s, w / s, n_nodes or 1)` (and `"offsets"`)."""

        def fn(ex):
            if self.centroids:
                pts = tf.cast(ex["centroids"], tf.float32)[:, None, :]
            else:
                pts = tf.cast(ex["instances"], tf.float32)
            xv, yv = self._grid(ex["image"])
            cm, off = self._multi_maps(pts, xv, yv)
            ex[self.output_keys[0]] = cm
            if off is not None:
                ex["offsets"] = off
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class InstanceConfidenceMapGenerator(_GeneratorMixin):
    """Confidence maps of the centered instance of instance-cropped examples.

    Attributes:
        sigma: Gaussian spread in the current image's pixels (times the stride).
        output_stride: Stride of the maps relative to the crop.
        all_instances: Also make `"all_instance_confidence_maps"` from
            `"all_instances"` (every instance in the crop; those without a node in
            the grid are dropped), and with offsets `"all_instance_offsets"`.
        with_offsets: Also make `"offsets"` of the centered instance.
        offsets_threshold: Confidence at or below which offsets are 0.
        flatten_offsets: Offsets as `(h, w, 2n)` (True) or `(h, w, n, 2)`.
    """

    sigma: float = 1.0
    output_stride: int = 1
    all_instances: bool = False
    with_offsets: bool = False
    offsets_threshold: float = 0.2
    flatten_offsets: bool = True

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ["instance_image", "center_instance"] + (
            ["all_instances"] if self.all_instances else [])

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        keys = ["instance_confidence_maps"] + (["offsets"] if self.with_offsets else [])
        if self.all_instances:
            keys.append("all_instance_confidence_maps")
            if self.with_offsets:
                keys.append("all_instance_offsets")
        return keys

    def transform_dataset(self, input_ds):
        """Add `"instance_confidence_maps"` `(h / s, w / s, n_nodes)` (and the
        others) to each crop. The centered instance is never dropped."""

        def fn(ex):
            xv, yv = self._grid(ex["instance_image"])
            cm, off = self._single_maps(tf.cast(ex["center_instance"], tf.float32), xv, yv)
            ex["instance_confidence_maps"] = cm
            if off is not None:
                ex["offsets"] = off
            if self.all_instances:
                cm, off = self._multi_maps(tf.cast(ex["all_instances"], tf.float32), xv, yv)
                ex["all_instance_confidence_maps"] = cm
                if off is not None:
                    ex["all_instance_offsets"] = off
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = [
    "make_confmaps",
    "make_multi_confmaps",
    "make_multi_confmaps_with_offsets",
    "make_grid_vectors",
    "instances_in_grid",
    "drop_instances_outside_grid",
    "SingleInstanceConfidenceMapGenerator",
    "MultiConfidenceMapGenerator",
    "InstanceConfidenceMapGenerator",
]

"""Identity (class) targets for multi-class models (SLEAP's `sleap.nn.data.identity`).

A class is a track index. Class vectors are one-hot rows; class maps give each grid
point, for each class, the largest share `cm_i / sum_j cm_j` among the instances of
that class whose confidence map `cm_i` there is above a threshold.
"""

from __future__ import annotations

from typing import List

import attrs

from sleapish.errors import MissingKeyError
from sleapish.nn._backend import tf
from sleapish.nn.data.confidence_maps import make_multi_confmaps
from sleapish.nn.data.utils import image_grid_vectors


def make_class_vectors(class_inds, n_classes: int):
    """One-hot class vectors.

    Args:
        class_inds: int `(n_instances,)` class indices; -1 (no class) gives a row of
            zeros.
        n_classes: Number of classes (int or scalar tensor).

    Returns:
        int32 `(n_instances, n_classes)`.

    Example:
        >>> make_class_vectors([1, -1], 2).numpy()
        array([[0, 1], [0, 0]], dtype=int32)
    """
    class_inds = tf.cast(tf.convert_to_tensor(class_inds), tf.int32)
    n_classes = tf.cast(tf.reshape(n_classes, []), tf.int32)
    return tf.one_hot(class_inds, n_classes, dtype=tf.int32)


def make_class_maps(confmaps, class_inds, n_classes: int, threshold: float = 0.2):
    """Class maps from per-instance confidence maps.

    At each grid point, instance `i` has the weight `cm_i / sum_j cm_j` where
    `cm_i > threshold`, else 0. Channel `k` is the largest weight among the
    instances of class `k` (so 1 where one instance dominates, less where instances
    overlap).

    Args:
        confmaps: float32 `(grid_height, grid_width, n_instances)` per-instance maps.
        class_inds: int `(n_instances,)` class of each instance (-1: none).
        n_classes: Number of classes (int or scalar tensor).
        threshold: Confidence at or below which an instance has no weight.

    Returns:
        float32 `(grid_height, grid_width, n_classes)`; zeros when there are no
        instances (SLEAP gives the float32 minimum there).
    """
    confmaps = tf.convert_to_tensor(confmaps, tf.float32)
    n_classes = tf.cast(tf.reshape(n_classes, []), tf.int32)
    vectors = tf.cast(make_class_vectors(class_inds, n_classes), tf.float32)
    weights = confmaps / tf.reduce_sum(confmaps, axis=2, keepdims=True)
    weights = tf.where(confmaps > threshold, weights, tf.zeros_like(weights))
    maps = weights[..., None] * vectors[None, None]  # (h, w, n_instances, n_classes)
    maps = tf.reduce_max(maps, axis=2)
    return tf.where(tf.shape(confmaps)[2] > 0, maps, tf.zeros_like(maps))


@attrs.define
class ClassVectorGenerator:
    """Add `"class_vectors"` float32: one-hot track identity.

    On full frames (key `"track_inds"`, as in SLEAP) the vectors are
    `(n_instances, n_tracks)`; on instance crops that only have `"track_ind"`
    (sleapish's `InstanceCropper` output) the vector is `(n_tracks,)`.
    """

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example (plus `"track_inds"` or `"track_ind"`)."""
        return ["n_tracks"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["class_vectors"]

    def transform_dataset(self, input_ds):
        """Add the class vectors.

        Raises:
            KeyError: If the examples have neither `"track_inds"` nor `"track_ind"`.
        """
        spec = input_ds.element_spec
        key = "track_inds" if "track_inds" in spec else "track_ind"
        if key not in spec:
            raise MissingKeyError("ClassVectorGenerator needs 'track_inds' (frames) or "
                                  f"'track_ind' (crops). Received keys: {sorted(spec)}")

        def fn(ex):
            ex["class_vectors"] = tf.cast(make_class_vectors(ex[key], ex["n_tracks"]),
                                          tf.float32)
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class ClassMapGenerator:
    """Add `"class_maps"`: per-pixel identity around each instance's points.

    Each instance's masking map is the maximum of the Gaussians (spread
    `sigma * output_stride`) of its nodes, or of its centroid. As in SLEAP, the maps
    are built with `make_multi_confmaps` over nodes, so a node (or the centroids)
    none of whose points are inside the sampling grid is left out for every
    instance.

    Attributes:
        sigma: Spread of each instance's neighbourhood (multiplied by the stride, as
            for confidence maps).
        output_stride: Stride of the maps.
        centroids: Use the instance centroids instead of all its points.
        class_map_threshold: Minimum map value for a pixel to get a class.
    """

    sigma: float = 2.0
    output_stride: int = 1
    centroids: bool = False
    class_map_threshold: float = 0.2

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ["image", "centroids" if self.centroids else "instances", "track_inds",
                "n_tracks"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["class_maps"]

    def transform_dataset(self, input_ds):
        """Add `"class_maps"` float32 `(h / s, w / s, n_tracks)`."""

        def fn(ex):
            xv, yv = image_grid_vectors(ex["image"], self.output_stride)
            if self.centroids:
                pts = tf.cast(ex["centroids"], tf.float32)[None]  # (1, n_instances, 2)
            else:
                pts = tf.transpose(tf.cast(ex["instances"], tf.float32), [1, 0, 2])
            cms = make_multi_confmaps(pts, xv, yv, self.sigma * self.output_stride)
            ex["class_maps"] = make_class_maps(cms, ex["track_inds"], ex["n_tracks"],
                                               self.class_map_threshold)
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = ["make_class_vectors", "make_class_maps", "ClassVectorGenerator",
           "ClassMapGenerator"]

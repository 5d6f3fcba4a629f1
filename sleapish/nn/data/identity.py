"""Identity (class) targets for multi-class models (SLEAP's `sleap.nn.data.identity`)."""

from __future__ import annotations

from typing import List

import attrs

from sleapish.nn._backend import tf
from sleapish.nn.data.confidence_maps import drop_instances_outside
from sleapish.nn.data.utils import make_grid_vectors


def make_class_vectors(class_inds, n_classes: int):
    """One-hot class vectors.

    Args:
        class_inds: int `(n_instances,)` class indices; -1 (no class) gives zeros.
        n_classes: Number of classes.

    Returns:
        float32 `(n_instances, n_classes)`.
    """
    class_inds = tf.cast(class_inds, tf.int32)
    return tf.one_hot(class_inds, n_classes, dtype=tf.float32)  # -1 -> all zeros


def make_class_maps(confmaps, class_inds, n_classes: int, threshold: float = 0.2):
    """Class maps: each pixel takes the class of the instance with the highest map.

    Args:
        confmaps: float32 `(height, width, n_instances)` per-instance maps.
        class_inds: int `(n_instances,)`.
        n_classes: Number of classes.
        threshold: Pixels whose highest map is at or below this are all-zero.

    Returns:
        float32 `(height, width, n_classes)`.
    """
    n_instances = tf.shape(confmaps)[2]
    vectors = make_class_vectors(class_inds, n_classes)
    owner = tf.one_hot(tf.argmax(confmaps, axis=2, output_type=tf.int32), n_instances)
    maps = tf.tensordot(owner, vectors, axes=1)
    mask = tf.cast(tf.reduce_max(confmaps, axis=2, keepdims=True) > threshold, tf.float32)
    maps = maps * mask
    shape = tf.concat([tf.shape(confmaps)[:2], [n_classes]], 0)
    return tf.reshape(tf.cond(n_instances > 0, lambda: maps,
                              lambda: tf.zeros(shape, tf.float32)), shape)


@attrs.define
class ClassVectorGenerator:
    """Add `"class_vectors"`: one-hot track identity.

    For instance-cropped examples (key `"track_ind"`) the vector is `(n_classes,)`;
    for full frames (`"track_inds"`) it is `(n_instances, n_classes)`.
    """

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example (plus `"track_ind"` or `"track_inds"`)."""
        return ["n_tracks"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["class_vectors"]

    def transform_dataset(self, input_ds):
        """Add the class vectors.

        Raises:
            KeyError: If the examples have neither `"track_ind"` nor `"track_inds"`.
        """
        spec = input_ds.element_spec
        key = "track_ind" if "track_ind" in spec else "track_inds"
        if key not in spec:
            raise KeyError("ClassVectorGenerator needs 'track_ind' (crops) or "
                           f"'track_inds' (frames). Received keys: {sorted(spec)}")

        def fn(ex):
            ex["class_vectors"] = make_class_vectors(ex[key], ex["n_tracks"])
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class ClassMapGenerator:
    """Add `"class_maps"`: per-pixel identity around each instance's points.

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
        return ["image", "track_inds", "n_tracks",
                "centroids" if self.centroids else "instances"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["class_maps"]

    def transform_dataset(self, input_ds):
        """Add `"class_maps"` `(h / s, w / s, n_tracks)`."""

        def fn(ex):
            s = tf.shape(ex["image"])
            xv, yv = make_grid_vectors(s[0], s[1], self.output_stride)
            pts = ex["centroids"][:, None, :] if self.centroids else ex["instances"]
            x, y = pts[..., 0], pts[..., 1]
            inside = tf.reduce_any((x >= 0) & (x < tf.cast(s[1], tf.float32)) & (y >= 0)
                                   & (y < tf.cast(s[0], tf.float32)), axis=1)
            pts = tf.boolean_mask(pts, inside)
            track_inds = tf.boolean_mask(ex["track_inds"], inside)
            sigma = self.sigma * self.output_stride
            d2 = (tf.square(xv[None, None, :, None] - pts[:, None, None, :, 0])
                  + tf.square(yv[None, :, None, None] - pts[:, None, None, :, 1]))
            cm = tf.exp(-d2 / (2.0 * sigma ** 2))
            cm = tf.where(tf.math.is_nan(cm), tf.zeros_like(cm), cm)
            per_instance = tf.transpose(tf.reduce_max(cm, axis=3), [1, 2, 0])
            ex["class_maps"] = make_class_maps(per_instance, track_inds, ex["n_tracks"],
                                               self.class_map_threshold)
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = ["make_class_vectors", "make_class_maps", "ClassVectorGenerator",
           "ClassMapGenerator", "drop_instances_outside"]

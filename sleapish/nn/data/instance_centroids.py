"""Instance centroids (SLEAP's `sleap.nn.data.instance_centroids`).

A centroid is either the midpoint of the bounding box of an instance's visible
points, or an anchor part; `InstanceCentroidFinder` falls back to the bounding-box
midpoint (per coordinate) where the anchor part is missing.
"""

from __future__ import annotations

from typing import List, Optional

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.data.utils import ensure_list


def find_points_bbox_midpoint(points):
    """Midpoint of the bounding box of each set of points, ignoring NaNs.

    Args:
        points: float `(..., n_points, 2)` (rank >= 2; NaN for missing). Integer
            input is cast to float32; float dtypes are kept.

    Returns:
        `(..., 2)` `(min + max) / 2` over the visible points; NaN for a set with no
        visible point.

    Example:
        >>> find_points_bbox_midpoint([[1.0, 2.0], [float("nan")] * 2, [2.0, 3.0]]).numpy()
        array([1.5, 2.5], dtype=float32)
    """
    points = tf.convert_to_tensor(points)
    if not points.dtype.is_floating:
        points = tf.cast(points, tf.float32)
    nan = tf.math.is_nan(points)
    inf = tf.constant(float("inf"), points.dtype)
    pmin = tf.reduce_min(tf.where(nan, inf, points), axis=-2)
    pmax = tf.reduce_max(tf.where(nan, -inf, points), axis=-2)
    return (pmax + pmin) * 0.5


def get_instance_anchors(instances, anchor_inds):
    """The anchor point of each instance (a slice along the nodes axis).

    Args:
        instances: `(n_instances, n_nodes, 2)` points of any numeric dtype.
        anchor_inds: Integer (any numeric dtype) `(n_instances,)` anchor node index
            of each instance, or a scalar for all of them.

    Returns:
        `(n_instances, 2)` of the dtype of `instances`: row `i` is
        `instances[i, anchor_inds[i]]` (NaN where that point is missing; callers
        that want a fallback apply it, as `InstanceCentroidFinder` does).
    """
    instances = tf.convert_to_tensor(instances)
    n = tf.shape(instances)[0]
    inds = tf.broadcast_to(tf.cast(anchor_inds, tf.int32), tf.reshape(n, [1]))
    return tf.gather_nd(instances, tf.stack([tf.range(n), inds], axis=-1))


def _optional_list(x):
    return None if x is None else ensure_list(x)


@attrs.define
class InstanceCentroidFinder:
    """Add `"centroids"` `(n_instances, 2)` to each example.

    Attributes:
        center_on_anchor_part: Use the anchor part (bbox-midpoint fallback where it
            is missing) instead of the bounding-box midpoint.
        anchor_part_names: List of the anchor node name of each skeleton (a single
            name is wrapped in a list).
        skeletons: List of `sleap_io.Skeleton` in which to look the anchors up (a
            single skeleton is wrapped). With several skeletons, the example's
            `"skeleton_inds"` picks each instance's anchor.
        instances_key: Key of the instances.
    """

    center_on_anchor_part: bool = False
    anchor_part_names: Optional[List[str]] = attrs.field(default=None,
                                                         converter=_optional_list)
    skeletons: Optional[list] = attrs.field(default=None, converter=_optional_list)
    instances_key: str = "instances"

    @classmethod
    def from_config(cls, config, skeletons=None) -> InstanceCentroidFinder:
        """From an :class:`~sleapish.nn.config.InstanceCroppingConfig`.

        Args:
            config: Config whose `center_on_part` (a node name, or None for the
                bounding-box midpoint) selects the anchor.
            skeletons: Skeleton or list of skeletons; needed with an anchor part.

        Returns:
            An anchored finder when `config.center_on_part` is a string, else one
            centering on the bounding-box midpoint (no parts, no skeletons).

        Raises:
            ValueError: If the config names an anchor part and `skeletons` is None.
        """
        if isinstance(config.center_on_part, str):
            if skeletons is None:
                raise InvalidValueError(
                    "Skeletons must be provided when the config specifies an anchor "
                    f"part. Received: center_on_part={config.center_on_part!r}, "
                    "skeletons=None")
            return cls(center_on_anchor_part=True,
                       anchor_part_names=config.center_on_part, skeletons=skeletons)
        return cls(center_on_anchor_part=False, anchor_part_names=None, skeletons=None)

    @property
    def anchor_inds(self) -> Optional[List[int]]:
        """Anchor node index in each skeleton (pairs skeletons with part names), or
        None when not centering on a part.

        Raises:
            ValueError: If skeletons or part names are missing, or a part name is not
                a node of its skeleton.
        """
        if not self.center_on_anchor_part:
            return None
        if not self.skeletons or not self.anchor_part_names:
            raise InvalidValueError("Centering on an anchor part needs skeletons and "
                                    f"anchor_part_names. Received: skeletons={self.skeletons!r}"
                                    f", anchor_part_names={self.anchor_part_names!r}")
        inds = []
        for skel, name in zip(self.skeletons, self.anchor_part_names):
            if name not in skel.node_names:
                raise InvalidValueError(f"Anchor part {name!r} is not a node of the skeleton "
                                        f"{skel.node_names}. Received: {name!r}")
            inds.append(skel.node_names.index(name))
        return inds

    @property
    def anchor_ind(self) -> Optional[int]:
        """Anchor node index in the first skeleton, or None (see `anchor_inds`)."""
        inds = self.anchor_inds
        return None if inds is None else inds[0]

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example (plus `"skeleton_inds"` when present)."""
        return [self.instances_key]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["centroids"]

    def transform_dataset(self, input_ds):
        """Add float32 `"centroids"` `(n_instances, 2)`."""
        part_inds = self.anchor_inds
        has_skel_inds = isinstance(input_ds.element_spec, dict) and (
            "skeleton_inds" in input_ds.element_spec)

        def fn(ex):
            inst = tf.cast(ex[self.instances_key], tf.float32)
            mid = find_points_bbox_midpoint(inst)
            if part_inds is None:
                ex["centroids"] = mid
                return ex
            if has_skel_inds and len(part_inds) > 1:
                inds = tf.gather(tf.constant(part_inds, tf.int32), ex["skeleton_inds"])
            else:
                inds = tf.constant(part_inds[0], tf.int32)
            anchors = get_instance_anchors(inst, inds)
            ex["centroids"] = tf.where(tf.math.is_nan(anchors), mid, anchors)
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = ["find_points_bbox_midpoint", "get_instance_anchors", "InstanceCentroidFinder"]

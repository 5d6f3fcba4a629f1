"""Instance centroids: anchor part with bounding-box-midpoint fallback."""

from __future__ import annotations

from typing import List, Optional

import attrs

from sleapish.nn._backend import tf


def find_points_bbox_midpoint(points):
    """Midpoint of the bounding box of each instance's visible points.

    Args:
        points: float32 `(n_instances, n_nodes, 2)` (NaN for missing).

    Returns:
        float32 `(n_instances, 2)`; NaN for instances with no visible point.
    """
    points = tf.convert_to_tensor(points, tf.float32)
    nan = tf.math.is_nan(points)
    pmin = tf.reduce_min(tf.where(nan, tf.constant(float("inf")), points), axis=-2)
    pmax = tf.reduce_max(tf.where(nan, tf.constant(float("-inf")), points), axis=-2)
    mid = (pmin + pmax) / 2.0
    return tf.where(tf.math.is_finite(mid), mid, tf.fill(tf.shape(mid), float("nan")))


def get_instance_anchors(instances, anchor_inds):
    """The anchor point of each instance, or its bbox midpoint when not visible.

    Args:
        instances: float32 `(n_instances, n_nodes, 2)`.
        anchor_inds: int32 scalar or `(n_instances,)` node index of the anchor.

    Returns:
        float32 `(n_instances, 2)`.
    """
    instances = tf.convert_to_tensor(instances, tf.float32)
    n = tf.shape(instances)[0]
    inds = tf.broadcast_to(tf.cast(anchor_inds, tf.int32), [n])
    anchors = tf.gather(instances, inds, axis=1, batch_dims=1)
    mid = find_points_bbox_midpoint(instances)
    missing = tf.reduce_any(tf.math.is_nan(anchors), axis=-1, keepdims=True)
    return tf.where(missing, mid, anchors)


@attrs.define
class InstanceCentroidFinder:
    """Add `"centroids"` `(n_instances, 2)` to each example.

    Attributes:
        center_on_anchor_part: Use the anchor part (with midpoint fallback) instead
            of the bounding-box midpoint.
        anchor_part_names: Anchor node name (or one per skeleton).
        skeletons: `sleap_io.Skeleton` (or list) to look the anchor index up in.
        instances_key: Key of the instances.
    """

    center_on_anchor_part: bool = False
    anchor_part_names: Optional[object] = None
    skeletons: Optional[object] = None
    instances_key: str = "instances"

    @classmethod
    def from_config(cls, config, skeletons=None) -> "InstanceCentroidFinder":
        """From an :class:`~sleapish.nn.config.InstanceCroppingConfig`."""
        return cls(center_on_anchor_part=config.center_on_part is not None,
                   anchor_part_names=config.center_on_part, skeletons=skeletons)

    @property
    def anchor_ind(self) -> Optional[int]:
        """Node index of the anchor part, or None.

        Raises:
            ValueError: If the anchor name is not a node of the skeleton.
        """
        if not self.center_on_anchor_part:
            return None
        name = self.anchor_part_names
        name = name[0] if isinstance(name, (list, tuple)) else name
        skel = self.skeletons[0] if isinstance(self.skeletons, (list, tuple)) else \
            self.skeletons
        if skel is None or name not in skel.node_names:
            raise ValueError(
                f"Anchor part {name!r} is not a node of the skeleton "
                f"{None if skel is None else skel.node_names}. Received: {name!r}")
        return skel.node_names.index(name)

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.instances_key]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["centroids"]

    def transform_dataset(self, input_ds):
        """Add the centroids."""
        anchor = self.anchor_ind

        def fn(ex):
            inst = ex[self.instances_key]
            ex["centroids"] = (find_points_bbox_midpoint(inst) if anchor is None
                               else get_instance_anchors(inst, anchor))
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)

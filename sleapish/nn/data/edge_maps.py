"""Part affinity field targets (SLEAP's `sleap.nn.data.edge_maps`).

SLEAP's quirk, reproduced because its models were trained on it: the "distance" to an
edge is the *squared* point-to-segment distance, and it goes through
`exp(-d^2 / (2 sigma^2))`, so the field falls off as `exp(-dist^4 / (2 sigma^2))`.
`sigma` is NOT multiplied by the output stride. Fields are summed over instances.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import attrs

from sleapish.nn._backend import tf
from sleapish.nn.data.confidence_maps import drop_instances_outside
from sleapish.nn.data.utils import gaussian_pdf, make_grid_vectors


def distance_to_edge(points, edge_source, edge_destination):
    """Squared distance from points to line segments.

    Args:
        points: float32 `(..., 2)` query points (x, y), e.g. a `(h, w, 2)` grid.
        edge_source: float32 `(n_edges, 2)` segment starts.
        edge_destination: float32 `(n_edges, 2)` segment ends.

    Returns:
        float32 `(..., n_edges)`: squared Euclidean distance from each point to the
        closest point of each segment (the segment's squared length is floored at
        1 when projecting, as in SLEAP).
    """
    points = tf.convert_to_tensor(points, tf.float32)[..., None, :]
    src = tf.convert_to_tensor(edge_source, tf.float32)
    dst = tf.convert_to_tensor(edge_destination, tf.float32)
    direction = dst - src
    length2 = tf.maximum(tf.reduce_sum(tf.square(direction), axis=-1), 1.0)
    rel = points - src
    proj = tf.clip_by_value(tf.reduce_sum(rel * direction, axis=-1) / length2, 0.0, 1.0)
    closest = src + proj[..., None] * direction
    return tf.reduce_sum(tf.square(closest - points), axis=-1)


def make_edge_maps(xv, yv, edge_source, edge_destination, sigma: float):
    """Part affinity fields of one instance's edges.

    Args:
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.
        edge_source: float32 `(n_edges, 2)`.
        edge_destination: float32 `(n_edges, 2)`.
        sigma: Spread (not multiplied by the stride).

    Returns:
        float32 `(grid_height, grid_width, n_edges, 2)`: the unit vector of each edge
        weighted by `gaussian_pdf(distance_to_edge, sigma)`; zeros for edges with a
        missing endpoint or zero length.
    """
    yy, xx = tf.meshgrid(yv, xv, indexing="ij")
    grid = tf.stack([xx, yy], axis=-1)
    weight = gaussian_pdf(distance_to_edge(grid, edge_source, edge_destination), sigma)
    vec = tf.convert_to_tensor(edge_destination, tf.float32) - tf.convert_to_tensor(
        edge_source, tf.float32)
    unit = tf.math.divide_no_nan(vec, tf.norm(vec, axis=-1, keepdims=True))
    maps = weight[..., None] * unit[None, None]
    return tf.where(tf.math.is_nan(maps), tf.zeros_like(maps), maps)


def make_pafs(xv, yv, edge_source, edge_destination, sigma: float):
    """Alias of :func:`make_edge_maps` (one instance)."""
    return make_edge_maps(xv, yv, edge_source, edge_destination, sigma)


def make_multi_pafs(xv, yv, edge_sources, edge_destinations, sigma: float):
    """Part affinity fields of several instances, summed.

    Args:
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.
        edge_sources: float32 `(n_instances, n_edges, 2)`.
        edge_destinations: float32 `(n_instances, n_edges, 2)`.
        sigma: Spread.

    Returns:
        float32 `(grid_height, grid_width, n_edges, 2)`.
    """
    src = tf.convert_to_tensor(edge_sources, tf.float32)
    dst = tf.convert_to_tensor(edge_destinations, tf.float32)
    n_edges = tf.shape(src)[1]
    init = tf.zeros([tf.shape(yv)[0], tf.shape(xv)[0], n_edges, 2], tf.float32)

    def body(i, acc):
        return i + 1, acc + make_edge_maps(xv, yv, src[i], dst[i], sigma)

    _, out = tf.while_loop(lambda i, acc: i < tf.shape(src)[0], body,
                           [tf.constant(0), init])
    return out


def get_edge_points(instances, edge_inds):
    """Edge endpoints of each instance.

    Args:
        instances: float32 `(n_instances, n_nodes, 2)`.
        edge_inds: int `(n_edges, 2)` node index pairs `(source, destination)`.

    Returns:
        `(sources, destinations)`, each float32 `(n_instances, n_edges, 2)`.
    """
    edge_inds = tf.convert_to_tensor(edge_inds, tf.int32)
    return (tf.gather(instances, edge_inds[:, 0], axis=1),
            tf.gather(instances, edge_inds[:, 1], axis=1))


@attrs.define
class PartAffinityFieldsGenerator:
    """Add `"part_affinity_fields"` to each example.

    Attributes:
        sigma: Spread of the fields in image pixels (not multiplied by the stride).
        output_stride: Stride of the fields relative to the image.
        skeletons: `sleap_io.Skeleton` (or a list with one) whose edges, in order,
            define the channels; or set `edge_inds` directly.
        edge_inds: `(source, destination)` node index pairs, overriding `skeletons`.
        flatten_channels: `(h, w, 2 * n_edges)` with channels `[e0x, e0y, e1x, ...]`
            (True) or `(h, w, n_edges, 2)`.
    """

    sigma: float = 1.0
    output_stride: int = 1
    skeletons: Optional[object] = None
    edge_inds: Optional[Sequence[Tuple[int, int]]] = None
    flatten_channels: bool = True

    def __attrs_post_init__(self):
        if self.edge_inds is None:
            skel = self.skeletons[0] if isinstance(self.skeletons, (list, tuple)) else \
                self.skeletons
            if skel is None:
                raise ValueError("PartAffinityFieldsGenerator needs skeletons or "
                                 "edge_inds. Received: neither")
            self.edge_inds = [tuple(e) for e in skel.edge_inds]
        if not self.edge_inds:
            raise ValueError("PartAffinityFieldsGenerator needs at least one edge. "
                             f"Received: {self.edge_inds!r}")

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ["instances", "image"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["part_affinity_fields"]

    def transform_dataset(self, input_ds):
        """Add the fields; instances with no point inside the image are dropped."""
        edge_inds = tf.constant(self.edge_inds, tf.int32)

        def fn(ex):
            s = tf.shape(ex["image"])
            xv, yv = make_grid_vectors(s[0], s[1], self.output_stride)
            inst = drop_instances_outside(ex["instances"], s[0], s[1])
            src, dst = get_edge_points(inst, edge_inds)
            pafs = make_multi_pafs(xv, yv, src, dst, self.sigma)
            if self.flatten_channels:
                ps = tf.shape(pafs)
                pafs = tf.reshape(pafs, [ps[0], ps[1], ps[2] * 2])
            ex["part_affinity_fields"] = pafs
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)

"""Edge confidence maps and part affinity fields (SLEAP's `sleap.nn.data.edge_maps`).

SLEAP's quirk, reproduced because its models were trained on it: the "distance" to an
edge is the *squared* point-to-segment distance, and it goes through
`exp(-d^2 / (2 sigma^2))`, so the maps fall off as `exp(-dist^4 / (2 sigma^2))`.
`sigma` is NOT multiplied by the output stride.

- `make_edge_maps`: that Gaussian weight per edge, `(h, w, n_edges)`.
- `make_pafs`: the edge's unit vector times its edge map, `(h, w, n_edges, 2)`.
- `make_multi_pafs`: PAFs summed over instances (missing edges add nothing).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.data.confidence_maps import drop_instances_outside_grid
from sleapish.nn.data.utils import ensure_list, expand_to_rank, gaussian_pdf, image_grid_vectors


def _edges(edge_source, edge_destination):
    src = expand_to_rank(tf.cast(tf.convert_to_tensor(edge_source), tf.float32), 2)
    dst = expand_to_rank(tf.cast(tf.convert_to_tensor(edge_destination), tf.float32), 2)
    return src, dst


def distance_to_edge(points, edge_source, edge_destination):
    """Squared distance from points to line segments.

    Args:
        points: float32 `(..., 2)` query points (x, y), e.g. a `(h, w, 2)` grid; a
            single `(2,)` point is treated as `(1, 2)`.
        edge_source: float32 `(n_edges, 2)` segment starts (or one `(2,)` start).
        edge_destination: float32 `(n_edges, 2)` segment ends.

    Returns:
        float32 `(..., n_edges)`: squared Euclidean distance from each point to the
        closest point of each segment. The projection divides by the segment's
        squared length floored at 1, as in SLEAP (so segments shorter than 1 px
        are not projected exactly).
    """
    points = expand_to_rank(tf.cast(tf.convert_to_tensor(points), tf.float32), 2)
    src, dst = _edges(edge_source, edge_destination)
    direction = dst - src  # (n_edges, 2)
    length2 = tf.maximum(tf.reduce_sum(tf.square(direction), axis=-1), 1.0)
    rel = points[..., None, :] - src  # (..., n_edges, 2)
    proj = tf.clip_by_value(tf.reduce_sum(rel * direction, axis=-1) / length2, 0.0, 1.0)
    return tf.reduce_sum(tf.square(proj[..., None] * direction - rel), axis=-1)


def _sampling_grid(xv, yv):
    """`(grid_height, grid_width, 2)` grid of (x, y) coordinates."""
    xx, yy = tf.meshgrid(tf.cast(xv, tf.float32), tf.cast(yv, tf.float32))
    return tf.stack([xx, yy], axis=-1)


def make_edge_maps(xv, yv, edge_source, edge_destination, sigma: float):
    """Confidence maps of undirected edges (how close each grid point is to them).

    Args:
        xv: float32 `(grid_width,)` sampling grid x coordinates.
        yv: float32 `(grid_height,)` sampling grid y coordinates.
        edge_source: float32 `(n_edges, 2)` (x, y) edge starts.
        edge_destination: float32 `(n_edges, 2)` edge ends.
        sigma: Spread (not multiplied by the stride).

    Returns:
        float32 `(grid_height, grid_width, n_edges)`:
        `gaussian_pdf(distance_to_edge(grid), sigma)`, 1.0 on the segment. NaN for an
        edge with a missing (NaN) endpoint, as in SLEAP.

    Example:
        >>> xv, yv = make_grid_vectors(3, 3)
        >>> maps = make_edge_maps(xv, yv, [[0.0, 1.0]], [[2.0, 1.0]], sigma=1.0)
        >>> maps[0, 1, 0].numpy()  # 1 px off the edge: exp(-1 / 2)
        0.60653067
    """
    return gaussian_pdf(distance_to_edge(_sampling_grid(xv, yv), edge_source,
                                         edge_destination), sigma)


def make_pafs(xv, yv, edge_source, edge_destination, sigma: float):
    """Part affinity fields of directed edges (one instance).

    Args:
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.
        edge_source: float32 `(n_edges, 2)`.
        edge_destination: float32 `(n_edges, 2)`.
        sigma: Spread of the edge maps weighting the unit vectors (not multiplied by
            the stride).

    Returns:
        float32 `(grid_height, grid_width, n_edges, 2)`: the unit vector from source
        to destination of each edge times its :func:`make_edge_maps` value, last
        axis `(x, y)`. NaN for edges with a missing endpoint or zero length, as in
        SLEAP (:func:`make_multi_pafs` turns those into 0).
    """
    src, dst = _edges(edge_source, edge_destination)
    unit = (dst - src) / tf.norm(dst - src, axis=-1, keepdims=True)
    maps = make_edge_maps(xv, yv, src, dst, sigma)
    return maps[..., None] * unit[None, None]


def make_multi_pafs(xv, yv, edge_sources, edge_destinations, sigma: float):
    """Part affinity fields of several instances, summed.

    Args:
        xv: float32 `(grid_width,)`.
        yv: float32 `(grid_height,)`.
        edge_sources: float32 `(n_instances, n_edges, 2)`.
        edge_destinations: float32 `(n_instances, n_edges, 2)`.
        sigma: Spread.

    Returns:
        float32 `(grid_height, grid_width, n_edges, 2)`: the sum over instances of
        :func:`make_pafs`, each instance's NaNs (missing or zero-length edges) set to
        0 first. Zeros for no instances.
    """
    src = tf.cast(tf.convert_to_tensor(edge_sources), tf.float32)
    dst = tf.cast(tf.convert_to_tensor(edge_destinations), tf.float32)
    init = tf.zeros(tf.stack([tf.shape(yv)[0], tf.shape(xv)[0], tf.shape(src)[1], 2]),
                    tf.float32)

    def body(i, acc):
        paf = make_pafs(xv, yv, src[i], dst[i], sigma)
        return i + 1, acc + tf.where(tf.math.is_nan(paf), tf.zeros_like(paf), paf)

    _, out = tf.while_loop(lambda i, acc: i < tf.shape(src)[0], body,
                           (tf.constant(0), init))
    return out


def get_edge_points(instances, edge_inds):
    """Edge endpoints of each instance.

    Args:
        instances: `(n_instances, n_nodes, 2)` points (any dtype; kept).
        edge_inds: int `(n_edges, 2)` node index pairs `(source, destination)`.

    Returns:
        `(sources, destinations)`, each `(n_instances, n_edges, 2)` of the dtype of
        `instances`.
    """
    edge_inds = tf.cast(tf.convert_to_tensor(edge_inds), tf.int32)
    return (tf.gather(instances, edge_inds[:, 0], axis=1),
            tf.gather(instances, edge_inds[:, 1], axis=1))


@attrs.define
class PartAffinityFieldsGenerator:
    """Add `"part_affinity_fields"` to each example.

    Instances with no node inside the sampling grid are dropped (as for
    multi-instance confidence maps); the fields of the others are summed.

    Attributes:
        sigma: Spread of the fields in image pixels (not multiplied by the stride).
        output_stride: Stride of the fields relative to the image.
        skeletons: List of `sleap_io.Skeleton` (a single one is wrapped); the first
            one's edges, in order, define the channels.
        flatten_channels: `(h, w, 2 * n_edges)` with channels `[e0x, e0y, e1x, ...]`
            (True) or `(h, w, n_edges, 2)` (False, SLEAP's default; SLEAP's
            bottom-up training pipeline passes True).
        edge_inds: Keyword only. `(source, destination)` node index pairs, used
            instead of the skeleton's edges (sleapish extension).
    """

    sigma: float = attrs.field(default=1.0, converter=float)
    output_stride: int = attrs.field(default=1, converter=int)
    skeletons: Optional[list] = attrs.field(
        default=None, converter=attrs.converters.optional(ensure_list))
    flatten_channels: bool = False
    edge_inds: Optional[Sequence[Tuple[int, int]]] = attrs.field(default=None,
                                                                 kw_only=True)

    def __attrs_post_init__(self):
        if self.edge_inds is None:
            if not self.skeletons:
                raise InvalidValueError("PartAffinityFieldsGenerator needs skeletons or "
                                        "edge_inds. Received: neither")
            self.edge_inds = [tuple(int(i) for i in e) for e in self.skeletons[0].edge_inds]
        if not self.edge_inds:
            raise InvalidValueError("PartAffinityFieldsGenerator needs at least one edge. "
                                    f"Received: {self.edge_inds!r}")

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ["image", "instances"]

    @property
    def output_keys(self) -> List[str]:
        """Keys added to each example."""
        return ["part_affinity_fields"]

    def transform_dataset(self, input_ds):
        """Add `"part_affinity_fields"` `(h / s, w / s, n_edges, 2)` (or flattened)."""
        edge_inds = tf.constant(self.edge_inds, tf.int32)
        n_edges = len(self.edge_inds)

        def fn(ex):
            xv, yv = image_grid_vectors(ex["image"], self.output_stride)
            inst = drop_instances_outside_grid(ex["instances"], xv, yv)
            src, dst = get_edge_points(inst, edge_inds)
            pafs = make_multi_pafs(xv, yv, src, dst, self.sigma)
            ps = tf.shape(pafs)
            if self.flatten_channels:
                pafs = tf.reshape(pafs, [ps[0], ps[1], n_edges * 2])
            else:
                pafs = tf.reshape(pafs, [ps[0], ps[1], n_edges, 2])
            ex["part_affinity_fields"] = pafs
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = [
    "distance_to_edge",
    "make_edge_maps",
    "make_pafs",
    "make_multi_pafs",
    "get_edge_points",
    "PartAffinityFieldsGenerator",
]

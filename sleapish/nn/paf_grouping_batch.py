"""Batch wrappers of PAF matching and grouping: one NumPy/scipy callback per batch, or
the graph ops of :mod:`sleapish.nn.paf_grouping_graph` with `in_graph=True`.

SLEAP's names, re-exported by :mod:`sleapish.nn.paf_grouping`.
"""

from __future__ import annotations

from typing import List, Tuple, Union

import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.paf_grouping_graph import group_instances_graph, match_candidates_graph
from sleapish.nn.paf_grouping_matching import (
    EdgeType,
    group_instances_np,
    match_candidates_np,
)


def _as_ragged(x, sample_inds=None, n_samples=None, rank=2):
    """Sample-grouped ragged tensor from ragged, dense (of `rank`) or flat input."""
    if isinstance(x, tf.RaggedTensor):
        return x
    x = tf.convert_to_tensor(x)
    if sample_inds is not None:
        return tf.RaggedTensor.from_value_rowids(x, tf.cast(sample_inds, tf.int64),
                                                 nrows=tf.cast(n_samples, tf.int64))
    if x.shape.rank != rank:
        raise InvalidValueError(f"Peak inputs must be sample-grouped (ragged, or dense of "
                                f"rank {rank}), or flat with peak_sample_inds. Received: "
                                f"shape {x.shape} without peak_sample_inds")
    return tf.RaggedTensor.from_tensor(x)


# -------------------------------------------------------------------------- matching
def match_candidates_sample(edge_inds_sample, edge_peak_inds_sample, line_scores_sample,
                            n_edges: int):
    """Match the candidate connections of one sample (Hungarian, per edge).

    Args:
        edge_inds_sample: int32 `(n_candidates,)` edge of each candidate.
        edge_peak_inds_sample: int32 `(n_candidates, 2)` `[src, dst]` peak indices.
        line_scores_sample: float32 `(n_candidates,)` scores.
        n_edges: Number of skeleton edges.

    Returns:
        `(match_edge_inds, match_src_peak_inds, match_dst_peak_inds,
        match_line_scores)`: int32 / float32 `(n_connections,)`. Peak indices are
        positions among the edge's source (destination) node peaks of the sample, not
        indices into all peaks.
    """
    edge_inds_sample = tf.reshape(tf.cast(edge_inds_sample, tf.int32), [-1])
    out = _match(tf.zeros_like(edge_inds_sample), edge_inds_sample,
                 edge_peak_inds_sample, line_scores_sample, n_edges)
    return tuple(out[1:])


def _match(sample_inds, edge_inds, edge_peak_inds, line_scores, n_edges,
           in_graph: bool = False):
    if in_graph:
        return match_candidates_graph(sample_inds, edge_inds, edge_peak_inds,
                                      line_scores, int(n_edges))
    outs = tf.numpy_function(
        lambda *a: match_candidates_np(*a, n_edges=int(n_edges)),
        [tf.cast(sample_inds, tf.int32), tf.cast(edge_inds, tf.int32),
         tf.reshape(tf.cast(edge_peak_inds, tf.int32), [-1, 2]),
         tf.cast(line_scores, tf.float32)],
        [tf.int32] * 4 + [tf.float32], name="paf_hungarian_matching")
    for o in outs:
        o.set_shape([None])
    return outs


def match_candidates_batch(edge_inds, edge_peak_inds, line_scores, n_edges: int,
                           in_graph: bool = False):
    """Match the candidate connections of a batch (one NumPy call per batch, or graph
    ops with `in_graph`, :mod:`sleapish.nn.paf_grouping_graph`).

    Args:
        edge_inds: int32 `tf.RaggedTensor` `(n_samples, (n_candidates))`.
        edge_peak_inds: int32 `tf.RaggedTensor` `(n_samples, (n_candidates), 2)`.
        line_scores: float32 `tf.RaggedTensor` `(n_samples, (n_candidates))`.
        n_edges: Number of skeleton edges.
        in_graph: Match with graph ops instead of a scipy callback.

    Returns:
        `(match_edge_inds, match_src_peak_inds, match_dst_peak_inds,
        match_line_scores)` as int32 / float32 `tf.RaggedTensor`s `(n_samples,
        (n_connections))`, per sample ordered by edge then source. Peak indices are
        positions among the edge's node peaks of the sample.
    """
    sample, *matched = _match(edge_inds.value_rowids(), edge_inds.flat_values,
                              edge_peak_inds.flat_values, line_scores.flat_values,
                              n_edges, in_graph)
    nrows = edge_inds.nrows()
    rowids = tf.cast(sample, nrows.dtype)
    return tuple(tf.RaggedTensor.from_value_rowids(m, rowids, nrows=nrows,
                                                   validate=False) for m in matched)


# -------------------------------------------------------------------------- grouping
def group_instances_batch(peaks, peak_vals, peak_channel_inds, match_edge_inds,
                          match_src_peak_inds, match_dst_peak_inds, match_line_scores,
                          n_nodes: int, sorted_edge_inds: Tuple[int, ...],
                          edge_types: List[EdgeType],
                          min_instance_peaks: Union[int, float] = 0,
                          min_line_scores: float = 0.25, peak_sample_inds=None,
                          in_graph: bool = False):
    """Group the matched connections of a batch into instances (one NumPy call, or
    graph ops with `in_graph`, :mod:`sleapish.nn.paf_grouping_graph`).

    Args:
        peaks: float32 `tf.RaggedTensor` `(n_samples, (n_peaks), 2)`; or flat
            `(n_peaks, 2)` with `peak_sample_inds`.
        peak_vals: float32 peak values grouped like `peaks`.
        peak_channel_inds: int32 node of each peak grouped like `peaks`.
        match_edge_inds: int32 `tf.RaggedTensor` `(n_samples, (n_connections))`.
        match_src_peak_inds: int32 `tf.RaggedTensor` `(n_samples, (n_connections))`.
        match_dst_peak_inds: int32 `tf.RaggedTensor` `(n_samples, (n_connections))`.
        match_line_scores: float32 `tf.RaggedTensor` `(n_samples, (n_connections))`.
        n_nodes: Number of nodes in the skeleton.
        sorted_edge_inds: Edge visiting order (:func:`toposort_edges`).
        edge_types: `EdgeType` of each edge.
        min_instance_peaks: See :func:`group_instances_sample`.
        min_line_scores: See :func:`group_instances_sample`.
        peak_sample_inds: int32 `(n_peaks,)` non-decreasing sample of each peak when
            the peak inputs are flat.
        in_graph: Assemble with graph ops instead of a NumPy callback.

    Returns:
        `(predicted_instances, predicted_peak_scores, predicted_instance_scores)` as
        float32 `tf.RaggedTensor`s `(n_samples, (n_instances), n_nodes, 2)` (NaN where
        missing), `(n_samples, (n_instances), n_nodes)` and `(n_samples,
        (n_instances))`.
    """
    n_samples = match_edge_inds.nrows()
    peaks = _as_ragged(peaks, peak_sample_inds, n_samples, rank=3)
    peak_vals = _as_ragged(peak_vals, peak_sample_inds, n_samples)
    peak_channel_inds = _as_ragged(peak_channel_inds, peak_sample_inds, n_samples)
    n_nodes = int(n_nodes)
    order = [int(k) for k in np.asarray(sorted_edge_inds).reshape(-1)]
    types = list(edge_types)

    def fn(pk, pv, ps, pc, ms, me, msrc, mdst, mscore, ns):
        return group_instances_np(pk, pv, ps, pc, ms, me, msrc, mdst, mscore, int(ns),
                                  n_nodes, order, types, min_instance_peaks,
                                  min_line_scores)

    args = [tf.reshape(tf.cast(peaks.flat_values, tf.float32), [-1, 2]),
            tf.cast(peak_vals.flat_values, tf.float32), peaks.value_rowids(),
            tf.cast(peak_channel_inds.flat_values, tf.int32),
            match_edge_inds.value_rowids(),
            tf.cast(match_edge_inds.flat_values, tf.int32),
            tf.cast(match_src_peak_inds.flat_values, tf.int32),
            tf.cast(match_dst_peak_inds.flat_values, tf.int32),
            tf.cast(match_line_scores.flat_values, tf.float32), n_samples]
    if in_graph:
        points, values, scores, counts = group_instances_graph(
            *args, n_nodes, order, types, min_instance_peaks, min_line_scores)
    else:
        points, values, scores, counts = tf.numpy_function(
            fn, args, [tf.float32, tf.float32, tf.float32, tf.int64],
            name="paf_group_instances")
    points.set_shape([None, n_nodes, 2])
    values.set_shape([None, n_nodes])
    scores.set_shape([None])
    counts.set_shape([None])
    return tuple(tf.RaggedTensor.from_row_lengths(v, counts, validate=False)
                 for v in (points, values, scores))


__all__ = ["match_candidates_sample", "match_candidates_batch", "group_instances_batch"]

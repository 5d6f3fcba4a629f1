"""Matching PAF candidates: per sample and skeleton edge, the Hungarian assignment
maximizing the summed line scores.

As SLEAP 1.4.1: the candidate scores of an edge form a `(n_src_peaks, n_dst_peaks)`
matrix solved with `scipy.optimize.linear_sum_assignment` on the negated scores; NaN
scores (zero-length lines) cost `inf`. Matched indices are positions within the node's
peaks. An infeasible assignment (a row of NaN scores), which raises in SLEAP, is solved
with finite stand-ins and those pairs keep their NaN score (then dropped by
`min_line_scores`). The batch functions run one NumPy callback per batch, or the graph
ops of :mod:`sleapish.nn.paf_grouping.graph` with `in_graph=True`.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.paf_grouping.graph import (
    match_candidates_graph,
)


# ------------------------------------------------------------------------- matching
def _hungarian(scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Maximum-score assignment of a score matrix; NaN scores are forbidden pairs."""
    cost = np.where(np.isnan(scores), np.inf, -scores).astype(np.float64)
    try:
        return linear_sum_assignment(cost)
    except ValueError:
        # Infeasible (SLEAP raises here): forbidden pairs get a cost larger than any
        # difference between finite assignments, so as few as possible are used.
        finite = np.isfinite(cost)
        span = float(np.abs(cost[finite]).max()) if finite.any() else 0.0
        big = 2.0 * (span + 1.0) * (min(cost.shape) + 1)
        cost = np.where(finite, cost, np.where(cost < 0, -big, big))
        return linear_sum_assignment(cost)


def match_candidates_np(sample_inds, edge_inds, edge_peak_inds, line_scores,
                        n_edges: int):
    """Hungarian matching of candidate connections of a whole batch (NumPy).

    Args:
        sample_inds: int `(n_candidates,)` sample of each candidate.
        edge_inds: int `(n_candidates,)` skeleton edge of each candidate.
        edge_peak_inds: int `(n_candidates, 2)` `[src, dst]` peak indices. Within one
            (sample, edge) group the candidates must be all pairs, source-major (as
            made by `get_connection_candidates`).
        line_scores: float32 `(n_candidates,)` scores.
        n_edges: Number of skeleton edges; candidates of other edges are ignored.

    Returns:
        `(sample_inds, edge_inds, src_inds, dst_inds, scores)` of the matches, int32 /
        float32 `(n_matches,)`, ordered by sample, then edge, then source. `src_inds`
        and `dst_inds` are positions among the edge's source / destination node peaks.

    Raises:
        ValueError: If a group's candidates are not all pairs of its peaks.
    """
    sample_inds = np.asarray(sample_inds, np.int64).reshape(-1)
    edge_inds = np.asarray(edge_inds, np.int64).reshape(-1)
    edge_peak_inds = np.asarray(edge_peak_inds, np.int64).reshape(-1, 2)
    line_scores = np.asarray(line_scores, np.float32).reshape(-1)
    idx = np.flatnonzero((edge_inds >= 0) & (edge_inds < n_edges))
    key = sample_inds[idx] * max(n_edges, 1) + edge_inds[idx]
    perm = np.argsort(key, kind="stable")
    idx, key = idx[perm], key[perm]
    bounds = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate([[0], bounds]) if len(idx) else np.zeros(0, np.int64)
    ends = np.concatenate([bounds, [len(idx)]]) if len(idx) else starts
    out = [[] for _ in range(5)]
    for start, end in zip(starts, ends):
        block = idx[start:end]
        n_src = len(np.unique(edge_peak_inds[block, 0]))
        n_dst = len(np.unique(edge_peak_inds[block, 1]))
        if n_src * n_dst != len(block):
            raise InvalidValueError(
                "Candidates of an edge must be all (source, destination) peak pairs. "
                f"Received: {len(block)} candidates for {n_src} sources x {n_dst} "
                f"destinations (sample {sample_inds[block[0]]}, edge "
                f"{edge_inds[block[0]]})")
        scores = line_scores[block].reshape(n_src, n_dst)
        rows, cols = _hungarian(scores)
        out[0].append(np.full(len(rows), sample_inds[block[0]]))
        out[1].append(np.full(len(rows), edge_inds[block[0]]))
        out[2].append(rows)
        out[3].append(cols)
        out[4].append(scores[rows, cols])
    dtypes = [np.int32] * 4 + [np.float32]
    return tuple(np.concatenate(o).astype(d) if o else np.zeros(0, d)
                 for o, d in zip(out, dtypes))


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
    ops with `in_graph`, :mod:`sleapish.nn.paf_grouping.graph`).

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

"""Assembling matched connections into instances (NumPy; one callback per batch).

Rules reproduced from SLEAP 1.4.1 (:func:`assign_connections_to_instances`):
connections are visited in edge order. Neither peak assigned: new instance
`max(ids) + 1` for both. Source assigned, destination not: destination joins the
source's instance. Both assigned: the destination is moved to the source's instance,
and the destination's old instance is merged in when the two share no node type.
Source unassigned, destination assigned: the connection is ignored. Instance score:
float32 running sum of its connections' scores in visiting order. A connection whose
peaks end in different instances fails an assertion in SLEAP; here its score counts
for the source's instance.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.paf_grouping.edges import (
    EdgeConnection,
    EdgeType,
    PeakID,
    _as_pair,
    _as_ragged,
    _is_tree_order,
    _min_peaks_threshold,
)
from sleapish.nn.paf_grouping.graph import (
    group_instances_graph,
)


def assign_connections_to_instances(
    connections: Dict[EdgeType, List[EdgeConnection]],
    min_instance_peaks: Union[int, float] = 0,
    n_nodes: Optional[int] = None,
) -> Dict[PeakID, int]:
    """Assign connected peaks to instances by greedy graph partitioning (one sample).

    Connections are visited in the dict's order (edge types in assembly order) with
    SLEAP's rules: neither peak assigned -> new instance `max(ids) + 1`; source only ->
    the destination joins the source's instance; both -> the destination moves to the
    source's instance, and the destination's old instance is merged in if the two share
    no node type; destination only -> ignored.

    Args:
        connections: Maps each `EdgeType` to its `EdgeConnection`s.
        min_instance_peaks: If > 0, instances with fewer assigned peaks are dropped. A
            `float` is a fraction of `n_nodes` (threshold `int(fraction * n_nodes)`);
            an `int` is an absolute count.
        n_nodes: Number of node types, for a fractional `min_instance_peaks`; inferred
            from the node types in `connections` when `None`.

    Returns:
        Dict from `PeakID` to an instance id (not necessarily consecutive), in the
        order peaks were first assigned.
    """
    assignments: Dict[PeakID, int] = {}
    for edge_type, edge_connections in connections.items():
        for conn in edge_connections:
            src = PeakID(edge_type.src_node_ind, conn.src_peak_ind)
            dst = PeakID(edge_type.dst_node_ind, conn.dst_peak_ind)
            src_inst, dst_inst = assignments.get(src), assignments.get(dst)
            if src_inst is None and dst_inst is None:
                new = max(assignments.values(), default=-1) + 1
                assignments[src] = new
                assignments[dst] = new
            elif dst_inst is None:
                assignments[dst] = src_inst
            elif src_inst is not None:
                assignments[dst] = src_inst
                src_nodes = {p.node_ind for p, i in assignments.items()
                             if i == src_inst}
                dst_nodes = {p.node_ind for p, i in assignments.items()
                             if i == dst_inst}
                if not src_nodes & dst_nodes:
                    for peak, inst in assignments.items():
                        if inst == dst_inst:
                            assignments[peak] = src_inst
    if n_nodes is None and isinstance(min_instance_peaks, (float, np.floating)):
        n_nodes = len({n for e in connections
                       for n in (e.src_node_ind, e.dst_node_ind)})
    threshold = _min_peaks_threshold(min_instance_peaks, n_nodes)
    if threshold is not None:
        ids, counts = np.unique(list(assignments.values()), return_counts=True)
        count_of = dict(zip(ids.tolist(), counts.tolist()))
        assignments = {p: i for p, i in assignments.items() if count_of[i] >= threshold}
    return assignments


def make_predicted_instances(
    peaks: Sequence[np.ndarray],
    peak_scores: Sequence[np.ndarray],
    connections: Dict[EdgeType, List[EdgeConnection]],
    instance_assignments: Dict[PeakID, int],
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gather assigned peaks into instance arrays and sum their connection scores.

    Args:
        peaks: Per node type, float `(n_peaks_k, 2)` peaks of that node.
        peak_scores: Per node type, float `(n_peaks_k,)` peak values.
        connections: Maps each `EdgeType` to its `EdgeConnection`s.
        instance_assignments: `PeakID` -> instance id, from
            :func:`assign_connections_to_instances`.

    Returns:
        `(instances, peak_scores, instance_scores)`: float32 `(n_instances, n_nodes, 2)`
        points (NaN where missing), float32 `(n_instances, n_nodes)` peak values (NaN
        where missing) and float32 `(n_instances,)` sums of the scores of connections
        whose source peak is in the instance. Instances are ordered by id.
    """
    ids = np.unique(np.asarray(list(instance_assignments.values()), np.int64))
    index_of = {int(i): k for k, i in enumerate(ids)}
    n_nodes = len(peaks)
    scores = np.zeros(len(ids), np.float32)
    for edge_type, edge_connections in connections.items():
        for conn in edge_connections:
            inst = instance_assignments.get(PeakID(edge_type.src_node_ind,
                                                   conn.src_peak_ind))
            if inst is not None:
                scores[index_of[inst]] += np.float32(conn.score)
    points = np.full((len(ids), n_nodes, 2), np.nan, np.float32)
    values = np.full((len(ids), n_nodes), np.nan, np.float32)
    for peak, inst in instance_assignments.items():
        points[index_of[inst], peak.node_ind] = peaks[peak.node_ind][peak.peak_ind]
        values[index_of[inst], peak.node_ind] = (
            peak_scores[peak.node_ind][peak.peak_ind])
    return points, values, scores


def _no_repeats(m_sample, m_edge, peak_inds) -> bool:
    """True if no peak is in two connections of the same sample and edge."""
    rows = np.stack([m_sample, m_edge, peak_inds], axis=1)
    return len(np.unique(rows, axis=0)) == len(rows)


def group_instances_np(peaks, peak_vals, peak_sample_inds, peak_channel_inds,
                       match_sample_inds, match_edge_inds, match_src_peak_inds,
                       match_dst_peak_inds, match_line_scores, n_samples: int,
                       n_nodes: int, sorted_edge_inds: Sequence[int],
                       edge_types: Sequence[EdgeType],
                       min_instance_peaks: Union[int, float] = 0,
                       min_line_scores: float = 0.25):
    """Assemble matched connections of a whole batch into instances (NumPy).

    Args:
        peaks: float32 `(n_peaks, 2)` peaks of the batch, grouped by sample.
        peak_vals: float32 `(n_peaks,)`.
        peak_sample_inds: int `(n_peaks,)`, non-decreasing.
        peak_channel_inds: int `(n_peaks,)` node of each peak.
        match_sample_inds: int `(n_matches,)` sample of each matched connection.
        match_edge_inds: int `(n_matches,)`.
        match_src_peak_inds: int `(n_matches,)` positions among the source node's
            peaks of the sample.
        match_dst_peak_inds: int `(n_matches,)` same for destinations.
        match_line_scores: float32 `(n_matches,)`.
        n_samples: Number of samples.
        n_nodes: Number of node types.
        sorted_edge_inds: Edge visiting order (:func:`toposort_edges`).
        edge_types: `EdgeType` of each edge.
        min_instance_peaks: See :func:`assign_connections_to_instances`.
        min_line_scores: Connections scoring below this (or NaN) are dropped first.

    Returns:
        `(points, peak_vals, scores, n_instances)`: float32 `(n_total, n_nodes, 2)`,
        float32 `(n_total, n_nodes)`, float32 `(n_total,)` instances of all samples in
        sample order, and int64 `(n_samples,)` instances per sample.

    Raises:
        ValueError: If a match index is out of range of its node's peaks.
    """
    peaks = np.asarray(peaks, np.float32).reshape(-1, 2)
    peak_vals = np.asarray(peak_vals, np.float32).reshape(-1)
    p_sample = np.asarray(peak_sample_inds, np.int64).reshape(-1)
    p_channel = np.asarray(peak_channel_inds, np.int64).reshape(-1)
    m_sample = np.asarray(match_sample_inds, np.int64).reshape(-1)
    m_edge = np.asarray(match_edge_inds, np.int64).reshape(-1)
    m_src = np.asarray(match_src_peak_inds, np.int64).reshape(-1)
    m_dst = np.asarray(match_dst_peak_inds, np.int64).reshape(-1)
    m_score = np.asarray(match_line_scores, np.float32).reshape(-1)
    if np.any((p_channel < 0) | (p_channel >= n_nodes)):
        raise InvalidValueError(f"Peak channel indices must be in [0, {n_nodes}). Received: "
                                f"{np.unique(p_channel).tolist()}")
    pairs = [_as_pair(e) for e in edge_types]
    order = [int(k) for k in sorted_edge_inds]

    # Node-grouped peaks: group (sample, node) holds global peak indices in order.
    key = p_sample * n_nodes + p_channel
    grouped = np.argsort(key, kind="stable")
    counts = np.bincount(key, minlength=n_samples * n_nodes)[:n_samples * n_nodes]
    starts = np.cumsum(counts) - counts

    keep = m_score >= np.float32(min_line_scores)
    m_sample, m_edge, m_src, m_dst, m_score = (a[keep] for a in (
        m_sample, m_edge, m_src, m_dst, m_score))

    one_per_peak = all(_no_repeats(m_sample, m_edge, v) for v in (m_src, m_dst))
    if not (_is_tree_order([pairs[k] for k in order]) and one_per_peak):
        return _group_general(peaks, peak_vals, p_sample, p_channel, m_sample, m_edge,
                              m_src, m_dst, m_score, n_samples, n_nodes, order, pairs,
                              min_instance_peaks)

    # Visiting order: sample, then the edge's position in `order`, then match order.
    position = np.full(len(pairs), -1, np.int64)
    position[order] = np.arange(len(order))
    pos = position[m_edge] if len(m_edge) else np.zeros(0, np.int64)
    listed = pos >= 0
    m_sample, m_edge, m_src, m_dst, m_score, pos = (a[listed] for a in (
        m_sample, m_edge, m_src, m_dst, m_score, pos))
    visit = np.lexsort((np.arange(len(pos)), pos, m_sample))
    m_sample, m_edge, m_src, m_dst, m_score, pos = (a[visit] for a in (
        m_sample, m_edge, m_src, m_dst, m_score, pos))
    edge_arr = np.asarray(pairs, np.int64).reshape(-1, 2)
    g_src = _global_peaks(m_sample, edge_arr[m_edge, 0] if len(m_edge) else m_edge,
                          m_src, n_nodes, counts, starts, grouped,
                          "match_src_peak_inds")
    g_dst = _global_peaks(m_sample, edge_arr[m_edge, 1] if len(m_edge) else m_edge,
                          m_dst, n_nodes, counts, starts, grouped,
                          "match_dst_peak_inds")

    # With a tree order every destination is new when visited: an instance is created
    # by its first connection (id = that connection's visit rank) and only grows.
    instance = np.full(len(peaks), -1, np.int64)
    for j in range(len(order)):
        sel = np.flatnonzero(pos == j)
        src_inst = instance[g_src[sel]]
        new = src_inst < 0
        src_inst[new] = sel[new]
        instance[g_src[sel]] = src_inst
        instance[g_dst[sel]] = src_inst

    assigned = np.flatnonzero(instance >= 0)
    ids, inverse, sizes = np.unique(instance[assigned], return_inverse=True,
                                    return_counts=True)
    threshold = _min_peaks_threshold(min_instance_peaks, n_nodes)
    kept = sizes >= threshold if threshold is not None else np.ones(len(ids), bool)
    final = np.full(len(ids), -1, np.int64)
    final[kept] = np.arange(int(kept.sum()))
    n_inst = int(kept.sum())

    points = np.full((n_inst, n_nodes, 2), np.nan, np.float32)
    values = np.full((n_inst, n_nodes), np.nan, np.float32)
    peak_final = final[inverse]
    ok = peak_final >= 0
    points[peak_final[ok], p_channel[assigned[ok]]] = peaks[assigned[ok]]
    values[peak_final[ok], p_channel[assigned[ok]]] = peak_vals[assigned[ok]]

    scores = np.zeros(n_inst, np.float32)
    conn_final = final[np.searchsorted(ids, instance[g_src])] if len(g_src) else g_src
    ok = conn_final >= 0
    np.add.at(scores, conn_final[ok], m_score[ok])
    inst_sample = m_sample[ids[kept]] if n_inst else np.zeros(0, np.int64)
    n_per_sample = np.bincount(inst_sample, minlength=n_samples)[:n_samples]
    return points, values, scores, n_per_sample.astype(np.int64)


def group_instances_sample(peaks_sample, peak_scores_sample, peak_channel_inds_sample,
                           match_edge_inds_sample, match_src_peak_inds_sample,
                           match_dst_peak_inds_sample, match_line_scores_sample,
                           n_nodes: int, sorted_edge_inds: Tuple[int, ...],
                           edge_types: List[EdgeType],
                           min_instance_peaks: Union[int, float] = 0,
                           min_line_scores: float = 0.25):
    """Group the matched connections of one sample into instances (NumPy).

    Args:
        peaks_sample: float32 `(n_peaks, 2)` `(x, y)` peaks.
        peak_scores_sample: float32 `(n_peaks,)` peak values.
        peak_channel_inds_sample: int32 `(n_peaks,)` node of each peak.
        match_edge_inds_sample: int32 `(n_connections,)` edge of each connection.
        match_src_peak_inds_sample: int32 `(n_connections,)` positions among the source
            node's peaks.
        match_dst_peak_inds_sample: int32 `(n_connections,)` same for destinations.
        match_line_scores_sample: float32 `(n_connections,)`.
        n_nodes: Number of nodes in the skeleton.
        sorted_edge_inds: Edge visiting order (:func:`toposort_edges`).
        edge_types: `EdgeType` of each edge.
        min_instance_peaks: Instances with fewer peaks are dropped (if > 0); a `float`
            is a fraction of `n_nodes` (`int(fraction * n_nodes)`).
        min_line_scores: Connections scoring below this (or NaN) are not used.

    Returns:
        `(predicted_instances, predicted_peak_scores, predicted_instance_scores)`:
        float32 arrays `(n_instances, n_nodes, 2)` (NaN where missing), `(n_instances,
        n_nodes)` and `(n_instances,)`.
    """
    def arr(x):
        return np.asarray(x.numpy() if hasattr(x, "numpy") else x)

    n_peaks = arr(peak_channel_inds_sample).size
    n_match = arr(match_edge_inds_sample).size
    points, values, scores, _ = group_instances_np(
        arr(peaks_sample), arr(peak_scores_sample), np.zeros(n_peaks, np.int64),
        arr(peak_channel_inds_sample), np.zeros(n_match, np.int64),
        arr(match_edge_inds_sample), arr(match_src_peak_inds_sample),
        arr(match_dst_peak_inds_sample), arr(match_line_scores_sample), 1, int(n_nodes),
        [int(k) for k in arr(sorted_edge_inds).reshape(-1)], edge_types,
        min_instance_peaks, min_line_scores)
    return points, values, scores


def _global_peaks(sample, node, local, n_nodes, counts, starts, grouped, name):
    """Global peak index of the `local`-th peak of `node` in `sample`."""
    group = sample * n_nodes + node
    if len(local) and np.any((local < 0) | (local >= counts[group])):
        raise InvalidValueError(f"{name} out of range of the node's peaks. Received: "
                                f"{local.tolist()} for peak counts {counts[group].tolist()}")
    return grouped[starts[group] + local] if len(local) else local


def _group_general(peaks, peak_vals, p_sample, p_channel, m_sample, m_edge, m_src,
                   m_dst, m_score, n_samples, n_nodes, order, pairs,
                   min_instance_peaks):
    """Sample-by-sample assembly with the full rules (any edge order)."""
    outs = [[], [], []]
    n_per_sample = np.zeros(n_samples, np.int64)
    for s in range(n_samples):
        in_sample = p_sample == s
        node_peaks = [peaks[in_sample & (p_channel == n)] for n in range(n_nodes)]
        node_vals = [peak_vals[in_sample & (p_channel == n)] for n in range(n_nodes)]
        connections = {}
        for k in order:
            sel = (m_sample == s) & (m_edge == k)
            connections[EdgeType(*pairs[k])] = [
                EdgeConnection(int(a), int(b), c)
                for a, b, c in zip(m_src[sel], m_dst[sel], m_score[sel])]
        for edge_type, conns in connections.items():
            for c in conns:
                for node, ind in ((edge_type.src_node_ind, c.src_peak_ind),
                                  (edge_type.dst_node_ind, c.dst_peak_ind)):
                    if not 0 <= ind < len(node_peaks[node]):
                        raise InvalidValueError(
                            f"Match peak index {ind} out of range of node {node}'s "
                            f"{len(node_peaks[node])} peaks (sample {s}).")
        assignments = assign_connections_to_instances(
            connections, min_instance_peaks=min_instance_peaks, n_nodes=n_nodes)
        result = make_predicted_instances(node_peaks, node_vals, connections,
                                          assignments)
        for out, r in zip(outs, result):
            out.append(r)
        n_per_sample[s] = len(result[2])
    if not n_samples:
        return (np.zeros((0, n_nodes, 2), np.float32),
                np.zeros((0, n_nodes), np.float32), np.zeros(0, np.float32),
                n_per_sample)
    return (*(np.concatenate(o) for o in outs), n_per_sample)


# -------------------------------------------------------------------------- grouping
def group_instances_batch(peaks, peak_vals, peak_channel_inds, match_edge_inds,
                          match_src_peak_inds, match_dst_peak_inds, match_line_scores,
                          n_nodes: int, sorted_edge_inds: Tuple[int, ...],
                          edge_types: List[EdgeType],
                          min_instance_peaks: Union[int, float] = 0,
                          min_line_scores: float = 0.25, peak_sample_inds=None,
                          in_graph: bool = False):
    """Group the matched connections of a batch into instances (one NumPy call, or
    graph ops with `in_graph`, :mod:`sleapish.nn.paf_grouping.graph`).

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

"""PAF matching and instance assembly as TensorFlow graph ops (no Python callbacks).

The graph twins of :func:`~sleapish.nn.paf_grouping.matching.match_candidates_np` and
:func:`~sleapish.nn.paf_grouping.assembly.group_instances_np`, with the same inputs,
outputs and results, so that a whole bottom-up model, from frames to instances, fits in
one SavedModel or frozen graph:

* matching runs :func:`sleapish.nn.assignment.max_score_assignment` (scipy's
  algorithm, ties included) on each (sample, edge) block of candidates;
* assembly visits the connections in the NumPy path's order (sample, the edge's place
  in the assembly order, then source) in one `tf.while_loop` with SLEAP's greedy rules
  (new instance, join, move and merge when the two instances share no node), then
  gathers points, values and summed connection scores. Where SLEAP's dict-based code
  lets a later peak of the same node overwrite an earlier one in an instance, the peak
  assigned last wins here too.

The NumPy path stays the default for prediction (it is faster on CPU, see
`benchmarks/`); exported models use these.
"""

from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np

from sleapish.nn._backend import tf
from sleapish.nn.assignment import max_score_assignment
from sleapish.nn.paf_grouping.edges import (
    _as_pair,
    _is_tree_order,
    _min_peaks_threshold,
)


def match_candidates_graph(sample_inds, edge_inds, edge_peak_inds, line_scores,
                           n_edges: int) -> Tuple[tf.Tensor, ...]:
    """Hungarian matching of the candidate connections of a batch, in the graph.

    Args:
        sample_inds: int `(n_candidates,)` sample of each candidate.
        edge_inds: int `(n_candidates,)` skeleton edge of each candidate.
        edge_peak_inds: int `(n_candidates, 2)` `[src, dst]` peak indices; within one
            (sample, edge) block, all pairs, source-major.
        line_scores: float32 `(n_candidates,)`.
        n_edges: Number of skeleton edges; candidates of other edges are ignored.

    Returns:
        `(sample_inds, edge_inds, src_inds, dst_inds, scores)` int32 / float32
        `(n_matches,)` as :func:`~sleapish.nn.paf_grouping.matching.match_candidates_np`.
    """
    sample_inds = tf.reshape(tf.cast(sample_inds, tf.int32), [-1])
    edge_inds = tf.reshape(tf.cast(edge_inds, tf.int32), [-1])
    edge_peak_inds = tf.reshape(tf.cast(edge_peak_inds, tf.int32), [-1, 2])
    line_scores = tf.reshape(tf.cast(line_scores, tf.float32), [-1])
    valid = tf.logical_and(edge_inds >= 0, edge_inds < n_edges)
    idx = tf.boolean_mask(tf.range(tf.size(edge_inds)), valid)
    key = tf.gather(sample_inds, idx) * max(int(n_edges), 1) + tf.gather(edge_inds, idx)
    perm = tf.argsort(key, stable=True)
    idx, key = tf.gather(idx, perm), tf.gather(key, perm)
    new_block = tf.concat([tf.ones([tf.minimum(tf.size(key), 1)], tf.bool),
                           key[1:] != key[:-1]], 0)
    starts = tf.boolean_mask(tf.range(tf.size(key)), new_block)
    ends = tf.concat([starts[1:], tf.reshape(tf.size(key), [1])], 0)
    n_blocks = tf.size(starts)

    def body(b, count, bufs):
        block = idx[starts[b]:ends[b]]
        src = tf.gather(edge_peak_inds[:, 0], block)
        dst = tf.gather(edge_peak_inds[:, 1], block)
        n_src = tf.size(tf.unique(src)[0])
        n_dst = tf.size(tf.unique(dst)[0])
        check = tf.debugging.assert_equal(
            n_src * n_dst, tf.size(block),
            message="Candidates of an edge must be all (source, destination) peak pairs")
        with tf.control_dependencies([check]):
            scores = tf.reshape(tf.gather(line_scores, block), [n_src, n_dst])
        rows, cols = max_score_assignment(scores)
        n = tf.size(rows)
        first = block[0]
        values = (tf.fill([n], tf.gather(sample_inds, first)),
                  tf.fill([n], tf.gather(edge_inds, first)), rows, cols,
                  tf.gather_nd(scores, tf.stack([rows, cols], axis=1)))
        at = (count + tf.range(n))[:, None]
        bufs = tuple(tf.tensor_scatter_nd_update(buf, at, v)
                     for buf, v in zip(bufs, values))
        return b + 1, count + n, bufs

    # Fixed-size buffers (matches <= candidates) rather than TensorArrays: ONNX has
    # no tensor lists.
    size = tf.size(idx)
    bufs = tuple(tf.zeros([size], d) for d in [tf.int32] * 4 + [tf.float32])
    _, count, bufs = tf.while_loop(lambda b, *_: b < n_blocks, body,
                                   (tf.constant(0), tf.constant(0), bufs))
    return tuple(buf[:count] for buf in bufs)


def _visit_plan(n_edges: int, order: Sequence[int], pairs) -> np.ndarray:
    """Visit position of each edge (-1: not visited), with the NumPy path's dict rule:
    an edge whose (src, dst) pair repeats an earlier one's takes its place and
    replaces its connections."""
    position = np.full(n_edges, -1, np.int64)
    first_of = {}
    for j, k in enumerate(order):
        pair = pairs[k]
        if pair in first_of:
            position[position == first_of[pair]] = -1
            position[k] = first_of[pair]
        else:
            first_of[pair] = j
            position[k] = j
    return position


def group_instances_graph(peaks, peak_vals, peak_sample_inds, peak_channel_inds,
                          match_sample_inds, match_edge_inds, match_src_peak_inds,
                          match_dst_peak_inds, match_line_scores, n_samples,
                          n_nodes: int, sorted_edge_inds: Sequence[int], edge_types,
                          min_instance_peaks: Union[int, float] = 0,
                          min_line_scores: float = 0.25) -> Tuple[tf.Tensor, ...]:
    """Assemble matched connections of a batch into instances, in the graph.

    Arguments and results as
    :func:`~sleapish.nn.paf_grouping.assembly.group_instances_np`:
    `(points, peak_vals, scores, n_instances)` float32 `(n_total, n_nodes, 2)`,
    `(n_total, n_nodes)`, `(n_total,)` in sample order and int64 `(n_samples,)`.
    """
    n_nodes = int(n_nodes)
    pairs = [_as_pair(e) for e in edge_types]
    order = [int(k) for k in np.asarray(sorted_edge_inds).reshape(-1)]
    position = tf.constant(_visit_plan(len(pairs), order, pairs), tf.int32)
    edge_arr = tf.constant(np.asarray(pairs, np.int32).reshape(-1, 2))
    threshold = _min_peaks_threshold(min_instance_peaks, n_nodes)

    peaks = tf.reshape(tf.cast(peaks, tf.float32), [-1, 2])
    peak_vals = tf.reshape(tf.cast(peak_vals, tf.float32), [-1])
    p_sample = tf.reshape(tf.cast(peak_sample_inds, tf.int32), [-1])
    p_channel = tf.reshape(tf.cast(peak_channel_inds, tf.int32), [-1])
    n_samples = tf.cast(n_samples, tf.int32)
    n_peaks = tf.size(p_channel)
    m_sample, m_edge, m_src, m_dst = (tf.reshape(tf.cast(x, tf.int32), [-1]) for x in (
        match_sample_inds, match_edge_inds, match_src_peak_inds, match_dst_peak_inds))
    m_score = tf.reshape(tf.cast(match_line_scores, tf.float32), [-1])
    checks = [tf.debugging.assert_less(p_channel, n_nodes,
                                       message="Peak channel indices out of range"),
              tf.debugging.assert_non_negative(p_channel,
                                               message="Peak channel indices < 0")]

    # Connections kept (score threshold, listed edge), in visiting order.
    keep = m_score >= min_line_scores
    if pairs:
        pos = tf.gather(position, tf.clip_by_value(m_edge, 0, len(pairs) - 1))
        keep = tf.logical_and(keep, pos >= 0)
    else:
        pos = tf.fill(tf.shape(m_edge), -1)
        keep = tf.zeros_like(keep)
    sel = tf.boolean_mask(tf.range(tf.size(m_edge)), keep)
    visit_key = (tf.cast(tf.gather(m_sample, sel), tf.int64) * (len(order) + 1)
                 + tf.cast(tf.gather(pos, sel), tf.int64))
    sel = tf.gather(sel, tf.argsort(visit_key, stable=True))
    c_sample, c_edge, c_src, c_dst, c_score = (tf.gather(a, sel) for a in (
        m_sample, m_edge, m_src, m_dst, m_score))

    # Global peak index of each connection end.
    group_key = p_sample * n_nodes + p_channel
    grouped = tf.argsort(group_key, stable=True)
    counts = tf.math.bincount(group_key, minlength=n_samples * n_nodes,
                              maxlength=n_samples * n_nodes)
    starts = tf.cumsum(counts, exclusive=True)

    def global_peak(node_col, local, name):
        node = tf.gather(edge_arr[:, node_col], c_edge) if pairs else c_edge
        group = c_sample * n_nodes + node
        ok = tf.logical_and(local >= 0, local < tf.gather(counts, group))
        check = tf.debugging.assert_equal(tf.reduce_all(ok), True,
                                          message=f"{name} out of range of the node's peaks")
        with tf.control_dependencies([check]):
            return tf.gather(grouped, tf.gather(starts, group) + local)

    with tf.control_dependencies(checks):
        g_src = global_peak(0, c_src, "match_src_peak_inds")
        g_dst = global_peak(1, c_dst, "match_dst_peak_inds")

    def body(c, inst, first_step, counter):
        s, d = g_src[c], g_dst[c]
        si, di = inst[s], inst[d]
        both_new = tf.logical_and(si < 0, di < 0)
        new_id = tf.where(both_new, counter, si)
        moves = si >= 0  # src assigned: dst joins (or moves to) its instance
        inst = tf.where(tf.logical_and(both_new, tf.equal(tf.range(n_peaks), s)),
                        new_id, inst)
        inst = tf.where(tf.logical_and(tf.logical_or(both_new, moves),
                                       tf.equal(tf.range(n_peaks), d)), new_id, inst)
        # Merge the destination's old instance in if the two share no node.
        src_nodes = tf.reduce_any(tf.logical_and(tf.equal(inst, si)[:, None], is_node),
                                  axis=0)
        dst_nodes = tf.reduce_any(tf.logical_and(tf.equal(inst, di)[:, None], is_node),
                                  axis=0)
        disjoint = tf.logical_not(tf.reduce_any(tf.logical_and(src_nodes, dst_nodes)))
        merge = tf.logical_and(tf.logical_and(moves, di >= 0), disjoint)
        inst = tf.where(tf.logical_and(merge, tf.equal(inst, di)), si, inst)
        # Dict insertion order: the first time a peak gets an instance.
        first_step = tf.where(tf.logical_and(first_step < 0, tf.logical_and(
            inst >= 0, tf.equal(tf.range(n_peaks), s))), 2 * c, first_step)
        first_step = tf.where(tf.logical_and(first_step < 0, tf.logical_and(
            inst >= 0, tf.equal(tf.range(n_peaks), d))), 2 * c + 1, first_step)
        return c + 1, inst, first_step, counter + tf.cast(both_new, tf.int32)

    is_node = tf.equal(p_channel[:, None], tf.range(n_nodes)[None, :])  # (peaks, nodes)
    n_conn = tf.size(sel)

    def general():
        _, inst, first_step, _ = tf.while_loop(
            lambda c, *_: c < n_conn, body,
            (tf.constant(0), tf.fill([n_peaks], -1), tf.fill([n_peaks], -1),
             tf.constant(0)))
        return inst, first_step

    def tree():
        # Tree order, each peak in at most one connection per (sample, edge): every
        # destination is new when visited, so one vectorized step per edge gives the
        # general rules' result (an instance is created by its first connection and
        # only grows), as the NumPy path's fast branch.
        c_pos = tf.gather(pos, sel)
        rank = tf.range(n_conn)
        inst = tf.fill([n_peaks], -1)
        for j in range(len(order)):
            mask = tf.equal(c_pos, j)
            s_idx, d_idx = tf.boolean_mask(g_src, mask), tf.boolean_mask(g_dst, mask)
            src_inst = tf.gather(inst, s_idx)
            src_inst = tf.where(src_inst < 0, tf.boolean_mask(rank, mask), src_inst)
            inst = tf.tensor_scatter_nd_update(inst, s_idx[:, None], src_inst)
            inst = tf.tensor_scatter_nd_update(inst, d_idx[:, None], src_inst)
        return inst, tf.zeros([n_peaks], tf.int32)

    pair_list = [pairs[k] for k in order]
    if _is_tree_order(pair_list) and len(set(pair_list)) == len(pair_list):
        max_peaks = tf.cast(n_peaks + 1, tf.int64)
        block = tf.cast(c_sample, tf.int64) * (len(pairs) + 1) + tf.cast(c_edge, tf.int64)
        one_per_peak = tf.logical_and(
            tf.equal(tf.size(tf.unique(block * max_peaks + tf.cast(c_src, tf.int64))[0]),
                     n_conn),
            tf.equal(tf.size(tf.unique(block * max_peaks + tf.cast(c_dst, tf.int64))[0]),
                     n_conn))
        inst, first_step = tf.cond(one_per_peak, tree, general)
    else:
        inst, first_step = general()

    # Drop small instances, rank the rest by id.
    assigned = tf.boolean_mask(tf.range(n_peaks), inst >= 0)
    ids, inverse, sizes = tf.unique_with_counts(tf.sort(tf.gather(inst, assigned)))
    kept = (sizes >= threshold if threshold is not None
            else tf.ones_like(sizes, tf.bool))
    final = tf.where(kept, tf.cumsum(tf.cast(kept, tf.int32)) - 1, -1)
    n_inst = tf.reduce_sum(tf.cast(kept, tf.int32))

    # Final rank of each instance id, as a dense table (no searchsorted: TFLite has
    # no LowerBound op).
    table = tf.tensor_scatter_nd_update(
        tf.fill([tf.reduce_max(tf.concat([inst, [0]], 0)) + 1], -1), ids[:, None], final)

    def final_of(inst_ids):
        return tf.where(inst_ids >= 0, tf.gather(table, tf.maximum(inst_ids, 0)), -1)

    peak_final = final_of(tf.gather(inst, assigned))
    ok = peak_final >= 0
    put = tf.boolean_mask(assigned, ok)
    slot = tf.boolean_mask(peak_final, ok) * n_nodes + tf.gather(p_channel, put)
    # One peak per (instance, node) slot: the one assigned last (sort, keep the last
    # of each slot; no segment ops, which ONNX lacks).
    step = tf.cast(tf.gather(first_step, put), tf.int64)
    by_slot = tf.argsort(tf.cast(slot, tf.int64) * tf.cast(2 * n_conn + 2, tf.int64)
                         + step, stable=True)
    put, slot = tf.gather(put, by_slot), tf.gather(slot, by_slot)
    winner = tf.concat([tf.not_equal(slot[1:], slot[:-1]),
                        tf.ones([tf.minimum(tf.size(slot), 1)], tf.bool)], 0)
    put, slot = tf.boolean_mask(put, winner), tf.boolean_mask(slot, winner)
    points = tf.tensor_scatter_nd_update(
        tf.fill([n_inst * n_nodes, 2], float("nan")), slot[:, None],
        tf.gather(peaks, put))
    values = tf.tensor_scatter_nd_update(
        tf.fill([n_inst * n_nodes], float("nan")), slot[:, None],
        tf.gather(peak_vals, put))

    conn_final = final_of(tf.gather(inst, g_src))
    ok = conn_final >= 0
    scores = tf.math.unsorted_segment_sum(tf.boolean_mask(c_score, ok),
                                          tf.boolean_mask(conn_final, ok), n_inst)
    inst_sample = tf.tensor_scatter_nd_update(  # all peaks of one instance agree
        tf.zeros([n_inst], tf.int32), (slot // n_nodes)[:, None], tf.gather(p_sample, put))
    n_per_sample = tf.math.bincount(inst_sample, minlength=n_samples,
                                    maxlength=n_samples, dtype=tf.int64)
    return (tf.reshape(points, [-1, n_nodes, 2]), tf.reshape(values, [-1, n_nodes]),
            scores, n_per_sample)

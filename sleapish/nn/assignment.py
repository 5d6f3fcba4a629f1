"""Exact linear sum assignment as TensorFlow graph ops.

`linear_sum_assignment` solves the minimum-cost assignment of a small cost matrix with
the shortest augmenting path algorithm (Crouse 2016) that
`scipy.optimize.linear_sum_assignment` implements, step for step: the same column scan
order (reversed), the same tie rule (among equally short paths the one reaching a free
column), the same dual updates, in float64. It therefore returns scipy's assignment,
ties included, so the graph-only grouping paths give the same instances as the NumPy
ones that call scipy. It runs inside `tf.function`s, SavedModels and frozen graphs
(while loops over rows and path steps; the scan over columns is vectorized).

Intended for the small matrices of pose grouping (peaks per node, classes): the cost is
`O(rows^2 * columns)` graph steps.
"""

from __future__ import annotations

from typing import Tuple

from sleapish.nn._backend import tf

_INF = float("inf")
_BIG = 1e300  # a finite stand-in for infinity where a select must not see inf


def _scatter(x, index, value):
    """`x[index] = value` for a vector `x` and a scalar index."""
    return tf.tensor_scatter_nd_update(x, tf.reshape(index, [1, 1]),
                                       tf.reshape(tf.cast(value, x.dtype), [1]))


def _augmenting_path(cost, u, v, row4col, cur):
    """Shortest augmenting path from row `cur` (scipy's `augmenting_path`).

    Returns:
        `(sink, min_val, path, spc, sr, sc)`; `sink` is -1 if no finite path exists.
    """
    nr, nc = tf.shape(cost)[0], tf.shape(cost)[1]
    remaining = tf.range(nc - 1, -1, -1, dtype=tf.int32)
    sr = tf.zeros([nr], tf.bool)
    sc = tf.zeros([nc], tf.bool)
    spc = tf.fill([nc], tf.constant(_INF, tf.float64))
    path = tf.fill([nc], -1)

    def cond(min_val, remaining, num, sr, sc, spc, path, i, sink, ok):
        return tf.logical_and(tf.equal(sink, -1), ok)

    def body(min_val, remaining, num, sr, sc, spc, path, i, sink, ok):
        sr = _scatter(sr, i, True)
        js = remaining[:num]
        r = min_val + tf.gather(cost[i], js) - tf.gather(u, i) - tf.gather(v, js)
        old = tf.gather(spc, js)
        better = r < old
        path = tf.tensor_scatter_nd_update(
            path, tf.boolean_mask(js, better)[:, None],
            tf.fill([tf.reduce_sum(tf.cast(better, tf.int32))], i))
        s = tf.minimum(r, old)  # = where(better, r, old); no inf * 0 in converters
        spc = tf.tensor_scatter_nd_update(spc, js[:, None], s)
        lowest = tf.reduce_min(s)
        eq = tf.equal(s, lowest)
        free_eq = tf.logical_and(eq, tf.equal(tf.gather(row4col, js), -1))
        first = tf.argmax(tf.cast(eq, tf.int32), output_type=tf.int32)
        last_free = num - 1 - tf.argmax(tf.cast(free_eq[::-1], tf.int32),
                                        output_type=tf.int32)
        index = tf.where(tf.reduce_any(free_eq), last_free, first)
        j = js[index]
        ok = lowest < _INF
        owner = tf.gather(row4col, j)
        sink = tf.where(tf.logical_and(ok, tf.equal(owner, -1)), j, -1)
        i = tf.where(tf.equal(owner, -1), i, owner)
        sc = _scatter(sc, j, True)
        num = num - 1
        remaining = _scatter(remaining, index, remaining[num])
        return lowest, remaining, num, sr, sc, spc, path, i, sink, ok

    init = (tf.constant(0.0, tf.float64), remaining, nc, sr, sc, spc, path, cur,
            tf.constant(-1), tf.constant(True))
    min_val, _, _, sr, sc, spc, path, _, sink, _ = tf.while_loop(cond, body, init)
    return sink, min_val, path, spc, sr, sc


def _solve_wide(cost):
    """Assignment of a cost matrix with rows <= columns: `(col4row, feasible)`."""
    nr, nc = tf.shape(cost)[0], tf.shape(cost)[1]

    def cond(cur, u, v, col4row, row4col, feasible):
        return tf.logical_and(cur < nr, feasible)

    def body(cur, u, v, col4row, row4col, feasible):
        sink, min_val, path, spc, sr, sc = _augmenting_path(cost, u, v, row4col, cur)
        feasible = sink >= 0
        # Dual variables (scipy's order of operations, float64).
        # Rows in SR and columns in SC have finite path costs; the others are
        # capped so that no select sees an infinity (tf2onnx turns selects into
        # arithmetic blends, where inf * 0 is NaN).
        others = tf.logical_and(sr, tf.not_equal(tf.range(nr), cur))
        spc_rows = tf.minimum(tf.gather(spc, tf.maximum(col4row, 0)), _BIG)
        u = tf.where(others, u + (min_val - spc_rows), u)
        u = _scatter(u, cur, tf.gather(u, cur) + min_val)
        v = tf.where(sc, v - (min_val - tf.minimum(spc, _BIG)), v)

        def aug_cond(j, col4row, row4col, done):
            return tf.logical_not(done)

        def aug_body(j, col4row, row4col, done):
            i = tf.gather(path, j)
            row4col = _scatter(row4col, j, i)
            prev = tf.gather(col4row, i)
            col4row = _scatter(col4row, i, j)
            return prev, col4row, row4col, tf.equal(i, cur)

        _, col4row, row4col, _ = tf.cond(
            feasible,
            lambda: tf.while_loop(aug_cond, aug_body,
                                  (sink, col4row, row4col, tf.constant(False))),
            lambda: (sink, col4row, row4col, tf.constant(True)))
        return cur + 1, u, v, col4row, row4col, feasible

    init = (tf.constant(0), tf.zeros([nr], tf.float64), tf.zeros([nc], tf.float64),
            tf.fill([nr], -1), tf.fill([nc], -1), tf.constant(True))
    _, _, _, col4row, _, feasible = tf.while_loop(cond, body, init)
    return col4row, feasible


def linear_sum_assignment(cost) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Minimum-cost assignment, as `scipy.optimize.linear_sum_assignment(cost)`.

    Args:
        cost: `(rows, columns)` cost matrix (any float dtype; solved in float64).
            `inf` marks a forbidden pair.

    Returns:
        `(row_inds, col_inds, feasible)`: int32 `(min(rows, columns),)` indices of the
        assigned pairs sorted by row (scipy's output), and a bool scalar that is False
        where scipy raises ValueError (NaN or `-inf` entries, or no assignment of
        finite cost); the indices are then undefined.
    """
    cost = tf.cast(tf.convert_to_tensor(cost), tf.float64)
    nr, nc = tf.shape(cost)[0], tf.shape(cost)[1]
    transpose = nc < nr
    wide = tf.cond(transpose, lambda: tf.transpose(cost), lambda: cost)
    valid = tf.logical_not(tf.reduce_any(tf.logical_or(
        tf.math.is_nan(wide), tf.equal(wide, -_INF))))
    col4row, feasible = tf.cond(
        valid, lambda: _solve_wide(wide),
        lambda: (tf.fill([tf.shape(wide)[0]], -1), tf.constant(False)))
    order = tf.argsort(col4row, stable=True)
    rows = tf.where(transpose, tf.gather(col4row, order), tf.range(tf.size(col4row)))
    cols = tf.where(transpose, order, col4row)
    return rows, cols, tf.logical_and(valid, feasible)


def max_score_assignment(scores) -> Tuple[tf.Tensor, tf.Tensor]:
    """Maximum-score assignment with NaN scores forbidden (sleapish's `_hungarian`).

    `linear_sum_assignment` of `-scores` (NaN as `inf`); where that is infeasible or
    invalid (scipy raises), forbidden pairs get a cost larger than any difference
    between finite assignments, so as few as possible are used, as in
    :func:`sleapish.nn.paf_grouping.matching._hungarian`.

    Args:
        scores: float32 `(rows, columns)`.

    Returns:
        `(row_inds, col_inds)` int32 `(min(rows, columns),)`.
    """
    scores = tf.convert_to_tensor(scores, tf.float32)
    cost = tf.cast(tf.where(tf.math.is_nan(scores), _INF, -scores), tf.float64)
    rows, cols, ok = linear_sum_assignment(cost)

    def fallback():
        finite = tf.math.is_finite(cost)
        span = tf.reduce_max(tf.where(finite, tf.abs(cost), tf.zeros_like(cost)))
        span = tf.where(tf.reduce_any(finite), span, tf.constant(0.0, tf.float64))
        k = tf.cast(tf.minimum(tf.shape(cost)[0], tf.shape(cost)[1]) + 1, tf.float64)
        big = 2.0 * (span + 1.0) * k
        safe = tf.where(finite, cost, tf.where(cost < 0, -big, big))
        r, c, _ = linear_sum_assignment(safe)
        return r, c

    return tf.cond(ok, lambda: (rows, cols), fallback)


__all__ = ["linear_sum_assignment", "max_score_assignment"]

"""Matching instances (rows) to tracks (columns) from a cost matrix.

The cost is the negative similarity; missing similarities are `inf`. Both matchers
return a list of `(row, column)` index pairs, as SLEAP 1.4.1's did, and break ties
the way SLEAP's did:

* greedy: edges in the order of SLEAP's `np.argsort(cost, axis=None)` under the
  numpy SLEAP 1.4.1 runs on (1.26: AVX-512 sorting networks on AVX-512 machines, the
  scalar introsort elsewhere; see `sorting.sleap_argsort`), so of two equal edges the
  one SLEAP sorted first wins;
* Hungarian: scipy's `linear_sum_assignment` on the cost matrix unchanged.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from sleapish.nn.tracking.sorting import sleap_argsort


def hungarian_matching(cost_matrix: np.ndarray) -> List[Tuple[int, int]]:
    """Minimum-total-cost assignment (scipy's `linear_sum_assignment`).

    The matrix is passed to scipy unchanged, as SLEAP did, so ties between equal
    optimal assignments are broken the same way. Where SLEAP's call raised (no
    complete assignment avoids the infinite costs), the infinite costs are replaced
    by one cost larger than any finite total and the problem is solved again: the
    finite part of the result is still optimal.

    Args:
        cost_matrix: `(n_rows, n_cols)` float costs (`inf` = not allowed).

    Returns:
        `min(n_rows, n_cols)` pairs `(row, col)` sorted by row.
    """
    cost = np.asarray(cost_matrix, np.float64)
    if cost.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment  # a slow import: on use

    try:
        rows, cols = linear_sum_assignment(cost)
    except ValueError:
        bad = ~np.isfinite(cost)
        finite = cost[~bad]
        span = (np.abs(finite).max() if finite.size else 1.0) + 1.0
        cost = np.where(bad, span * (min(cost.shape) + 1) * 2.0, cost)
        rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols)]


def greedy_matching(cost_matrix: np.ndarray) -> List[Tuple[int, int]]:
    """Greedy bipartite matching: take the cheapest edge, drop its row and column.

    Edges are visited in SLEAP's `np.argsort(cost, axis=None)` order (numpy 1.26's
    tie order on this machine, `sorting.sleap_argsort`), in one pass. Infinite costs are matched
    too once nothing cheaper is left, as in SLEAP.

    Args:
        cost_matrix: `(n_rows, n_cols)` float costs.

    Returns:
        `min(n_rows, n_cols)` pairs `(row, col)` in ascending cost order.
    """
    cost = np.asarray(cost_matrix)
    if cost.size == 0:
        return []
    rows, cols = np.unravel_index(sleap_argsort(cost), cost.shape)
    used_r = np.zeros(cost.shape[0], bool)
    used_c = np.zeros(cost.shape[1], bool)
    out = []
    n = min(cost.shape)
    for r, c in zip(rows.tolist(), cols.tolist()):
        if used_r[r] or used_c[c]:
            continue
        used_r[r] = used_c[c] = True
        out.append((r, c))
        if len(out) == n:
            break
    return out


def first_choice_matching(cost_matrix: np.ndarray) -> List[Tuple[int, int]]:
    """Each row to its cheapest column (columns may repeat; ties: first column).

    Args:
        cost_matrix: `(n_rows, n_cols)` float costs.

    Returns:
        `n_rows` pairs `(row, argmin col)`.
    """
    cost = np.asarray(cost_matrix)
    if cost.size == 0:
        return []
    return [(i, int(j)) for i, j in enumerate(cost.argmin(axis=1))]


match_policies = dict(hungarian=hungarian_matching, greedy=greedy_matching)

__all__ = ["first_choice_matching", "greedy_matching", "hungarian_matching",
           "match_policies"]

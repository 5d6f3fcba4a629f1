"""The skeleton side of PAF grouping: peak and edge types and the edge order.

SLEAP 1.4.1's `PeakID`, `EdgeType`, `EdgeConnection` and `toposort_edges`: assembly
visits edges breadth-first from the first node of a topological sort; edges not
reached are not used. Also the helper that groups flat peaks by sample
(:func:`_as_ragged`).
"""

from __future__ import annotations

from collections import deque
from typing import Dict, List, Optional, Sequence, Tuple

import attrs
import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf


@attrs.frozen
class PeakID:
    """Indices identifying one peak in a sample.

    Attributes:
        node_ind: Index of the node type (channel) of the peak.
        peak_ind: Index of the peak among the sample's peaks of that node type.
    """

    node_ind: int
    peak_ind: int


@attrs.frozen
class EdgeType:
    """Indices identifying one skeleton edge type.

    Attributes:
        src_node_ind: Index of the edge's source node.
        dst_node_ind: Index of the edge's destination node.
    """

    src_node_ind: int
    dst_node_ind: int


@attrs.define
class EdgeConnection:
    """A matched connection between two peaks of one edge type.

    Attributes:
        src_peak_ind: Index of the source peak among its node type's peaks.
        dst_peak_ind: Index of the destination peak among its node type's peaks.
        score: PAF line score of the connection.
    """

    src_peak_ind: int
    dst_peak_ind: int
    score: float


def toposort_edges(edge_types: Sequence[EdgeType]) -> Tuple[int, ...]:
    """Order in which edge types are visited during instance assembly.

    As SLEAP (networkx): the directed graph's nodes are ordered by first appearance in
    the edge list; the root is the first node with no incoming edge; edges are then
    listed breadth-first from the root, following edge direction, children in edge-list
    order. Edges not reached this way (other components, edges into an already visited
    node, repeated edges) are left out and play no part in grouping.

    Args:
        edge_types: `EdgeType`s (or `(src, dst)` pairs) of the skeleton, in head order.

    Returns:
        Tuple of indices into `edge_types`, in visiting order; `()` for no edges.

    Raises:
        ValueError: If every node has an incoming edge (a cycle with no root).

    Example:
        >>> toposort_edges([EdgeType(1, 2), EdgeType(0, 1), EdgeType(0, 3)])
        (1, 2, 0)
    """
    pairs = [_as_pair(e) for e in edge_types]
    if not pairs:
        return ()
    nodes = list(dict.fromkeys(n for pair in pairs for n in pair))
    children: Dict[int, List[int]] = {n: [] for n in nodes}
    in_degree = dict.fromkeys(nodes, 0)
    for src, dst in dict.fromkeys(pairs):
        children[src].append(dst)
        in_degree[dst] += 1
    roots = [n for n in nodes if in_degree[n] == 0]
    if not roots:
        raise InvalidValueError("Skeleton edges have no root node (every node has an incoming "
                                f"edge). Received: {pairs}")
    visited, queue, order = {roots[0]}, deque([roots[0]]), []
    while queue:
        src = queue.popleft()
        for dst in children[src]:
            if dst not in visited:
                visited.add(dst)
                order.append(pairs.index((src, dst)))
                queue.append(dst)
    return tuple(order)


def _as_pair(edge) -> Tuple[int, int]:
    if isinstance(edge, EdgeType):
        return int(edge.src_node_ind), int(edge.dst_node_ind)
    return int(edge[0]), int(edge[1])


def _is_tree_order(pairs: Sequence[Tuple[int, int]]) -> bool:
    """True if no edge's destination node was seen before (then no merges can occur)."""
    seen = set()
    for src, dst in pairs:
        if src == dst or dst in seen:
            return False
        seen.update((src, dst))
    return True


# ------------------------------------------------------------------------- assembly
def _min_peaks_threshold(min_instance_peaks, n_nodes: Optional[int]):
    """Absolute peak-count threshold, or `None` for no filtering (SLEAP's rule)."""
    if not min_instance_peaks > 0:
        return None
    if isinstance(min_instance_peaks, (float, np.floating)):
        return int(min_instance_peaks * n_nodes)
    return min_instance_peaks


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

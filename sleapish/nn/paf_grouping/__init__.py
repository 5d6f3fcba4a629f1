"""Grouping detected peaks into instances with part affinity fields (PAFs).

SLEAP 1.4.1's `sleap.nn.paf_grouping`, with the same public names, signatures and
numbers, written batch-wide: candidates, lines and scores of all samples are computed
in one set of tensor ops, and the Hungarian matching and the instance assembly each run
in one `tf.numpy_function` call per batch. All functions work eagerly and inside
`tf.function`.

The package's modules: :mod:`~sleapish.nn.paf_grouping.scoring` (candidates, lines,
scores), :mod:`~sleapish.nn.paf_grouping.matching` (Hungarian matching),
:mod:`~sleapish.nn.paf_grouping.assembly` (instances from connections),
:mod:`~sleapish.nn.paf_grouping.graph` (matching and assembly as graph ops, for
export), :mod:`~sleapish.nn.paf_grouping.edges` (peak and edge types, edge order) and
:mod:`~sleapish.nn.paf_grouping.scorer` (:class:`PAFScorer`). SLEAP's names are all
importable from here.

The pipeline (:class:`PAFScorer` wraps it):

1. :func:`score_paf_lines_batch`: every (source peak, destination peak) pair of each
   skeleton edge within a sample is a candidate. Its line is sampled at `n_points`
   evenly spaced points (inclusive), divided by the PAF stride, rounded half-to-even
   and clipped to the PAF grid. Score = mean over the points of PAF . unit vector of
   the line, plus the distance penalty `min(max_edge_length / length - 1, 0) *
   dist_penalty_weight` with `max_edge_length = max_edge_length_ratio * max(H, W, C) *
   pafs_stride` (SLEAP includes the PAF channel count `C` in the max). A zero-length
   line scores NaN.
2. :func:`match_candidates_batch`: per sample and edge, Hungarian matching maximizing
   the summed score (NaN pairs are forbidden).
3. :func:`group_instances_batch`: matches scoring below `min_line_scores` (or NaN) are
   dropped, then connections are assembled into instances edge by edge in
   :func:`toposort_edges` order; instances with fewer than `min_instance_peaks` peaks
   are dropped; an instance's score is the sum of its connections' scores.

Clipping: the SLEAP source gathers the rounded subscripts unclipped (a "TODO: clip"),
so a line point outside the PAF grid (e.g. a peak at the right or bottom border when
the PAF stride exceeds the confidence map stride) raises on CPU and reads 0 on GPU.
Here it is clipped to the nearest grid cell (as in sleap-nn); lines inside the grid
score exactly as in SLEAP.

Peaks come either sample-grouped as SLEAP passes them (`tf.RaggedTensor` `(n_samples,
(n_peaks), 2)`), or flat as local peak finding returns them (`(n_peaks, 2)` with
`peak_sample_inds`, non-decreasing). Peaks are `(x, y)` in image pixels.

References:
    Zhe Cao, Tomas Simon, Shih-En Wei, Yaser Sheikh. Realtime Multi-Person 2D Pose
    Estimation using Part Affinity Fields. In CVPR, 2017.
"""

from sleapish.nn.paf_grouping.assembly import (
    assign_connections_to_instances,
    group_instances_batch,
    group_instances_np,
    group_instances_sample,
    make_predicted_instances,
)
from sleapish.nn.paf_grouping.edges import (
    EdgeConnection,
    EdgeType,
    PeakID,
    _as_ragged,
    toposort_edges,
)
from sleapish.nn.paf_grouping.graph import group_instances_graph, match_candidates_graph
from sleapish.nn.paf_grouping.matching import (
    match_candidates_batch,
    match_candidates_np,
    match_candidates_sample,
)
from sleapish.nn.paf_grouping.scorer import PAFScorer
from sleapish.nn.paf_grouping.scoring import (
    compute_distance_penalty,
    get_connection_candidates,
    get_paf_lines,
    make_line_subs,
    score_paf_lines,
    score_paf_lines_batch,
)

__all__ = [
    "PeakID",
    "EdgeType",
    "EdgeConnection",
    "get_connection_candidates",
    "make_line_subs",
    "get_paf_lines",
    "compute_distance_penalty",
    "score_paf_lines",
    "score_paf_lines_batch",
    "match_candidates_sample",
    "match_candidates_batch",
    "assign_connections_to_instances",
    "make_predicted_instances",
    "group_instances_sample",
    "group_instances_batch",
    "toposort_edges",
    "PAFScorer",
]

"""`PAFScorer`: scoring, matching and assembly of one skeleton's PAFs in one object
(SLEAP's `sleap.nn.paf_grouping.PAFScorer`)."""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

import attrs
import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.paf_grouping.assembly import (
    group_instances_batch,
)
from sleapish.nn.paf_grouping.edges import (
    EdgeType,
    _as_ragged,
    toposort_edges,
)
from sleapish.nn.paf_grouping.matching import (
    match_candidates_batch,
)
from sleapish.nn.paf_grouping.scoring import (
    score_paf_lines_batch,
)
from sleapish.nn.settings import PAFGroupingConfig


# ------------------------------------------------------------------------ PAFScorer
@attrs.define
class PAFScorer:
    """PAF-based grouping of peaks into instances, with its parameters.

    Attributes:
        part_names: Node names, in confidence map channel order.
        edges: `(source, destination)` node names, in PAF channel order.
        pafs_stride: Output stride of the PAFs relative to the (scaled) image.
        max_edge_length_ratio: Lines longer than `ratio * max(height, width, channels
            of the PAFs) * pafs_stride` pixels are penalized.
        dist_penalty_weight: Scale of the distance penalty.
        n_points: Points sampled along each candidate line.
        min_instance_peaks: Instances with fewer peaks are dropped (if > 0); a `float`
            is a fraction of the number of nodes.
        min_line_scores: Connections scoring below this (between -1 and 1) are not used.
        in_graph: Match and assemble with graph ops (exportable, no Python callback)
            instead of the default NumPy/scipy callbacks; same results.
        edge_inds: `(source, destination)` node indices of `edges` (derived).
        edge_types: `EdgeType` of each edge (derived).
        n_nodes: Number of nodes (derived).
        n_edges: Number of edges (derived).
        sorted_edge_inds: Edge visiting order for assembly (derived,
            :func:`toposort_edges`).

    Example::

        scorer = PAFScorer(["head", "thorax"], [("head", "thorax")], pafs_stride=2)
        # peaks: ragged (n_samples, (n_peaks), 2) from local peak finding, in pixels.
        instances, peak_vals, scores, *_ = scorer.predict(pafs, peaks, vals, chans)
    """

    part_names: List[str]
    edges: List[Tuple[str, str]]
    pafs_stride: int
    max_edge_length_ratio: float = 0.25
    dist_penalty_weight: float = 1.0
    n_points: int = 10
    min_instance_peaks: Union[int, float] = 0
    min_line_scores: float = 0.25
    in_graph: bool = False

    edge_inds: List[Tuple[int, int]] = attrs.field(init=False)
    edge_types: List[EdgeType] = attrs.field(init=False)
    n_nodes: int = attrs.field(init=False)
    n_edges: int = attrs.field(init=False)
    sorted_edge_inds: Tuple[int, ...] = attrs.field(init=False)

    def __attrs_post_init__(self):
        """Validate the grouping parameters; derive the index attributes."""
        _ = self.grouping  # raises ValueError for an invalid parameter
        names = list(self.part_names)
        missing = sorted({n for e in self.edges for n in e} - set(names))
        if missing:
            raise InvalidValueError(f"PAFScorer edges name nodes not in part_names "
                                    f"{names}. Received: {missing}")
        self.edge_inds = [(names.index(s), names.index(d)) for s, d in self.edges]
        self.edge_types = [EdgeType(s, d) for s, d in self.edge_inds]
        self.n_nodes = len(names)
        self.n_edges = len(self.edges)
        self.sorted_edge_inds = toposort_edges(self.edge_types)

    @property
    def grouping(self) -> PAFGroupingConfig:
        """The grouping parameters as a frozen, validated
        :class:`~sleapish.nn.settings.PAFGroupingConfig`."""
        return PAFGroupingConfig(**{f.name: getattr(self, f.name)
                                    for f in attrs.fields(PAFGroupingConfig)})

    @classmethod
    def from_config(cls, config, max_edge_length_ratio: float = 0.25,
                    dist_penalty_weight: float = 1.0, n_points: int = 10,
                    min_instance_peaks: Union[int, float] = 0,
                    min_line_scores: float = 0.25,
                    grouping: Optional[PAFGroupingConfig] = None) -> PAFScorer:
        """Create a scorer from a `MultiInstanceConfig` (`model.heads.multi_instance`).

        Args:
            config: A `sleapish.nn.config.MultiInstanceConfig` whose
                `confmaps.part_names` and `pafs.edges` are set.
            max_edge_length_ratio: See :class:`PAFScorer`.
            dist_penalty_weight: See :class:`PAFScorer`.
            n_points: See :class:`PAFScorer`.
            min_instance_peaks: See :class:`PAFScorer`.
            min_line_scores: See :class:`PAFScorer`.
            grouping: A :class:`~sleapish.nn.settings.PAFGroupingConfig`; when
                given, it replaces the five arguments above.

        Returns:
            The `PAFScorer`, with `pafs_stride = config.pafs.output_stride`.
        """
        for field, value in (("confmaps.part_names", config.confmaps.part_names),
                             ("pafs.edges", config.pafs.edges)):
            if value is None:
                raise InvalidValueError(f"MultiInstanceConfig.{field} must be set (from the "
                                        f"skeleton) to group peaks. Received: None")
        if grouping is None:
            grouping = PAFGroupingConfig(
                max_edge_length_ratio=max_edge_length_ratio,
                dist_penalty_weight=dist_penalty_weight, n_points=n_points,
                min_instance_peaks=min_instance_peaks, min_line_scores=min_line_scores)
        return cls(part_names=list(config.confmaps.part_names),
                   edges=[tuple(e) for e in config.pafs.edges],
                   pafs_stride=config.pafs.output_stride, **attrs.asdict(grouping))

    def score_paf_lines(self, pafs, peaks, peak_channel_inds, peak_sample_inds=None):
        """Create and score candidate connections (:func:`score_paf_lines_batch`).

        Args:
            pafs: float32 `(n_samples, height, width, 2 * n_edges)`.
            peaks: float32 `tf.RaggedTensor` `(n_samples, (n_peaks), 2)`, or flat
                `(n_peaks, 2)` with `peak_sample_inds`.
            peak_channel_inds: int32, grouped like `peaks`.
            peak_sample_inds: int32 `(n_peaks,)` for flat peak inputs.

        Returns:
            Ragged `(edge_inds, edge_peak_inds, line_scores)`.
        """
        return score_paf_lines_batch(
            pafs, peaks, peak_channel_inds,
            self.edge_inds or np.zeros((0, 2), np.int32),
            self.n_points, self.pafs_stride, self.max_edge_length_ratio,
            self.dist_penalty_weight, self.n_nodes, peak_sample_inds=peak_sample_inds)

    def match_candidates(self, edge_inds, edge_peak_inds, line_scores):
        """Match candidate connections (:func:`match_candidates_batch`).

        Args:
            edge_inds: int32 ragged `(n_samples, (n_candidates))`.
            edge_peak_inds: int32 ragged `(n_samples, (n_candidates), 2)`.
            line_scores: float32 ragged `(n_samples, (n_candidates))`.

        Returns:
            Ragged `(match_edge_inds, match_src_peak_inds, match_dst_peak_inds,
            match_line_scores)`.
        """
        return match_candidates_batch(edge_inds, edge_peak_inds, line_scores,
                                      self.n_edges, self.in_graph)

    def group_instances(self, peaks, peak_vals, peak_channel_inds, match_edge_inds,
                        match_src_peak_inds, match_dst_peak_inds, match_line_scores,
                        peak_sample_inds=None):
        """Group matched connections into instances (:func:`group_instances_batch`).

        Args:
            peaks: float32 ragged `(n_samples, (n_peaks), 2)`, or flat with
                `peak_sample_inds`.
            peak_vals: float32, grouped like `peaks`.
            peak_channel_inds: int32, grouped like `peaks`.
            match_edge_inds: int32 ragged `(n_samples, (n_connections))`.
            match_src_peak_inds: int32 ragged `(n_samples, (n_connections))`.
            match_dst_peak_inds: int32 ragged `(n_samples, (n_connections))`.
            match_line_scores: float32 ragged `(n_samples, (n_connections))`.
            peak_sample_inds: int32 `(n_peaks,)` for flat peak inputs.

        Returns:
            Ragged `(predicted_instances, predicted_peak_scores,
            predicted_instance_scores)`, `(n_samples, (n_instances), n_nodes, 2)`,
            `(n_samples, (n_instances), n_nodes)` and `(n_samples, (n_instances))`.
        """
        return group_instances_batch(
            peaks, peak_vals, peak_channel_inds, match_edge_inds, match_src_peak_inds,
            match_dst_peak_inds, match_line_scores, self.n_nodes, self.sorted_edge_inds,
            self.edge_types, self.min_instance_peaks,
            min_line_scores=self.min_line_scores, peak_sample_inds=peak_sample_inds,
            in_graph=self.in_graph)

    def predict(self, pafs, peaks, peak_vals, peak_channel_inds, peak_sample_inds=None):
        """Group a batch of peaks into instances using PAFs.

        Args:
            pafs: float32 `(n_samples, height, width, 2 * n_edges)`.
            peaks: float32 `tf.RaggedTensor` `(n_samples, (n_peaks), 2)` `(x, y)` in
                image pixels, or flat `(n_peaks, 2)` with `peak_sample_inds`.
            peak_vals: float32 peak values, grouped like `peaks`.
            peak_channel_inds: int32 node of each peak, grouped like `peaks`.
            peak_sample_inds: int32 `(n_peaks,)` non-decreasing, for flat inputs.

        Returns:
            `(predicted_instances, predicted_peak_scores, predicted_instance_scores,
            edge_inds, edge_peak_inds, line_scores)`: the grouped instances (see
            :meth:`group_instances`) followed by the scored candidates (the "PAF
            graph", see :meth:`score_paf_lines`), all ragged by sample.
        """
        n_samples = tf.shape(pafs)[0]
        peaks = _as_ragged(peaks, peak_sample_inds, n_samples, rank=3)
        peak_vals = _as_ragged(peak_vals, peak_sample_inds, n_samples)
        peak_channel_inds = _as_ragged(peak_channel_inds, peak_sample_inds, n_samples)
        edge_inds, edge_peak_inds, line_scores = self.score_paf_lines(
            pafs, peaks, peak_channel_inds)
        matches = self.match_candidates(edge_inds, edge_peak_inds, line_scores)
        instances = self.group_instances(peaks, peak_vals, peak_channel_inds, *matches)
        return (*instances, edge_inds, edge_peak_inds, line_scores)

"""Matches of one frame: the cost matrix, the matching and its bookkeeping.

As SLEAP 1.4.1's `sleap.nn.tracker.components.FrameMatches`: rows are the frame's
untracked instances in input order; columns are the candidate tracks in order of
first appearance among the candidates; an entry is the best (or a robust quantile)
similarity of the instance to the track's candidates; cost = -similarity with NaN
replaced by `inf`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, TypeVar

import attrs
import numpy as np
import sleap_io as sio

from sleapish.errors import InvalidValueError
from sleapish.nn.tracking.similarity import (
    _point_scores,
    instance_points,
    normalized_instance_similarity,
)

InstanceType = TypeVar("InstanceType", sio.Instance, sio.PredictedInstance)
"""A user or predicted instance (SLEAP's `InstanceType`)."""


@attrs.define(slots=True)
class Match:
    """A match between an instance and a track.

    Attributes:
        track: The `sleap_io.Track` (or any column item).
        instance: The matched instance (or any row item).
        score: The similarity (minus the cost) in the tracker; the cost itself in
            the Kalman tracker's matching helpers (as SLEAP).
        is_first_choice: Whether the track was the instance's cheapest column.
    """

    track: Any
    instance: Any
    score: Optional[float] = None
    is_first_choice: bool = False


@attrs.define
class FrameMatches:
    """Matches of one frame.

    Attributes:
        matches: The `Match`es, in the matching function's order.
        cost_matrix: `(n_instances, n_tracks)` costs.
        unmatched_instances: Instances without a match, in input order.
    """

    matches: List[Match]
    cost_matrix: np.ndarray
    unmatched_instances: list = attrs.field(factory=list)

    @property
    def has_only_first_choice_matches(self) -> bool:
        """Whether every match was its instance's cheapest track."""
        return all(m.is_first_choice for m in self.matches)

    @classmethod
    def from_candidate_instances(cls, untracked_instances: list, candidate_instances: list,
                                 similarity_function: Callable, matching_function: Callable,
                                 robust_best_instance: float = 1.0,
                                 img_hw: Optional[Sequence[int]] = None) -> FrameMatches:
        """Build the cost matrix from candidates and match it.

        Args:
            untracked_instances: `N` instances of the current frame
                (`MatchCandidate`s or `sleap_io` instances).
            candidate_instances: `M` instances with tracks.
            similarity_function: Vectorized similarity (`similarity` module).
            matching_function: `greedy_matching` or `hungarian_matching`.
            robust_best_instance: In (0, 1): quantile of a track's similarities;
                otherwise their maximum.
            img_hw: `(height, width)` for "normalized_instance".

        Returns:
            The `FrameMatches` (cost `(N, T)` float64, `T` candidate tracks).
        """
        if candidate_instances and untracked_instances:
            sim, tracks = track_similarity_matrix(untracked_instances, candidate_instances,
                                                  similarity_function, robust_best_instance,
                                                  img_hw)
            cost = -sim
            cost[np.isnan(cost)] = np.inf
        else:
            cost, tracks = np.zeros((len(untracked_instances), 0)), []
        return cls.from_cost_matrix(cost, untracked_instances, tracks, matching_function)

    @classmethod
    def from_cost_matrix(cls, cost_matrix: np.ndarray, instances: list, tracks: list,
                         matching_function: Callable) -> FrameMatches:
        """Match rows (instances) to columns (tracks).

        Args:
            cost_matrix: `(len(instances), len(tracks))` costs.
            instances: Row items.
            tracks: Column items.
            matching_function: Returns `(row, col)` pairs for a cost matrix.

        Returns:
            The `FrameMatches`; `score` of a match is `-cost`.
        """
        matches = []
        matched = set()
        if len(instances) and len(tracks):
            first = cost_matrix.argmin(axis=1)
            for i, j in matching_function(cost_matrix):
                matched.add(i)
                matches.append(Match(track=tracks[j], instance=instances[i],
                                     score=float(-cost_matrix[i, j]),
                                     is_first_choice=bool(first[i] == j)))
        unmatched = [inst for i, inst in enumerate(instances) if i not in matched]
        return cls(matches=matches, cost_matrix=cost_matrix, unmatched_instances=unmatched)


def default_tracking_score(instance) -> None:
    """Give a predicted instance without a tracking score SLEAP's default, 0.0.

    SLEAP's `PredictedInstance` always has one (0.0 unless a tracker matched it);
    sleap-io's `from_numpy` leaves None, which a `.slp` file would store as NaN.
    """
    if hasattr(instance, "score") and getattr(instance, "tracking_score", 0.0) is None:
        instance.tracking_score = 0.0


def _scores_or_ones(instance, n_nodes: int) -> np.ndarray:
    """`(n_nodes,)` point scores, ones where there are none (user/shifted)."""
    scores = _point_scores(instance)
    return np.ones(n_nodes) if scores is None else scores


def track_similarity_matrix(untracked: Sequence, candidates: Sequence,
                            similarity_function: Callable, robust: float = 1.0,
                            img_hw: Optional[Sequence[int]] = None):
    """Best similarity of each untracked instance to each candidate track.

    Args:
        untracked: `N` instances of the current frame (`MatchCandidate`s or
            `sleap_io` instances).
        candidates: `M` instances with a `track` attribute.
        similarity_function: Vectorized similarity (see `similarity`).
        robust: In (0, 1): the `robust` quantile of a track's candidate similarities;
            otherwise their maximum.
        img_hw: `(height, width)`, for `normalized_instance_similarity`.

    Returns:
        `(similarity, tracks)`: `(N, T)` float64 matrix and the `T` tracks in order
        of first appearance among the candidates (SLEAP's column order).
    """
    tracks: List[Any] = []
    col: Dict[int, int] = {}
    group = np.empty(len(candidates), np.int64)
    for k, c in enumerate(candidates):
        key = id(c.track)
        if key not in col:
            col[key] = len(tracks)
            tracks.append(c.track)
        group[k] = col[key]
    ref = np.stack([instance_points(u) for u in untracked])
    query = np.stack([instance_points(c) for c in candidates])
    if similarity_function is normalized_instance_similarity:
        if img_hw is None:
            raise InvalidValueError("The normalized_instance similarity needs the frame size: "
                                    "frames with an open video, or img_hw. Received: img_hw=None")
        sim = similarity_function(ref, query, img_hw)
    elif getattr(similarity_function, "score_weighting", False):
        rs = np.stack([_scores_or_ones(u, ref.shape[1]) for u in untracked])
        qs = np.stack([_scores_or_ones(c, query.shape[1]) for c in candidates])
        sim = similarity_function(ref, query, ref_scores=rs, query_scores=qs)
    else:
        sim = similarity_function(ref, query)
    sim = np.asarray(sim, np.float64).reshape(len(untracked), len(candidates))
    out = np.empty((len(untracked), len(tracks)), np.float64)
    for j in range(len(tracks)):
        cols = sim[:, group == j]
        if 0 < robust < 1:
            out[:, j] = np.quantile(cols, robust, axis=1)
        else:
            out[:, j] = np.max(cols, axis=1)
    return out, tracks


__all__ = ["FrameMatches", "InstanceType", "Match", "default_tracking_score",
           "track_similarity_matrix"]

"""Kalman filter tracking (SLEAP 1.4.1's `KalmanTracker`, `sleap.nn.tracker.kalman`).

A regular tracker tracks until `init_frame_count` contiguous "good" frames (every
match a first choice, at least `instance_count` instances with all `node_indices`
points); one constant-velocity Kalman filter per track is then learned from them
(20 EM iterations) and tracks further frames: instances are matched to the filters'
predicted node positions by a score-weighted mean point distance, with a modified
greedy matching that refuses ambiguous matches. Filters that stop matching for long
hand back to the regular tracker, which re-initialises them.

SLEAP 1.4.1's `KalmanTracker.track` did not accept `img_hw` and passed its arguments
to the regular tracker in the wrong positions, so its Kalman tracking crashed from
`sleap-track`; here it runs as designed.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, List, Optional, Tuple

import attrs
import numpy as np
import sleap_io as sio

from sleapish.errors import InvalidValueError
from sleapish.nn.tracking.cleaning import cull_frame_instances
from sleapish.nn.tracking.frame_matches import Match, default_tracking_score
from sleapish.nn.tracking.frames import FrameImages, frame_hw
from sleapish.nn.tracking.kalman_filter import KalmanFilter, constant_velocity_matrices
from sleapish.nn.tracking.matching import first_choice_matching, greedy_matching


def _node_points(instance, node_indices) -> np.ndarray:
    """`(2 * len(node_indices),)` flattened `[x0, y0, x1, y1, ...]` (NaN = missing)."""
    return np.asarray(instance.numpy(), np.float64)[node_indices, :2].reshape(-1)


def _node_weights(instance, node_indices) -> np.ndarray:
    names = getattr(instance.points.dtype, "names", None) or ()
    if "score" in names:
        w = np.asarray(instance.points["score"], np.float64)[node_indices]
    else:
        w = np.ones(len(node_indices))
    return np.repeat(w, 2)


def remove_second_bests_from_cost_matrix(cost_matrix: np.ndarray, thresh: float,
                                         invalid_val: float = np.nan) -> np.ndarray:
    """Invalidate ambiguous matches (SLEAP's rule).

    A column (track) whose best and second best costs are within `thresh` is cleared;
    a row (instance) is cleared when its best two are within `thresh` or its best
    column was cleared.

    Args:
        cost_matrix: `(n_instances, n_tracks)` float costs (NaN = no match).
        thresh: Margin the best match must beat the second best by.
        invalid_val: Value for invalidated entries.

    Returns:
        A copy of the matrix with invalid entries replaced.
    """
    valid = np.ones(cost_matrix.shape, bool)
    for c in range(cost_matrix.shape[1]):
        col = cost_matrix[:, c]
        if np.all(np.isnan(col)):
            continue
        if (col < col.min() + thresh).sum() > 1:
            valid[:, c] = False
    for r in range(cost_matrix.shape[0]):
        row = cost_matrix[r]
        if np.all(np.isnan(row)):
            continue
        j = row.argmin()
        if (row < row[j] + thresh).sum() > 1 or not valid[r, j]:
            valid[r] = False
    out = np.array(cost_matrix, np.float64, copy=True)
    out[~valid] = invalid_val
    return out


def match_tuples_from_match_function(cost_matrix: np.ndarray, row_items: list,
                                     column_items: list,
                                     match_function: Callable) -> List[Tuple[Any, Any, Any]]:
    """`(row item, column item, cost)` of each match with a finite cost.

    Args:
        cost_matrix: `(n_rows, n_cols)` costs (NaN/inf = no match).
        row_items: Row items (instances).
        column_items: Column items (tracks).
        match_function: Returns `(row, col)` pairs for a cost matrix.

    Returns:
        The tuples, in the matching function's order.
    """
    return [(row_items[i], column_items[j], cost_matrix[i, j])
            for i, j in match_function(cost_matrix) if np.isfinite(cost_matrix[i, j])]


def match_dict_from_match_function(cost_matrix: np.ndarray, row_items: list,
                                   column_items: list, match_function: Callable,
                                   key_by_column: bool = True) -> Dict[Any, Any]:
    """Matches as a dict `column item -> row item` (or `row -> column`).

    When several matches share a key (e.g. first-choice matching, where rows may
    pick the same column), the cheapest one is kept; of equal costs, the first.

    Args:
        cost_matrix: `(n_rows, n_cols)` costs (NaN/inf = no match).
        row_items: Row items (instances).
        column_items: Column items (tracks).
        match_function: Returns `(row, col)` pairs for a cost matrix.
        key_by_column: Key by column items (True) or by row items (False).

    Returns:
        The dict.
    """
    out: Dict[Any, Any] = {}
    best: Dict[Any, Any] = {}
    for i, j in match_function(cost_matrix):
        cost = cost_matrix[i, j]
        if not np.isfinite(cost):
            continue
        key, val = ((column_items[j], row_items[i]) if key_by_column
                    else (row_items[i], column_items[j]))
        if key not in out or cost < best[key]:
            out[key], best[key] = val, cost
    return out


def matches_from_match_tuples(match_tuples: List[Tuple[Any, Any, Any]]) -> List[Match]:
    """`Match(instance, track, score=cost)` for each `(instance, track, cost)`."""
    return [Match(instance=inst, track=track, score=score)
            for inst, track, score in match_tuples]


def get_track_instance_matches(cost_matrix: np.ndarray, instances: list, tracks: list,
                               are_too_close_function: Callable) -> List[Match]:
    """Greedy matches, minus those taking a close competitor's first choice.

    A greedy match of an instance to a track is dropped when another instance had
    that track as its (cheapest) first choice and the two instances are "too
    close" (SLEAP's modified greedy matching).

    Args:
        cost_matrix: `(n_instances, n_tracks)` float costs (NaN = no match).
        instances: Row items.
        tracks: Column items.
        are_too_close_function: `(instance, instance) -> bool`.

    Returns:
        The kept `Match`es (score = cost), in greedy order.
    """
    first = match_dict_from_match_function(cost_matrix, instances, tracks,
                                           first_choice_matching)
    greedy = matches_from_match_tuples(match_tuples_from_match_function(
        cost_matrix, instances, tracks, greedy_matching))
    out = []
    for m in greedy:
        if m.track in first:
            rival = first[m.track]
            if rival is not m.instance and are_too_close_function(m.instance, rival):
                continue
        out.append(m)
    return out


@attrs.define
class BareKalmanTracker:
    """One Kalman filter per track, matching instances to predicted positions.

    Attributes:
        node_indices: Nodes whose points the filters follow.
        instance_count: Number of tracked identities.
        instance_score_thresh: Instances scoring lower are not matched.
        reset_gap_size: Tracks unmatched for longer than this are replaced (when more
            than one is) by new tracks of the same name.
    """

    node_indices: List[int]
    instance_count: int
    instance_score_thresh: float = 0.3
    reset_gap_size: int = 5
    kalman_filters: Dict[Any, KalmanFilter] = attrs.field(factory=dict)
    last_results: Dict[Any, Dict[str, np.ndarray]] = attrs.field(factory=dict)
    tracks: List[Any] = attrs.field(factory=list)
    last_frame_for_track: Dict[Any, int] = attrs.field(factory=dict)

    def init_filters(self, instances: list) -> None:
        """Learn one filter per track from tracked instances (20 EM iterations)."""
        if not instances:
            raise InvalidValueError("Kalman filter must be initialized with instances. "
                                    "Received: 0 instances")
        per_track: Dict[Any, list] = {}
        for inst in instances:
            per_track.setdefault(inst.track, []).append(_node_points(inst, self.node_indices))
        self.kalman_filters, self.last_results, self.tracks = {}, {}, []
        for track, rows in per_track.items():
            obs = np.asarray(rows)
            a, c = constant_velocity_matrices(obs.shape[1])
            mean0 = np.zeros(2 * obs.shape[1])
            mean0[::2] = obs[0]
            kf = KalmanFilter(a, c, mean0).em(obs, n_iter=20)
            means, covs = kf.filter(obs)
            self.tracks.append(track)
            self.kalman_filters[track] = kf
            self.last_results[track] = {"means": means[-1], "covariances": covs[-1]}
        self.last_frame_for_track = {}

    def replace_track(self, old_track) -> None:
        """Tie the filter of `old_track` to a new track of the same name."""
        new_track = sio.Track(name=old_track.name)
        self.kalman_filters[new_track] = self.kalman_filters.pop(old_track)
        self.tracks[self.tracks.index(old_track)] = new_track
        if old_track in self.last_results:
            self.last_results[new_track] = self.last_results.pop(old_track)

    @property
    def last_frame_with_tracks(self) -> int:
        """Last frame on which any filter matched (0 if none)."""
        return max(self.last_frame_for_track.values(), default=0)

    def update_filters(self, matches: Optional[Dict[Any, Any]] = None,
                       only_update_matches: bool = False) -> Dict[Any, Dict[str, Any]]:
        """Predicted (no `matches`) or corrected (with `matches`) filter states."""
        out = {}
        for track, kf in self.kalman_filters.items():
            if matches and track in matches:
                obs = _node_points(matches[track], self.node_indices)
            elif only_update_matches:
                continue
            else:
                obs = None
            prev = self.last_results[track]
            mean, cov = kf.filter_update(prev["means"], prev["covariances"], obs)
            out[track] = {"means": mean, "covariances": cov,
                          "coordinate_means": np.asarray(mean[::2])}
        return out

    def frame_cost_matrix(self, instances: list, filter_results) -> np.ndarray:
        """`(n_instances, n_tracks)` score-weighted mean point distance to predictions."""
        cost = np.full((len(instances), len(self.kalman_filters)), np.nan)
        for i, inst in enumerate(instances):
            if getattr(inst, "score", 1.0) < self.instance_score_thresh:
                continue
            pts = _node_points(inst, self.node_indices)
            w = _node_weights(inst, self.node_indices)
            for j, track in enumerate(self.tracks):
                d = np.abs(filter_results[track]["coordinate_means"] - pts)
                ok = ~np.isnan(d)
                if ok.any():
                    cost[i, j] = np.sum(d[ok] * w[ok]) / np.sum(w[ok])
        return cost

    def _too_close_function(self, instances: list, thresh: float) -> Callable:
        pts = {id(i): _node_points(i, self.node_indices) for i in instances}
        dist = {}
        for a, b in itertools.combinations(instances, 2):
            d = np.abs(pts[id(a)] - pts[id(b)])
            dist[(id(a), id(b))] = dist[(id(b), id(a))] = (
                np.nanmean(d) if not np.all(np.isnan(d)) else np.nan)
        return lambda a, b: dist[(id(a), id(b))] < thresh

    def track_frame(self, instances: list, frame_idx: int) -> list:
        """Set tracks on the frame's instances in place; returns them all."""
        predicted = self.update_filters(only_update_matches=False)
        cost = self.frame_cost_matrix(instances, predicted)
        if np.all(np.isnan(cost)):
            return instances
        thresh = float(np.nanmin(cost))
        cost = remove_second_bests_from_cost_matrix(cost, thresh=thresh)
        matches = get_track_instance_matches(cost, instances, self.tracks,
                                             self._too_close_function(instances, thresh))
        by_track = {m.track: m.instance for m in matches}
        self.last_results.update(self.update_filters(by_track, only_update_matches=True))
        for m in matches:
            m.instance.track = m.track
            self.last_frame_for_track[m.track] = frame_idx
        gap = [tr for tr, last in self.last_frame_for_track.items()
               if frame_idx - last > self.reset_gap_size]
        if len(gap) > 1:
            for track in gap:
                self.replace_track(track)
                self.last_frame_for_track.pop(track)
        return instances


@attrs.define
class KalmanTracker:
    """Regular tracker until the filters are initialised, Kalman filters after.

    Attributes:
        init_tracker: The regular `Tracker` used to get initial tracked frames.
        kalman_tracker: The `BareKalmanTracker`.
        cull_function: Culls each frame's instances before tracking.
        init_frame_count: Contiguous good frames needed to initialise.
        instance_count: Target identities.
        node_indices: Nodes followed by the filters.
        re_init_cooldown: Frames after initialising before re-initialising is checked.
        re_init_after: Frames without filter matches that trigger re-initialising.
    """

    init_tracker: Any  # a `Tracker` (not imported: it imports this module)
    kalman_tracker: BareKalmanTracker
    cull_function: Optional[Callable] = None
    init_frame_count: int = 10
    instance_count: int = 2
    node_indices: List[int] = attrs.field(factory=list)
    re_init_cooldown: int = 100
    re_init_after: int = 20
    init_done: bool = False
    last_t: int = 0
    last_init_t: int = 0
    init_frames: list = attrs.field(factory=list)
    tracks: list = attrs.field(factory=list)

    @classmethod
    def make_tracker(cls, init_tracker: Any, node_indices: List[int], instance_count: int,
                     instance_iou_threshold: Optional[float] = 0.8,
                     init_frame_count: int = 10) -> KalmanTracker:
        """Wrap `init_tracker`; culls frames to `instance_count` (with NMS)."""
        if not node_indices:
            raise InvalidValueError("The Kalman tracker needs node indices (kf_node_indices). "
                                    f"Received: {node_indices!r}")

        def cull_function(inst_list):
            cull_frame_instances(inst_list, instance_count=instance_count,
                                 iou_threshold=instance_iou_threshold)

        if init_tracker.pre_cull_function is None:
            init_tracker.pre_cull_function = cull_function
        return cls(init_tracker=init_tracker,
                   kalman_tracker=BareKalmanTracker(node_indices=list(node_indices),
                                                    instance_count=instance_count),
                   cull_function=cull_function, init_frame_count=init_frame_count,
                   instance_count=instance_count, node_indices=list(node_indices))

    is_valid = property(lambda self: self.init_tracker.is_valid)
    uses_image = property(lambda self: self.init_tracker.uses_image)

    def get_name(self) -> str:
        """`kalman.<regular tracker name>`."""
        return f"kalman.{self.init_tracker.get_name()}"

    def _usable(self, inst) -> bool:
        return inst.track is not None and not np.any(np.isnan(
            _node_points(inst, self.node_indices)))

    def _add_init_frame(self, instances: list, matches) -> None:
        good = matches is None or (matches.has_only_first_choice_matches and sum(
            self._usable(i) for i in instances) >= self.instance_count)
        self.init_frames = self.init_frames + [instances] if good else []

    def track(self, untracked_instances: list, img_hw=None, img=None,
              t: Optional[int] = None) -> list:
        """Track one frame (see `Tracker.track`); all instances are returned."""
        t = self.last_t + 1 if t is None else int(t)
        self.last_t = t
        if self.cull_function:
            self.cull_function(untracked_instances)
        if not self.init_done:
            tracked = self.init_tracker.track(untracked_instances, img_hw=img_hw, img=img,
                                              t=t)
            self._add_init_frame(tracked, self.init_tracker.last_matches)
            if len(self.init_frames) >= self.init_frame_count:
                usable = [i for f in self.init_frames for i in f if self._usable(i)]
                if usable:
                    self.kalman_tracker.init_filters(usable)
                    self.init_done, self.last_init_t = True, t
                else:  # e.g. empty first frames: SLEAP 1.4.1 raises; keep waiting
                    self.init_frames = []
        else:
            tracked = self.kalman_tracker.track_frame(untracked_instances, frame_idx=t)
            for inst in tracked:  # SLEAP leaves the filters' instances at 0.0
                default_tracking_score(inst)
        if (self.init_done and t - self.last_init_t > self.re_init_cooldown
                and self.kalman_tracker.last_frame_with_tracks < t - self.re_init_after):
            self.init_done = False
            self.init_frames = []
            self.init_tracker.reset_candidates()
        return tracked

    def track_labeled_frame(self, lf, img=None):
        """Track one `sleap_io.LabeledFrame` in place (see `Tracker`)."""
        for inst in lf.instances:
            inst.track = None
        lf.instances = self.track(list(lf.instances), img_hw=frame_hw(lf, img), img=img,
                                  t=lf.frame_idx)
        return lf

    def track_frames(self, labeled_frames, images=None, progress: bool = False) -> list:
        """Track frames in order and run the final pass (see `Tracker.track_frames`)."""
        frames = list(labeled_frames)
        source = FrameImages(frames, images) if self.uses_image else None
        for i, lf in enumerate(frames):
            self.track_labeled_frame(lf, source(i) if source is not None else None)
        return self.finish(frames)

    def final_pass(self, frames: list) -> None:
        """The regular tracker's final pass."""
        self.init_tracker.final_pass(frames)

    @property
    def spawned_on(self) -> Dict[int, int]:
        """Spawn frame of each track by `id` (the regular tracker's spawns)."""
        return getattr(self.init_tracker, "spawned_on", {})

    def finish(self, frames: list) -> list:
        """Final pass; `tracks` = used tracks in SLEAP's `Labels` order.

        That is by spawn frame, then name. A track the filters re-created after a
        gap counts as spawned on the first frame it was matched on (as SLEAP sets
        its `spawned_on`).
        """
        frames = list(frames)
        self.final_pass(frames)
        seen: Dict[int, Any] = {}
        first: Dict[int, int] = {}
        for lf in frames:
            for inst in lf.instances:
                if inst.track is not None:
                    seen.setdefault(id(inst.track), inst.track)
                    first.setdefault(id(inst.track), int(lf.frame_idx))
        spawned = self.spawned_on
        self.tracks = sorted(seen.values(), key=lambda tr: (
            spawned.get(id(tr), first[id(tr)]), tr.name))
        return frames


__all__ = ["BareKalmanTracker", "KalmanTracker", "get_track_instance_matches",
           "match_dict_from_match_function", "match_tuples_from_match_function",
           "matches_from_match_tuples", "remove_second_bests_from_cost_matrix"]

"""The `Tracker`: frame-by-frame assignment of predicted instances to tracks.

For each frame (as SLEAP 1.4.1's `sleap.nn.tracking.Tracker`):

1. optionally cull the frame's instances to `target_instance_count`;
2. gather candidate instances from the recent history (a candidate maker);
3. score every (instance, candidate) pair with a similarity function, in one
   vectorized `(n_instances, n_candidates)` matrix, and keep per track the best
   (or a robust quantile) score;
4. match instances to tracks (greedy or Hungarian) on cost = -similarity; matched
   instances get the track and `tracking_score` = similarity;
5. spawn new tracks `track_0`, `track_1`, ... for the others (unless they have too
   few points or the track cap is reached; such instances are dropped, as in SLEAP).

After the last frame, `final_pass` runs the optional cleaning.

Example:
    >>> tracker = make_tracker_by_name("simple")            # doctest: +SKIP
    >>> frames = tracker.track_frames(labels.labeled_frames)  # doctest: +SKIP
    >>> tracker.tracks                                      # doctest: +SKIP
    [Track(name='track_0'), Track(name='track_1')]
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence

import attrs
import numpy as np
import sleap_io as sio

from sleapish.nn.tracking.candidates import (FlowCandidateMaker,
                                             FlowMaxTracksCandidateMaker, MatchCandidate,
                                             MatchedFrameInstance, MatchedFrameInstances,
                                             SimpleMaxTracksCandidateMaker, tracker_policies)
from sleapish.nn.tracking.cleaning import (TrackCleaner, connect_single_track_breaks,
                                           cull_frame_instances)
from sleapish.nn.tracking.frames import FrameImages, frame_hw
from sleapish.nn.tracking.matching import greedy_matching, match_policies
from sleapish.nn.tracking.similarity import (factory_object_keypoint_similarity,
                                             instance_similarity,
                                             normalized_instance_similarity,
                                             similarity_policies)


@attrs.define(slots=True)
class Match:
    """A match between an instance and a track.

    Attributes:
        track: The `sleap_io.Track`.
        instance: The matched instance.
        score: The similarity (minus the cost).
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
        cost_matrix: `(n_instances, n_tracks)` float64 costs.
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
    def from_cost_matrix(cls, cost_matrix: np.ndarray, instances: list, tracks: list,
                         matching_function: Callable) -> "FrameMatches":
        """Match rows (instances) to columns (tracks)."""
        matches = []
        matched = set()
        if instances and tracks:
            first = cost_matrix.argmin(axis=1)
            for i, j in matching_function(cost_matrix):
                matched.add(i)
                matches.append(Match(track=tracks[j], instance=instances[i],
                                     score=float(-cost_matrix[i, j]),
                                     is_first_choice=bool(first[i] == j)))
        unmatched = [inst for i, inst in enumerate(instances) if i not in matched]
        return cls(matches=matches, cost_matrix=cost_matrix, unmatched_instances=unmatched)


def track_similarity_matrix(untracked: Sequence[MatchCandidate],
                            candidates: Sequence[MatchCandidate],
                            similarity_function: Callable, robust: float = 1.0,
                            img_hw: Optional[Sequence[int]] = None):
    """Best similarity of each untracked instance to each candidate track.

    Args:
        untracked: `N` instances of the current frame.
        candidates: `M` candidates (each with a track).
        similarity_function: Vectorized similarity (see `similarity`).
        robust: In (0, 1): the `robust` quantile of a track's candidate similarities;
            otherwise their maximum.
        img_hw: `(height, width)`, for `normalized_instance_similarity`.

    Returns:
        `(similarity, tracks)`: `(N, T)` float64 matrix and the `T` tracks in order
        of first appearance among the candidates.
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
    ref = np.stack([u.points_array for u in untracked])
    query = np.stack([c.points_array for c in candidates])
    if similarity_function is normalized_instance_similarity:
        if img_hw is None:
            raise ValueError("The normalized_instance similarity needs the frame size: "
                             "frames with an open video, or img_hw. Received: img_hw=None")
        sim = similarity_function(ref, query, img_hw)
    elif getattr(similarity_function, "score_weighting", False):
        rs = np.stack([u.scores if u.scores is not None else np.ones(len(u.points_array))
                       for u in untracked])
        qs = np.stack([c.scores if c.scores is not None else np.ones(len(c.points_array))
                       for c in candidates])
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


@attrs.define
class Tracker:
    """Instance tracker (SLEAP's `Tracker`; build one with `make_tracker_by_name`).

    Attributes:
        max_tracks: Track cap for the max-tracks candidate makers.
        track_window: Frames of history used for candidates.
        similarity_function: Vectorized similarity (`similarity` module).
        matching_function: `greedy_matching` or `hungarian_matching`.
        candidate_maker: A candidate maker (`candidates` module), or None (no tracking).
        max_tracking: Cap the number of tracks at `max_tracks`.
        cleaner: Optional post-tracking `TrackCleaner`.
        target_instance_count: Target instances per frame (for break connection).
        pre_cull_function: Called on each frame's instance list before tracking.
        post_connect_single_breaks: Connect single track breaks after tracking.
        robust_best_instance: Quantile in (0, 1) for robust track scores; 1 = max.
        min_new_track_points: Instances with fewer visible points spawn no track.
        spawned_tracks: Tracks in spawn order.
        tracks: After `track_frames`, the spawned tracks still used, in spawn order.
        last_matches: The `FrameMatches` of the last frame.
    """

    max_tracks: Optional[int] = None
    track_window: int = 5
    similarity_function: Optional[Callable] = instance_similarity
    matching_function: Optional[Callable] = greedy_matching
    candidate_maker: Any = attrs.field(factory=FlowCandidateMaker)
    max_tracking: bool = False
    cleaner: Optional[TrackCleaner] = None
    target_instance_count: int = 0
    pre_cull_function: Optional[Callable] = None
    post_connect_single_breaks: bool = False
    robust_best_instance: float = 1.0
    min_new_track_points: int = 0
    track_matching_queue: Deque[MatchedFrameInstances] = attrs.field(default=None)
    track_matching_queue_dict: Dict[Any, Deque[MatchedFrameInstance]] = attrs.field(
        factory=dict)
    spawned_tracks: List[Any] = attrs.field(factory=list)
    save_tracked_instances: bool = False
    tracked_instances: Dict[int, list] = attrs.field(factory=dict)
    last_matches: Optional[FrameMatches] = None
    tracks: List[Any] = attrs.field(factory=list)
    _last_t: Optional[int] = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self):
        if self.track_matching_queue is None:
            self.track_matching_queue = deque(maxlen=self.track_window)

    # ------------------------------------------------------------------ properties
    @property
    def is_valid(self) -> bool:
        """Whether this tracker does anything (tracker "none" does not)."""
        return self.similarity_function is not None and self.candidate_maker is not None

    @property
    def has_max_tracking(self) -> bool:
        """Whether the candidate maker keeps a per-track history."""
        return isinstance(self.candidate_maker, (SimpleMaxTracksCandidateMaker,
                                                 FlowMaxTracksCandidateMaker))

    @property
    def uses_image(self) -> bool:
        """Whether frames are needed (optical flow)."""
        return bool(getattr(self.candidate_maker, "uses_image", False))

    def get_name(self) -> str:
        """`<CandidateMaker>.<similarity>.<matching>`, as SLEAP (used in file names)."""
        return (f"{type(self.candidate_maker).__name__}."
                f"{getattr(self.similarity_function, '__name__', 'similarity')}."
                f"{getattr(self.matching_function, '__name__', 'matching')}")

    def reset_candidates(self) -> None:
        """Forget the history (tracks already spawned stay spawned)."""
        if self.has_max_tracking:
            for track in self.track_matching_queue_dict:
                self.track_matching_queue_dict[track] = deque(maxlen=self.track_window)
        else:
            self.track_matching_queue = deque(maxlen=self.track_window)

    @property
    def unique_tracks_in_queue(self) -> list:
        """Tracks present in the history."""
        if self.has_max_tracking:
            return list(self.track_matching_queue_dict)
        seen = {}
        for item in self.track_matching_queue:
            for inst in item.instances_t:
                seen.setdefault(id(inst.track), inst.track)
        return list(seen.values())

    # ----------------------------------------------------------------- one frame
    def _infer_t(self) -> int:
        return 0 if self._last_t is None else self._last_t + 1

    def track(self, untracked_instances: list, img_hw: Optional[Sequence[int]] = None,
              img: Optional[np.ndarray] = None, t: Optional[int] = None) -> list:
        """Track one frame.

        Sets `track` (and `tracking_score` for matched instances) on the instances in
        place.

        Args:
            untracked_instances: The frame's `sleap_io` instances. Culling (if any)
                removes instances from this list in place.
            img_hw: `(height, width)` of the frame (for "normalized_instance").
            img: The frame (`(H, W)`, `(H, W, C)`, uint8 or float in [0, 1]) for flow.
            t: Time step (frame index); defaults to the previous one + 1.

        Returns:
            The tracked instances: matched ones (in match order), then those that
            spawned tracks. Instances that could not be tracked are left out.
        """
        if self.candidate_maker is None:
            return untracked_instances
        t = self._infer_t() if t is None else int(t)
        self._last_t = t
        if img_hw is None and img is not None:
            shape = np.shape(img)
            img_hw = shape[-3:-1] if len(shape) >= 3 and shape[-1] in (1, 3) else shape[-2:]
        stored_img = None
        if self.uses_image:
            stored_img = self.candidate_maker.prepare_image(img)

        tracked: List[MatchCandidate] = []
        if untracked_instances:
            if self.pre_cull_function:
                self.pre_cull_function(untracked_instances)
            records = [MatchCandidate.from_instance(inst, track=None)
                       for inst in untracked_instances]
            if self.has_max_tracking:
                candidates = self.candidate_maker.get_candidates(
                    track_matching_queue_dict=self.track_matching_queue_dict,
                    max_tracking=self.max_tracking, t=t, img=stored_img)
            else:
                candidates = self.candidate_maker.get_candidates(
                    track_matching_queue=self.track_matching_queue, t=t, img=stored_img)
            if candidates:
                sim, tracks = track_similarity_matrix(
                    records, candidates, self.similarity_function,
                    self.robust_best_instance, img_hw)
                cost = -sim
                cost[np.isnan(cost)] = np.inf
            else:
                cost, tracks = np.zeros((len(records), 0)), []
            fm = FrameMatches.from_cost_matrix(cost, records, tracks, self.matching_function)
            self.last_matches = fm
            for m in fm.matches:
                m.instance.track = m.track
                m.instance.instance.track = m.track
                m.instance.instance.tracking_score = m.score
                tracked.append(m.instance)
            tracked.extend(self._spawn(fm.unmatched_instances, t))

        if self.has_max_tracking:
            qd = self.track_matching_queue_dict
            for rec in tracked:
                if rec.track in qd:
                    qd[rec.track].append(MatchedFrameInstance(t, rec, stored_img))
                elif not self.max_tracking or len(qd) < self.max_tracks:
                    qd[rec.track] = deque([MatchedFrameInstance(t, rec, stored_img)],
                                          maxlen=self.track_window)
        else:
            self.track_matching_queue.append(MatchedFrameInstances(t, tracked, stored_img))
        out = [rec.instance for rec in tracked]
        if self.save_tracked_instances:
            self.tracked_instances[t] = out
        return out

    def _spawn(self, unmatched: List[MatchCandidate], t: int) -> List[MatchCandidate]:
        out = []
        for rec in unmatched:
            if rec.n_visible_points < self.min_new_track_points:
                continue
            if (self.has_max_tracking and self.max_tracking
                    and len(self.track_matching_queue_dict) >= self.max_tracks):
                break
            track = sio.Track(name=f"track_{len(self.spawned_tracks)}")
            self.spawned_tracks.append(track)
            rec.track = track
            rec.instance.track = track
            out.append(rec)
        return out

    # ---------------------------------------------------------------- many frames
    def final_pass(self, frames: list) -> None:
        """Post-processing after all frames: cleaning or break connection."""
        if self.cleaner:
            self.cleaner.run(frames)
        elif self.target_instance_count and self.post_connect_single_breaks:
            connect_single_track_breaks(frames, self.target_instance_count)

    def track_frames(self, labeled_frames: Sequence, images: Any = None,
                     progress: bool = False) -> list:
        """Track frames in order and run the final pass.

        Existing tracks on the instances are cleared first (as SLEAP's
        `run_tracker`). Frames are modified in place.

        Args:
            labeled_frames: `sleap_io.LabeledFrame`s in time order.
            images: For flow trackers: None (read each frame from `lf.video`), a
                callable `images(lf) -> (H, W[, C]) array`, or a sequence/array of
                frames aligned with `labeled_frames`.
            progress: Show a progress bar.

        Returns:
            The list of frames; `self.tracks` then holds the used tracks in spawn order.
        """
        frames = list(labeled_frames)
        if not self.is_valid:
            return frames
        frame_images = FrameImages(frames, images) if self.uses_image else None
        it = frames
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(frames, desc="Tracking", unit="frame")
        for i, lf in enumerate(it):
            self.track_labeled_frame(
                lf, frame_images(i) if frame_images is not None else None)
        return self.finish(frames)

    def track_labeled_frame(self, lf, img: Optional[np.ndarray] = None):
        """Track one `sleap_io.LabeledFrame` in place (streaming use).

        Clears the instances' tracks, tracks them and replaces `lf.instances` with
        the tracked ones. Call `finish` after the last frame.

        Args:
            lf: The frame.
            img: The frame image (needed by flow trackers).

        Returns:
            The same frame.
        """
        if not self.is_valid:
            return lf
        for inst in lf.instances:
            inst.track = None
        lf.instances = self.track(list(lf.instances), img_hw=frame_hw(lf, img), img=img,
                                  t=lf.frame_idx)
        return lf

    def finish(self, frames: list) -> list:
        """Run the final pass and set `tracks` to the used tracks in spawn order."""
        frames = list(frames)
        if not self.is_valid:
            return frames
        self.final_pass(frames)
        used = {id(inst.track) for lf in frames for inst in lf.instances
                if inst.track is not None}
        self.tracks = [tr for tr in self.spawned_tracks if id(tr) in used]
        return frames


def make_tracker_by_name(
        tracker: str = "flow", similarity: str = "instance", match: str = "greedy",
        track_window: int = 5, robust: float = 1.0, min_new_track_points: int = 0,
        min_match_points: int = 0, img_scale: float = 1.0, of_window_size: int = 21,
        of_max_levels: int = 3, save_shifted_instances: bool = False,
        target_instance_count: int = 0, pre_cull_to_target: bool = False,
        pre_cull_iou_threshold: Optional[float] = None,
        post_connect_single_breaks: bool = False, clean_instance_count: int = 0,
        clean_iou_threshold: Optional[float] = None, kf_init_frame_count: int = 0,
        kf_node_indices: Optional[list] = None, max_tracks: Optional[int] = None,
        max_tracking: bool = False, oks_errors: Optional[list] = None,
        oks_score_weighting: bool = False, oks_normalization: str = "all",
        **kwargs) -> Tracker:
    """Build a tracker from option names, with SLEAP 1.4.1's defaults.

    Args:
        tracker: "simple", "flow", "simplemaxtracks", "flowmaxtracks" or "none".
            With `max_tracking` (and `max_tracks`), "simple"/"flow" become the
            max-tracks variants.
        similarity: "instance", "normalized_instance", "centroid", "iou" or
            "object_keypoint".
        match: "greedy" or "hungarian".
        track_window: Frames of history to match against.
        robust: Quantile in (0, 1) of a track's candidate similarities; 1 = max.
        min_new_track_points: Minimum visible points to spawn a track.
        min_match_points: Minimum visible points of a candidate (flow: more found
            points than this).
        img_scale: Flow: image scale.
        of_window_size: Flow: window size per pyramid level.
        of_max_levels: Flow: pyramid levels.
        save_shifted_instances: Flow: chain shifts through saved shifted instances.
        target_instance_count: Target instances per frame.
        pre_cull_to_target: Cull to `target_instance_count` before tracking.
        pre_cull_iou_threshold: NMS overlap threshold for pre-culling.
        post_connect_single_breaks: Connect single track breaks after tracking
            (needs `target_instance_count`).
        clean_instance_count: Deprecated post-tracking cull-and-connect count.
        clean_iou_threshold: NMS overlap threshold of that cleaning.
        kf_init_frame_count: Kalman filter: frames tracked to initialise (0 = off).
        kf_node_indices: Kalman filter: node indices to filter.
        max_tracks: Track cap.
        max_tracking: Use the cap (only when `max_tracks` is set and > 0).
        oks_errors: Object keypoint similarity: per-node errors in pixels.
        oks_score_weighting: Object keypoint similarity: weight by point scores.
        oks_normalization: Object keypoint similarity: "all", "ref" or "union".
        **kwargs: Ignored (SLEAP accepts and ignores extra CLI keys).

    Returns:
        A `Tracker`, or a `KalmanTracker` (module `kalman`) with `kf_init_frame_count`.

    Raises:
        ValueError: Unknown names, or Kalman options without a target count or
            node indices.
    """
    max_tracking = bool(max_tracking) if max_tracks else False
    tracker = str(tracker)
    if max_tracking and tracker in ("simple", "flow"):
        tracker += "maxtracks"
    if tracker.lower() == "none":
        candidate_maker = similarity_function = matching_function = None
    else:
        if tracker not in tracker_policies:
            raise ValueError(f"{tracker} is not a valid tracker; use one of "
                             f"{sorted(tracker_policies)} or 'none'. Received: {tracker!r}")
        if similarity not in similarity_policies:
            raise ValueError(f"{similarity} is not a valid tracker similarity function; "
                             f"use one of {sorted(similarity_policies)}. "
                             f"Received: {similarity!r}")
        if match not in match_policies:
            raise ValueError(f"{match} is not a valid tracker matching function; use one "
                             f"of {sorted(match_policies)}. Received: {match!r}")
        candidate_maker = tracker_policies[tracker](min_points=min_match_points)
        if similarity == "object_keypoint":
            similarity_function = factory_object_keypoint_similarity(
                keypoint_errors=oks_errors, score_weighting=bool(oks_score_weighting),
                normalization_keypoints=oks_normalization)
        else:
            similarity_function = similarity_policies[similarity]
        matching_function = match_policies[match]
    if tracker in ("flow", "flowmaxtracks"):
        candidate_maker.img_scale = img_scale
        candidate_maker.of_window_size = of_window_size
        candidate_maker.of_max_levels = of_max_levels
        candidate_maker.save_shifted_instances = bool(save_shifted_instances)
        candidate_maker.track_window = track_window
    if tracker in ("simplemaxtracks", "flowmaxtracks"):
        candidate_maker.max_tracks = max_tracks

    cleaner = (TrackCleaner(instance_count=clean_instance_count,
                            iou_threshold=clean_iou_threshold)
               if clean_instance_count else None)
    pre_cull_function = None
    if target_instance_count and pre_cull_to_target:
        def pre_cull_function(inst_list):
            cull_frame_instances(inst_list, instance_count=target_instance_count,
                                 iou_threshold=pre_cull_iou_threshold)

    obj = Tracker(track_window=track_window, robust_best_instance=robust,
                  min_new_track_points=min_new_track_points,
                  similarity_function=similarity_function,
                  matching_function=matching_function, candidate_maker=candidate_maker,
                  cleaner=cleaner, pre_cull_function=pre_cull_function,
                  max_tracking=max_tracking, max_tracks=max_tracks,
                  target_instance_count=target_instance_count,
                  post_connect_single_breaks=bool(post_connect_single_breaks))
    if kf_init_frame_count and not target_instance_count:
        raise ValueError("Kalman filter requires target instance count. Received: "
                         f"kf_init_frame_count={kf_init_frame_count}, "
                         f"target_instance_count={target_instance_count}")
    if kf_init_frame_count:
        from sleapish.nn.tracking.kalman import KalmanTracker

        return KalmanTracker.make_tracker(
            init_tracker=obj, init_frame_count=kf_init_frame_count,
            node_indices=kf_node_indices, instance_count=target_instance_count,
            instance_iou_threshold=pre_cull_iou_threshold)
    return obj


def retrack(labels, tracker: Tracker, video=None, images: Any = None,
            progress: bool = False):
    """Track the predictions of a labels file again (SLEAP's retracking).

    Existing tracks are cleared, frames are tracked in frame order, and new labels
    are returned with the used tracks in spawn order. The input is modified in place
    (its instances get the new tracks).

    Args:
        labels: `sleap_io.Labels` with predicted instances.
        tracker: A `Tracker` (e.g. from `make_tracker_by_name`).
        video: Track only this video's frames (default: every video in turn).
        images: See `Tracker.track_frames` (None reads frames from the videos).
        progress: Show a progress bar.

    Returns:
        `sleap_io.Labels` with the tracked frames.
    """
    videos = [video] if video is not None else list(labels.videos)
    out_frames = []
    used: Dict[int, Any] = {}
    for v in videos:
        frames = sorted((lf for lf in labels.labeled_frames if lf.video is v),
                        key=lambda lf: lf.frame_idx)
        out_frames.extend(tracker.track_frames(frames, images=images, progress=progress))
        for tr in tracker.tracks:
            used.setdefault(id(tr), tr)
    tracks = list(used.values())
    return sio.Labels(labeled_frames=out_frames, videos=videos,
                      skeletons=list(labels.skeletons), tracks=tracks,
                      provenance=dict(labels.provenance))


__all__ = ["FrameMatches", "Match", "Tracker", "make_tracker_by_name", "retrack",
           "track_similarity_matrix"]

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
   A spawned instance keeps its tracking score, 0.0 when it had none (SLEAP's
   default).

Ties are broken as SLEAP broke them: rows in input order, columns in order of first
appearance among the candidates, SLEAP's matching order (`matching`). After the last
frame, `final_pass` runs the optional cleaning.

Example:
    >>> tracker = Tracker.make_tracker_by_name("simple")      # doctest: +SKIP
    >>> frames = tracker.track_frames(labels.labeled_frames)  # doctest: +SKIP
    >>> tracker.tracks                                        # doctest: +SKIP
    [Track(name='track_0'), Track(name='track_1')]
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence

import attrs
import numpy as np
import sleap_io as sio

from sleapish.nn.tracking.candidates import (
    FlowCandidateMaker,
    FlowMaxTracksCandidateMaker,
    MatchCandidate,
    MatchedFrameInstance,
    MatchedFrameInstances,
    SimpleCandidateMaker,
    SimpleMaxTracksCandidateMaker,
)
from sleapish.nn.tracking.cleaning import TrackCleaner, connect_single_track_breaks
from sleapish.nn.tracking.factory import build_tracker
from sleapish.nn.tracking.frame_matches import (
    FrameMatches,
    Match,
    default_tracking_score,
    track_similarity_matrix,
)
from sleapish.nn.tracking.frames import FrameImages, frame_hw
from sleapish.nn.tracking.matching import greedy_matching, hungarian_matching
from sleapish.nn.tracking.options import add_cli_parser_args, get_by_name_factory_options
from sleapish.nn.tracking.similarity import instance_iou, instance_similarity


class BaseTracker:
    """What every tracker offers (SLEAP's abstract `BaseTracker`)."""

    @property
    def is_valid(self) -> bool:
        """Whether the tracker does anything."""
        return False

    @property
    def uses_image(self) -> bool:  # pragma: no cover - interface
        """Whether frames are needed."""
        raise NotImplementedError

    def track(self, untracked_instances: list, img_hw=None, img=None, t=None) -> list:
        """Track one frame."""
        raise NotImplementedError  # pragma: no cover - interface

    def final_pass(self, frames: list) -> None:
        """Post-processing after all frames."""
        raise NotImplementedError  # pragma: no cover - interface

    def get_name(self) -> str:
        """Name used in output file names."""
        raise NotImplementedError  # pragma: no cover - interface


def _track_sort_key(spawned_on: Dict[int, int]):
    return lambda tr: (spawned_on.get(id(tr), 0), tr.name)


@attrs.define
class Tracker(BaseTracker):
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
        spawned_on: Frame (time step) each spawned track was spawned on, by `id`.
        tracks: After `finish`/`track_frames`, the spawned tracks still used, in
            SLEAP's `Labels.tracks` order: by spawn frame, then by name (as strings,
            so `track_10` comes before `track_9` when both spawned on one frame).
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
    spawned_on: Dict[int, int] = attrs.field(factory=dict, repr=False)

    def __attrs_post_init__(self):
        if self.track_matching_queue is None:
            self.track_matching_queue = deque(maxlen=self.track_window)

    # ------------------------------------------------------------------ factory
    @classmethod
    def make_tracker_by_name(
            cls, tracker: str = "flow", similarity: str = "instance",
            match: str = "greedy", track_window: int = 5, robust: float = 1.0,
            min_new_track_points: int = 0, min_match_points: int = 0,
            img_scale: float = 1.0, of_window_size: int = 21, of_max_levels: int = 3,
            save_shifted_instances: bool = False, target_instance_count: int = 0,
            pre_cull_to_target: bool = False,
            pre_cull_iou_threshold: Optional[float] = None,
            post_connect_single_breaks: bool = False, clean_instance_count: int = 0,
            clean_iou_threshold: Optional[float] = None, kf_init_frame_count: int = 0,
            kf_node_indices: Optional[list] = None, max_tracks: Optional[int] = None,
            max_tracking: bool = False, oks_errors: Optional[list] = None,
            oks_score_weighting: bool = False, oks_normalization: str = "all",
            **kwargs):
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
            min_match_points: Minimum visible points of a candidate (flow: more
                found points than this).
            img_scale: Flow: image scale.
            of_window_size: Flow: window size per pyramid level.
            of_max_levels: Flow: pyramid levels.
            save_shifted_instances: Flow: chain shifts through saved shifted
                instances.
            target_instance_count: Target instances per frame.
            pre_cull_to_target: Cull to `target_instance_count` before tracking.
            pre_cull_iou_threshold: NMS overlap threshold for pre-culling.
            post_connect_single_breaks: Connect single track breaks after tracking
                (needs `target_instance_count`).
            clean_instance_count: Deprecated post-tracking cull-and-connect count.
            clean_iou_threshold: NMS overlap threshold of that cleaning.
            kf_init_frame_count: Kalman filter: frames tracked to initialise
                (0 = off).
            kf_node_indices: Kalman filter: node indices to filter.
            max_tracks: Track cap.
            max_tracking: Use the cap (only when `max_tracks` is set and > 0).
            oks_errors: Object keypoint similarity: per-node errors in pixels.
            oks_score_weighting: Object keypoint similarity: weight by point scores.
            oks_normalization: Object keypoint similarity: "all", "ref" or "union".
            **kwargs: Ignored (SLEAP accepts and ignores extra CLI keys).

        Returns:
            An instance of `cls`, or a `KalmanTracker` wrapping one when
            `kf_init_frame_count` is set.

        Raises:
            ValueError: Unknown names, or Kalman options without a target count or
                node indices.
        """
        opts = dict(locals())
        for key in ("cls", "kwargs", "__class__"):
            opts.pop(key, None)
        return build_tracker(cls, **opts)

    @classmethod
    def get_by_name_factory_options(cls) -> List[dict]:
        """SLEAP's option table for `make_tracker_by_name` (see `options`)."""
        return get_by_name_factory_options()

    @classmethod
    def add_cli_parser_args(cls, parser, arg_scope: str = "") -> None:
        """Add `--[scope.]<option>` arguments to an argparse parser (see `options`)."""
        add_cli_parser_args(parser, arg_scope)

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
        """SLEAP's time step when none is given: the history's last step + 1.

        With a per-track history that is the last step of the (first) track with
        the most history items, as in SLEAP; 0 without history.
        """
        if self.has_max_tracking:
            qd = self.track_matching_queue_dict
            if not qd:
                return 0
            longest = max(qd, key=lambda tr: len(qd[tr]))
            return qd[longest][-1].t + 1 if qd[longest] else 0
        q = self.track_matching_queue
        return q[-1].t + 1 if q else 0

    def track(self, untracked_instances: list, img_hw: Optional[Sequence[int]] = None,
              img: Optional[np.ndarray] = None, t: Optional[int] = None) -> list:
        """Track one frame.

        Sets `track` (and `tracking_score`) on the instances in place.

        Args:
            untracked_instances: The frame's `sleap_io` instances. Culling (if any)
                removes instances from this list in place.
            img_hw: `(height, width)` of the frame (for "normalized_instance").
            img: The frame (`(H, W)`, `(H, W, C)`, uint8 or float in [0, 1]) for flow.
            t: Time step (frame index); defaults to the history's last step + 1.

        Returns:
            The tracked instances: matched ones (in match order), then those that
            spawned tracks. Instances that could not be tracked are left out.
        """
        if self.candidate_maker is None:
            return untracked_instances
        t = self._infer_t() if t is None else int(t)
        if img_hw is None and img is not None:
            shape = np.shape(img)
            img_hw = shape[-3:-1] if len(shape) >= 3 and shape[-1] in (1, 3) else shape[-2:]
        stored_img = self.candidate_maker.prepare_image(img) if self.uses_image else None

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
            fm = FrameMatches.from_candidate_instances(
                records, candidates, self.similarity_function, self.matching_function,
                self.robust_best_instance, img_hw)
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
            self.spawned_on[id(track)] = int(t)
            rec.track = track
            rec.instance.track = track
            default_tracking_score(rec.instance)  # SLEAP's 0.0 when it has none
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
            The list of frames; `self.tracks` then holds the used tracks.
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
        """Run the final pass and set `tracks` to the used tracks (SLEAP's order)."""
        frames = list(frames)
        if not self.is_valid:
            return frames
        self.final_pass(frames)
        used = {id(inst.track) for lf in frames for inst in lf.instances
                if inst.track is not None}
        self.tracks = sorted((tr for tr in self.spawned_tracks if id(tr) in used),
                             key=_track_sort_key(self.spawned_on))
        return frames


@attrs.define
class FlowTracker(Tracker):
    """A `Tracker` with optical flow candidates (SLEAP's `FlowTracker`)."""

    similarity_function: Optional[Callable] = instance_similarity
    matching_function: Optional[Callable] = greedy_matching
    candidate_maker: Any = attrs.field(factory=FlowCandidateMaker)


class _MaxTracksMixin:
    """Passes the tracker's `max_tracks` to its candidate maker (SLEAP's max-tracks
    trackers never did; their makers kept `max_tracks=None`)."""

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.candidate_maker.max_tracks = self.max_tracks


@attrs.define
class FlowMaxTracker(_MaxTracksMixin, Tracker):
    """Optical flow candidates with a track cap (SLEAP's `FlowMaxTracker`).

    `max_tracks` is required (keyword-only).
    """

    max_tracks: Optional[int] = attrs.field(kw_only=True)
    similarity_function: Optional[Callable] = instance_similarity
    matching_function: Optional[Callable] = greedy_matching
    candidate_maker: Any = attrs.field(factory=FlowMaxTracksCandidateMaker)
    max_tracking: bool = True


@attrs.define
class SimpleTracker(Tracker):
    """Candidates from the last frames, IoU, Hungarian (SLEAP's `SimpleTracker`)."""

    similarity_function: Optional[Callable] = instance_iou
    matching_function: Optional[Callable] = hungarian_matching
    candidate_maker: Any = attrs.field(factory=SimpleCandidateMaker)


@attrs.define
class SimpleMaxTracker(_MaxTracksMixin, Tracker):
    """`SimpleTracker` with a track cap (SLEAP's `SimpleMaxTracker`).

    `max_tracks` is required (keyword-only).
    """

    max_tracks: Optional[int] = attrs.field(kw_only=True)
    similarity_function: Optional[Callable] = instance_iou
    matching_function: Optional[Callable] = hungarian_matching
    candidate_maker: Any = attrs.field(factory=SimpleMaxTracksCandidateMaker)
    max_tracking: bool = True


def make_tracker_by_name(*args, **kwargs):
    """`Tracker.make_tracker_by_name` (a module-level shortcut; same arguments)."""
    return Tracker.make_tracker_by_name(*args, **kwargs)


make_tracker_by_name.__doc__ = (
    "`Tracker.make_tracker_by_name` as a function (same arguments and defaults).\n\n"
    + (Tracker.make_tracker_by_name.__doc__ or ""))

__all__ = ["BaseTracker", "FlowMaxTracker", "FlowTracker", "FrameMatches", "Match",
           "SimpleMaxTracker", "SimpleTracker", "Tracker", "make_tracker_by_name",
           "track_similarity_matrix"]

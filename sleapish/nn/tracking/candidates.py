"""Candidate makers: which earlier instances a new frame's instances are matched to.

* `SimpleCandidateMaker` ("simple"): the tracked instances of the last
  `track_window` frames.
* `FlowCandidateMaker` ("flow"): the same instances moved into the current frame by
  pyramidal Lucas–Kanade optical flow (OpenCV) on grayscale frames.
* `SimpleMaxTracksCandidateMaker`, `FlowMaxTracksCandidateMaker` ("simplemaxtracks",
  "flowmaxtracks"): keep a per-track history instead, and with `max_tracking` only
  the first `max_tracks` tracks are ever candidates.

Behaviour and numbers follow SLEAP 1.4.1 (`sleap.nn.tracking`).
"""

from __future__ import annotations

from typing import Any, Deque, Dict, List, Optional, Tuple

import attrs
import cv2
import numpy as np

from sleapish.errors import InvalidValueError


@attrs.define(eq=False, slots=True)
class MatchCandidate:
    """An instance as the tracker sees it (SLEAP's `ShiftedInstance` role).

    Attributes:
        points_array: `(n_nodes, 2)` float64 points, NaN = missing.
        track: The `sleap_io.Track` it belongs to (None before tracking).
        scores: `(n_nodes,)` float64 point scores, or None (user/shifted instances).
        instance: The underlying `sleap_io` instance (None for shifted copies).
        shift_score: Minus the mean optical flow error of the found points.
    """

    points_array: np.ndarray
    track: Any = None
    scores: Optional[np.ndarray] = None
    instance: Any = None
    shift_score: float = 0.0

    @property
    def n_visible_points(self) -> int:
        """Number of nodes without NaN."""
        return int((~np.isnan(self.points_array).any(axis=1)).sum())

    @classmethod
    def from_instance(cls, instance, track=None) -> MatchCandidate:
        """Wrap a `sleap_io` instance (points copied, invisible points NaN)."""
        pts = np.asarray(instance.numpy(), np.float64)
        scores = None
        names = getattr(instance.points.dtype, "names", None) or ()
        if "score" in names:
            scores = np.asarray(instance.points["score"], np.float64)
        return cls(points_array=pts, track=track if track is not None else instance.track,
                   scores=scores, instance=instance)


@attrs.define(slots=True)
class MatchedFrameInstances:
    """Tracked instances of one frame (the simple trackers' history item).

    Attributes:
        t: Frame time step.
        instances_t: The frame's tracked `MatchCandidate`s.
        img_t: The prepared (grayscale, scaled, uint8) frame for flow, or None.
    """

    t: int
    instances_t: List[MatchCandidate]
    img_t: Optional[np.ndarray] = None


@attrs.define(slots=True)
class MatchedFrameInstance:
    """One tracked instance of one frame (the max-tracks trackers' history item)."""

    t: int
    instance_t: MatchCandidate
    img_t: Optional[np.ndarray] = None


def ensure_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 image; floats in [0, 1] are scaled as TF's `convert_image_dtype`."""
    image = np.asarray(image)
    if image.dtype.kind == "f":
        if image.size and np.max(image) <= 1.0:
            return np.clip(image * 255.5, 0, 255).astype(np.uint8)
        return image.astype(np.uint8)
    return image.astype(np.uint8, copy=False)


def prepare_flow_image(image: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Frame -> 2-D uint8 grayscale image at `scale`, for optical flow.

    Args:
        image: `(H, W)`, `(H, W, C)` or `(1, H, W, C)` frame, uint8 or float in [0, 1].
            3-channel frames are taken as BGR (OpenCV's luma conversion, as SLEAP).
        scale: Resize factor.

    Returns:
        `(round(H * scale), round(W * scale))` uint8 array.
    """
    img = ensure_uint8(image)
    if img.ndim > 3:
        img = np.squeeze(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[-1] == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2GRAY)
    if scale != 1:
        img = cv2.resize(img, None, None, scale, scale)
    return np.ascontiguousarray(img)


def flow_shift_instances(ref_instances: List[MatchCandidate], ref_img: np.ndarray,
                         new_img: np.ndarray, min_shifted_points: int = 0,
                         scale: float = 1.0, window_size: int = 21,
                         max_levels: int = 3) -> List[MatchCandidate]:
    """Move instances from a reference frame into a new frame by optical flow.

    One `cv2.calcOpticalFlowPyrLK` call for all points of all instances (30
    iterations or 0.01 px, as SLEAP). Points flow did not find become NaN; instances
    with at most `min_shifted_points` found points are dropped.

    Args:
        ref_instances: Tracked instances in the reference frame.
        ref_img: Reference frame, already prepared (:func:`prepare_flow_image`).
        new_img: New frame, prepared the same way.
        min_shifted_points: Keep instances with more found points than this.
        scale: Scale the prepared images were resized by.
        window_size: Lucas–Kanade window size at each pyramid level.
        max_levels: Number of pyramid levels.

    Returns:
        Shifted `MatchCandidate`s (same tracks, no scores), in input order.
    """
    if not ref_instances:
        return []
    pts = [c.points_array for c in ref_instances]
    allpts = (np.concatenate(pts, axis=0).astype(np.float32) * scale).reshape(-1, 1, 2)
    shifted, status, errs = cv2.calcOpticalFlowPyrLK(
        ref_img, new_img, allpts, None, winSize=(window_size, window_size),
        maxLevel=max_levels,
        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    shifted = shifted.reshape(-1, 2).astype(np.float32) / scale
    status = status.reshape(-1).astype(bool)
    errs = errs.reshape(-1)
    out = []
    start = 0
    for ref, p in zip(ref_instances, pts):
        stop = start + len(p)
        found = status[start:stop]
        if found.sum() > min_shifted_points:
            new_pts = shifted[start:stop].astype(np.float64)
            new_pts[~found] = np.nan
            out.append(MatchCandidate(points_array=new_pts, track=ref.track,
                                      shift_score=-float(np.mean(errs[start:stop][found]))))
        start = stop
    return out


@attrs.define
class SimpleCandidateMaker:
    """Candidates are the tracked instances of the last frames.

    Attributes:
        min_points: Candidates need at least this many visible points.
    """

    min_points: int = 0

    @property
    def uses_image(self) -> bool:
        """Whether frames are needed."""
        return False

    def get_candidates(self, track_matching_queue: Deque[MatchedFrameInstances],
                       *args, **kwargs) -> List[MatchCandidate]:
        """Instances of the history, oldest frame first."""
        return [inst for item in track_matching_queue for inst in item.instances_t
                if inst.n_visible_points >= self.min_points]


@attrs.define
class SimpleMaxTracksCandidateMaker(SimpleCandidateMaker):
    """Per-track history; with `max_tracking` only the first `max_tracks` tracks.

    Attributes:
        max_tracks: Maximum number of tracks.
    """

    max_tracks: Optional[int] = None

    def get_candidates(self, track_matching_queue_dict: Dict[Any, Deque[MatchedFrameInstance]],
                       max_tracking: bool, *args, **kwargs) -> List[MatchCandidate]:
        """Instances of each track's history, tracks in spawn order."""
        out = []
        for k, items in enumerate(track_matching_queue_dict.values()):
            if max_tracking and k >= self.max_tracks:
                break
            out.extend(item.instance_t for item in items
                       if item.instance_t.n_visible_points >= self.min_points)
        return out


@attrs.define
class FlowCandidateMaker:
    """Candidates are the last frames' instances shifted by optical flow.

    Attributes:
        min_points: Shifted instances need more than this many found points.
        img_scale: Image scale for optical flow (smaller is faster, coarser).
        of_window_size: Lucas–Kanade window size at each pyramid level.
        of_max_levels: Number of pyramid levels.
        save_shifted_instances: Shift from the latest shifted copy of a reference
            frame (chained flow) instead of from the reference frame itself.
        track_window: History length (frames), used to prune saved shifts.
        shifted_instances: Saved shifts keyed by `(ref_t, t)`.
    """

    min_points: int = 0
    img_scale: float = 1.0
    of_window_size: int = 21
    of_max_levels: int = 3
    save_shifted_instances: bool = False
    track_window: int = 5
    shifted_instances: Dict[Tuple[int, int], MatchedShiftedFrameInstances] = attrs.field(
        factory=dict)

    @property
    def uses_image(self) -> bool:
        """Whether frames are needed."""
        return True

    def prepare_image(self, image) -> Optional[np.ndarray]:
        """A frame as stored in the history (grayscale uint8 at `img_scale`)."""
        return None if image is None else prepare_flow_image(image, self.img_scale)

    def prune_shifted_instances(self, t: int) -> None:
        """Forget saved shifts from reference frames older than `track_window`."""
        if self.save_shifted_instances:
            for key in [k for k in self.shifted_instances if t - k[0] > self.track_window]:
                del self.shifted_instances[key]

    def _latest_shift(self, ref_t: int, ref_img, ref_instances, t: int):
        for ti in range(t - 1, ref_t - 1, -1):
            saved = self.shifted_instances.get((ref_t, ti))
            if saved is not None and len(saved.instances_t) > 0:
                return saved.img_t, saved.instances_t
        return ref_img, ref_instances

    def get_shifted_instances(self, ref_instances, ref_img, ref_t: int, img,
                              t: int) -> List[MatchCandidate]:
        """Shift `ref_instances` from `ref_img` to `img` (and save if asked)."""
        if img is None or ref_img is None:
            raise InvalidValueError("The flow tracker needs frames: pass images to track_frames "
                                    "or frames with readable videos. Received: no image for "
                                    f"frame {t if img is None else ref_t}")
        shifted = flow_shift_instances(ref_instances, ref_img, img,
                                       min_shifted_points=self.min_points,
                                       scale=self.img_scale,
                                       window_size=self.of_window_size,
                                       max_levels=self.of_max_levels)
        if self.save_shifted_instances:
            self.shifted_instances[(ref_t, t)] = MatchedShiftedFrameInstances(
                ref_t, t, shifted, img)
        return shifted

    def _shift_from(self, ref_t, ref_img, ref_instances, img, t):
        if self.save_shifted_instances:
            ref_img, ref_instances = self._latest_shift(ref_t, ref_img, ref_instances, t)
        if len(ref_instances) > 0:
            return self.get_shifted_instances(ref_instances, ref_img, ref_t, img, t)
        return []

    def get_candidates(self, track_matching_queue: Deque[MatchedFrameInstances], t: int,
                       img: np.ndarray, *args, **kwargs) -> List[MatchCandidate]:
        """History instances shifted into frame `t` (`img` already prepared)."""
        self.prune_shifted_instances(t)
        out = []
        for item in track_matching_queue:
            out.extend(self._shift_from(item.t, item.img_t, item.instances_t, img, t))
        return out


def _same_image(a, b) -> bool:
    """SLEAP's `np.all(a == b)` test of two stored frames (None matches None)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))


@attrs.define
class FlowMaxTracksCandidateMaker(FlowCandidateMaker):
    """Optical flow candidates from a per-track history, at most `max_tracks` tracks.

    As SLEAP: for each history item of each allowed track (tracks in spawn order),
    *all* history instances of that item's frame (same time step and same image, of
    any track) are shifted into the current frame and added, so a frame's shifted
    instances appear once per history item of that frame. The flow of a frame is
    computed once and reused (the result is the same).

    Attributes:
        max_tracks: Maximum number of tracks.
    """

    max_tracks: Optional[int] = None

    def get_candidates(self, track_matching_queue_dict: Dict[Any, Deque[MatchedFrameInstance]],
                       max_tracking: bool, t: int, img: np.ndarray, *args,
                       **kwargs) -> List[MatchCandidate]:
        """History instances shifted into frame `t`, tracks in spawn order."""
        self.prune_shifted_instances(t)
        all_items = [item for items in track_matching_queue_dict.values() for item in items]
        cache: Dict[Tuple[int, int], List[MatchCandidate]] = {}
        out = []
        for k, items in enumerate(track_matching_queue_dict.values()):
            if max_tracking and k >= self.max_tracks:
                break
            for item in items:
                key = (item.t, id(item.img_t))
                if key not in cache:
                    refs = [it.instance_t for it in all_items
                            if it.t == item.t and _same_image(it.img_t, item.img_t)]
                    cache[key] = self._shift_from(item.t, item.img_t, refs, img, t)
                elif self.save_shifted_instances:  # SLEAP saved on every call
                    self.shifted_instances[(item.t, t)] = MatchedShiftedFrameInstances(
                        item.t, t, cache[key], img)
                out.extend(cache[key])
        return out


@attrs.define(slots=True)
class MatchedShiftedFrameInstances:
    """Instances of frame `ref_t` shifted into frame `t` (saved flow results)."""

    ref_t: int
    t: int
    instances_t: List[MatchCandidate]
    img_t: Optional[np.ndarray] = None


tracker_policies = dict(
    simple=SimpleCandidateMaker,
    flow=FlowCandidateMaker,
    simplemaxtracks=SimpleMaxTracksCandidateMaker,
    flowmaxtracks=FlowMaxTracksCandidateMaker,
)

__all__ = [
    "FlowCandidateMaker",
    "FlowMaxTracksCandidateMaker",
    "MatchCandidate",
    "MatchedFrameInstance",
    "MatchedFrameInstances",
    "MatchedShiftedFrameInstances",
    "SimpleCandidateMaker",
    "SimpleMaxTracksCandidateMaker",
    "ensure_uint8",
    "flow_shift_instances",
    "prepare_flow_image",
    "tracker_policies",
]

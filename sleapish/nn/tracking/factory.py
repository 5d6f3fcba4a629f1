"""Building a tracker from option names (`Tracker.make_tracker_by_name`'s body).

Kept apart from `trackers` so that the Kalman tracker (which wraps a `Tracker`) can
be built here without an import cycle: this module never imports `trackers`; the
tracker class is passed in.
"""

from __future__ import annotations

import logging
from typing import Optional

from sleapish.errors import InvalidValueError
from sleapish.nn.tracking.candidates import tracker_policies
from sleapish.nn.tracking.cleaning import TrackCleaner, cull_frame_instances
from sleapish.nn.tracking.kalman import KalmanTracker
from sleapish.nn.tracking.matching import match_policies
from sleapish.nn.tracking.similarity import factory_object_keypoint_similarity, similarity_policies

logger = logging.getLogger(__name__)

# Optical flow options and their defaults. SLEAP 1.4.1 applies them only when the
# tracker is "flow" (after "flow" + max_tracking has become "flowmaxtracks"), so a
# "flowmaxtracks" candidate maker keeps these defaults; reproduced, with a warning.
_FLOW_DEFAULTS = dict(img_scale=1.0, of_window_size=21, of_max_levels=3,
                      save_shifted_instances=False, track_window=5)


def build_tracker(cls, tracker: str = "flow", similarity: str = "instance",
                  match: str = "greedy", track_window: int = 5, robust: float = 1.0,
                  min_new_track_points: int = 0, min_match_points: int = 0,
                  img_scale: float = 1.0, of_window_size: int = 21,
                  of_max_levels: int = 3, save_shifted_instances: bool = False,
                  target_instance_count: int = 0, pre_cull_to_target: bool = False,
                  pre_cull_iou_threshold: Optional[float] = None,
                  post_connect_single_breaks: bool = False, clean_instance_count: int = 0,
                  clean_iou_threshold: Optional[float] = None,
                  kf_init_frame_count: int = 0, kf_node_indices: Optional[list] = None,
                  max_tracks: Optional[int] = None, max_tracking: bool = False,
                  oks_errors: Optional[list] = None, oks_score_weighting: bool = False,
                  oks_normalization: str = "all"):
    """Build `cls(...)` from SLEAP's tracker options (see
    `Tracker.make_tracker_by_name` for the arguments).

    Returns:
        An instance of `cls`, or a `KalmanTracker` wrapping one.
    """
    max_tracking = bool(max_tracking) if max_tracks else False
    tracker = str(tracker)
    if max_tracking and tracker in ("simple", "flow"):
        tracker += "maxtracks"
    if tracker.lower() == "none":
        candidate_maker = similarity_function = matching_function = None
    else:
        if tracker not in tracker_policies:
            raise InvalidValueError(f"{tracker} is not a valid tracker; use one of "
                                    f"{sorted(tracker_policies)} or 'none'. Received: {tracker!r}")
        if similarity not in similarity_policies:
            raise InvalidValueError(f"{similarity} is not a valid tracker similarity function; "
                                    f"use one of {sorted(similarity_policies)}. "
                                    f"Received: {similarity!r}")
        if match not in match_policies:
            raise InvalidValueError(f"{match} is not a valid tracker matching function; use one "
                                    f"of {sorted(match_policies)}. Received: {match!r}")
        candidate_maker = tracker_policies[tracker](min_points=min_match_points)
        if similarity == "object_keypoint":
            similarity_function = factory_object_keypoint_similarity(
                keypoint_errors=oks_errors, score_weighting=bool(oks_score_weighting),
                normalization_keypoints=oks_normalization)
        else:
            similarity_function = similarity_policies[similarity]
        matching_function = match_policies[match]
    flow_opts = dict(img_scale=img_scale, of_window_size=of_window_size,
                     of_max_levels=of_max_levels,
                     save_shifted_instances=bool(save_shifted_instances),
                     track_window=track_window)
    if tracker == "flow":
        for key, value in flow_opts.items():
            setattr(candidate_maker, key, value)
    elif tracker == "flowmaxtracks":
        ignored = {k: v for k, v in flow_opts.items()
                   if k != "track_window" and v != _FLOW_DEFAULTS[k]}
        if ignored:
            logger.warning("The flowmaxtracks tracker uses its default optical flow "
                           "options, as SLEAP 1.4.1 does; ignored: %s", ignored)
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

    obj = cls(track_window=track_window, robust_best_instance=robust,
              min_new_track_points=min_new_track_points,
              similarity_function=similarity_function,
              matching_function=matching_function, candidate_maker=candidate_maker,
              cleaner=cleaner, pre_cull_function=pre_cull_function,
              max_tracking=max_tracking, max_tracks=max_tracks,
              target_instance_count=target_instance_count,
              post_connect_single_breaks=bool(post_connect_single_breaks))
    if kf_init_frame_count and not target_instance_count:
        raise InvalidValueError("Kalman filter requires target instance count. Received: "
                                f"kf_init_frame_count={kf_init_frame_count}, "
                                f"target_instance_count={target_instance_count}")
    if kf_init_frame_count:
        return KalmanTracker.make_tracker(
            init_tracker=obj, init_frame_count=kf_init_frame_count,
            node_indices=kf_node_indices, instance_count=target_instance_count,
            instance_iou_threshold=pre_cull_iou_threshold)
    return obj


__all__ = ["build_tracker"]

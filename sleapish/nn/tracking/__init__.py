"""Tracking: identity of instances across frames (SLEAP 1.4.1's `sleap.nn.tracking`).

Modules: `candidates` (which earlier instances to match against: simple, optical
flow, max-tracks variants), `similarity` (vectorized instance similarities),
`matching` (greedy, Hungarian; SLEAP's tie order from `sorting`), `frame_matches`
(cost matrix and matches of a frame), `cleaning` (culling to a target count,
connecting single track breaks), `trackers` (`Tracker` and its
`make_tracker_by_name`, built by `factory`; option table in `options`), `run`
(`run_tracker`, `retrack`) and `kalman` (`KalmanTracker`, filters from
`kalman_filter`).

This package also stands for SLEAP's `sleap.nn.tracker.components` (same names).

Example:
    >>> from sleapish.nn.tracking import Tracker, retrack                   # doctest: +SKIP
    >>> tracked = retrack(labels, Tracker.make_tracker_by_name("simple"))   # doctest: +SKIP
"""

from sleapish.nn.tracking.candidates import (
    FlowCandidateMaker,
    FlowMaxTracksCandidateMaker,
    MatchCandidate,
    MatchedFrameInstance,
    MatchedFrameInstances,
    SimpleCandidateMaker,
    SimpleMaxTracksCandidateMaker,
    flow_shift_instances,
    prepare_flow_image,
    tracker_policies,
)
from sleapish.nn.tracking.cleaning import (
    TrackCleaner,
    connect_single_track_breaks,
    cull_frame_instances,
    cull_instances,
    nms_fast,
    nms_instances,
)
from sleapish.nn.tracking.frame_matches import (
    FrameMatches,
    InstanceType,
    Match,
    track_similarity_matrix,
)
from sleapish.nn.tracking.kalman import (
    BareKalmanTracker,
    KalmanTracker,
    get_track_instance_matches,
    match_dict_from_match_function,
    match_tuples_from_match_function,
    matches_from_match_tuples,
    remove_second_bests_from_cost_matrix,
)
from sleapish.nn.tracking.matching import (
    first_choice_matching,
    greedy_matching,
    hungarian_matching,
    match_policies,
)
from sleapish.nn.tracking.run import retrack, run_tracker
from sleapish.nn.tracking.similarity import (
    box_iou,
    centroid_distance,
    factory_object_keypoint_similarity,
    instance_iou,
    instance_similarity,
    normalized_instance_similarity,
    similarity_policies,
)
from sleapish.nn.tracking.sorting import legacy_argsort, sleap_argsort
from sleapish.nn.tracking.trackers import (
    BaseTracker,
    FlowMaxTracker,
    FlowTracker,
    SimpleMaxTracker,
    SimpleTracker,
    Tracker,
    make_tracker_by_name,
)

__all__ = [
    "BareKalmanTracker",
    "BaseTracker",
    "FlowMaxTracker",
    "FlowTracker",
    "SimpleMaxTracker",
    "SimpleTracker",
    "get_track_instance_matches",
    "legacy_argsort",
    "sleap_argsort",
    "match_dict_from_match_function",
    "match_tuples_from_match_function",
    "matches_from_match_tuples",
    "remove_second_bests_from_cost_matrix",
    "run_tracker",
    "FlowCandidateMaker",
    "FlowMaxTracksCandidateMaker",
    "FrameMatches",
    "InstanceType",
    "KalmanTracker",
    "Match",
    "MatchCandidate",
    "MatchedFrameInstance",
    "MatchedFrameInstances",
    "SimpleCandidateMaker",
    "SimpleMaxTracksCandidateMaker",
    "TrackCleaner",
    "Tracker",
    "box_iou",
    "centroid_distance",
    "connect_single_track_breaks",
    "cull_frame_instances",
    "cull_instances",
    "factory_object_keypoint_similarity",
    "first_choice_matching",
    "flow_shift_instances",
    "greedy_matching",
    "hungarian_matching",
    "instance_iou",
    "instance_similarity",
    "make_tracker_by_name",
    "match_policies",
    "nms_fast",
    "nms_instances",
    "normalized_instance_similarity",
    "prepare_flow_image",
    "retrack",
    "similarity_policies",
    "track_similarity_matrix",
    "tracker_policies",
]

"""Tracking: identity of instances across frames (SLEAP 1.4.1's `sleap.nn.tracking`).

Modules: `candidates` (which earlier instances to match against: simple, optical
flow, max-tracks variants), `similarity` (vectorized instance similarities),
`matching` (greedy, Hungarian), `cleaning` (culling to a target count, connecting
single track breaks), `trackers` (`Tracker`, `make_tracker_by_name`, `retrack`) and
`kalman` (`KalmanTracker`, filters from `kalman_filter`).

Example:
    >>> from sleapish.nn.tracking import make_tracker_by_name, retrack  # doctest: +SKIP
    >>> tracked = retrack(labels, make_tracker_by_name("simple"))       # doctest: +SKIP
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
from sleapish.nn.tracking.matching import (
    first_choice_matching,
    greedy_matching,
    hungarian_matching,
    match_policies,
)
from sleapish.nn.tracking.similarity import (
    box_iou,
    centroid_distance,
    factory_object_keypoint_similarity,
    instance_iou,
    instance_similarity,
    normalized_instance_similarity,
    similarity_policies,
)
from sleapish.nn.tracking.trackers import (
    FrameMatches,
    Match,
    Tracker,
    make_tracker_by_name,
    retrack,
    track_similarity_matrix,
)
from sleapish.nn.tracking.kalman import BareKalmanTracker, KalmanTracker  # noqa: E402

__all__ = [
    "BareKalmanTracker",
    "FlowCandidateMaker",
    "FlowMaxTracksCandidateMaker",
    "FrameMatches",
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

"""Culling to a target count (NMS + score) and connecting single track breaks."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from sleapish.nn.tracking import (
    TrackCleaner,
    connect_single_track_breaks,
    cull_frame_instances,
    cull_instances,
    nms_fast,
)

SKEL = sio.Skeleton(["a", "b"])


def _inst(x0, y0, x1, y1, score, track=None):
    return sio.PredictedInstance.from_numpy(
        np.array([[x0, y0], [x1, y1]], np.float64), skeleton=SKEL,
        point_scores=np.ones(2), score=score, track=track)


def test_nms_fast_hand_case():
    boxes = np.array([[0, 0, 9, 9], [1, 1, 9, 9], [50, 50, 59, 59]], np.float64)
    scores = np.array([0.9, 0.8, 0.7])
    # box 1 lies inside box 0: overlap = 81 / 81 = 1 > 0.5 -> suppressed
    assert nms_fast(boxes, scores, 0.5) == [0, 2]
    # fewer boxes than the target: all kept
    assert nms_fast(boxes, scores, 0.5, target_count=4) == [0, 1, 2]


def test_cull_frame_instances_nms_then_score():
    a = _inst(0, 0, 9, 9, 0.9)
    b = _inst(1, 1, 9, 9, 0.8)  # overlaps a
    c = _inst(50, 50, 59, 59, 0.7)
    d = _inst(80, 80, 89, 89, 0.1)
    insts = [a, b, c, d]
    cull_frame_instances(insts, instance_count=2, iou_threshold=0.5)
    assert insts == [a, c]
    insts = [a, b, c, d]
    cull_frame_instances(insts, instance_count=2)  # by score only
    assert insts == [a, b]
    insts = [a, b]
    cull_frame_instances(insts, instance_count=2)
    assert insts == [a, b]


def test_cull_instances_over_frames_sorts_and_keeps_user_instances():
    video = sio.Video(filename="fake.mp4")
    user = sio.Instance.from_numpy(np.array([[1.0, 1.0], [2.0, 2.0]]), skeleton=SKEL)
    lf1 = sio.LabeledFrame(video=video, frame_idx=1,
                           instances=[_inst(0, 0, 1, 1, 0.2), _inst(5, 5, 6, 6, 0.9), user])
    lf0 = sio.LabeledFrame(video=video, frame_idx=0, instances=[_inst(0, 0, 1, 1, 0.5)])
    frames = [lf1, lf0]
    cull_instances(frames, instance_count=1)
    assert [lf.frame_idx for lf in frames] == [0, 1]
    assert [getattr(i, "score", None) for i in lf1.instances] == [0.9, None]


def _frames(track_lists):
    video = sio.Video(filename="fake.mp4")
    return [sio.LabeledFrame(video=video, frame_idx=t,
                             instances=[_inst(0, 0, 1, 1, 1.0, track=tr) for tr in trs])
            for t, trs in enumerate(track_lists)]


def test_connect_single_track_breaks():
    a, b, c, d = (sio.Track(n) for n in "abcd")
    frames = _frames([[a, b], [a, c], [a, c], [a, b, d]])
    connect_single_track_breaks(frames, instance_count=2)
    assert [[i.track for i in lf.instances] for lf in frames] == [
        [a, b], [a, b], [a, b], [a, b, d]]


def test_connect_single_track_breaks_two_new_tracks_left_alone():
    a, b, c, d = (sio.Track(n) for n in "abcd")
    frames = _frames([[a, b], [c, d]])
    connect_single_track_breaks(frames, instance_count=2)
    assert [i.track for i in frames[1].instances] == [c, d]
    assert connect_single_track_breaks([], 2) == []


def test_track_cleaner_runs_cull_then_connect():
    a, b, c = (sio.Track(n) for n in "abc")
    frames = _frames([[a, b], [a, c, c]])
    frames[1].instances[2].score = 0.0  # lowest score goes
    TrackCleaner(instance_count=2).run(frames)
    assert [i.track for i in frames[1].instances] == [a, b]

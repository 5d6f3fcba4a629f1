"""Tracker behaviour on small hand-made sequences, and optical flow shifts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import sleap_io as sio

from sleapish.nn.tracking import (
    FlowCandidateMaker,
    MatchCandidate,
    SimpleCandidateMaker,
    Tracker,
    flow_shift_instances,
    greedy_matching,
    hungarian_matching,
    instance_similarity,
    make_tracker_by_name,
    prepare_flow_image,
    retrack,
)

SKEL = sio.Skeleton(["a", "b", "c"])
VIDEO = sio.Video(filename="fake.mp4")


def _inst(center, score=1.0, nan_node=None):
    pts = np.asarray(center, np.float64) + np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    if nan_node is not None:
        pts[nan_node] = np.nan
    return sio.PredictedInstance.from_numpy(pts, skeleton=SKEL, point_scores=np.ones(3),
                                            score=score)


def _frames(centers_per_frame):
    return [sio.LabeledFrame(video=VIDEO, frame_idx=t, instances=[_inst(c) for c in cs])
            for t, cs in enumerate(centers_per_frame)]


def test_make_tracker_by_name_defaults_and_errors():
    t = make_tracker_by_name()
    assert isinstance(t.candidate_maker, FlowCandidateMaker)
    assert t.similarity_function is instance_similarity
    assert t.matching_function is greedy_matching
    assert t.track_window == 5 and t.robust_best_instance == 1.0
    assert t.get_name() == "FlowCandidateMaker.instance_similarity.greedy_matching"
    s = make_tracker_by_name("simple", similarity="iou", match="hungarian")
    assert s.get_name() == "SimpleCandidateMaker.instance_iou.hungarian_matching"
    # max_tracking needs max_tracks; with it, simple -> simplemaxtracks
    assert not make_tracker_by_name("simple", max_tracking=True).has_max_tracking
    m = make_tracker_by_name("simple", max_tracking=True, max_tracks=2)
    assert m.has_max_tracking and m.candidate_maker.max_tracks == 2 and m.max_tracking
    assert not make_tracker_by_name("none").is_valid
    for bad in (dict(tracker="nope"), dict(similarity="nope"), dict(match="nope")):
        with pytest.raises(ValueError, match="Received"):
            make_tracker_by_name(**bad)
    with pytest.raises(ValueError, match="target instance count"):
        make_tracker_by_name("simple", kf_init_frame_count=5)


def test_track_names_spawn_order_and_scores():
    # two animals, then a third one appears in frame 2, and an empty frame 3
    frames = _frames([[(10, 10), (50, 50)], [(50.5, 50), (10.5, 10)],
                      [(11, 10), (51, 50), (90, 90)], [], [(11, 10), (51, 50)]])
    tracker = make_tracker_by_name("simple")
    out = tracker.track_frames(frames)
    names = [[i.track.name for i in lf.instances] for lf in out]
    # matched instances come first (greedy: best match first), spawned after
    assert names[0] == ["track_0", "track_1"]
    assert sorted(names[1]) == ["track_0", "track_1"]
    assert names[2][-1] == "track_2" and sorted(names[2][:2]) == ["track_0", "track_1"]
    assert names[3] == [] and sorted(names[4]) == ["track_0", "track_1"]
    assert [t.name for t in tracker.tracks] == ["track_0", "track_1", "track_2"]
    # identity kept: the animal at x ~ 10 stays on track_0
    for lf in out:
        for inst in lf.instances:
            if inst.numpy()[0, 0] < 30:
                assert inst.track.name == "track_0"
    # tracking score = similarity of the match (0.5 px shift on every node)
    moved = [i for i in out[1].instances if i.numpy()[0, 0] > 30][0]
    assert moved.tracking_score == pytest.approx(np.exp(-0.25))


def test_more_instances_than_tracks_and_nan_points():
    frames = [sio.LabeledFrame(video=VIDEO, frame_idx=0, instances=[_inst((10, 10))]),
              sio.LabeledFrame(video=VIDEO, frame_idx=1,
                               instances=[_inst((10, 10), nan_node=1), _inst((60, 60)),
                                          _inst((90, 90))])]
    tracker = make_tracker_by_name("simple", match="hungarian")
    out = tracker.track_frames(frames)
    tracks = [i.track.name for i in out[1].instances]
    assert tracks == ["track_0", "track_1", "track_2"]
    assert out[1].instances[0].tracking_score == pytest.approx(1.0)  # 2 of 2 visible


def test_min_new_track_points_drops_small_instances():
    small = _inst((40, 40), nan_node=0)
    frames = [sio.LabeledFrame(video=VIDEO, frame_idx=0, instances=[_inst((10, 10)), small])]
    tracker = make_tracker_by_name("simple", min_new_track_points=3)
    out = tracker.track_frames(frames)
    assert len(out[0].instances) == 1 and [t.name for t in tracker.tracks] == ["track_0"]


def test_max_tracks_caps_tracks():
    seq = [[(10, 10), (50, 50)], [(10, 10), (50, 50), (90, 90)]]
    capped = make_tracker_by_name("simple", max_tracking=True, max_tracks=2)
    out = capped.track_frames(_frames(seq))
    assert [t.name for t in capped.tracks] == ["track_0", "track_1"]
    assert len(out[1].instances) == 2  # the third instance cannot spawn: dropped
    free = make_tracker_by_name("simplemaxtracks", max_tracks=2)  # no max_tracking
    free.track_frames(_frames(seq))
    assert len(free.tracks) == 3


def test_track_window_forgets_old_tracks():
    frames = _frames([[(10, 10)], [], [], [(10, 10)]])
    t2 = make_tracker_by_name("simple", track_window=2)
    t2.track_frames(frames)
    assert len(t2.tracks) == 2
    t5 = make_tracker_by_name("simple", track_window=5)
    t5.track_frames(_frames([[(10, 10)], [], [], [(10, 10)]]))
    assert len(t5.tracks) == 1


def test_pre_cull_and_post_connect():
    seq = [[(10, 10), (50, 50), (52, 50)], [(10, 10)], [(10, 10), (90, 90)]]
    frames = _frames(seq)
    frames[0].instances[2].score = 0.1
    opts = dict(track_window=1, target_instance_count=2, pre_cull_to_target=True)
    tracker = make_tracker_by_name("simple", post_connect_single_breaks=True, **opts)
    out = tracker.track_frames(frames)
    assert len(out[0].instances) == 2  # culled to the target by score
    # the instance at (90, 90) spawned track_2, then took over the lost track_1
    assert sorted(i.track.name for i in out[2].instances) == ["track_0", "track_1"]
    assert [t.name for t in tracker.tracks] == ["track_0", "track_1"]
    frames = _frames(seq)
    frames[0].instances[2].score = 0.1
    plain = make_tracker_by_name("simple", **opts)
    plain.track_frames(frames)
    assert [t.name for t in plain.tracks] == ["track_0", "track_1", "track_2"]


def test_retrack_clears_existing_tracks():
    frames = _frames([[(10, 10), (50, 50)], [(10, 10), (50, 50)]])
    old = sio.Track("old")
    for lf in frames:
        for inst in lf.instances:
            inst.track = old
    labels = sio.Labels(labeled_frames=frames)
    out = retrack(labels, make_tracker_by_name("simple", match="hungarian"))
    assert [t.name for t in out.tracks] == ["track_0", "track_1"]
    assert len(out) == 2


def _texture(h=96, w=96, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (h // 4, w // 4)).astype(np.float32)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(img, (5, 5), 1.5).clip(0, 255).astype(np.uint8)


def test_flow_shift_on_translated_image():
    img0 = _texture()
    dx, dy = 3, 2
    img1 = np.roll(np.roll(img0, dy, axis=0), dx, axis=1)
    pts = np.array([[30.0, 40.0], [50.0, 50.0], [60.0, 35.0], [np.nan, np.nan]])
    cand = MatchCandidate(points_array=pts, track=sio.Track("x"))
    shifted = flow_shift_instances([cand], prepare_flow_image(img0), prepare_flow_image(img1))
    assert len(shifted) == 1 and shifted[0].track is cand.track
    np.testing.assert_allclose(shifted[0].points_array[:3], pts[:3] + [dx, dy], atol=0.1)
    # images given as float [0, 1] RGB and at half scale give the same shift
    rgb0 = np.repeat(img0[..., None], 3, -1) / 255.0
    rgb1 = np.repeat(img1[..., None], 3, -1) / 255.0
    half = flow_shift_instances([cand], prepare_flow_image(rgb0, 0.5),
                                prepare_flow_image(rgb1, 0.5), scale=0.5)
    np.testing.assert_allclose(half[0].points_array[:3], pts[:3] + [dx, dy], atol=0.5)


def test_flow_tracker_follows_moving_texture():
    base = _texture(seed=1)
    imgs = np.stack([np.roll(base, 2 * t, axis=1) for t in range(4)])
    centers = [[(20 + 2 * t, 30), (20 + 2 * t, 70)] for t in range(4)]
    frames = _frames(centers)
    tracker = make_tracker_by_name("flow", match="hungarian")
    out = tracker.track_frames(frames, images=imgs)
    assert [t.name for t in tracker.tracks] == ["track_0", "track_1"]
    for lf in out[1:]:
        for inst in lf.instances:
            assert inst.track.name == ("track_0" if inst.numpy()[0, 1] < 50 else "track_1")
            assert inst.tracking_score > 0.5
    # a callable image source and saved shifted instances work too
    t2 = make_tracker_by_name("flow", save_shifted_instances=True)
    t2.track_frames(_frames(centers), images=lambda lf: imgs[lf.frame_idx])
    assert len(t2.tracks) == 2 and t2.candidate_maker.shifted_instances
    t3 = make_tracker_by_name("flowmaxtracks", max_tracks=2, max_tracking=True)
    t3.track_frames(_frames(centers), images=imgs)
    assert len(t3.tracks) == 2


def test_tracker_dataclass_direct_use():
    tracker = Tracker(candidate_maker=SimpleCandidateMaker(),
                      matching_function=hungarian_matching)
    a = _inst((5, 5))
    out = tracker.track([a], t=0)
    assert out == [a] and a.track.name == "track_0"
    b = _inst((5, 6))
    tracker.track([b])  # t inferred
    assert b.track is a.track and tracker.last_matches.has_only_first_choice_matches


@pytest.mark.parametrize("similarity", ["instance", "centroid", "iou", "object_keypoint"])
@pytest.mark.parametrize("match", ["greedy", "hungarian"])
def test_every_similarity_and_matcher_keeps_identities(similarity, match):
    frames = _frames([[(10, 10), (50, 50)], [(51, 50), (11, 10)], [(12, 10), (52, 50)]])
    tracker = make_tracker_by_name("simple", similarity=similarity, match=match,
                                   oks_score_weighting=True, robust=0.95)
    out = tracker.track_frames(frames)
    assert [t.name for t in tracker.tracks] == ["track_0", "track_1"]
    for lf in out:
        for inst in lf.instances:
            assert inst.track.name == ("track_0" if inst.numpy()[0, 0] < 30 else "track_1")


def test_normalized_instance_needs_frame_size():
    tracker = make_tracker_by_name("simple", similarity="normalized_instance")
    a, b = _inst((10, 10)), _inst((11, 10))
    tracker.track([a], img_hw=(100, 200), t=0)
    tracker.track([b], img_hw=(100, 200), t=1)
    assert b.track is a.track
    assert b.tracking_score == pytest.approx(np.exp(-(1 / 200) ** 2))
    with pytest.raises(ValueError, match="frame size"):
        tracker.track([_inst((12, 10))], t=2)

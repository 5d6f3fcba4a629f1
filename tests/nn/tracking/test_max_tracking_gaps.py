"""SLEAP 1.4.1's max-tracking scenarios (its `test_tracker_components.py` builds
them with SLEAP's own Skeleton/Instance classes; here with sleap-io's), and its
NMS removal case."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from sleapish.nn.tracking import Tracker, nms_instances

SKEL = sio.Skeleton(["A", "B", "C"])


def _frames(trx):
    def inst(x, y):
        pts = np.array([[-0.1, -0.1], [0.0, 0.0], [0.1, 0.1]]) + np.array([[x, y]])
        return sio.PredictedInstance.from_numpy(pts, SKEL, point_scores=np.ones(3),
                                                score=1.0)
    return [[inst(x, y) for x, y in frame] for frame in trx]


def _n_tracks(trx, **kwargs):
    tracker = Tracker.make_tracker_by_name(match="hungarian", track_window=2, **kwargs)
    tracked = [tracker.track(insts, img_hw=(1, 1)) for insts in _frames(trx)]
    return len({id(i.track) for frame in tracked for i in frame})


ONE_GAP = [[(0, 0), (0, 1)], [(0.1, 0), (0.1, 1)], [(0.2, 0), (0.2, 1)], [(0.3, 0)],
           [(0.4, 0)], [(0.5, 0), (0.5, 1)], [(0.6, 0), (0.6, 1)]]
BOTH_GAP = ONE_GAP[:3] + [[], []] + ONE_GAP[5:]
EXTRA = ONE_GAP[:6] + [[(0.6, 0), (0.6, 1), (0.6, 0.5)]]


@pytest.mark.parametrize("trx,plain,capped", [(ONE_GAP, 3, 2), (BOTH_GAP, 4, 2),
                                              (EXTRA, 4, 2)])
def test_gaps_longer_than_the_window(trx, plain, capped):
    # without a cap, a track unseen for more than track_window frames is lost and a
    # new one spawns; with max_tracking the per-track history keeps the 2 tracks
    assert _n_tracks(trx, tracker="simple") == plain
    assert _n_tracks(trx, tracker="simplemaxtracks", max_tracks=2,
                     max_tracking=True) == capped


def test_nms_instances_removes_the_suppressed_low_score_instance():
    skel = sio.Skeleton(["a", "b"])

    def inst(a, b, score):
        return sio.PredictedInstance.from_numpy(np.array([a, b], float), skel,
                                                point_scores=np.ones(2), score=score)
    insts = [inst((10, 10), (20, 20), 1.0), inst((10, 10), (15, 15), 0.3),
             inst((30, 30), (40, 40), 1.0), inst((32, 32), (42, 42), 0.5)]
    keep, remove = nms_instances(insts, iou_threshold=0.5, target_count=3)
    assert remove == [insts[1]] and keep == [insts[0], insts[2], insts[3]]

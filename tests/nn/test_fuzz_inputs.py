"""Fuzzing (hypothesis): trackers and evals on random instances; configs from
mutated SLEAP JSON; labels and model files truncated at random offsets.

Each must either work or raise one of sleapish's named errors, never a bare
`KeyError` / `TypeError` / `IndexError` or a crash, and leave no partial output.
"""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest
import sleap_io as sio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleapish.nn import evals
from sleapish.nn.config import ConfigError, TrainingJobConfig
from sleapish.nn.tracking import Tracker

_FUZZ = settings(max_examples=20, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow,
                                        HealthCheck.function_scoped_fixture])
SKEL = sio.Skeleton(["a", "b", "c"])
_COORD = st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.floats(0, 64),
                   st.sampled_from([0.0, -0.5, 63.5, 1e30, -1e30]))


@st.composite
def _instance(draw, predicted=True):
    pts = np.array([[draw(_COORD), draw(_COORD)] for _ in range(3)], np.float64)
    if not predicted:
        return sio.Instance.from_numpy(pts, SKEL)
    scores = np.array([draw(st.floats(0, 1)) for _ in range(3)])
    return sio.PredictedInstance.from_numpy(pts, SKEL, point_scores=scores,
                                            score=draw(st.floats(0, 10)))


_FRAMES = st.lists(st.lists(_instance(), max_size=4), min_size=1, max_size=6)


@_FUZZ
@given(frames=_FRAMES, tracker=st.sampled_from(
    ["simple", "flow", "simplemaxtracks", "flowmaxtracks"]),
       similarity=st.sampled_from(["instance", "normalized_instance", "centroid",
                                   "iou", "object_keypoint"]),
       match=st.sampled_from(["greedy", "hungarian"]), kalman=st.booleans())
def test_every_tracker_takes_random_instances(frames, tracker, similarity, match,
                                              kalman):
    kwargs = dict(max_tracks=2, max_tracking=True) if "maxtracks" in tracker else {}
    if kalman:
        kwargs.update(target_instance_count=2, kf_init_frame_count=2,
                      kf_node_indices=[0, 1])
    t = Tracker.make_tracker_by_name(tracker=tracker, similarity=similarity,
                                     match=match, track_window=3, **kwargs)
    img = np.zeros((64, 64), np.uint8)
    for i, insts in enumerate(frames):
        out = t.track(list(insts), img_hw=(64, 64), img=img + (i % 2) * 40, t=i)
        assert len(out) <= len(insts)
        assert all(o.track is None or o.track.name for o in out)
    # (No cap on the tracks spawned in one frame: SLEAP 1.4.1 counts the capped
    # tracks only after a frame's spawns, so a first frame of 4 spawns 4.)


@st.composite
def _labels_pair(draw):
    video = sio.Video(filename="fuzz.mp4")
    gt, pr = [], []
    for idx in range(draw(st.integers(0, 3))):
        gt.append(sio.LabeledFrame(video=video, frame_idx=idx, instances=draw(
            st.lists(_instance(predicted=False), max_size=3))))
        pr.append(sio.LabeledFrame(video=video, frame_idx=idx, instances=draw(
            st.lists(_instance(), max_size=3))))
    return (sio.Labels(labeled_frames=gt, videos=[video], skeletons=[SKEL]),
            sio.Labels(labeled_frames=pr, videos=[video], skeletons=[SKEL]))


@_FUZZ
@given(pair=_labels_pair())
def test_evaluate_takes_random_labels(pair):
    with np.errstate(all="ignore"):
        m = evals.evaluate(*pair)
    if not any(lf.instances for lf in pair[0]):
        assert m == {}  # no frame pairs (no user instances): no metrics, as SLEAP
        return
    assert 0.0 <= m["oks_voc.mAP"] <= 1.0 or np.isnan(m["oks_voc.mAP"])
    for k in ("dist.avg", "oks.mOKS", "pck.mPCK"):
        assert k in m


@_FUZZ
@given(gt=st.lists(_instance(predicted=False), min_size=1, max_size=3),
       pr=st.lists(_instance(), min_size=1, max_size=3))
def test_compute_oks_takes_nans_and_extremes(gt, pr):
    a = np.stack([i.numpy() for i in gt])
    b = np.stack([i.numpy() for i in pr])
    with np.errstate(all="ignore"):
        oks = evals.compute_oks(a, b)
    assert oks.shape == (len(gt), len(pr))
    finite = oks[np.isfinite(oks)]
    assert ((finite >= 0) & (finite <= 1 + 1e-9)).all()


# ---------------------------------------------------------------- configs
def _sleap_config():
    from sleapish.nn.training.profiles import find_profile

    return json.loads(open(find_profile("baseline_medium_rf.bottomup")).read())


def _paths(d, prefix=()):
    for k, v in d.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


_BAD_VALUES = st.sampled_from([None, "text", -3, 1.5, [], {}, [1, "x"], True,
                               {"unexpected": 1}, 10**12])


@_FUZZ
@given(data=st.data(), mutation=st.sampled_from(["delete", "retype", "extra",
                                                  "two_heads"]))
def test_load_config_on_mutated_sleap_json_raises_a_named_config_error(data, mutation):
    cfg = _sleap_config()
    paths = sorted(_paths(cfg))
    path = data.draw(st.sampled_from(paths))
    parent = cfg
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    if mutation == "delete":
        del parent[key]
    elif mutation == "retype":
        parent[key] = data.draw(_BAD_VALUES)
    elif mutation == "extra":
        parent["not_a_field"] = data.draw(_BAD_VALUES)
    else:
        cfg["model"]["heads"]["centroid"] = copy.deepcopy(
            _sleap_config()["model"]["heads"]["multi_instance"]["confmaps"])
        cfg["model"]["heads"]["centroid"]["anchor_part"] = None
    try:
        TrainingJobConfig.from_json(json.dumps(cfg), source="mutated.json")
    except ConfigError as e:
        msg = str(e)
        assert "mutated.json" in msg and "\n" not in msg.strip(), msg
        if mutation == "retype":
            assert any(k in msg for k in path), (path, msg)
        if mutation == "two_heads":
            assert "centroid" in msg and "multi_instance" in msg, msg


# ---------------------------------------------------------------- truncated files
@pytest.fixture(scope="module")
def small_slp(tmp_path_factory, synthetic):
    return synthetic.labels_path


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(0.0, 0.999))
def test_truncated_slp_raises_labels_file_error(fraction, small_slp, tmp_path):
    from sleapish.io.labels import LabelsFileError, load_file

    data = open(small_slp, "rb").read()
    bad = tmp_path / "truncated.slp"
    bad.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(LabelsFileError, match="truncated.slp"):
        load_file(str(bad))


@pytest.fixture(scope="module")
def model_folder(shared_data, tmp_path_factory):
    return shared_data / "models" / "minimal_instance.UNet.centroid"


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(0.0, 0.999))
def test_truncated_model_raises_a_named_error_and_writes_no_output(
        fraction, model_folder, tmp_path_factory):
    from sleapish.nn.inference.cli import main
    from sleapish.nn.inference.loading import ModelFolderError

    folder = tmp_path_factory.mktemp("model")
    for f in model_folder.iterdir():
        shutil.copy(f, folder / f.name)
    data = (model_folder / "best_model.h5").read_bytes()
    (folder / "best_model.h5").write_bytes(data[:int(len(data) * fraction)])
    out = folder / "out.slp"
    video = model_folder.parents[1] / "videos" / "centered_pair_small.mp4"
    with pytest.raises(ModelFolderError, match="best_model.h5"):  # (one line, exit 2
        main([str(video), "-m", str(folder), "--frames", "0-1", "-o", str(out),  # as
              "--verbosity", "none"])  # the command)
    assert not out.exists() and not list(folder.glob(".*tmp*"))

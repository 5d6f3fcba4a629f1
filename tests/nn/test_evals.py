"""Evaluation metrics: hand-built labels with known answers, and SLEAP parity.

Parity targets: `metrics.val.npz` written by SLEAP 1.4.1 in the bottomup and
centered_instance model folders, recomputed here from the `labels_gt.val.slp` /
`labels_pr.val.slp` files next to them.
"""

from __future__ import annotations

import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
from numpy.testing import assert_allclose, assert_array_equal

from sleapish.io import load_file
from sleapish.nn.evals import (
    PositivePair,
    SleapObject,
    UnsafePickleError,
    compute_dist_metrics,
    compute_dists,
    compute_generalized_voc_metrics,
    compute_instance_area,
    compute_oks,
    compute_pck_metrics,
    evaluate,
    evaluate_model,
    find_frame_pairs,
    load_metrics,
    match_frame_pairs,
    match_instances,
    save_metrics,
)
from sleapish.nn.evals_io import restricted_loads

SKEL = sio.Skeleton(["a", "b"])
GT_A = np.array([[0.0, 0.0], [10.0, 10.0]])  # bbox area 100
GT_B = np.array([[50.0, 50.0], [70.0, 60.0]])  # bbox area 200


# ---------------------------------------------------------------------- helpers
def _video(name="clip.mp4"):
    return sio.Video(filename=name, open_backend=False)


def _labels(frames, video=None):
    """`frames`: {frame_idx: [(points, score or None), ...]} on one video."""
    video = _video() if video is None else video
    lfs = []
    for fidx, insts in frames.items():
        objs = [sio.Instance.from_numpy(p, skeleton=SKEL) if s is None else
                sio.PredictedInstance.from_numpy(p, skeleton=SKEL, score=s)
                for p, s in insts]
        lfs.append(sio.LabeledFrame(video=video, frame_idx=fidx, instances=objs))
    return sio.Labels(labeled_frames=lfs, videos=[video], skeletons=[SKEL])


def _gt(*frames):
    return _labels({i: [(p, None) for p in pts] for i, pts in enumerate(frames)})


# -------------------------------------------------------------------------- OKS
def test_instance_area():
    assert_allclose(compute_instance_area(GT_A), [100.0])
    pts = np.array([GT_B, [[1.0, 1.0], [np.nan, np.nan]]])
    assert_allclose(compute_instance_area(pts), [200.0, 0.0])


def test_oks_known_offset_coco_and_paper():
    pr = GT_A + [1.0, 0.0]  # squared distance 1 at both nodes
    eps = np.spacing(1)
    coco = np.exp(-1.0 / ((2 * 0.025) ** 2 * 2 * (100 + eps)))
    paper = np.exp(-1.0 / (0.025 ** 2 * 2 * (100 + eps) ** 2))
    assert_allclose(compute_oks(GT_A, pr), [[coco]], rtol=1e-12)
    assert_allclose(compute_oks(GT_A, pr, use_cocoeval=False), [[paper]], rtol=1e-12)
    assert_allclose(coco, np.exp(-2.0), rtol=1e-9)
    # Explicit scale, per-node stddev.
    oks = compute_oks(GT_A, pr, scale=50.0, stddev=np.array([0.025, 0.05]))
    expected = np.mean([np.exp(-1 / (0.0025 * 100)), np.exp(-1 / (0.01 * 100))])
    assert_allclose(oks, [[expected]], rtol=1e-9)


def test_oks_missing_points_and_pairwise_shape():
    pr_missing = GT_A.copy()
    pr_missing[1] = np.nan
    assert_allclose(compute_oks(GT_A, pr_missing), [[0.5]])  # missing pred node -> 0
    gt_missing = GT_B.copy()
    gt_missing[0] = np.nan  # only node b counts, and the area is 0
    oks = compute_oks(np.stack([GT_A, gt_missing]), np.stack([GT_A, GT_B, GT_A]))
    assert oks.shape == (2, 3)
    assert_allclose(oks[0], [1.0, 0.0, 1.0], atol=1e-12)
    assert_allclose(oks[1, 1], 1.0)


# --------------------------------------------------------------------- matching
def test_perfect_predictions():
    labels_gt = _gt([GT_A, GT_B], [GT_B])
    labels_pr = _labels({0: [(GT_B, 0.9), (GT_A, 0.8)], 1: [(GT_B, 0.7)]})
    m = evaluate(labels_gt, labels_pr)
    for key in ("oks.mOKS", "oks_voc.mAP", "oks_voc.mAR", "pck_voc.mAP", "pck.mPCK",
                "vis.precision", "vis.recall"):
        assert_allclose(m[key], 1.0, err_msg=key)
    assert m["dist.avg"] == 0 and m["dist.p99"] == 0
    assert (m["vis.tp"], m["vis.fp"], m["vis.tn"], m["vis.fn"]) == (6, 0, 0, 0)
    assert m["dist.frame_idxs"] == [0, 0, 1]
    assert m["dist.video_paths"] == ["clip.mp4"] * 3
    assert m["oks_voc.precisions"].shape == (10, 101)


def test_missed_instance_is_false_negative():
    labels_gt = _gt([GT_A, GT_B])
    labels_pr = _labels({0: [(GT_B + 0.1, 0.9)]})  # OKS exp(-0.02) > 0.95
    (frame_pair,) = find_frame_pairs(labels_gt, labels_pr)
    pos, neg = match_instances(*frame_pair)
    assert len(pos) == 1 and len(neg) == 1
    assert pos[0][0] is frame_pair[0].instances[1] and neg[0] is frame_pair[0].instances[0]
    m = evaluate(labels_gt, labels_pr)
    assert_allclose(m["oks_voc.mAR"], 0.5)
    assert_allclose(m["oks_voc.recalls"], 0.5)
    # Precision 1 up to recall 0.5 (51 of 101 recall thresholds), 0 beyond.
    assert_allclose(m["oks_voc.mAP"], 51 / 101)


def test_greedy_matching_by_score_and_threshold():
    labels_gt = _gt([GT_A])
    # The higher-scored (worse) prediction takes the only ground truth.
    labels_pr = _labels({0: [(GT_A + 0.1, 0.2), (GT_A + 1.0, 0.9)]})
    pos, neg = match_frame_pairs(find_frame_pairs(labels_gt, labels_pr))
    assert len(pos) == 1 and not neg and pos[0][1].score == pytest.approx(0.9)
    oks = pos[0][2]
    assert_allclose(oks, compute_oks(GT_A, GT_A + 1.0)[0, 0])
    pos, neg = match_frame_pairs(find_frame_pairs(labels_gt, labels_pr), threshold=0.99)
    assert not pos and len(neg) == 1
    assert evaluate(labels_gt, labels_pr, match_threshold=0.99)["oks_voc.mAR"] == 0


def test_find_frame_pairs_video_and_frames():
    labels_gt = _gt([GT_A], [GT_B], [GT_A])
    pr_other = _labels({0: [(GT_A, 1.0)]}, video=_video("other.mp4"))
    assert find_frame_pairs(labels_gt, pr_other) == []
    assert evaluate(labels_gt, pr_other) == {}
    labels_pr = _labels({0: [(GT_A, 1.0)], 2: [(GT_A, 1.0)], 5: [(GT_A, 1.0)]})
    pairs = find_frame_pairs(labels_gt, labels_pr)
    assert [(g.frame_idx, p.frame_idx) for g, p in pairs] == [(0, 0), (2, 2)]
    # Ground-truth frames with only predictions count only if user_labels_only=False.
    labels_gt.labeled_frames[1].instances = [
        sio.PredictedInstance.from_numpy(GT_B, skeleton=SKEL, score=1.0)]
    labels_pr2 = _labels({1: [(GT_B, 1.0)]})
    assert find_frame_pairs(labels_gt, labels_pr2) == []
    m = evaluate(labels_gt, labels_pr2, user_labels_only=False)
    assert_allclose(m["oks.mOKS"], 1.0)


# ------------------------------------------------------------ distances and PCK
def test_dists_pck_and_visibility():
    pr = GT_A + [[0.5, 0.0], [0.0, 2.5]]
    labels_gt, labels_pr = _gt([GT_A, GT_B]), _labels({0: [(pr, 1.0)]})
    pos, _ = match_frame_pairs(find_frame_pairs(labels_gt, labels_pr))
    d = compute_dists(pos)
    assert_allclose(d["dists"], [[0.5, 2.5]])
    pck = compute_pck_metrics(d["dists"])
    assert pck["pck.pcks"].shape == (1, 2, 10)
    assert_array_equal(pck["pck.pcks"][0, 1], np.arange(1, 11) > 2.5)
    assert_allclose(pck["pck.mPCK_parts"], [1.0, 0.8])
    assert_allclose(pck["pck.mPCK"], 0.9)
    dm = compute_dist_metrics(d)
    assert_allclose(dm["dist.avg"], 1.5)
    assert_allclose(dm["dist.p50"], 1.5)
    assert_allclose(dm["dist.p90"], np.percentile([0.5, 2.5], 90))
    # A missing predicted node: NaN distance, a visibility false negative.
    pr_missing = GT_A.copy()
    pr_missing[1] = np.nan
    m = evaluate(_gt([GT_A]), _labels({0: [(pr_missing, 1.0)]}))
    assert (m["vis.tp"], m["vis.fn"], m["vis.fp"]) == (1, 1, 0)
    assert_allclose(m["vis.recall"], 0.5)
    assert np.isnan(m["dist.dists"][0, 1]) and m["dist.avg"] == 0
    assert_allclose(m["pck.mPCK"], 0.5)


def test_voc_ranks_by_detection_score():
    inst = types.SimpleNamespace
    pairs = [PositivePair(None, inst(score=s), 0.0) for s in (0.1, 0.9, 0.5)]
    out = compute_generalized_voc_metrics(pairs, [None], np.array([0.6, 0.4, 0.97]),
                                          name="x")
    assert_allclose(out["x.match_scores"], [0.4, 0.97, 0.6])
    # At threshold 0.5: FP, TP, TP -> recall 2/4; precision after interpolation 2/3.
    assert_allclose(out["x.recalls"][0], 0.5)
    assert_allclose(out["x.precisions"][0, :51], 2 / 3 - np.spacing(1), rtol=1e-12)
    assert_allclose(out["x.precisions"][0, 51:], 0.0)
    assert out["x.AP"].shape == out["x.AR"].shape == (10,)


# ------------------------------------------------------------------------- files
def test_npz_roundtrip_plain_arrays(tmp_path):
    m = evaluate(_gt([GT_A, GT_B]), _labels({0: [(GT_B + 0.5, 0.9), (GT_A, 0.8)]}))
    save_metrics(tmp_path / "metrics.val.npz", m)
    with np.load(tmp_path / "metrics.val.npz", allow_pickle=False) as data:
        assert set(data.files) == set(m)
        assert_allclose(data["oks_voc.mAP"], m["oks_voc.mAP"])
    loaded = load_metrics(tmp_path)
    assert set(loaded) == set(m)
    for key, value in m.items():
        if isinstance(value, list):
            assert loaded[key] == value, key
        else:
            assert_array_equal(loaded[key], value, err_msg=key)
            assert np.ndim(loaded[key]) == np.ndim(value), key
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_evaluate_model_writes_atomically(tmp_path):
    labels_gt, labels_pr = _gt([GT_A]), _labels({0: [(GT_A, 1.0)]})
    run = tmp_path / "models" / "run1"  # created, as SLEAP's Labels.save_file does
    cfg = types.SimpleNamespace(outputs=types.SimpleNamespace(run_path=str(run)))
    out_pr, m = evaluate_model(cfg, labels_gt, split_name="val", labels_pr=labels_pr)
    assert out_pr is labels_pr and m["oks_voc.mAP"] == pytest.approx(1.0)
    assert sorted(p.name for p in run.iterdir()) == ["labels_pr.val.slp",
                                                     "metrics.val.npz"]
    assert load_metrics(run / "metrics.val.npz")["oks.mOKS"] == 1.0
    # A failed write leaves nothing behind.
    with pytest.raises(FileNotFoundError):
        save_metrics(tmp_path / "missing" / "metrics.npz", m)
    cfg.outputs.run_path = str(tmp_path / "x")
    _, m = evaluate_model(cfg, labels_gt, save=False, labels_pr=labels_pr)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="model"):
        evaluate_model(cfg, labels_gt, save=False)


def test_compute_dists_uses_instance_frames():
    """SLEAP's instances know their frame; plain `(gt, pr, oks)` tuples of such
    instances get frame indices and video paths too."""
    video = types.SimpleNamespace(backend=types.SimpleNamespace(filename="a.mp4"))
    frame = types.SimpleNamespace(frame_idx=7, video=video)
    gt = types.SimpleNamespace(numpy=lambda: GT_A, frame=frame)
    pr = types.SimpleNamespace(numpy=lambda: GT_A + [[3.0, 4.0], [0.0, 1.0]])
    d = compute_dists([(gt, pr, np.nan)])
    assert_allclose(d["dists"], [[5.0, 1.0]])
    assert d["frame_idxs"] == [7] and d["video_paths"] == ["a.mp4"]
    d = compute_dists([(types.SimpleNamespace(numpy=lambda: GT_A), pr, 0.0)])
    assert d["frame_idxs"] == [None] and d["video_paths"] == [None]


def _sleap_style_npz(path, obj):
    arr = np.empty((), dtype=object)
    arr[()] = obj
    np.savez_compressed(path, metrics=arr)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_restricted_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "metrics.val.npz"
    _sleap_style_npz(path, {"oks.mOKS": 1.0, "x": _Evil(marker)})
    with pytest.raises(UnsafePickleError, match=r"(os|posix|nt)\.system"):
        load_metrics(path)
    with pytest.raises(UnsafePickleError, match="eval"):
        restricted_loads(b"cbuiltins\neval\n(S'1'\ntR.")
    assert not marker.exists()


def test_sleap_objects_become_placeholders(tmp_path, monkeypatch):
    # A SLEAP object built with NEWOBJ + BUILD.
    obj = restricted_loads(b"\x80\x02csleap.instance\nInstance\n)\x81}X\x01\x00\x00\x00xK\x01sb.")
    assert isinstance(obj, SleapObject) and obj.state == {"x": 1}
    assert obj.sleap_class == "sleap.instance.Instance"
    # An array subclass from SLEAP (like `PointArray` in `vis.*`) -> plain scalars.
    mod, pkg = types.ModuleType("sleap.instance"), types.ModuleType("sleap")
    PointArray = type("PointArray", (np.ndarray,), {"__module__": "sleap.instance"})
    mod.PointArray, pkg.instance = PointArray, mod
    monkeypatch.setitem(sys.modules, "sleap", pkg)
    monkeypatch.setitem(sys.modules, "sleap.instance", mod)
    tp = np.array(4, dtype=np.int32).view(PointArray)
    pts = np.ones((2, 2)).view(PointArray)
    path = tmp_path / "metrics.val.npz"
    _sleap_style_npz(path, {"vis.tp": tp, "pts": pts, "oks.mOKS": np.float64(0.5)})
    monkeypatch.delitem(sys.modules, "sleap")
    monkeypatch.delitem(sys.modules, "sleap.instance")
    m = load_metrics(path)
    assert type(m["vis.tp"]) is np.int32 and m["vis.tp"] == 4
    assert type(m["pts"]) is np.ndarray and m["pts"].shape == (2, 2)
    assert m["oks.mOKS"] == 0.5
    assert "sleap" not in sys.modules


# ------------------------------------------------------------------ SLEAP parity
MODELS = ["minimal_instance.UNet.bottomup", "minimal_instance.UNet.centered_instance"]


@pytest.mark.shared_data
def test_load_metrics_sleap_file_is_plain(shared_data):
    m = load_metrics(shared_data / "models" / MODELS[0], split="val")
    assert {"oks_voc.mAP", "oks.mOKS", "pck.mPCK", "dist.p95", "vis.precision"} <= set(m)
    for key, value in m.items():
        assert type(value) is np.ndarray or isinstance(value, (np.generic, list)), key
        assert not isinstance(value, np.ndarray) or value.dtype != object, key
    with zipfile.ZipFile(shared_data / "models" / MODELS[0] / "metrics.val.npz") as zf:
        assert b"sleap.instance" in zf.read("metrics.npy")  # really references SLEAP


@pytest.mark.shared_data
@pytest.mark.parametrize("model", MODELS)
def test_evaluate_matches_sleap_metrics(shared_data, model):
    folder = shared_data / "models" / model
    labels_gt = load_file(folder / "labels_gt.val.slp", open_videos=False)
    labels_pr = load_file(folder / "labels_pr.val.slp", open_videos=False)
    ours, ref = evaluate(labels_gt, labels_pr), load_metrics(folder)
    for key in ("oks_voc.mAP", "oks_voc.mAR", "oks.mOKS", "pck_voc.mAP", "pck.mPCK",
                "dist.avg", "dist.p50", "dist.p75", "dist.p90", "dist.p95", "dist.p99",
                "vis.precision", "vis.recall", "vis.tp", "vis.fn"):
        assert key in ref and key in ours, key
    shared = set(ref) & set(ours)
    assert set(ref) <= set(ours)
    for key in sorted(shared):
        a, b = np.asarray(ref[key]), np.asarray(ours[key])
        assert a.shape == b.shape, key
        assert_allclose(b.astype(float), a.astype(float), atol=1e-6, rtol=0, err_msg=key)


@pytest.mark.shared_data
def test_evaluate_model_predicts_like_sleap(shared_data, tmp_path):
    """SLEAP's signature: `evaluate_model(cfg, labels_gt, model)` predicts the
    ground-truth frames itself; on SLEAP's bottom-up model its metrics are SLEAP's."""
    import sleapish
    from sleapish.nn.config import TrainingJobConfig
    from sleapish.nn.data.providers import LabelsReader
    from sleapish.nn.inference import load_keras_model
    from sleapish.nn.model import Model

    folder = shared_data / "models" / MODELS[0]
    cfg = TrainingJobConfig.load_json(str(folder / "training_config.json"))
    cfg.outputs.runs_folder = str(tmp_path)
    gt = sleapish.load_file(folder / "labels_gt.val.slp",
                            search_paths=[shared_data / "videos"])
    model = Model.from_config(cfg.model, skeleton=gt.skeletons[0])
    model.keras_model = load_keras_model(folder)
    reader = LabelsReader(labels=gt, user_instances_only=True)
    labels_pr, m = evaluate_model(cfg=cfg, labels_gt=reader, model=model, save=True,
                                  split_name="test")
    assert len(labels_pr) == len(gt)
    ref = load_metrics(folder, split="val")
    for key in ("oks_voc.mAP", "oks.mOKS", "dist.avg", "vis.tp", "pck.mPCK"):
        assert_allclose(m[key], ref[key], atol=1e-4, err_msg=key)
    run = Path(cfg.outputs.run_path)
    assert load_metrics(run, split="test")["oks_voc.mAP"] == pytest.approx(m["oks_voc.mAP"])
    assert (run / "labels_pr.test.slp").is_file()

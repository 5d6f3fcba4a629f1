"""load_model + predictors on SLEAP's trained models: parity and SLEAP's expectations."""

from __future__ import annotations

import numpy as np
import pytest

import sleapish

CENTROID = "minimal_instance.UNet.centroid"
CENTERED = "minimal_instance.UNet.centered_instance"
SCALED = "minimal_instance.UNet.centered_instance_with_scaling"
BOTTOMUP = "minimal_instance.UNet.bottomup"
SINGLE = "minimal_robot.UNet.single_instance"
BU_MC = "min_tracks_2node.UNet.bottomup_multiclass"
TD_MC = "min_tracks_2node.UNet.topdown_multiclass"


def _m(shared_data, *names):
    return [str(shared_data / "models" / n) for n in names]


def _labels(shared_data, rel):
    return sleapish.load_file(shared_data / rel, search_paths=[shared_data / "videos"])


def _sorted(frame):
    insts = sorted(frame.instances, key=lambda i: float(np.nanmean(i.numpy()[:, 0])))
    return (np.stack([i.numpy() for i in insts]), np.array([i.score for i in insts]),
            np.stack([[p for p in i.points["score"]] for i in insts]))


@pytest.mark.slow
@pytest.mark.parametrize("models, folder, score_atol", [
    ((BOTTOMUP,), BOTTOMUP, 1e-3),
    ((CENTERED,), CENTERED, 1e-3),
    # best_model.h5 is epoch 13, SLEAP wrote labels_pr with epoch 23's weights still in
    # memory (early stopping): centroid values differ by up to 5.4e-3, points do not.
    ((CENTROID,), CENTROID, 1e-2),
])
def test_predictions_equal_sleaps_own(shared_data, models, folder, score_atol):
    predictor = sleapish.load_model(_m(shared_data, *models), progress_reporting="none")
    for split in ("train", "val"):
        gt = _labels(shared_data, f"models/{folder}/labels_gt.{split}.slp")
        want = sleapish.load_file(shared_data / "models" / folder / f"labels_pr.{split}.slp",
                                  open_videos=False)
        got = predictor.predict(gt)
        assert len(got) == len(want) == len(gt)
        for lf_got, lf_want in zip(got, want):
            assert lf_got.frame_idx == lf_want.frame_idx
            assert len(lf_got.instances) == len(lf_want.instances)
            p1, s1, v1 = _sorted(lf_got)
            p2, s2, v2 = _sorted(lf_want)
            np.testing.assert_allclose(p1, p2, atol=0.01)
            np.testing.assert_allclose(s1, s2, atol=score_atol)
            np.testing.assert_allclose(v1, v2, atol=1e-3)


@pytest.mark.slow
def test_input_shapes_with_and_without_resizing(shared_data):
    expected = {CENTROID: (None, 384, 384, 1), CENTERED: (None, 96, 96, 1),
                SCALED: (None, 56, 56, 1), SINGLE: (None, 160, 280, 3),
                BU_MC: (None, 512, 512, 1), TD_MC: (None, 128, 128, 1)}
    for name, shape in expected.items():
        fixed = sleapish.load_model(_m(shared_data, name), resize_input_layer=False,
                                    progress_reporting="none")
        model = getattr(fixed, "centroid_model", None) or getattr(fixed, "confmap_model", None) \
            or getattr(fixed, "model", None)
        if name in (CENTERED, SCALED, TD_MC):
            model = fixed.confmap_model
        # As SLEAP: predictor.<x>_model is the model wrapper; its keras_model the network.
        assert tuple(model.keras_model.input_shape) == shape, name
        assert fixed.is_grayscale == (shape[-1] == 1)
        free = sleapish.load_model(_m(shared_data, name), progress_reporting="none")
        model = (free.confmap_model if name in (CENTERED, SCALED, TD_MC, SINGLE)
                 else getattr(free, "centroid_model", None) or free.model)
        assert tuple(model.keras_model.input_shape) == (None, None, None, shape[-1]), name


def test_single_instance_expectations(shared_data):
    labels = _labels(shared_data, "labels/small_robot_minimal.slp")
    predictor = sleapish.load_model(_m(shared_data, SINGLE), progress_reporting="none")
    out = predictor.predict(labels)
    assert len(out) == 2 and [len(lf.instances) for lf in out] == [1, 1]
    for lf_pred, lf_gt in zip(out, labels):
        err = np.abs(lf_pred.instances[0].numpy() - lf_gt.instances[0].numpy())
        assert np.nanmax(err) < 10
    strict = sleapish.load_model(_m(shared_data, SINGLE), peak_threshold=1.5,
                                 progress_reporting="none")
    assert [len(lf.instances) for lf in strict.predict(labels)] == [0, 0]


@pytest.mark.slow
def test_topdown_and_bottomup_expectations(shared_data):
    labels = _labels(shared_data, "labels/minimal_instance.slp")
    gt = np.stack([i.numpy() for i in labels[0].instances])
    for models, atol in [((CENTROID, SCALED), 1.5), ((CENTROID, CENTERED), 1.75),
                         ((BOTTOMUP,), 1.75)]:
        out = sleapish.load_model(_m(shared_data, *models),
                                  progress_reporting="none").predict(labels)
        pred = np.stack([i.numpy() for i in out[0].instances])
        assert len(pred) == 2, models
        order = [int(np.argmin(np.nanmean(np.abs(gt - p), axis=(1, 2)))) for p in pred]
        assert sorted(order) == [0, 1]
        np.testing.assert_allclose(pred, gt[order], atol=atol)
    from sleapish.nn.inference import BottomUpPredictor

    none = BottomUpPredictor.from_trained_models(*_m(shared_data, BOTTOMUP),
                                                 min_line_scores=1.1)
    none.verbosity = "none"
    assert len(none.predict(labels)[0].instances) == 0


@pytest.mark.slow
def test_one_topdown_predictor_takes_384_and_1024_frames(shared_data):
    predictor = sleapish.load_model(_m(shared_data, CENTROID, CENTERED),
                                    progress_reporting="none")
    from sleapish.nn.data.providers import VideoReader

    small = sleapish.load_video(shared_data / "videos" / "centered_pair_low_quality.mp4")
    big = sleapish.load_video(shared_data / "videos" / "clip.mp4")
    a = predictor.predict(VideoReader(small, [0, 1]))
    b = predictor.predict(VideoReader(big, [0, 1]))
    assert len(a) == 2 and len(b) == 2
    assert len(a[0].instances) == 2  # the flies the model was trained on
    pts = np.concatenate([i.numpy() for lf in b for i in lf.instances] or [np.zeros((0, 2))])
    assert np.all((pts[~np.isnan(pts)] >= -1) & (pts[~np.isnan(pts)] <= 1025))


@pytest.mark.slow
@pytest.mark.parametrize("models", [(BU_MC,), (CENTROID, TD_MC)])
def test_multiclass_tracks_match_ground_truth(shared_data, models):
    clip = _labels(shared_data, "labels/clip.2node.slp")
    one = sleapish.Labels(labeled_frames=[clip[0]], videos=clip.videos,
                          skeletons=clip.skeletons, tracks=clip.tracks)
    if TD_MC in models:  # SLEAP's test uses ground-truth centroids for top-down
        models = (TD_MC,)
    predictor = sleapish.load_model(_m(shared_data, *models), peak_threshold=0.7,
                                    refinement="local", progress_reporting="none")
    out = predictor.predict(one)[0]
    assert len(out.instances) == 2
    by_track = {i.track.name: i.numpy() for i in out.instances}
    for inst in clip[0].instances:
        np.testing.assert_allclose(by_track[inst.track.name], inst.numpy(), rtol=0.02)


def test_written_predictions_have_sleaps_hdf5_layout(shared_data, tmp_path):
    import h5py

    predictor = sleapish.load_model(_m(shared_data, BU_MC), progress_reporting="none")
    from sleapish.nn.data.providers import VideoReader

    video = sleapish.load_video(shared_data / "videos" / "clip.mp4")
    out = tmp_path / "clip.predictions.slp"
    sleapish.save_file(predictor.predict(VideoReader(video, [0, 1])), out)
    with h5py.File(shared_data / "labels" / "clip.predictions.slp", "r") as ref, \
            h5py.File(out, "r") as ours:
        assert set(ref.keys()) <= set(ours.keys())
        for key in ("frames", "instances", "pred_points"):
            assert ours[key].dtype.names == ref[key].dtype.names, key
    back = sleapish.load_file(out, search_paths=[shared_data / "videos"])
    assert sorted(t.name for t in back.tracks) == ["female", "male"]


@pytest.mark.slow
def test_multiclass_bottomup_scores_are_sleaps(shared_data):
    """Instance score = mean point confidence, tracking score = mean class
    probability, as SLEAP 1.4.1 writes them (its output on clip.mp4 frames 0-4,
    where TF 2.15 and 2.21 pick the same peaks; other frames: tests/nn/test_identity.py)."""
    from pathlib import Path

    from sleapish.nn.data.providers import VideoReader

    ref = np.load(Path(shared_data).parent / "reference_runs" / "multiclass_clip_0-149.npz")
    predictor = sleapish.load_model(_m(shared_data, BU_MC), progress_reporting="none")
    video = sleapish.load_video(shared_data / "videos" / "clip.mp4")
    labels = predictor.predict(VideoReader(video, example_indices=list(range(5))))
    got = {(lf.frame_idx, i.track.name): i for lf in labels for i in lf.instances}
    names = ["female", "male"]
    rows = np.flatnonzero(ref["frame_idx"] < 5)
    assert len(got) == len(rows) == 10
    for r in rows:
        inst = got[(int(ref["frame_idx"][r]), names[ref["track_ind"][r]])]
        np.testing.assert_allclose(inst.numpy(), ref["points"][r], atol=0.01)
        assert inst.score == pytest.approx(ref["score"][r], abs=1e-5)
        assert inst.tracking_score == pytest.approx(ref["tracking_score"][r], abs=1e-6)
        assert inst.score == pytest.approx(float(np.nanmean(inst.points["score"])), abs=1e-6)


@pytest.mark.slow
def test_inference_model_rebuilt_from_predictor_settings(shared_data):
    """SLEAP's predictor API: settings live on the predictor, and
    `_initialize_inference_model()` rebuilds the inference model from them."""
    predictor = sleapish.load_model(_m(shared_data, CENTROID), progress_reporting="none")
    labels = _labels(shared_data, "labels/minimal_instance.slp")
    assert predictor.is_grayscale
    assert predictor.inference_model.centroid_crop.max_instances is None
    counts = []
    for n in (1, 2, 3):
        predictor.max_instances = n
        predictor._initialize_inference_model()
        assert predictor.inference_model.centroid_crop.max_instances == n
        counts.append(len(predictor.predict(labels)[0].instances))
    assert counts == [1, 2, 2]
    predictor.peak_threshold = 1.5  # no centroid reaches it
    predictor._initialize_inference_model()
    assert len(predictor.predict(labels)[0].instances) == 0
    # A predictor made without an inference model builds it when predicting.
    predictor.inference_model = None
    predictor.peak_threshold = 0.2
    assert len(predictor.predict(labels)[0].instances) == 2


@pytest.mark.slow
def test_bottomup_max_instances_keeps_the_highest_scores(shared_data):
    labels = _labels(shared_data, "labels/minimal_instance.slp")
    all_ = sleapish.load_model(_m(shared_data, BOTTOMUP), progress_reporting="none")
    scores = sorted((i.score for i in all_.predict(labels)[0].instances), reverse=True)
    assert len(scores) == 2
    one = sleapish.load_model(_m(shared_data, BOTTOMUP), max_instances=1,
                              progress_reporting="none")
    kept = one.predict(labels)[0].instances
    assert [i.score for i in kept] == pytest.approx(scores[:1])

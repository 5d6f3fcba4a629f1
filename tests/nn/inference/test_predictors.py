"""Predictors and load_model on model folders made here (the CLI: test_cli.py)."""

from __future__ import annotations

import numpy as np
import pytest
from model_folders import make_model_folder

import sleapish
from sleapish.nn.config import (
    CenteredInstanceConfmapsHeadConfig,
    CentroidsHeadConfig,
    HeadsConfig,
)
from sleapish.nn.inference import ModelFolderError, load_model


@pytest.fixture(scope="module")
def folders(synthetic, tmp_path_factory):
    labels = sleapish.load_file(synthetic.labels_path)
    root = tmp_path_factory.mktemp("models")
    centroid = make_model_folder(root / "centroid", HeadsConfig(centroid=CentroidsHeadConfig(
        anchor_part="thorax", output_stride=2)), labels)
    centered = make_model_folder(root / "centered", HeadsConfig(
        centered_instance=CenteredInstanceConfmapsHeadConfig(anchor_part="thorax",
                                                             output_stride=2)),
        labels, crop=48)
    return centroid, centered, labels


@pytest.mark.slow
def test_load_model_and_predict_arrays_and_labels(folders, synthetic):
    centroid, centered, labels = folders
    predictor = load_model([centered, centroid], progress_reporting="none",
                           max_instances=2)
    assert type(predictor).__name__ == "TopDownPredictor"
    frames = sleapish.read_frames(labels.video, [0, 1, 2])
    out = predictor.predict(frames)
    assert len(out) == 3 and [lf.frame_idx for lf in out] == [0, 1, 2]
    assert all(len(lf.instances) <= 2 for lf in out)
    raw = predictor.predict(frames, make_labels=False)
    assert sum(len(b["frame_ind"]) for b in raw) == 3
    assert raw[0]["instance_peaks"].shape[2:] == (4, 2)
    labeled = predictor.predict(labels)
    assert len(labeled) == len(labels) and labeled.video is labels.video
    assert labeled.skeleton.node_names == labels.skeleton.node_names
    # Centroid-only: the instances come from the ground truth, exactly.
    gt_points = load_model(centroid, progress_reporting="none").predict(labels)
    assert len(gt_points) == len(labels)


@pytest.mark.slow
def test_ground_truth_halves_need_labels(folders):
    _, centered, labels = folders
    # Random weights: accept every global peak so each ground-truth centroid yields an
    # instance.
    predictor = load_model(centered, progress_reporting="none", peak_threshold=-1e9)
    predictor.keep_outside_points = True  # random weights: keep every peak
    with pytest.raises(ValueError, match="ground-truth labels"):
        predictor.predict(sleapish.read_frames(labels.video, [0]))
    out = predictor.predict(labels)
    assert [len(lf.instances) for lf in out] == [2] * len(labels)
    assert all(i.score == 1.0 for lf in out for i in lf.instances)  # GT centroid value


def test_bad_inputs(folders, tmp_path):
    centroid, centered, labels = folders
    with pytest.raises(ModelFolderError, match="not found"):
        load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "training_config.json").write_text(
        (centroid / "training_config.json").read_text())
    with pytest.raises(ModelFolderError, match="best_model.h5"):
        load_model(tmp_path / "empty")
    predictor = load_model(centroid, progress_reporting="none")
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        predictor.predict(str(tmp_path / "missing.mp4"))
    with pytest.raises(TypeError, match="Received: int"):
        predictor.predict(42)
    with pytest.raises(ValueError, match="n_frames, height, width"):
        predictor.predict(np.zeros((4, 4), np.uint8))


@pytest.mark.slow
def test_from_trained_models_and_visual_predictor(folders):
    from sleapish.nn.inference import TopDownPredictor, VisualPredictor

    centroid, centered, labels = folders
    pred = TopDownPredictor.from_trained_models(centroid_model_path=centroid,
                                                confmap_model_path=centered, batch_size=2)
    assert isinstance(pred, TopDownPredictor) and pred.batch_size == 2
    assert pred.centroid_config.model.heads.centroid.anchor_part == "thorax"
    vis = VisualPredictor.from_trained_models(centroid)
    vis.verbosity = "none"
    out = vis.predict(sleapish.read_frames(labels.video, [0, 1, 2]))
    assert sum(len(b["frame_ind"]) for b in out) == 3
    assert out[0]["CentroidConfmapsHead"].shape[1:] == (64, 64, 1)
    assert out[0]["image"].dtype == np.uint8


def test_model_given_by_json_or_zip(folders, tmp_path):
    import shutil

    centroid, centered, labels = folders
    by_json = load_model(centroid / "training_config.json", progress_reporting="none")
    archive = shutil.make_archive(str(tmp_path / "centroid"), "zip", centroid.parent,
                                  centroid.name)
    by_zip = load_model(archive, progress_reporting="none")
    assert type(by_json) is type(by_zip)
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(b"not a zip")
    with pytest.raises(ModelFolderError, match="unreadable"):
        load_model(bad_zip)
    with pytest.raises(ValueError, match="not a valid tracker"):
        load_model(centroid, tracker="nope")


@pytest.mark.slow
def test_rgb_frames_into_gray_model_are_converted_with_a_note(folders, caplog):
    import logging

    centroid, centered, labels = folders
    gray = sleapish.read_frames(labels.video, [0, 1])
    rgb = np.repeat(gray, 3, axis=-1)
    predictor = load_model([centroid, centered], progress_reporting="none",
                           peak_threshold=0.0)
    with caplog.at_level(logging.WARNING, logger="sleapish"):
        from_rgb = predictor.predict(rgb, make_labels=False)
    assert "3 channel(s) but the model takes 1" in caplog.text
    from_gray = predictor.predict(gray, make_labels=False)
    np.testing.assert_allclose(from_rgb[0]["centroid_vals"], from_gray[0]["centroid_vals"],
                               atol=1e-2)
    out = predictor.inference_model.predict(
        __import__("sleapish").nn.data.pipelines.Pipeline(
            __import__("sleapish").nn.inference.ArrayReader(gray)))
    assert out["instance_peaks"].shape[0] == 2


def test_topdown_multiclass_instance_scores_are_sleaps_positional_centroid_values():
    # SLEAP 1.4.1 zips class rows with the frame's centroid values in centroid
    # order: class k gets the k-th centroid's value, NaN past the last centroid.
    from sleapish.nn.inference.predictors_identity import _positional_centroid_scores

    out = {"centroid_vals": np.array([[0.9, 0.4, np.nan], [0.7, np.nan, np.nan]])}
    np.testing.assert_array_equal(_positional_centroid_scores(out, 0, 2), [0.9, 0.4])
    np.testing.assert_array_equal(_positional_centroid_scores(out, 1, 2), [0.7, np.nan])
    np.testing.assert_array_equal(_positional_centroid_scores(out, 0, 4),
                                  [0.9, 0.4, np.nan, np.nan])


def test_untracked_predictions_have_tracking_score_zero(tmp_path):
    # SLEAP writes 0.0 (not NaN) as the tracking score of untracked predictions.
    import sleap_io as sio

    from sleapish.nn.inference.results import instances_from_arrays

    skel = sio.Skeleton(["a", "b"])
    insts = instances_from_arrays(np.array([[[1.0, 2.0], [3.0, np.nan]]]),
                                  np.array([[0.9, np.nan]]), np.array([1.5]), skel)
    assert len(insts) == 1 and insts[0].tracking_score == 0.0 and insts[0].score == 1.5
    labels = sio.Labels([sio.LabeledFrame(sio.Video("v.mp4", open_backend=False), 0,
                                          insts)], skeletons=[skel])
    sleapish.save_file(labels, tmp_path / "p.slp")
    back = sleapish.load_file(tmp_path / "p.slp", open_videos=False)
    assert back[0].instances[0].tracking_score == 0.0

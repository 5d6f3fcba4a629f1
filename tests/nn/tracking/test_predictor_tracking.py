"""Tracking inside prediction: `load_model(tracker=...)` and `sleapish-track -m ...`."""

from __future__ import annotations

import pytest

import sleapish
from sleapish.nn.config import (
    BackboneConfig,
    CenteredInstanceConfmapsHeadConfig,
    HeadsConfig,
    ModelConfig,
    TrainingJobConfig,
    UNetConfig,
)
from sleapish.nn.inference import load_model
from sleapish.nn.inference.cli import main as track_main
from sleapish.nn.model import Model


@pytest.fixture(scope="module")
def centered_folder(synthetic, tmp_path_factory):
    labels = sleapish.load_file(synthetic.labels_path)
    cfg = TrainingJobConfig()
    cfg.model = ModelConfig(backbone=BackboneConfig(unet=UNetConfig(
        max_stride=16, output_stride=2, filters=4, filters_rate=1.5)), heads=HeadsConfig(
        centered_instance=CenteredInstanceConfmapsHeadConfig(anchor_part="thorax",
                                                             output_stride=2)))
    cfg.data.labels.skeletons = [labels.skeleton]
    cfg.data.preprocessing.pad_to_stride = 16
    cfg.data.instance_cropping.crop_size = 48
    model = Model.from_config(cfg.model, skeleton=labels.skeleton, update_config=True)
    km = model.make_model((48, 48, 1))
    path = tmp_path_factory.mktemp("tracking_models") / "centered"
    path.mkdir()
    km.save(str(path / "best_model.h5"), save_format="h5")
    cfg.save_json(path / "training_config.json")
    return path, labels


@pytest.mark.slow
@pytest.mark.parametrize("tracker,max_instances", [("simple", None), ("flow", None),
                                                    ("flow", 2)])
def test_load_model_with_tracker(centered_folder, tracker, max_instances):
    path, labels = centered_folder
    # centered-instance model alone: crops around the ground-truth centroids (2 animals
    # per frame); random weights, so accept every peak
    predictor = load_model(path, tracker=tracker, tracker_max_instances=max_instances,
                           progress_reporting="none", peak_threshold=-1e9)
    predictor.keep_outside_points = True  # random weights: keep every peak
    if max_instances:
        assert predictor.tracker.has_max_tracking and predictor.tracker.max_tracking
    out = predictor.predict(labels)
    assert len(out) == len(labels)
    names = {i.track.name for lf in out for i in lf.instances}
    assert {"track_0", "track_1"} <= names
    assert [t.name for t in out.tracks][:2] == ["track_0", "track_1"]
    assert all(i.track is not None for lf in out for i in lf.instances)


def test_track_cli_with_model_and_tracker(centered_folder, synthetic, tmp_path):
    path, _ = centered_folder
    out = tmp_path / "tracked.slp"
    rc = track_main([str(synthetic.labels_path), "-m", str(path), "--only-labeled-frames",
                     "--peak_threshold=-1e9", "--keep-outside-points",
                     "--tracking.tracker", "simple", "--tracking.match", "hungarian",
                     "-o", str(out), "--verbosity", "none"])
    assert rc == 0
    labels = sleapish.load_file(out)
    assert [t.name for t in labels.tracks][:2] == ["track_0", "track_1"]

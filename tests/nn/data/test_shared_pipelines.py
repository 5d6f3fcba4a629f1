"""The pipeline of each of SLEAP's 7 model configs, fed that model's training labels,
yields targets of exactly the shapes its best_model.h5 outputs have."""

from __future__ import annotations

import numpy as np
import pytest

import sleapish
from sleapish.nn._backend import keras
from sleapish.nn.config import load_config
from sleapish.nn.data.pipelines import TARGET_KEYS, pipeline_for_model
from sleapish.nn.data.providers import LabelsReader
from sleapish.nn.model import Model

MODELS = {
    "min_tracks_2node.UNet.bottomup_multiclass": "labels/clip.2node.slp",
    "min_tracks_2node.UNet.topdown_multiclass": "labels/clip.2node.slp",
    "minimal_instance.UNet.bottomup": "models/minimal_instance.UNet.bottomup/labels_gt.train.slp",
    "minimal_instance.UNet.centered_instance":
        "models/minimal_instance.UNet.centered_instance/labels_gt.train.slp",
    "minimal_instance.UNet.centered_instance_with_scaling": "labels/minimal_instance.slp",
    "minimal_instance.UNet.centroid": "models/minimal_instance.UNet.centroid/labels_gt.train.slp",
    "minimal_robot.UNet.single_instance":
        "models/minimal_robot.UNet.single_instance/labels_gt.train.slp",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_pipeline_targets_match_sleap_model_outputs(shared_data, name):
    folder = shared_data / "models" / name
    cfg = load_config(folder)
    labels = sleapish.load_file(shared_data / MODELS[name],
                                search_paths=[shared_data / "videos"])
    if cfg.data.labels.training_inds and len(labels) > 100:
        labels = sleapish.Labels(labeled_frames=[labels[i] for i in range(940, 944)],
                                 videos=labels.videos, skeletons=labels.skeletons,
                                 tracks=labels.tracks)
    ref = keras.models.load_model(folder / "best_model.h5", compile=False)
    model = Model.from_config(cfg.model, skeleton=cfg.data.labels.skeletons[0],
                              tracks=labels.tracks)
    builder = pipeline_for_model(cfg.data, cfg.optimization, model)
    ex = builder.make_base_pipeline(LabelsReader(labels)).peek()
    assert ex[builder.image_key].shape == tuple(ref.input_shape[1:])
    for head, out in zip(model.heads, ref.outputs):
        target = ex[TARGET_KEYS[type(head)]]
        assert target.shape == tuple(out.shape[1:]), head.name
        assert np.isfinite(target).all()
    assert ex[TARGET_KEYS[type(model.heads[0])]].max() > 0.9

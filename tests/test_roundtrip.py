"""Every attrs config of sleapish.nn.config and sleapish.nn.settings, and every Keras
loss/metric/layer sleapish defines, survives a round trip of its serialized form."""

from __future__ import annotations

import pytest
from roundtrip import (
    assert_attrs_roundtrip,
    assert_keras_roundtrip,
    attrs_classes,
    keras_config_classes,
)

CONFIGS = attrs_classes("sleapish.nn.config") + [
    c for c in attrs_classes("sleapish.nn.settings")]


def test_discovery_finds_the_config_classes():
    names = {c.__name__ for c in CONFIGS}
    assert {"TrainingJobConfig", "UNetConfig", "AugmentationConfig", "HeadsConfig",
            "PeakFindingConfig", "PAFGroupingConfig"} <= names
    assert len(CONFIGS) >= 30


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_default_config_roundtrips(cls):
    assert_attrs_roundtrip(cls())


def test_nondefault_training_config_roundtrips():
    from sleapish.nn.config import TrainingJobConfig

    cfg = TrainingJobConfig()
    cfg.model.backbone.unet = cfg.model.backbone.unet or __import__(
        "sleapish.nn.config", fromlist=["UNetConfig"]).UNetConfig(filters=24)
    cfg.optimization.augmentation_config.rotate = True
    cfg.optimization.augmentation_config.rotation_max_angle = 15.0
    cfg.data.preprocessing.input_scaling = 0.5
    cfg.outputs.run_name = "fly"
    assert_attrs_roundtrip(cfg)


def _keras_objects():
    from sleapish.nn.training.losses import ConfmapLoss, OHKMLoss, PartLoss

    return [OHKMLoss(hard_to_easy_ratio=3.0, min_hard_keypoints=1, max_hard_keypoints=4,
                     loss_scale=2.0),
            PartLoss(channel_ind=2, name="thorax"),
            ConfmapLoss(),
            ConfmapLoss(ohkm=OHKMLoss(hard_to_easy_ratio=2.5))]


def test_every_keras_class_has_a_roundtrip_case():
    """A new Keras loss, metric or layer with its own config gets a case above (the
    inference layers wrap a trained Keras model and are rebuilt from configs
    instead, so they are left out)."""
    covered = {type(o) for o in _keras_objects()}
    defined = {c for c in keras_config_classes("sleapish.nn.training")}
    assert defined <= covered, sorted(c.__name__ for c in defined - covered)


@pytest.mark.parametrize("index", range(4))
def test_keras_objects_roundtrip(index):
    assert_keras_roundtrip(_keras_objects()[index])

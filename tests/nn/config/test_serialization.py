"""JSON in SLEAP's layout, comments, unknown keys and clear errors (nn/config/serialization.py)."""

from __future__ import annotations

import json
import logging

import pytest
from config_helpers import centroid_config as _centroid_config

from sleapish.nn.config import (
    ConfigError,
    TrainingJobConfig,
    load_config,
)


def test_json_round_trip_and_layout(tmp_path):
    cfg = _centroid_config()
    cfg.outputs.run_name = "run1"
    text = cfg.to_json()
    data = json.loads(text)
    assert list(data) == ["data", "model", "optimization", "outputs", "name",
                          "description", "sleap_version", "filename"]
    assert data["model"]["backbone"]["leap"] is None
    assert data["model"]["backbone"]["unet"]["filters"] == 8
    assert data["model"]["heads"]["centroid"]["anchor_part"] == "thorax"
    assert TrainingJobConfig.from_json(text) == cfg
    path = tmp_path / "training_config.json"
    cfg.save_json(path)
    loaded = load_config(tmp_path)
    assert loaded.filename == str(path)
    loaded.filename = cfg.filename
    assert loaded == cfg


def test_json_with_comments_and_missing_keys_loads():
    text = """
    // a comment
    {
      "model": {
        "backbone": {"unet": {"filters": 24}},  /* block comment */
        "heads": {"centered_instance": {"anchor_part": "a//b", "sigma": 3}}
      },
      "optimization": {"batch_size": 4}
    }
    """
    cfg = TrainingJobConfig.from_json(text)
    assert cfg.model.backbone.unet.filters == 24
    assert cfg.model.backbone.unet.max_stride == 16  # default
    assert cfg.model.heads.centered_instance.anchor_part == "a//b"
    assert cfg.model.heads.centered_instance.sigma == 3.0
    assert cfg.optimization.batch_size == 4 and cfg.optimization.epochs == 100


def test_unknown_keys_are_logged(caplog):
    with caplog.at_level(logging.WARNING):
        cfg = TrainingJobConfig.from_json('{"optimization": {"batch_sise": 2}}')
    assert cfg.optimization.batch_size == 8
    assert "batch_sise" in caplog.text and "optimization" in caplog.text


@pytest.mark.parametrize(
    "text, field, received",
    [
        ('{"optimization": {"batch_size": "eight"}}', "batch_size", "'eight'"),
        ('{"optimization": {"batch_size": -1}}', "batch_size", "-1"),
        ('{"model": {"backbone": {"unet": {"max_stride": 12}}}}', "max_stride", "12"),
        ('{"data": {"preprocessing": {"imagenet_mode": "keras"}}}', "imagenet_mode",
         "'keras'"),
        ('{"optimization": {"optimizer": "adamw"}}', "optimizer", "'adamw'"),
        ('{"data": {"preprocessing": {"ensure_rgb": "yes"}}}', "ensure_rgb", "'yes'"),
        ('{"model": {"backbone": {"foonet": {}}}}', "BackboneConfig", "'foonet'"),
        ('{"model": {"heads": {"centroid": {}, "single_instance": {}}}}', "HeadsConfig",
         "single_instance"),
        ('{"model": {"heads": {"multi_instance": {"pafs": {"edges": [["a"]]}}}}}',
         "edges", "['a']"),
    ],
)
def test_invalid_values_name_field_and_value(text, field, received):
    with pytest.raises(ConfigError) as err:
        TrainingJobConfig.from_json(text)
    msg = str(err.value)
    assert field in msg and received in msg, msg


def test_error_path_points_at_nested_field():
    with pytest.raises(ConfigError) as err:
        TrainingJobConfig.from_json('{"model": {"backbone": {"unet": {"filters": 1.5}}}}')
    assert "model.backbone.unet.filters" in str(err.value)


def test_malformed_json_names_source_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "data": {\n    "labels": ,\n  }\n}')
    with pytest.raises(ConfigError, match=r"bad\.json.*line 3"):
        load_config(path)
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        load_config(path)

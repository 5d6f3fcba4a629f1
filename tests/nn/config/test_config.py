"""Config classes: SLEAP's defaults, oneof behaviour, JSON I/O and clear errors."""

from __future__ import annotations

import json
import logging

import pytest

from sleapish.nn.config import (
    BackboneConfig,
    CentroidsHeadConfig,
    ConfigError,
    DataConfig,
    HeadsConfig,
    ModelConfig,
    MultiInstanceConfig,
    OptimizationConfig,
    OutputsConfig,
    PartAffinityFieldsHeadConfig,
    ResNetConfig,
    TrainingJobConfig,
    UNetConfig,
    UpsamplingConfig,
    load_config,
)


def _centroid_config() -> TrainingJobConfig:
    return TrainingJobConfig(
        model=ModelConfig(
            backbone=BackboneConfig(unet=UNetConfig(max_stride=16, filters=8)),
            heads=HeadsConfig(centroid=CentroidsHeadConfig(anchor_part="thorax",
                                                           sigma=2.5)),
        )
    )


def test_defaults_are_sleap_141():
    cfg = TrainingJobConfig()
    opt = cfg.optimization
    assert (opt.batch_size, opt.epochs, opt.min_batches_per_epoch,
            opt.min_val_batches_per_epoch) == (8, 100, 200, 10)
    assert opt.optimizer == "adam" and opt.initial_learning_rate == 1e-4
    assert opt.learning_rate_schedule.reduction_factor == 0.1
    assert opt.learning_rate_schedule.plateau_patience == 5
    assert opt.early_stopping.plateau_patience == 10
    assert opt.hard_keypoint_mining.loss_scale == 5.0
    aug = opt.augmentation_config
    assert (aug.rotation_min_angle, aug.rotation_max_angle) == (-180, 180)
    assert (aug.random_crop_height, aug.random_crop_width) == (256, 256)
    assert aug.random_flip is False and aug.flip_horizontal is True
    pre = cfg.data.preprocessing
    assert pre.input_scaling == 1.0 and pre.pad_to_stride is None
    assert pre.resize_and_pad_to_target is True
    assert cfg.data.labels.validation_fraction == 0.1
    assert cfg.data.instance_cropping.crop_size_detection_padding == 16
    unet = UNetConfig()
    assert (unet.max_stride, unet.output_stride, unet.filters, unet.filters_rate,
            unet.middle_block, unet.up_interpolate, unet.stacks) == (16, 1, 64, 2, True,
                                                                     False, 1)
    assert PartAffinityFieldsHeadConfig().sigma == 15.0
    assert ResNetConfig().weights == "frozen" and ResNetConfig().max_stride == 32
    out = cfg.outputs
    assert out.runs_folder == "models" and out.save_visualizations is True
    assert out.checkpointing.best_model is True and out.checkpointing.final_model is False
    assert out.zmq.controller_address == "tcp://127.0.0.1:9000"


def test_oneof_tells_which_and_rejects_two():
    heads = HeadsConfig(multi_instance=MultiInstanceConfig())
    assert heads.which_oneof_attrib_name() == "multi_instance"
    assert isinstance(heads.which_oneof(), MultiInstanceConfig)
    assert HeadsConfig().which_oneof_attrib_name() is None
    with pytest.raises(ValueError, match=r"centroid.*multi_instance"):
        HeadsConfig(centroid=CentroidsHeadConfig(), multi_instance=MultiInstanceConfig())


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


def test_missing_config_lists_paths_tried(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_config(tmp_path)
    assert "training_config.json" in str(err.value)
    assert "initial_config.json" in str(err.value)


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    cfg = _centroid_config()
    path = tmp_path / "training_config.json"
    cfg.save_json(path)
    before = path.read_text()

    def boom(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(TrainingJobConfig, "to_json", boom)
    with pytest.raises(RuntimeError):
        cfg.save_json(path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["training_config.json"]


def test_run_path():
    out = OutputsConfig(run_name="centroid", run_name_prefix="exp1_",
                        run_name_suffix=".v2", runs_folder="models")
    assert out.run_path.replace("\\", "/") == "models/exp1_centroid.v2"
    with pytest.raises(ValueError, match="run_name"):
        _ = OutputsConfig().run_path


def test_cross_field_checks():
    with pytest.raises(ValueError, match="ensure_rgb and ensure_grayscale"):
        TrainingJobConfig.from_json(
            '{"data": {"preprocessing": {"ensure_rgb": true, "ensure_grayscale": true}}}')
    with pytest.raises(ConfigError, match="scale_min"):
        TrainingJobConfig.from_json(
            '{"optimization": {"augmentation_config": {"scale_min": 2.0}}}')
    with pytest.raises(ValueError, match="skip_connections"):
        UpsamplingConfig(skip_connections="sum")


def test_sub_configs_compare_by_value():
    assert DataConfig() == DataConfig()
    assert OptimizationConfig(batch_size=4) != OptimizationConfig()

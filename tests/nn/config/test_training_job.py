"""TrainingJobConfig, with SLEAP 1.4.1's defaults, loading from folders, saving and cross-
field checks (nn/config/training_job.py and the sub-configs it holds)."""

from __future__ import annotations

import pytest
from config_helpers import centroid_config as _centroid_config

from sleapish.nn.config import (
    ConfigError,
    DataConfig,
    OptimizationConfig,
    PartAffinityFieldsHeadConfig,
    ResNetConfig,
    TrainingJobConfig,
    UNetConfig,
    UpsamplingConfig,
    load_config,
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

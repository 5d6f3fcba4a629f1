"""ResNet v1 backbones: SLEAP's classes, strides/dilation, local ImageNet weights."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import keras
from sleapish.nn.architectures import (
    ResNet50,
    ResNet101,
    ResNet152,
    ResNetv1,
    UpsamplingStack,
    backbone_from_config,
)
from sleapish.nn.config import BackboneConfig, ResNetConfig, UpsamplingConfig


def build(backbone, shape):
    x = keras.Input(shape)
    y, feats = backbone.make_backbone(x)
    return keras.Model(x, y), y, feats


def _trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_fixed_classes_and_from_config():
    for version, cls, blocks in [("ResNet50", ResNet50, [3, 4, 6, 3]),
                                 ("ResNet101", ResNet101, [3, 4, 23, 3]),
                                 ("ResNet152", ResNet152, [3, 8, 36, 3])]:
        cfg = ResNetConfig(version=version, weights="frozen", max_stride=16,
                           output_stride=16)
        for factory in (cls, ResNetv1, ResNet50):  # the version decides the class
            bb = factory.from_config(cfg)
            assert type(bb) is cls and isinstance(bb, ResNetv1)
            assert [c["blocks"] for c in bb.stack_configs] == blocks
            assert (bb.pretrained, bb.frozen, bb.features_output_stride) == (True, True, 16)
    assert not issubclass(ResNet101, ResNet50)
    # As SLEAP, the fixed fields win over passed values.
    assert ResNet101(model_name="x", pretrained=False).model_name == "resnet101"
    bb = backbone_from_config(BackboneConfig(resnet=ResNetConfig(
        weights="random", max_stride=32, output_stride=8,
        upsampling=UpsamplingConfig(skip_connections="add"))))
    assert type(bb) is ResNet50 and bb.skip_connections and not bb.pretrained
    assert (bb.output_stride, bb.maximum_stride, bb.down_blocks) == (8, 32, 5)
    assert bb.output_scale == 0.125
    with pytest.raises(ValueError, match="max_stride <= 32"):
        ResNetv1.from_config(ResNetConfig(max_stride=64))


@pytest.mark.slow
def test_counts_strides_and_dilation():
    # Keras's ResNet50 without top has 23,587,712 parameters for RGB; one input
    # channel removes 7*7*64*2 = 6,272 of conv1's.
    model, y, feats = build(ResNet50(pretrained=False, features_output_stride=32),
                            (32, 32, 1))
    assert model.count_params() == 23_581_440
    assert _trainable(model) == 23_528_320
    assert tuple(y.shape) == (None, 1, 1, 2048)
    assert [f.stride for f in feats] == [2, 4, 4, 8, 16, 32]
    backbone = ResNet50(pretrained=False, features_output_stride=8)
    for _ in range(2):  # building twice gives the same network (no mutated configs)
        model8, y8, _ = build(backbone, (32, 32, 1))
        assert tuple(y8.shape) == (None, 4, 4, 2048)
        assert model8.get_layer("conv4_block1_1_conv").strides == (1, 1)
        assert model8.get_layer("conv4_block1_1_conv").dilation_rate == (2, 2)
        assert model8.get_layer("conv5_block1_1_conv").dilation_rate == (4, 4)
    assert backbone.stack_configs[3]["stride1"] == 2


def test_upsampling_stack_with_skips():
    stack = UpsamplingStack(output_stride=8, refine_convs_filters=16,
                            transposed_conv_filters=16)
    bb = ResNet50(pretrained=False, features_output_stride=32, upsampling_stack=stack,
                  skip_connections=True)
    model, y, feats = build(bb, (64, 64, 1))
    assert tuple(y.shape) == (None, 8, 8, 16)
    assert [f.stride for f in feats] == [32, 16, 8]
    assert model.get_layer("upsample_s32_to_s16_skip_concat") is not None


def test_pretrained_weights_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("SLEAPISH_PRETRAINED_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="never downloads") as err:
        build(ResNet50(pretrained=True, features_output_stride=32), (32, 32, 1))
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(err.value)


@pytest.mark.slow
def test_pretrained_weights_load_from_local_file(tmp_path, monkeypatch):
    # A "weights file" from a random RGB ResNet50 encoder, loaded by name.
    src, _, _ = build(ResNet50(pretrained=False, features_output_stride=32), (32, 32, 3))
    (tmp_path / "w").mkdir()
    src.save_weights(str(tmp_path / "w" /
                         "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"))
    monkeypatch.setenv("SLEAPISH_PRETRAINED_WEIGHTS", str(tmp_path / "w"))
    model, _, _ = build(ResNet50(pretrained=True, frozen=True,
                                 features_output_stride=32), (32, 32, 1))
    np.testing.assert_array_equal(model.get_layer("conv3_block2_2_conv").get_weights()[0],
                                  src.get_layer("conv3_block2_2_conv").get_weights()[0])
    assert model.get_layer("tile_channels") is not None
    assert model.get_layer("imagenet_preproc_v1") is not None
    assert _trainable(model) == 0  # frozen
    # Grayscale tiled to RGB: conv1 holds RGB kernels (7*7*3*64 + 64).
    assert model.get_layer("conv1_conv").count_params() == 9_472

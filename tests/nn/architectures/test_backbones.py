"""Backbones: SLEAP's parameter counts, layer names, strides and errors."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import keras
from sleapish.nn.architectures import (
    Hourglass,
    LeapCNN,
    ResNet50,
    UNet,
    UnetPretrainedEncoder,
    backbone_from_config,
)
from sleapish.nn.config import BackboneConfig, PretrainedEncoderConfig, ResNetConfig


def _build(backbone, shape):
    x = keras.Input(shape)
    y, feats = backbone.make_backbone(x)
    return keras.Model(x, y), y, feats


def _trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


# Reference counts from SLEAP's own tests.
@pytest.mark.parametrize(
    "backbone, shape, total",
    [
        (UNet(filters=64, filters_rate=2, down_blocks=4, up_blocks=4), (192, 192, 1),
         34_512_128),
        (UNet(filters=8, filters_rate=2, down_blocks=2, up_blocks=2, middle_block=False),
         (192, 192, 1), 16_320),
        (LeapCNN(filters=64, filters_rate=2, down_blocks=3, down_convs_per_block=3,
                 up_blocks=3), (192, 192, 1), 10_768_896),
        (Hourglass(down_blocks=4, up_blocks=4, stem_filters=128, stem_stride=4,
                   filters=256, filter_increase=128, stacks=3), (256, 256, 1), 66_002_944),
    ],
    ids=["unet64", "unet8", "leap", "hourglass"],
)
def test_parameter_counts_match_sleap(backbone, shape, total):
    model, _, _ = _build(backbone, shape)
    assert model.count_params() == total


def test_resnet50_counts_and_dilation():
    model, y, feats = _build(ResNet50(pretrained=False, features_output_stride=32),
                             (160, 160, 1))
    assert model.count_params() == 23_581_440
    assert _trainable(model) == 23_528_320
    assert tuple(y.shape) == (None, 5, 5, 2048)
    assert [f.stride for f in feats] == [2, 4, 4, 8, 16, 32]
    assert model.get_layer("conv2_block1_1_conv") is not None
    # Max stride 8: conv4/conv5 keep the resolution and dilate instead.
    model8, y8, _ = _build(ResNet50(pretrained=False, features_output_stride=8),
                           (160, 160, 1))
    assert tuple(y8.shape) == (None, 20, 20, 2048)
    assert model8.count_params() == 23_581_440
    assert model8.get_layer("conv5_block1_1_conv").dilation_rate == (4, 4)


def test_unet_names_and_features():
    model, y, feats = _build(UNet(filters=8, filters_rate=1.5, down_blocks=3,
                                  up_blocks=2), (64, 64, 1))
    names = [layer.name for layer in model.layers]
    for expected in ["stack0_enc0_conv0", "stack0_enc0_act0_relu", "stack0_enc1_pool",
                     "stack0_enc3_last_pool", "stack0_enc4_middle_expand_conv0",
                     "stack0_enc5_middle_contract_conv0", "stack0_dec0_s8_to_s4_trans_conv",
                     "stack0_dec0_s8_to_s4_skip_concat",
                     "stack0_dec1_s4_to_s2_refine_conv1_act_relu"]:
        assert expected in names
    assert tuple(y.shape) == (None, 32, 32, 12)
    assert [(f.stride, f.tensor.shape[-1]) for f in feats] == [(8, 27), (4, 18)]


def test_unet_stem_and_interpolation():
    unet = UNet(filters=8, stem_blocks=1, down_blocks=2, up_blocks=3, up_interpolate=True)
    model, y, _ = _build(unet, (64, 64, 3))
    assert unet.maximum_stride == 8 and unet.output_stride == 1
    assert tuple(y.shape) == (None, 64, 64, 8)
    names = {layer.name for layer in model.layers}
    assert {"stem0_conv0", "stem1_last_pool", "stack0_dec0_s8_to_s4_interp_bilinear"} <= names
    # The stem output (stride 2) is the skip at stride 2, as in SLEAP.
    concat = model.get_layer("stack0_dec1_s4_to_s2_skip_concat")
    assert concat.input[0].name.startswith("stem1_last_pool")


def test_stacked_hourglass_returns_every_stack():
    hg = Hourglass(down_blocks=2, up_blocks=2, stem_filters=8, stem_stride=4, filters=8,
                   filter_increase=4, stacks=2)
    x = keras.Input((64, 64, 1))
    outs, feats = hg.make_backbone(x)
    assert len(outs) == 2 and len(feats) == 2
    assert all(tuple(o.shape) == (None, 16, 16, 8) for o in outs)
    assert [f.stride for f in feats[0]] == [16, 8]


def test_from_config_dispatch_and_errors():
    bb = backbone_from_config(BackboneConfig(resnet=ResNetConfig(weights="random",
                                                                 max_stride=16,
                                                                 output_stride=16)))
    assert bb.model_name == "resnet50" and bb.output_stride == 16
    with pytest.raises(ValueError, match="no backbone set"):
        backbone_from_config(BackboneConfig())
    with pytest.raises(ValueError, match="resnext50"):
        UnetPretrainedEncoder.from_config(PretrainedEncoderConfig(encoder="resnext50"))
    with pytest.raises(ValueError, match="max_stride <= 32"):
        backbone_from_config(BackboneConfig(resnet=ResNetConfig(max_stride=64)))


def test_pretrained_weights_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("SLEAPISH_PRETRAINED_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="never downloads") as err:
        _build(ResNet50(pretrained=True, features_output_stride=32), (64, 64, 1))
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(err.value)
    with pytest.raises(FileNotFoundError, match="efficientnetb0_notop.h5"):
        _build(UnetPretrainedEncoder(encoder="efficientnetb0", pretrained=True),
               (64, 64, 3))


def test_pretrained_weights_load_from_local_file(tmp_path, monkeypatch):
    # Make a "weights file" from a random ResNet50 encoder, then load it by name.
    src, _, _ = _build(ResNet50(pretrained=False, features_output_stride=32), (64, 64, 3))
    (tmp_path / "w").mkdir()
    path = tmp_path / "w" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    src.save_weights(str(path))
    monkeypatch.setenv("SLEAPISH_PRETRAINED_WEIGHTS", str(tmp_path / "w"))
    model, _, _ = _build(ResNet50(pretrained=True, frozen=True,
                                  features_output_stride=32), (64, 64, 1))
    np.testing.assert_array_equal(model.get_layer("conv3_block2_2_conv").get_weights()[0],
                                  src.get_layer("conv3_block2_2_conv").get_weights()[0])
    assert model.get_layer("tile_channels") is not None
    assert _trainable(model) == 0  # frozen
    x = np.full((1, 64, 64, 1), 0.5, np.float32)
    assert np.isfinite(model.predict(x, verbose=0)).all()


def test_pretrained_encoder_unet_shapes():
    enc = UnetPretrainedEncoder(encoder="mobilenet", pretrained=False, output_stride=4,
                                decoder_filters=32, decoder_filters_rate=0.5)
    model, y, feats = _build(enc, (64, 64, 3))
    assert tuple(y.shape) == (None, 16, 16, 8)
    assert [f.stride for f in feats] == [32, 16, 8]
    assert model.get_layer("decoder_stage0_concat") is not None

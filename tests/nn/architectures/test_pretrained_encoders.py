"""UNet on classification encoders: SLEAP's API, segmentation_models' networks."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import keras
from sleapish.nn.architectures import UnetPretrainedEncoder, backbone_from_config
from sleapish.nn.architectures.pretrained_encoders import make_encoder
from sleapish.nn.config import BackboneConfig, PretrainedEncoderConfig


def _nested(model):
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def test_resnet18_shapes_and_parameter_count():
    bb = UnetPretrainedEncoder(encoder="resnet18", decoder_filters=(8, 4),
                               pretrained=False)
    assert (bb.down_blocks, bb.up_blocks, bb.maximum_stride, bb.output_stride) == (
        5, 2, 32, 8)
    x_in = keras.Input((64, 64, 1))
    x, feats = bb.make_backbone(x_in)
    assert tuple(x.shape) == (None, 8, 8, 4)
    assert [(f.stride, tuple(f.tensor.shape)) for f in feats] == [
        (16, (None, 4, 4, 8)), (8, (None, 8, 8, 4))]
    model = keras.Model(x_in, x)
    # classification_models' ResNet-18 on 1 channel: 11,186,889 (RGB) - 7*7*64*2 -
    # 3*2 (bn_data) = 11,180,611.  Decoder: stage 0 concatenates 512 + 256 channels
    # (3*3*768*8 + BN 32, 3*3*8*8 + BN 32), stage 1 8 + 128 (3*3*136*4 + 16, 144 + 16).
    assert model.count_params() == 11_180_611 + 61_008
    inner = _nested(model)
    assert inner.get_layer("decoder_stage0_concat").input[1].shape[-1] == 256
    assert inner.get_layer("stage4_unit1_relu1") is not None
    assert "ensure_rgb" not in [layer.name for layer in model.layers]  # not pretrained
    out = model.predict(np.zeros((1, 64, 64, 1), np.float32), verbose=0)
    assert out.shape == (1, 8, 8, 4)


def test_from_config_makes_the_decoder_filters():
    cfg = PretrainedEncoderConfig(encoder="resnet18", pretrained=False,
                                  decoder_filters=64, decoder_filters_rate=0.5,
                                  output_stride=4)
    bb = UnetPretrainedEncoder.from_config(cfg)
    assert bb.decoder_filters == (64, 32, 16)
    assert (bb.encoder, bb.pretrained, bb.output_stride) == ("resnet18", False, 4)
    bb = backbone_from_config(BackboneConfig(pretrained_encoder=PretrainedEncoderConfig(
        output_stride=1, decoder_filters=8, decoder_filters_rate=1.5)))
    assert bb.decoder_filters == (8, 12, 18, 27, 40) and bb.output_stride == 1
    with pytest.raises(ValueError):
        UnetPretrainedEncoder(encoder="resnet19")


def test_vgg_gets_the_center_block():
    bb = UnetPretrainedEncoder(encoder="vgg16", decoder_filters=(4,), pretrained=False)
    x_in = keras.Input((32, 32, 3))
    x, feats = bb.make_backbone(x_in)
    inner = _nested(keras.Model(x_in, x))
    assert inner.get_layer("center_block2_relu").output.shape[-1] == 512
    # VGG16 without top 14,714,688; two 512-filter center blocks (conv without bias
    # + BN) 2 x 2,361,344; stage 0 on 512 + 512 channels 36,864 + 16 + 144 + 16.
    assert inner.count_params() == 14_714_688 + 4_722_688 + 37_040
    assert tuple(x.shape) == (None, 2, 2, 4) and feats[0].stride == 16


@pytest.mark.slow
def test_index_skip_layers_and_keras_encoder_edits():
    bb = UnetPretrainedEncoder(encoder="densenet121", decoder_filters=(4,),
                               pretrained=False)
    x_in = keras.Input((64, 64, 3))
    x, _ = bb.make_backbone(x_in)
    concat = _nested(keras.Model(x_in, x)).get_layer("decoder_stage0_concat")
    # Layer 311: the stride-16 transition convolution (dense block 3's 1024 -> 512).
    assert [tuple(t.shape) for t in concat.input] == [(None, 4, 4, 1024), (None, 4, 4, 512)]
    # EfficientNet as the efficientnet package builds it: no input rescaling or
    # normalization (Keras's 4,049,571 minus the normalization's 7), 'same' padding.
    enc = make_encoder("efficientnetb0", (32, 32, 3))
    assert enc.count_params() == 4_049_564
    assert enc.layers[1].name == "stem_conv" and enc.layers[1].padding == "same"
    kinds = {type(layer).__name__ for layer in enc.layers}
    assert not kinds & {"Rescaling", "Normalization", "ZeroPadding2D"}
    # segmentation_models' InceptionV3 pads everything 'same': 96 / 32 = 3.
    enc = make_encoder("inceptionv3", (96, 96, 3))
    assert tuple(enc.output.shape) == (None, 3, 3, 2048)
    assert enc.count_params() == 21_802_784  # the Keras network's weights


@pytest.mark.slow
def test_pretrained_weights_from_local_file(tmp_path, monkeypatch):
    src = make_encoder("resnet18", (32, 32, 3))
    (tmp_path / "w").mkdir()
    src.save_weights(str(tmp_path / "w" / "resnet18_imagenet_1000_no_top.h5"))
    monkeypatch.setenv("SLEAPISH_PRETRAINED_WEIGHTS", str(tmp_path / "w"))
    bb = UnetPretrainedEncoder(encoder="resnet18", decoder_filters=(4,), pretrained=True)
    x_in = keras.Input((32, 32, 1))
    x, _ = bb.make_backbone(x_in)
    model = keras.Model(x_in, x)
    assert model.layers[1].name == "ensure_rgb"
    inner = _nested(model)
    for name in ("conv0", "stage3_unit2_conv1", "bn1"):
        for a, b in zip(inner.get_layer(name).get_weights(),
                        src.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert inner.get_layer("conv0").kernel.shape == (7, 7, 3, 64)
    monkeypatch.setenv("SLEAPISH_PRETRAINED_WEIGHTS", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="efficientnet-b0_weights"):
        UnetPretrainedEncoder().make_backbone(keras.Input((32, 32, 3)))

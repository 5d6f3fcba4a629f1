"""LEAP CNN: SLEAP's decoder filters, strides and config mapping."""

from __future__ import annotations

from sleapish.nn._backend import keras
from sleapish.nn.architectures import LeapCNN
from sleapish.nn.config import LEAPConfig


def build(backbone, shape):
    x = keras.Input(shape)
    y, feats = backbone.make_backbone(x)
    return keras.Model(x, y), y, feats


def test_decoder_filters_count_from_up_blocks():
    leap = LeapCNN(filters=2, filters_rate=2, down_blocks=3, down_convs_per_block=1,
                   up_blocks=2, up_convs_per_block=1)
    assert (leap.encoder_features_stride, leap.decoder_features_stride) == (8, 2)
    assert leap.kernel_size == 3
    model, y, feats = build(leap, (16, 16, 1))
    # Encoder 2, 4, 8 f: 20 + 76 + 296.  Decoder 2 * 2**2 = 8 f then 2 * 2**1 = 4 f:
    # trans 584 + refine 584, trans 292 + refine 148.  Total 2000.
    assert model.count_params() == 2000
    assert model.get_layer("stack0_dec0_s8_to_s4_trans_conv").filters == 8
    assert model.get_layer("stack0_dec1_s4_to_s2_refine_conv0").filters == 4
    assert tuple(y.shape) == (None, 8, 8, 4)
    assert [f.stride for f in feats] == [8, 4]


def test_from_config():
    leap = LeapCNN.from_config(LEAPConfig(max_stride=4, output_stride=2, filters=2,
                                          filters_rate=1.5, up_interpolate=True,
                                          stacks=1))
    assert (leap.down_blocks, leap.up_blocks) == (2, 1)
    assert (leap.down_convs_per_block, leap.up_convs_per_block) == (3, 2)
    model, y, _ = build(leap, (8, 8, 1))
    # int(2 * 1.5) = 3 filters after the interpolation.
    assert tuple(y.shape) == (None, 4, 4, 3)
    assert model.get_layer("stack0_dec0_s4_to_s2_interp_bilinear") is not None
    assert leap.output_stride == 2 and leap.maximum_stride == 4

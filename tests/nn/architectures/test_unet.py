"""UNet: SLEAP's layer names, filters, strides, stem and config mapping."""

from __future__ import annotations

import pytest

from sleapish.nn._backend import keras
from sleapish.nn.architectures import UNet
from sleapish.nn.config import UNetConfig


def build(backbone, shape):
    x = keras.Input(shape)
    y, feats = backbone.make_backbone(x)
    return keras.Model(x, y), y, feats


def test_parameter_count_by_hand():
    # enc0 (2 f): 20 + 38; enc1 (4 f): 76 + 148; middle expand (8 f): 296;
    # middle contract (8 f): 584; dec0 (4 f): trans 292, refine 292 + 148;
    # dec1 (2 f): trans 74, refine 74 + 38.  Total 2080.
    model, y, feats = build(UNet(filters=2, filters_rate=2, down_blocks=2, up_blocks=2),
                            (16, 16, 1))
    assert model.count_params() == 2080
    assert tuple(y.shape) == (None, 16, 16, 2)
    assert [(f.stride, f.tensor.shape[-1]) for f in feats] == [(4, 8), (2, 4)]
    names = {layer.name for layer in model.layers}
    assert {"stack0_enc0_conv0", "stack0_enc1_pool", "stack0_enc2_last_pool",
            "stack0_enc3_middle_expand_conv0", "stack0_enc4_middle_contract_conv0",
            "stack0_dec0_s4_to_s2_trans_conv", "stack0_dec0_s4_to_s2_skip_concat",
            "stack0_dec1_s2_to_s1_refine_conv1_act_relu"} <= names


def test_block_contraction_keeps_first_refine_filters():
    # Middle contract to 4 f (292); dec0: trans 4 f (148), concat -> 8 ch,
    # refine0 keeps 4 f (292), refine1 contracts to 2 f (74).  58 + 224 + 296 + 806.
    model, y, _ = build(UNet(filters=2, down_blocks=2, up_blocks=1,
                             block_contraction=True), (16, 16, 1))
    assert model.count_params() == 1384
    assert model.get_layer("stack0_dec0_s4_to_s2_refine_conv0").filters == 4
    assert tuple(y.shape) == (None, 8, 8, 2)


def test_strides_count_the_stem():
    # Stem /2, encoder: one pooled block and the last pool (/4): 8 in all.
    unet = UNet(filters=2, stem_blocks=1, down_blocks=2, up_blocks=2)
    assert unet.stem_features_stride == 2
    assert unet.encoder_features_stride == 8
    assert unet.decoder_features_stride == 2
    assert (unet.maximum_stride, unet.output_stride) == (8, 2)
    model, y, _ = build(unet, (32, 32, 1))
    assert tuple(y.shape) == (None, 16, 16, 4)
    # At stride 2 the stem output comes before the first encoder block (SLEAP's order).
    concat = model.get_layer("stack0_dec1_s4_to_s2_skip_concat")
    assert concat.input[0].name.startswith("stem1_last_pool")
    assert model.get_layer("stem0_conv0").kernel_size == (3, 3)


def test_stem_kernel_default_and_from_config():
    assert UNet().stem_kernel_size == 3
    unet = UNet.from_config(UNetConfig(stem_stride=2, max_stride=8, output_stride=2,
                                       filters=2, filters_rate=2))
    assert (unet.stem_blocks, unet.down_blocks, unet.up_blocks) == (1, 2, 2)
    assert (unet.stem_kernel_size, unet.kernel_size, unet.convs_per_block) == (7, 3, 2)
    model, y, _ = build(unet, (16, 16, 1))
    assert model.get_layer("stem0_conv0").kernel_size == (7, 7)
    # stem0 conv0: 7*7*1*2+2 = 100 (a 3x3 stem would have 20).
    assert model.get_layer("stem0_conv0").count_params() == 100
    assert tuple(y.shape) == (None, 8, 8, 4)


def test_stacked_needs_decoder_back_at_stem_stride():
    unet = UNet(stacks=2, stem_blocks=1, filters=2, down_blocks=1, up_blocks=1,
                up_interpolate=True, middle_block=False)
    outs, feats = unet.make_backbone(keras.Input((16, 16, 1)))
    assert [tuple(o.shape) for o in outs] == [(None, 8, 8, 4)] * 2
    assert [[f.stride for f in fs] for fs in feats] == [[4], [4]]
    with pytest.raises(ValueError, match="stem stride"):
        UNet(stacks=2, stem_blocks=1, filters=2, down_blocks=1,
             up_blocks=2).make_backbone(keras.Input((16, 16, 1)))

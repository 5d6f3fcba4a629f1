"""Encoder-decoder blocks and SLEAP's stride bookkeeping."""

from __future__ import annotations

from typing import List

import attrs
import numpy as np

from sleapish.nn._backend import keras
from sleapish.nn.architectures.encoder_decoder import (
    EncoderDecoder,
    PoolingBlock,
    SimpleConvBlock,
    SimpleUpsamplingBlock,
)


def build(backbone, shape):
    x = keras.Input(shape)
    y, feats = backbone.make_backbone(x)
    return keras.Model(x, y), y, feats


def test_conv_block_names_params_and_block_prefix():
    block = SimpleConvBlock(pool=True, pooling_stride=2, num_convs=2, filters=4,
                            kernel_size=3, block_prefix="_extra")
    x = keras.Input((8, 8, 2))
    model = keras.Model(x, block.make_block(x, prefix="stack0_enc3"))
    # conv0: 3*3*2*4 + 4 = 76; conv1: 3*3*4*4 + 4 = 148.
    assert model.count_params() == 224
    assert [layer.name for layer in model.layers[1:]] == [
        "stack0_enc3_extra_conv0", "stack0_enc3_extra_act0_relu",
        "stack0_enc3_extra_conv1", "stack0_enc3_extra_act1_relu",
        "stack0_enc3_extra_pool"]
    assert tuple(model.output.shape) == (None, 4, 4, 4)


def test_pooling_uses_a_2x2_window_whatever_the_stride():
    x = keras.Input((8, 8, 1))
    y = SimpleConvBlock(pool=True, pooling_stride=4, num_convs=0).make_block(x)
    ramp = np.arange(64, dtype=np.float32).reshape(1, 8, 8, 1)
    out = keras.Model(x, y).predict(ramp, verbose=0)[0, :, :, 0]
    # Windows [0:2, 0:2], [0:2, 4:6], [4:6, 0:2], [4:6, 4:6] of the ramp.
    np.testing.assert_array_equal(out, [[9, 13], [41, 45]])
    z = PoolingBlock(pooling_stride=1).make_block(x, prefix="p")
    same = keras.Model(x, z).predict(ramp, verbose=0)[0, :, :, 0]
    assert same.shape == (8, 8) and same[0, 0] == 9 and same[7, 7] == 63


def test_upsampling_block_first_refine_filters_and_bn_names():
    block = SimpleUpsamplingBlock(upsampling_stride=2, transposed_conv=True,
                                  transposed_conv_filters=4, refine_convs=2,
                                  refine_convs_first_filters=6, refine_convs_filters=3)
    x = keras.Input((4, 4, 2))
    model = keras.Model(x, block.make_block(x, current_stride=4, prefix="upsample"))
    # trans conv 3*3*2*4+4 = 76, BN 16; refine0 3*3*4*6+6 = 222, BN 24;
    # refine1 3*3*6*3+3 = 165, BN 12.
    assert model.count_params() == 515
    assert tuple(model.output.shape) == (None, 8, 8, 3)
    names = [layer.name for layer in model.layers]
    assert names[1:4] == ["upsample_s4_to_s2_trans_conv", "upsample_s4_to_s2_trans_conv_bn",
                          "upsample_s4_to_s2_trans_conv_act_relu"]
    # BN after the activation keeps the same name (SLEAP's weights load by name).
    after = SimpleUpsamplingBlock(transposed_conv=True, transposed_conv_filters=4,
                                  transposed_conv_batch_norm_before_activation=False,
                                  refine_convs=1, refine_convs_filters=2,
                                  refine_convs_batch_norm_before_activation=False)
    model = keras.Model(x, after.make_block(x, current_stride=2, prefix="d"))
    assert [type(layer).__name__ for layer in model.layers[1:4]] == [
        "Conv2DTranspose", "Activation", "BatchNormalization"]
    assert model.layers[3].name == "d_s2_to_s1_trans_conv_bn"
    assert model.layers[-1].name == "d_s2_to_s1_refine_conv0_bn"


@attrs.define
class _Toy(EncoderDecoder):
    """Stem /2, encoder /4 (one block without pooling), decoder x2."""

    @property
    def stem_stack(self) -> List:
        return [SimpleConvBlock(pool=True, pooling_stride=2, num_convs=1, filters=2)]

    @property
    def encoder_stack(self) -> List:
        return [SimpleConvBlock(pool=False, num_convs=1, filters=2),
                SimpleConvBlock(pool=True, num_convs=1, filters=2),
                SimpleConvBlock(pool=True, num_convs=1, filters=2)]

    @property
    def decoder_stack(self) -> List:
        return [SimpleUpsamplingBlock(skip_connection=True, refine_convs=1,
                                      refine_convs_filters=2,
                                      refine_convs_batch_norm=False)]


def test_strides_count_the_stem():
    toy = _Toy()
    assert toy.stem_features_stride == 2
    assert toy.encoder_features_stride == 8
    assert toy.decoder_features_stride == 4
    assert (toy.maximum_stride, toy.output_stride) == (8, 4)
    model, y, feats = build(toy, (32, 32, 1))
    assert tuple(y.shape) == (None, 8, 8, 2)
    assert [f.stride for f in feats] == [8]
    # The skip at stride 4 is the second encoder block's output.
    concat = model.get_layer("stack0_dec0_s8_to_s4_skip_concat")
    assert concat.input[0].name.startswith("stack0_enc1_pool")


def test_sleap_quirks_of_the_upsampling_block():
    # As SLEAP: the transposed conv keeps its bias, and refinement convs apply
    # `transposed_conv_activation` (their layer names say `refine_convs_activation`).
    block = SimpleUpsamplingBlock(transposed_conv=True, transposed_conv_filters=2,
                                  transposed_conv_use_bias=False,
                                  transposed_conv_batch_norm=False,
                                  transposed_conv_activation="linear", refine_convs=1,
                                  refine_convs_filters=2, refine_convs_batch_norm=False,
                                  refine_convs_activation="relu")
    x = keras.Input((2, 2, 1))
    model = keras.Model(x, block.make_block(x, prefix="d"))
    assert model.get_layer("d_trans_conv").count_params() == 3 * 3 * 1 * 2 + 2
    act = model.get_layer("d_refine_conv0_act_relu")
    assert act.activation.__name__ == "linear"

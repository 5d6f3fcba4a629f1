"""Upsampling stack: SLEAP's step count, names and skip merging."""

from __future__ import annotations

from sleapish.nn._backend import keras
from sleapish.nn.architectures import UpsamplingStack
from sleapish.nn.architectures.common import IntermediateFeature


def test_step_count_is_truncated_as_sleap():
    # log_4(32 / 4) = 1.5 steps: SLEAP builds one (output at stride 8), not two.
    stack = UpsamplingStack(output_stride=4, upsampling_stride=4, transposed_conv=False,
                            refine_convs=0)
    x = keras.Input((2, 2, 3))
    y, feats = stack.make_stack(x, current_stride=32)
    assert tuple(y.shape) == (None, 8, 8, 3)
    assert [f.stride for f in feats] == [32, 8]


def test_filters_rate_and_skip_add():
    stack = UpsamplingStack(output_stride=4, transposed_conv=True,
                            transposed_conv_filters=8, transposed_conv_filters_rate=0.5,
                            transposed_conv_kernel_size=4, skip_add=True, refine_convs=1,
                            refine_convs_filters=8, refine_convs_filters_rate=0.5)
    x = keras.Input((4, 4, 2))
    skip = keras.Input((8, 8, 5))
    y, feats = stack.make_stack(x, current_stride=16,
                                skip_sources=[IntermediateFeature(skip, 8)])
    model = keras.Model([x, skip], y)
    # s16->s8: trans 4*4*2*8+8 = 264, BN 32, 1x1 skip conv 5*8+8 = 48, refine
    # 3*3*8*8+8 = 584, BN 32; s8->s4: trans 4*4*8*4+4 = 516, BN 16, refine
    # 3*3*4*4+4 = 148, BN 16.
    assert model.count_params() == 1656
    assert tuple(y.shape) == (None, 16, 16, 4)
    assert model.get_layer("upsample_s16_to_s8_skip_conv1x1") is not None
    assert model.get_layer("upsample_s16_to_s8_skip_add") is not None
    assert [f.stride for f in feats] == [16, 8, 4]

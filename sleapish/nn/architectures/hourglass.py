"""Stacked hourglass backbone (SLEAP's `sleap.nn.architectures.hourglass`).

The Associative Embedding variant: a strided stem, then per stack an encoder of
"max pool -> 3x3 conv (ReLU) -> BN" blocks whose filters grow additively, and a
decoder of "3x3 conv -> nearest upsampling" blocks added to a 3x3 conv of the skip
source. Layer names are SLEAP's (`stem0_conv7x7_conv`, `stack0_enc0_pool`,
`stack0_dec0_skip_add`, ...).
"""

from __future__ import annotations

from typing import List

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import keras
from sleapish.nn.architectures.common import log2_int
from sleapish.nn.architectures.encoder_decoder import (
    DecoderBlock,
    EncoderBlock,
    EncoderDecoder,
)


def conv_bn(x, filters: int, kernel_size: int = 3, stride: int = 1,
            prefix: str = "conv"):
    """Conv2D ('same', ReLU) named `<prefix>_conv`, then BN named `<prefix>_bn`.

    Args:
        x: Tensor `(batch, h, w, c)`.
        filters: Output channels.
        kernel_size: Kernel size.
        stride: Convolution stride.
        prefix: Name prefix.
    """
    x = keras.layers.Conv2D(filters, kernel_size, strides=stride, padding="same",
                            activation="relu", name=f"{prefix}_conv")(x)
    return keras.layers.BatchNormalization(name=f"{prefix}_bn")(x)


#: SLEAP's name for :func:`conv_bn`.
conv = conv_bn


@attrs.define
class StemBlock(EncoderBlock):
    """Stem: 7x7 conv (stride 2 if `pooling_stride` is 4), 3x3 conv with twice the
    filters, max pooling (stride 2 if `pooling_stride` > 1), 3x3 conv to
    `output_filters`.

    Attributes:
        pool: Whether the block downsamples.
        pooling_stride: Total downsampling: 1, 2 or 4.
        filters: Filters of the first convolution.
        output_filters: Filters of the block output.
    """

    pool: bool = True
    pooling_stride: int = 4
    filters: int = 128
    output_filters: int = 256

    def make_block(self, x_in, prefix: str = "stem"):
        """Apply the stem; returns `(batch, h / s, w / s, output_filters)`."""
        x = conv_bn(x_in, self.filters, kernel_size=7,
                    stride=2 if (self.pool and self.pooling_stride == 4) else 1,
                    prefix=f"{prefix}_conv7x7")
        x = conv_bn(x, 2 * self.filters, prefix=f"{prefix}_conv3x3")
        x = keras.layers.MaxPool2D(
            strides=2 if (self.pool and self.pooling_stride > 1) else 1,
            padding="same", name=f"{prefix}_pool")(x)
        return conv_bn(x, self.output_filters, prefix=f"{prefix}_conv3x3_out")


@attrs.define
class DownsamplingBlock(EncoderBlock):
    """Max pooling (2x2, stride 2) then a 3x3 conv + BN.

    The block always pools by 2; `pool` and `pooling_stride` (inherited, defaults
    True and 2) only feed the stride bookkeeping, as in SLEAP.

    Attributes:
        filters: Filters of the convolution.
    """

    filters: int = 256

    def make_block(self, x_in, prefix: str = "downsample"):
        """Apply the block; returns `(batch, h / 2, w / 2, filters)`."""
        x = keras.layers.MaxPool2D(strides=2, padding="same", name=f"{prefix}_pool")(x_in)
        return conv_bn(x, self.filters, prefix=f"{prefix}_conv")


@attrs.define
class UpsamplingBlock(DecoderBlock):
    """3x3 conv + BN, upsample by 2, add a 3x3 conv + BN of the skip source.

    Attributes:
        upsampling_stride: Upsampling factor for the stride bookkeeping (the layer
            always upsamples by 2, as in SLEAP).
        filters: Filters of the output.
        interp_method: "nearest" (SLEAP's choice in the hourglass) or "bilinear".
    """

    filters: int = 256
    interp_method: str = "bilinear"

    def make_block(self, x, current_stride=None, skip_source=None,
                   prefix: str = "upsample"):
        """Apply the block; `skip_source` is required (the hourglass's skip)."""
        if skip_source is None:
            raise InvalidValueError(
                f"Hourglass upsampling block {prefix} needs a skip source at stride "
                f"{None if current_stride is None else current_stride // 2}. "
                "Received: None")
        x = conv_bn(x, self.filters, prefix=f"{prefix}_conv")
        x = keras.layers.UpSampling2D(interpolation=self.interp_method,
                                      name=f"{prefix}_{self.interp_method}")(x)
        x_skip = conv_bn(skip_source, self.filters, prefix=f"{prefix}_skip")
        return keras.layers.Add(name=f"{prefix}_skip_add")([x, x_skip])


@attrs.define
class Hourglass(EncoderDecoder):
    """Stacked hourglass network.

    Strides as in SLEAP: `encoder_features_stride` (= `maximum_stride`) counts the
    stem, e.g. 64 for a stride-4 stem and 4 down blocks; `decoder_features_stride`
    (= `output_stride`) is that divided by `2 ** up_blocks`.

    Attributes:
        down_blocks: Downsampling blocks per stack.
        up_blocks: Upsampling blocks per stack (= down_blocks when stacked).
        stem_filters: Filters of the stem's first convolution.
        stem_stride: Downsampling of the stem (1, 2 or 4).
        filters: Filters of the first block; block *i* has
            `filters + i * filter_increase`.
        filter_increase: Filters added per block.
        interp_method: Upsampling interpolation ("nearest" in SLEAP's configs).
        stacks: Number of stacked hourglasses (each gets the heads).
    """

    down_blocks: int = 4
    up_blocks: int = 4
    stem_filters: int = 128
    stem_stride: int = 4
    filters: int = 256
    filter_increase: int = 128
    interp_method: str = "nearest"
    stacks: int = 3

    @property
    def stem_stack(self) -> List[StemBlock]:
        """The stem (applied once)."""
        return [StemBlock(filters=self.stem_filters, output_filters=self.filters,
                          pool=True, pooling_stride=self.stem_stride)]

    @property
    def encoder_stack(self) -> List[DownsamplingBlock]:
        """Downsampling blocks with additively growing filters."""
        return [DownsamplingBlock(filters=self.filters + i * self.filter_increase)
                for i in range(self.down_blocks)]

    @property
    def decoder_stack(self) -> List[UpsamplingBlock]:
        """Upsampling blocks mirroring the encoder's filters."""
        return [UpsamplingBlock(
            filters=self.filters + (self.down_blocks - i - 1) * self.filter_increase,
            interp_method=self.interp_method) for i in range(self.up_blocks)]

    @classmethod
    def from_config(cls, config) -> Hourglass:
        """Build from a :class:`~sleapish.nn.config.HourglassConfig`."""
        stem_blocks = log2_int(config.stem_stride, "HourglassConfig.stem_stride")
        total = log2_int(config.max_stride, "HourglassConfig.max_stride")
        out = log2_int(config.output_stride, "HourglassConfig.output_stride")
        if stem_blocks > 2 or stem_blocks > total or out > total:
            raise InvalidValueError(
                "HourglassConfig needs stem_stride in (1, 2, 4) and stem_stride, "
                "output_stride <= max_stride. Received: stem_stride="
                f"{config.stem_stride}, max_stride={config.max_stride}, output_stride="
                f"{config.output_stride}")
        return cls(down_blocks=total - stem_blocks, up_blocks=total - out,
                   stem_filters=config.stem_filters, stem_stride=config.stem_stride,
                   filters=config.filters, filter_increase=config.filter_increase,
                   interp_method="nearest", stacks=config.stacks)

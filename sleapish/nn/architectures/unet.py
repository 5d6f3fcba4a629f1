"""UNet backbone (SLEAP's `sleap.nn.architectures.unet.UNet`)."""

from __future__ import annotations

from typing import List, Optional

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn.architectures.common import log2_int
from sleapish.nn.architectures.encoder_decoder import (
    EncoderDecoder,
    PoolingBlock,
    SimpleConvBlock,
    SimpleUpsamplingBlock,
)


@attrs.define
class UNet(EncoderDecoder):
    """UNet: convolutional encoder, optional middle block, decoder with skip concat.

    The optional stem has `stem_blocks` blocks of `convs_per_block` convolutions
    (kernel `stem_kernel_size`; each but the first preceded by 2x2 max pooling) and a
    final pooling layer (`stem{n}_last_pool`). The encoder has `down_blocks` such
    blocks (kernel `kernel_size`), then `..._last_pool`, then optionally a middle
    block (`middle_expand` with `convs_per_block - 1` convolutions and
    `middle_contract` with one). The decoder has `up_blocks` blocks that upsample by 2
    (transposed convolution or bilinear interpolation), concatenate the encoder output
    of the same stride and refine with `convs_per_block` convolutions.

    Filters of encoder block *i* are `int(filters * filters_rate ** (i + stem_blocks))`;
    decoder block *i* works with the filters of the encoder level it returns to (with
    `block_contraction`, all its convolutions but the first have those of the level
    below).

    Attributes:
        stacks: Number of stacked UNets (needs `up_blocks == down_blocks`).
        filters: Filters of the first block.
        filters_rate: Filter growth factor per block (filters are truncated to int).
        kernel_size: Kernel size of the encoder and decoder convolutions.
        stem_kernel_size: Kernel size of the stem convolutions (3; 7 from a config).
        convs_per_block: Convolutions per block.
        stem_blocks: Stem blocks before the stacks (the stem downsamples by
            `2 ** stem_blocks`).
        down_blocks: Encoder downsampling steps.
        middle_block: Whether to add the middle block.
        up_blocks: Decoder upsampling steps.
        up_interpolate: Bilinear interpolation (True) or transposed convs (False).
        block_contraction: Reduce filters in the middle block's last convolution and
            after the first convolution of each decoder block.

    Example:
        >>> unet = UNet(filters=8, down_blocks=2, up_blocks=2)
        >>> x_main, features = unet.make_backbone(keras.Input((64, 64, 1)))
        >>> unet.encoder_features_stride, unet.decoder_features_stride
        (4, 1)
    """

    filters: int = 64
    filters_rate: float = 2
    kernel_size: int = 3
    stem_kernel_size: int = 3
    convs_per_block: int = 2
    stem_blocks: int = 0
    down_blocks: int = 4
    middle_block: bool = True
    up_blocks: int = 4
    up_interpolate: bool = False
    block_contraction: bool = False

    def _filters(self, exponent: int) -> int:
        return int(self.filters * (self.filters_rate ** exponent))

    def _conv_block(self, filters: int, pool: bool, num_convs: int, kernel_size: int,
                    prefix: str = "") -> SimpleConvBlock:
        return SimpleConvBlock(pool=pool, pooling_stride=2, pool_before_convs=True,
                               num_convs=num_convs, filters=filters,
                               kernel_size=kernel_size, use_bias=True, batch_norm=False,
                               activation="relu", block_prefix=prefix)

    @property
    def stem_stack(self) -> Optional[List]:
        """Stem blocks and their final pooling, or `None` without a stem."""
        if self.stem_blocks == 0:
            return None
        blocks: List = [self._conv_block(self._filters(i), i > 0, self.convs_per_block,
                                         self.stem_kernel_size)
                        for i in range(self.stem_blocks)]
        blocks.append(PoolingBlock(pool=True, pooling_stride=2))
        return blocks

    @property
    def encoder_stack(self) -> List:
        """Encoder blocks, final pooling and the middle block."""
        blocks: List = [
            self._conv_block(self._filters(i + self.stem_blocks), i > 0,
                             self.convs_per_block, self.kernel_size)
            for i in range(self.down_blocks)
        ]
        blocks.append(PoolingBlock(pool=True, pooling_stride=2))
        if self.middle_block:
            top = self.down_blocks + self.stem_blocks
            if self.convs_per_block > 1:
                blocks.append(self._conv_block(self._filters(top), False,
                                               self.convs_per_block - 1,
                                               self.kernel_size, "_middle_expand"))
            out = self._filters(top - 1 if self.block_contraction else top)
            blocks.append(self._conv_block(out, False, 1, self.kernel_size,
                                           "_middle_contract"))
        return blocks

    @property
    def decoder_stack(self) -> List[SimpleUpsamplingBlock]:
        """Decoder blocks with skip concatenation."""
        blocks = []
        top = self.down_blocks + self.stem_blocks
        for i in range(self.up_blocks):
            f_in = self._filters(top - 1 - i)
            f_out = self._filters(top - 2 - i) if self.block_contraction else f_in
            blocks.append(SimpleUpsamplingBlock(
                upsampling_stride=2, transposed_conv=not self.up_interpolate,
                transposed_conv_filters=f_in, transposed_conv_kernel_size=self.kernel_size,
                transposed_conv_batch_norm=False, interp_method="bilinear",
                skip_connection=True, skip_add=False, refine_convs=self.convs_per_block,
                refine_convs_first_filters=f_in, refine_convs_filters=f_out,
                refine_convs_kernel_size=self.kernel_size, refine_convs_batch_norm=False))
        return blocks

    @classmethod
    def from_config(cls, config) -> UNet:
        """Build from a :class:`~sleapish.nn.config.UNetConfig`.

        As SLEAP: `stem_blocks = log2(stem_stride)`, `down_blocks = log2(max_stride) -
        stem_blocks`, `up_blocks = log2(max_stride / output_stride)`, 3x3 kernels,
        7x7 stem kernels, two convolutions per block.

        Raises:
            ValueError: If strides are not powers of two or `output_stride` or
                `stem_stride` exceeds `max_stride`.
        """
        stem_blocks = 0 if config.stem_stride is None else log2_int(
            config.stem_stride, "UNetConfig.stem_stride")
        total = log2_int(config.max_stride, "UNetConfig.max_stride")
        out = log2_int(config.output_stride, "UNetConfig.output_stride")
        if out > total or stem_blocks > total:
            raise InvalidValueError(
                "UNetConfig.output_stride and stem_stride must be <= max_stride. "
                f"Received: max_stride={config.max_stride}, output_stride="
                f"{config.output_stride}, stem_stride={config.stem_stride}")
        return cls(filters=config.filters, filters_rate=config.filters_rate,
                   kernel_size=3, stem_kernel_size=7, convs_per_block=2,
                   stem_blocks=stem_blocks, down_blocks=total - stem_blocks,
                   middle_block=config.middle_block, up_blocks=total - out,
                   up_interpolate=config.up_interpolate, stacks=config.stacks)


__all__ = ["PoolingBlock", "UNet"]

"""LEAP CNN backbone (SLEAP's `sleap.nn.architectures.leap.LeapCNN`)."""

from __future__ import annotations

from typing import List

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn.architectures.common import log2_int
from sleapish.nn.architectures.encoder_decoder import (
    EncoderDecoder,
    SimpleConvBlock,
    SimpleUpsamplingBlock,
)


@attrs.define
class LeapCNN(EncoderDecoder):
    """LEAP CNN: conv blocks pooled after their convolutions, decoder without skips.

    Encoder block *i* (0-based) has `down_convs_per_block` 3x3 convolutions with
    `filters * filters_rate**i` filters followed by 2x2 max pooling; decoder block
    *j* (0-based) upsamples by 2 to `filters * filters_rate**(up_blocks - j)` filters
    and refines with `up_convs_per_block` convolutions (SLEAP's rule, which counts
    from `up_blocks`, not `down_blocks`).

    Attributes:
        stacks: Number of stacked networks (inherited first field, as in SLEAP).
        filters: Filters of the first block.
        filters_rate: Filter growth factor per block.
        down_blocks: Encoder blocks.
        down_convs_per_block: Convolutions per encoder block.
        up_blocks: Decoder blocks.
        up_interpolate: Bilinear interpolation (True) or transposed convs (False).
        up_convs_per_block: Convolutions per decoder block.
    """

    filters: int = 64
    filters_rate: float = 2
    down_blocks: int = 3
    down_convs_per_block: int = 3
    up_blocks: int = 3
    up_interpolate: bool = False
    up_convs_per_block: int = 2

    @property
    def kernel_size(self) -> int:
        """Kernel size of all convolutions (3)."""
        return 3

    @property
    def encoder_stack(self) -> List[SimpleConvBlock]:
        """Encoder blocks."""
        return [SimpleConvBlock(pool=True, pooling_stride=2, pool_before_convs=False,
                                num_convs=self.down_convs_per_block,
                                filters=int(self.filters * self.filters_rate ** i),
                                kernel_size=self.kernel_size, use_bias=True,
                                batch_norm=False, activation="relu")
                for i in range(self.down_blocks)]

    @property
    def decoder_stack(self) -> List[SimpleUpsamplingBlock]:
        """Decoder blocks."""
        blocks = []
        for i in range(self.up_blocks, 0, -1):
            f = int(self.filters * self.filters_rate ** i)
            blocks.append(SimpleUpsamplingBlock(
                upsampling_stride=2, transposed_conv=not self.up_interpolate,
                transposed_conv_filters=f, transposed_conv_use_bias=True,
                transposed_conv_kernel_size=self.kernel_size,
                transposed_conv_batch_norm=False, transposed_conv_activation="relu",
                interp_method="bilinear",
                skip_connection=False, refine_convs=self.up_convs_per_block,
                refine_convs_filters=f, refine_convs_kernel_size=self.kernel_size,
                refine_convs_batch_norm=False, refine_convs_activation="relu"))
        return blocks

    @classmethod
    def from_config(cls, config) -> LeapCNN:
        """Build from a :class:`~sleapish.nn.config.LEAPConfig`."""
        total = log2_int(config.max_stride, "LEAPConfig.max_stride")
        out = log2_int(config.output_stride, "LEAPConfig.output_stride")
        if out > total:
            raise InvalidValueError(
                "LEAPConfig.output_stride must be <= max_stride. Received: "
                f"max_stride={config.max_stride}, output_stride={config.output_stride}")
        return cls(stacks=config.stacks, filters=config.filters,
                   filters_rate=config.filters_rate, down_blocks=total,
                   down_convs_per_block=3, up_blocks=total - out,
                   up_interpolate=config.up_interpolate, up_convs_per_block=2)

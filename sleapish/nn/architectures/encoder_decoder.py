"""Generic encoder-decoder backbone built from simple convolutional blocks.

Layer names follow SLEAP's scheme exactly (`stack0_enc1_pool`, `stack0_enc1_conv0`,
`stack0_enc1_act0_relu`, `stack0_dec0_s8_to_s4_trans_conv`, `..._skip_concat`,
`..._refine_conv0_act_relu`, ...) so that weights of SLEAP-trained models load by
name and parameter counts match SLEAP's.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import attrs

from sleapish.nn._backend import keras
from sleapish.nn.architectures.common import IntermediateFeature


@attrs.define
class SimpleConvBlock:
    """Convolutions with optional max pooling before or after them.

    Attributes:
        pool: Whether to max-pool.
        pooling_stride: Pooling size and stride.
        pool_before_convs: Pool before (True) or after (False) the convolutions.
        num_convs: Number of 'same'-padded convolutions.
        filters: Filters per convolution.
        kernel_size: Convolution kernel size.
        use_bias: Whether convolutions have biases.
        batch_norm: Batch normalization after each convolution.
        batch_norm_before_activation: BN before (True) or after the activation.
        activation: Activation name.
        block_suffix: Appended to the block prefix (e.g. "middle_expand").
    """

    pool: bool = True
    pooling_stride: int = 2
    pool_before_convs: bool = False
    num_convs: int = 2
    filters: int = 32
    kernel_size: int = 3
    use_bias: bool = True
    batch_norm: bool = False
    batch_norm_before_activation: bool = True
    activation: str = "relu"
    block_suffix: str = ""

    def make_block(self, x_in, prefix: str = "conv_block"):
        """Apply the block.

        Args:
            x_in: Tensor `(batch, h, w, c)`.
            prefix: Name prefix, e.g. "stack0_enc1".

        Returns:
            The output tensor.
        """
        if self.block_suffix:
            prefix = f"{prefix}_{self.block_suffix}"
        x = x_in
        if self.pool and self.pool_before_convs:
            x = keras.layers.MaxPool2D(self.pooling_stride, self.pooling_stride,
                                       padding="same", name=f"{prefix}_pool")(x)
        for i in range(self.num_convs):
            x = keras.layers.Conv2D(self.filters, self.kernel_size, padding="same",
                                    use_bias=self.use_bias, name=f"{prefix}_conv{i}")(x)
            if self.batch_norm and self.batch_norm_before_activation:
                x = keras.layers.BatchNormalization(name=f"{prefix}_bn{i}")(x)
            x = keras.layers.Activation(self.activation,
                                        name=f"{prefix}_act{i}_{self.activation}")(x)
            if self.batch_norm and not self.batch_norm_before_activation:
                x = keras.layers.BatchNormalization(name=f"{prefix}_bn{i}")(x)
        if self.pool and not self.pool_before_convs:
            x = keras.layers.MaxPool2D(self.pooling_stride, self.pooling_stride,
                                       padding="same", name=f"{prefix}_pool")(x)
        return x

    @property
    def stride_factor(self) -> int:
        """Downsampling applied by this block."""
        return self.pooling_stride if self.pool else 1


@attrs.define
class PoolingBlock:
    """A lone max pooling layer, named `<prefix>_last_pool` as in SLEAP's UNet.

    Attributes:
        pool: Whether to pool (a disabled block is the identity).
        pooling_stride: Pooling size and stride.
    """

    pool: bool = True
    pooling_stride: int = 2

    def make_block(self, x_in, prefix: str = "pool"):
        """Apply max pooling; returns the pooled tensor."""
        if not self.pool:
            return x_in
        return keras.layers.MaxPool2D(self.pooling_stride, self.pooling_stride,
                                      padding="same", name=f"{prefix}_last_pool")(x_in)

    @property
    def stride_factor(self) -> int:
        """Downsampling applied by this block."""
        return self.pooling_stride if self.pool else 1


@attrs.define
class SimpleUpsamplingBlock:
    """Upsampling (transposed conv or interpolation), optional skip, refinement convs.

    Attributes:
        upsampling_stride: Upsampling factor.
        transposed_conv: Use a transposed convolution (else interpolation).
        transposed_conv_filters: Filters of the transposed convolution.
        transposed_conv_kernel_size: Its kernel size.
        transposed_conv_use_bias: Its bias.
        transposed_conv_batch_norm: BN after it.
        transposed_conv_batch_norm_before_activation: BN before the activation.
        transposed_conv_activation: Its activation.
        interp_method: "bilinear" or "nearest" (when not transposed).
        skip_connection: Whether to merge a skip source of the new stride.
        skip_add: Merge by addition (1x1 conv to match channels) instead of concat.
        refine_convs: Convolutions after the merge.
        refine_convs_filters: Their filters.
        refine_convs_use_bias: Their bias.
        refine_convs_kernel_size: Their kernel size.
        refine_convs_batch_norm: BN after each.
        refine_convs_batch_norm_before_activation: BN before the activation.
        refine_convs_activation: Their activation.
    """

    upsampling_stride: int = 2
    transposed_conv: bool = False
    transposed_conv_filters: int = 64
    transposed_conv_kernel_size: int = 3
    transposed_conv_use_bias: bool = True
    transposed_conv_batch_norm: bool = True
    transposed_conv_batch_norm_before_activation: bool = True
    transposed_conv_activation: str = "relu"
    interp_method: str = "bilinear"
    skip_connection: bool = False
    skip_add: bool = False
    refine_convs: int = 2
    refine_convs_filters: int = 64
    refine_convs_use_bias: bool = True
    refine_convs_kernel_size: int = 3
    refine_convs_batch_norm: bool = True
    refine_convs_batch_norm_before_activation: bool = True
    refine_convs_activation: str = "relu"

    def make_block(self, x, current_stride: Optional[int] = None, skip_source=None,
                   prefix: str = "upsample"):
        """Apply the block.

        Args:
            x: Tensor `(batch, h, w, c)` at `current_stride`.
            current_stride: Stride of `x`; when given, layer names get
                `_s{current_stride}_to_s{new_stride}` (e.g. "stack0_dec0_s8_to_s4").
            skip_source: Tensor at the output stride to merge, or `None`.
            prefix: Name prefix, e.g. "stack0_dec0".

        Returns:
            Tensor `(batch, h * s, w * s, c')`.
        """
        L = keras.layers
        if current_stride is not None:
            new_stride = current_stride // self.upsampling_stride
            prefix = f"{prefix}_s{current_stride}_to_s{new_stride}"
        if self.transposed_conv:
            x = L.Conv2DTranspose(self.transposed_conv_filters,
                                  self.transposed_conv_kernel_size,
                                  strides=self.upsampling_stride, padding="same",
                                  use_bias=self.transposed_conv_use_bias,
                                  name=f"{prefix}_trans_conv")(x)
            bn = self.transposed_conv_batch_norm
            if bn and self.transposed_conv_batch_norm_before_activation:
                x = L.BatchNormalization(name=f"{prefix}_trans_conv_bn")(x)
            x = L.Activation(self.transposed_conv_activation,
                             name=f"{prefix}_trans_conv_act_"
                                  f"{self.transposed_conv_activation}")(x)
            if bn and not self.transposed_conv_batch_norm_before_activation:
                x = L.BatchNormalization(name=f"{prefix}_trans_conv_bn_after")(x)
        else:
            x = L.UpSampling2D(self.upsampling_stride, interpolation=self.interp_method,
                               name=f"{prefix}_interp_{self.interp_method}")(x)
        if self.skip_connection and skip_source is not None:
            if self.skip_add:
                if skip_source.shape[-1] != x.shape[-1]:
                    skip_source = L.Conv2D(x.shape[-1], 1, padding="same",
                                           name=f"{prefix}_skip_conv1x1")(skip_source)
                x = L.Add(name=f"{prefix}_skip_add")([skip_source, x])
            else:
                x = L.Concatenate(name=f"{prefix}_skip_concat")([skip_source, x])
        for i in range(self.refine_convs):
            x = L.Conv2D(self.refine_convs_filters, self.refine_convs_kernel_size,
                         padding="same", use_bias=self.refine_convs_use_bias,
                         name=f"{prefix}_refine_conv{i}")(x)
            bn = self.refine_convs_batch_norm
            if bn and self.refine_convs_batch_norm_before_activation:
                x = L.BatchNormalization(name=f"{prefix}_refine_conv{i}_bn")(x)
            x = L.Activation(self.refine_convs_activation,
                             name=f"{prefix}_refine_conv{i}_act_"
                                  f"{self.refine_convs_activation}")(x)
            if bn and not self.refine_convs_batch_norm_before_activation:
                x = L.BatchNormalization(name=f"{prefix}_refine_conv{i}_bn_after")(x)
        return x


class EncoderDecoder:
    """Base class of encoder-decoder backbones (UNet, LEAP CNN).

    Subclasses define `stem_stack`, `encoder_stack` and `decoder_stack` (lists of
    blocks) and the attribute `stacks`. :meth:`make_backbone` builds the network and
    returns the final output plus the intermediate features by stride.
    """

    stacks: int = 1

    @property
    def stem_stack(self) -> Optional[List]:
        """Blocks applied once before the stacks, or `None`."""
        return None

    @property
    def encoder_stack(self) -> List:
        """Encoder blocks of one stack."""
        raise NotImplementedError

    @property
    def decoder_stack(self) -> List[SimpleUpsamplingBlock]:
        """Decoder blocks of one stack."""
        raise NotImplementedError

    # ----------------------------------------------------------------- strides
    @property
    def stem_features_stride(self) -> int:
        """Downsampling of the stem."""
        return _product(b.stride_factor for b in (self.stem_stack or []))

    @property
    def encoder_features_stride(self) -> int:
        """Downsampling of one encoder stack."""
        return _product(b.stride_factor for b in self.encoder_stack)

    @property
    def maximum_stride(self) -> int:
        """Stride at the bottom of the network."""
        return self.stem_features_stride * self.encoder_features_stride

    @property
    def output_stride(self) -> int:
        """Stride of the backbone's main output."""
        up = _product(b.upsampling_stride for b in self.decoder_stack)
        return self.maximum_stride // up

    # ---------------------------------------------------------------- building
    def make_stem(self, x_in, prefix: str = "stem"):
        """Apply the stem blocks (not repeated across stacks); returns the output."""
        x = x_in
        for i, block in enumerate(self.stem_stack or []):
            x = block.make_block(x, prefix=f"{prefix}{i}")
        return x

    def make_encoder(self, x_in, current_stride: int, prefix: str = "enc"
                     ) -> Tuple[object, List[IntermediateFeature]]:
        """Apply the encoder.

        Returns:
            `(x, skips)`: the encoder output and, as skip sources, the first block
            output at each new stride, except the deepest (SLEAP's rule).
        """
        x, feats = x_in, []
        for i, block in enumerate(self.encoder_stack):
            x = block.make_block(x, prefix=f"{prefix}{i}")
            current_stride *= block.stride_factor
            if current_stride not in [f.stride for f in feats]:
                feats.append(IntermediateFeature(x, current_stride))
        return x, feats[:-1]

    def make_decoder(self, x_in, current_stride: int,
                     skip_sources: Sequence[IntermediateFeature] = (),
                     prefix: str = "dec") -> Tuple[object, List[IntermediateFeature]]:
        """Apply the decoder.

        Each block merges the first skip source found at its output stride.

        Returns:
            `(x, features)`: the decoder output and the input of every decoder block
            (the bottleneck first), for heads at other strides.
        """
        x, feats = x_in, []
        for i, block in enumerate(self.decoder_stack):
            feats.append(IntermediateFeature(x, current_stride))
            new_stride = current_stride // block.upsampling_stride
            skip = next((s.tensor for s in skip_sources if s.stride == new_stride), None)
            x = block.make_block(x, current_stride=current_stride, skip_source=skip,
                                 prefix=f"{prefix}{i}")
            current_stride = new_stride
        return x, feats

    def make_backbone(self, x_in):
        """Build the backbone on `x_in`.

        Args:
            x_in: Input tensor `(batch, height, width, channels)`.

        Returns:
            `(x_main, features)`: the output tensor and the list of
            :class:`IntermediateFeature` (bottleneck and decoder block inputs). With
            `stacks > 1`, both are lists with one entry per stack.

        Raises:
            ValueError: If stacked but the decoder does not return to the stem's stride.
        """
        if self.stacks > 1 and self.stem_features_stride != self.output_stride:
            raise ValueError(
                f"{type(self).__name__} with stacks={self.stacks} needs a decoder that "
                f"returns to the stem stride ({self.stem_features_stride}). Received: "
                f"output_stride={self.output_stride}")
        x = self.make_stem(x_in, prefix="stem")
        stem_feats = ([IntermediateFeature(x, self.stem_features_stride)]
                      if self.stem_stack else [])
        outputs, feats = [], []
        for i in range(self.stacks):
            x, skips = self.make_encoder(x, self.stem_features_stride, prefix=f"stack{i}_enc")
            x, dec_feats = self.make_decoder(x, self.maximum_stride,
                                             skip_sources=stem_feats + skips,
                                             prefix=f"stack{i}_dec")
            outputs.append(x)
            feats.append(dec_feats)
        if self.stacks == 1:
            return outputs[0], feats[0]
        return outputs, feats


def _product(values) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out

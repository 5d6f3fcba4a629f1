"""Generic encoder-decoder backbone built from simple convolutional blocks.

An :class:`EncoderDecoder` is a stem (applied once), then `stacks` repetitions of an
encoder (blocks of convolutions and pooling) and a decoder (blocks that upsample,
merge a skip source of the new stride and refine). UNet, LEAP CNN and the stacked
hourglass are subclasses that only define their block lists.

Layer names follow SLEAP's scheme exactly (`stack0_enc1_pool`, `stack0_enc1_conv0`,
`stack0_enc1_act0_relu`, `stack0_dec0_s8_to_s4_trans_conv`, `..._skip_concat`,
`..._refine_conv0_act_relu`, ...) so that weights of SLEAP-trained models load by
name and parameter counts match SLEAP's.

Strides follow SLEAP's bookkeeping: `stem_features_stride` is the stem's pooling,
`encoder_features_stride` the stride at the bottom of the encoder *including* the
stem, `decoder_features_stride` that divided by the decoder's upsampling.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import keras
from sleapish.nn.architectures.common import IntermediateFeature


@attrs.define
class EncoderBlock:
    """Base class of encoder blocks.

    Attributes:
        pool: Whether the block downsamples.
        pooling_stride: Downsampling factor when `pool` is set.
    """

    pool: bool = True
    pooling_stride: int = 2

    def make_block(self, x_in, prefix: str = "conv_block"):
        """Apply the block to `x_in` (`(batch, h, w, c)`); subclasses implement."""
        raise NotImplementedError("Subclasses of EncoderBlock must implement make_block.")

    @property
    def stride_factor(self) -> int:
        """Downsampling applied by this block (`pooling_stride` if `pool`, else 1)."""
        return int(self.pooling_stride) if self.pool else 1


@attrs.define
class DecoderBlock:
    """Base class of decoder blocks.

    Attributes:
        upsampling_stride: Upsampling factor of the block.
    """

    upsampling_stride: int = 2

    def make_block(self, x, current_stride: Optional[int] = None, skip_source=None,
                   prefix: str = "upsample"):
        """Apply the block to `x`; subclasses implement."""
        raise NotImplementedError("Subclasses of DecoderBlock must implement make_block.")


def _max_pool(x, stride: int, name: str):
    # SLEAP pools with a 2x2 window whatever the stride.
    return keras.layers.MaxPool2D(pool_size=2, strides=stride, padding="same",
                                  name=name)(x)


@attrs.define
class SimpleConvBlock(EncoderBlock):
    """Convolutions with optional max pooling before or after them.

    Attributes:
        pool: Whether to max-pool (2x2 window, stride `pooling_stride`).
        pooling_stride: Pooling stride.
        pool_before_convs: Pool before (True) or after (False) the convolutions.
        num_convs: Number of 'same'-padded convolutions.
        filters: Filters per convolution.
        kernel_size: Convolution kernel size.
        use_bias: Whether convolutions have biases.
        batch_norm: Batch normalization after each convolution.
        batch_norm_before_activation: BN before (True) or after the activation.
        activation: Activation name.
        block_prefix: Appended as is to the layer-name prefix (e.g.
            `"_middle_expand"` gives `stack0_enc5_middle_expand_conv0`).
    """

    pool_before_convs: bool = False
    num_convs: int = 2
    filters: int = 32
    kernel_size: int = 3
    use_bias: bool = True
    batch_norm: bool = False
    batch_norm_before_activation: bool = True
    activation: str = "relu"
    block_prefix: str = ""

    def make_block(self, x_in, prefix: str = "conv_block"):
        """Apply the block.

        Args:
            x_in: Tensor `(batch, h, w, c)`.
            prefix: Name prefix, e.g. "stack0_enc1".

        Returns:
            Tensor `(batch, h / s, w / s, filters)` (`s` = 1 without pooling).
        """
        prefix = prefix + self.block_prefix
        L = keras.layers
        x = x_in
        if self.pool and self.pool_before_convs:
            x = _max_pool(x, self.pooling_stride, f"{prefix}_pool")
        for i in range(self.num_convs):
            x = L.Conv2D(int(self.filters), self.kernel_size, strides=1, padding="same",
                         use_bias=self.use_bias, name=f"{prefix}_conv{i}")(x)
            if self.batch_norm and self.batch_norm_before_activation:
                x = L.BatchNormalization(name=f"{prefix}_bn{i}")(x)
            x = L.Activation(self.activation, name=f"{prefix}_act{i}_{self.activation}")(x)
            if self.batch_norm and not self.batch_norm_before_activation:
                x = L.BatchNormalization(name=f"{prefix}_bn{i}")(x)
        if self.pool and not self.pool_before_convs:
            x = _max_pool(x, self.pooling_stride, f"{prefix}_pool")
        return x


@attrs.define
class PoolingBlock(EncoderBlock):
    """A lone max pooling layer, named `<prefix>_last_pool` as in SLEAP's UNet.

    UNet blocks end with convolutions (their outputs are the skip sources), so the
    encoder ends with this block to make the number of poolings equal the number of
    down blocks.

    Attributes:
        pool: Whether to pool (a disabled block is the identity).
        pooling_stride: Pooling stride (2x2 window).
    """

    def make_block(self, x_in, prefix: str = "conv_block"):
        """Apply max pooling; returns the pooled tensor (or `x_in` if `pool` is off)."""
        if not self.pool:
            return x_in
        return _max_pool(x_in, self.pooling_stride, f"{prefix}_last_pool")


@attrs.define
class SimpleUpsamplingBlock(DecoderBlock):
    """Upsampling (transposed conv or interpolation), optional skip, refinement convs.

    Attributes:
        upsampling_stride: Upsampling factor.
        transposed_conv: Use a transposed convolution (else interpolation).
        transposed_conv_filters: Filters of the transposed convolution.
        transposed_conv_kernel_size: Its kernel size.
        transposed_conv_use_bias: Kept for SLEAP's signature; as in SLEAP the
            transposed convolution always has a bias.
        transposed_conv_batch_norm: BN after it.
        transposed_conv_batch_norm_before_activation: BN before the activation.
        transposed_conv_activation: Its activation.
        interp_method: "bilinear" or "nearest" (when not transposed).
        skip_connection: Whether to merge a skip source of the new stride.
        skip_add: Merge by addition (1x1 conv to match channels) instead of concat.
        refine_convs: Convolutions after the merge.
        refine_convs_first_filters: Filters of the first refinement convolution, or
            `None` for `refine_convs_filters`.
        refine_convs_filters: Filters of the (other) refinement convolutions.
        refine_convs_use_bias: Their bias.
        refine_convs_kernel_size: Their kernel size.
        refine_convs_batch_norm: BN after each.
        refine_convs_batch_norm_before_activation: BN before the activation.
        refine_convs_activation: Names their activation layers; as in SLEAP the
            function applied is `transposed_conv_activation` (the two are equal in
            every SLEAP backbone).
    """

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
    refine_convs_first_filters: Optional[int] = None
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
            x = L.Conv2DTranspose(int(self.transposed_conv_filters),
                                  self.transposed_conv_kernel_size,
                                  strides=self.upsampling_stride, padding="same",
                                  name=f"{prefix}_trans_conv")(x)
            x = _bn_act(x, self.transposed_conv_batch_norm,
                        self.transposed_conv_batch_norm_before_activation,
                        self.transposed_conv_activation, f"{prefix}_trans_conv_bn",
                        f"{prefix}_trans_conv_act_{self.transposed_conv_activation}")
        else:
            x = L.UpSampling2D(self.upsampling_stride, interpolation=self.interp_method,
                               name=f"{prefix}_interp_{self.interp_method}")(x)
        if self.skip_connection and skip_source is not None:
            if self.skip_add:
                if skip_source.shape[-1] != x.shape[-1]:
                    skip_source = L.Conv2D(x.shape[-1], 1, strides=1, padding="same",
                                           name=f"{prefix}_skip_conv1x1")(skip_source)
                x = L.Add(name=f"{prefix}_skip_add")([skip_source, x])
            else:
                x = L.Concatenate(name=f"{prefix}_skip_concat")([skip_source, x])
        for i in range(self.refine_convs):
            filters = self.refine_convs_filters
            if i == 0 and self.refine_convs_first_filters is not None:
                filters = self.refine_convs_first_filters
            x = L.Conv2D(int(filters), self.refine_convs_kernel_size, strides=1,
                         padding="same", use_bias=self.refine_convs_use_bias,
                         name=f"{prefix}_refine_conv{i}")(x)
            x = _bn_act(x, self.refine_convs_batch_norm,
                        self.refine_convs_batch_norm_before_activation,
                        self.transposed_conv_activation, f"{prefix}_refine_conv{i}_bn",
                        f"{prefix}_refine_conv{i}_act_{self.refine_convs_activation}")
        return x


def _bn_act(x, batch_norm: bool, bn_first: bool, activation: str, bn_name: str,
            act_name: str):
    L = keras.layers
    if batch_norm and bn_first:
        x = L.BatchNormalization(name=bn_name)(x)
    x = L.Activation(activation, name=act_name)(x)
    if batch_norm and not bn_first:
        x = L.BatchNormalization(name=bn_name)(x)
    return x


Features = List[IntermediateFeature]


@attrs.define
class EncoderDecoder:
    """Base class of encoder-decoder backbones (UNet, LEAP CNN, hourglass).

    Subclasses define `stem_stack` (optional), `encoder_stack` and `decoder_stack`
    (lists of blocks). :meth:`make_backbone` builds the network.

    Attributes:
        stacks: Number of encoder-decoder repetitions. Stacked networks need a decoder
            that returns to the stem's stride.
    """

    stacks: int = 1

    @property
    def stem_stack(self) -> Optional[Sequence[EncoderBlock]]:
        """Blocks applied once before the stacks, or `None`."""
        return None

    @property
    def encoder_stack(self) -> Sequence[EncoderBlock]:
        """Encoder blocks of one stack."""
        raise NotImplementedError("Encoder-decoder subclasses must define encoder stack.")

    @property
    def decoder_stack(self) -> Sequence[DecoderBlock]:
        """Decoder blocks of one stack."""
        raise NotImplementedError("Encoder-decoder subclasses must define decoder stack.")

    # ----------------------------------------------------------------- strides
    @property
    def stem_features_stride(self) -> int:
        """Stride of the stem output (1 without a stem)."""
        return _product(b.pooling_stride for b in (self.stem_stack or []) if b.pool)

    @property
    def encoder_features_stride(self) -> int:
        """Stride at the bottom of the encoder, the stem's downsampling included."""
        return self.stem_features_stride * _product(
            b.pooling_stride for b in self.encoder_stack if b.pool)

    @property
    def decoder_features_stride(self) -> int:
        """Stride of the decoder output: the encoder's divided by the upsampling."""
        up = _product(b.upsampling_stride for b in self.decoder_stack)
        return self.encoder_features_stride // up

    @property
    def maximum_stride(self) -> int:
        """Stride the input size must be divisible by (`encoder_features_stride`)."""
        return self.encoder_features_stride

    @property
    def output_stride(self) -> int:
        """Stride of the backbone output (`decoder_features_stride`)."""
        return self.decoder_features_stride

    # ---------------------------------------------------------------- building
    def make_stem(self, x_in, prefix: str = "stem"):
        """Apply the stem blocks (not repeated across stacks); returns the output."""
        x = x_in
        for i, block in enumerate(self.stem_stack or []):
            x = block.make_block(x, prefix=f"{prefix}{i}")
        return x

    def make_encoder(self, x_in, current_stride: int, prefix: str = "enc"
                     ) -> Tuple[object, Features]:
        """Apply the encoder.

        Args:
            x_in: Tensor `(batch, h, w, c)`.
            current_stride: Stride of `x_in` relative to the network input.
            prefix: Layer-name prefix ("stack0_enc" gives "stack0_enc0_...").

        Returns:
            `(x, skips)`: the encoder output and, as skip sources, the first block
            output at each new stride except the deepest (SLEAP's rule).
        """
        x, feats = x_in, []
        for i, block in enumerate(self.encoder_stack):
            x = block.make_block(x, prefix=f"{prefix}{i}")
            if block.pool:
                current_stride *= block.pooling_stride
            if current_stride not in [f.stride for f in feats]:
                feats.append(IntermediateFeature(x, current_stride))
        return x, feats[:-1]

    def make_decoder(self, x_in, current_stride: int,
                     skip_source_features: Optional[Sequence[IntermediateFeature]] = None,
                     prefix: str = "dec") -> Tuple[object, Features]:
        """Apply the decoder.

        Each block gets the first skip source whose stride is the block's output
        stride (blocks that make no skip connections ignore it).

        Args:
            x_in: Encoder output `(batch, h, w, c)`.
            current_stride: Stride of `x_in`.
            skip_source_features: Candidate skip sources.
            prefix: Layer-name prefix.

        Returns:
            `(x, features)`: the decoder output and the input of every decoder block
            (the bottleneck first), for heads at other strides.
        """
        x, feats = x_in, []
        sources = list(skip_source_features or [])
        for i, block in enumerate(self.decoder_stack):
            feats.append(IntermediateFeature(x, current_stride))
            next_stride = current_stride // block.upsampling_stride
            skip = next((s.tensor for s in sources if s.stride == next_stride), None)
            x = block.make_block(x, current_stride=current_stride, skip_source=skip,
                                 prefix=f"{prefix}{i}")
            current_stride = next_stride
        return x, feats

    def make_backbone(self, x_in, current_stride: int = 1
                      ) -> Union[Tuple[object, Features],
                                 Tuple[List[object], List[Features]]]:
        """Build the backbone on `x_in`.

        Args:
            x_in: Input tensor `(batch, height, width, channels)`.
            current_stride: Stride of `x_in` relative to the network input (1 for the
                input layer itself).

        Returns:
            `(x_main, features)`: the output tensor `(batch, height / output_stride,
            width / output_stride, c)` and the list of :class:`IntermediateFeature`
            (bottleneck and decoder block inputs). With `stacks > 1`, both are lists
            with one entry per stack.

        Raises:
            ValueError: If stacked but the decoder does not return to the stem's stride.
        """
        if self.stacks > 1 and self.stem_features_stride != self.decoder_features_stride:
            raise InvalidValueError(
                f"{type(self).__name__} with stacks={self.stacks} needs symmetric encoder "
                f"and decoder: the decoder must return to the stem stride "
                f"({self.stem_features_stride}); use a stem for initial downsampling. "
                f"Received: output_stride={self.decoder_features_stride}")
        x = self.make_stem(x_in, prefix="stem")
        stem_feats = ([IntermediateFeature(x, current_stride * self.stem_features_stride)]
                      if self.stem_stack is not None else [])
        outputs, feats = [], []
        for i in range(self.stacks):
            x, skips = self.make_encoder(
                x, current_stride=current_stride * self.stem_features_stride,
                prefix=f"stack{i}_enc")
            x, dec_feats = self.make_decoder(
                x, current_stride=current_stride * self.encoder_features_stride,
                skip_source_features=stem_feats + skips, prefix=f"stack{i}_dec")
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

"""Upsampling stack used after encoder-only backbones (ResNet).

Each step upsamples by `upsampling_stride` (transposed conv + BN + ReLU, or bilinear
interpolation), merges the first skip source found at the new stride (concatenation
or addition through a 1x1 conv), then refines with 3x3 conv + BN + ReLU layers.
Layer names are SLEAP's: `upsample_s16_to_s8_trans_conv`, `..._skip_concat`,
`..._refine0_conv`, `..._refine0_bn`, `..._refine0_relu`.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import attrs
import numpy as np

from sleapish.nn._backend import keras
from sleapish.nn.architectures.common import IntermediateFeature


@attrs.define
class UpsamplingStack:
    """A stack of upsampling steps from `current_stride` down to `output_stride`.

    Attributes:
        output_stride: Stride of the stack's output.
        upsampling_stride: Upsampling factor per step.
        transposed_conv: Transposed convolutions (True) or bilinear interpolation.
        transposed_conv_filters: Filters of the first transposed convolution.
        transposed_conv_filters_rate: Filter factor per step.
        transposed_conv_kernel_size: Transposed convolution kernel size.
        transposed_conv_batchnorm: BN after transposed convolutions.
        make_skip_connection: Merge skip sources at matching strides.
        skip_add: Merge by addition instead of concatenation.
        refine_convs: 3x3 convolutions after each step.
        refine_convs_filters: Filters of the first step's refinement convolutions.
        refine_convs_filters_rate: Filter factor per step.
        refine_convs_batchnorm: BN after refinement convolutions.
    """

    output_stride: int
    upsampling_stride: int = 2
    transposed_conv: bool = True
    transposed_conv_filters: int = 64
    transposed_conv_filters_rate: float = 1
    transposed_conv_kernel_size: int = 4
    transposed_conv_batchnorm: bool = True
    make_skip_connection: bool = True
    skip_add: bool = False
    refine_convs: int = 2
    refine_convs_filters: int = 64
    refine_convs_filters_rate: float = 1
    refine_convs_batchnorm: bool = True

    @classmethod
    def from_config(cls, config, output_stride: int) -> UpsamplingStack:
        """Build from an :class:`~sleapish.nn.config.UpsamplingConfig`."""
        return cls(output_stride=output_stride, upsampling_stride=config.block_stride,
                   transposed_conv=config.method == "transposed_conv",
                   transposed_conv_filters=config.filters,
                   transposed_conv_filters_rate=config.filters_rate,
                   transposed_conv_kernel_size=config.transposed_conv_kernel_size,
                   transposed_conv_batchnorm=config.batch_norm,
                   make_skip_connection=config.skip_connections is not None,
                   skip_add=config.skip_connections == "add",
                   refine_convs=config.refine_convs, refine_convs_filters=config.filters,
                   refine_convs_filters_rate=config.filters_rate,
                   refine_convs_batchnorm=config.batch_norm)

    def make_stack(self, x, current_stride: int,
                   skip_sources: Optional[Sequence[IntermediateFeature]] = None
                   ) -> Tuple[object, List[IntermediateFeature]]:
        """Upsample `x` from `current_stride` to `output_stride`.

        Args:
            x: Tensor `(batch, h, w, c)` at `current_stride`.
            current_stride: Stride of `x`.
            skip_sources: Candidate skip tensors; the first at each new stride is used.

        Returns:
            `(x_out, features)`: the output and the features after every step (the
            input first).
        """
        L = keras.layers
        # SLEAP's count, truncated: log_u(current_stride) - log_u(output_stride).
        n_steps = int((np.log(current_stride) - np.log(self.output_stride))
                      / np.log(self.upsampling_stride))
        feats = [IntermediateFeature(x, current_stride)]
        for step in range(n_steps):
            new_stride = current_stride // self.upsampling_stride
            p = f"upsample_s{current_stride}_to_s{new_stride}"
            if self.transposed_conv:
                f = int(self.transposed_conv_filters
                        * self.transposed_conv_filters_rate ** step)
                x = L.Conv2DTranspose(f, self.transposed_conv_kernel_size,
                                      strides=self.upsampling_stride, padding="same",
                                      name=f"{p}_trans_conv")(x)
                if self.transposed_conv_batchnorm:
                    x = L.BatchNormalization(name=f"{p}_bn")(x)
                x = L.Activation("relu", name=f"{p}_relu")(x)
            else:
                x = L.UpSampling2D(self.upsampling_stride, interpolation="bilinear",
                                   name=f"{p}_interp")(x)
            current_stride = new_stride
            if skip_sources is not None and self.make_skip_connection:
                src = next((s.tensor for s in skip_sources if s.stride == current_stride),
                           None)
                if src is not None and self.skip_add:
                    if src.shape[-1] != x.shape[-1]:
                        src = L.Conv2D(x.shape[-1], 1, padding="same",
                                       name=f"{p}_skip_conv1x1")(src)
                    x = L.Add(name=f"{p}_skip_add")([src, x])
                elif src is not None:
                    x = L.Concatenate(name=f"{p}_skip_concat")([src, x])
            f = int(self.refine_convs_filters * self.refine_convs_filters_rate ** step)
            for i in range(self.refine_convs):
                x = L.Conv2D(f, 3, padding="same", name=f"{p}_refine{i}_conv")(x)
                if self.refine_convs_batchnorm:
                    x = L.BatchNormalization(name=f"{p}_refine{i}_bn")(x)
                x = L.Activation("relu", name=f"{p}_refine{i}_relu")(x)
            feats.append(IntermediateFeature(x, current_stride))
        return x, feats

"""UNet with a classification network as encoder (SLEAP's `UnetPretrainedEncoder`).

SLEAP built these with the `segmentation_models` package; sleapish builds them on
`tf_keras.applications`, which offers the encoders listed in
:data:`AVAILABLE_ENCODERS`. SLEAP's other names (ResNet-18/34, ResNeXt, SE-ResNet(X),
SENet-154, Inception) have no Keras Applications counterpart that aligns with a UNet
decoder and raise a clear error. Because the encoder implementations differ, weights of
SLEAP-trained `pretrained_encoder` models do not transfer; the architecture and its
config do.

The decoder upsamples by 2 per stage (nearest), concatenates the deepest encoder
activation at the new stride, and refines with two 3x3 conv (+ BN) + ReLU layers:
`decoder_stage{i}_upsampling`, `decoder_stage{i}_concat`, `decoder_stage{i}a_conv`,
`decoder_stage{i}a_bn`, `decoder_stage{i}a_relu`, then `...b_...`.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import attrs

from sleapish.nn._backend import keras, tf
from sleapish.nn.architectures.common import IntermediateFeature, log2_int
from sleapish.nn.architectures.pretrained_weights import find_pretrained_weights
from sleapish.nn.config.model import PRETRAINED_ENCODER_NAMES

#: SLEAP encoder name -> (tf_keras.applications constructor, ImageNet no-top file).
AVAILABLE_ENCODERS: Dict[str, Tuple[str, str]] = {
    "vgg16": ("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "vgg19": ("VGG19", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "resnet50": ("ResNet50", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "resnet101": ("ResNet101", "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "resnet152": ("ResNet152", "resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "densenet121": ("DenseNet121",
                    "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "densenet169": ("DenseNet169",
                    "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "densenet201": ("DenseNet201",
                    "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "mobilenet": ("MobileNet", "mobilenet_1_0_224_tf_no_top.h5"),
    "mobilenetv2": ("MobileNetV2",
                    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
    **{f"efficientnetb{i}": (f"EfficientNetB{i}", f"efficientnetb{i}_notop.h5")
       for i in range(8)},
}

#: SLEAP encoder names sleapish cannot build.
UNAVAILABLE_ENCODERS = tuple(n for n in PRETRAINED_ENCODER_NAMES
                             if n not in AVAILABLE_ENCODERS)

_ENCODER_STRIDE = 32


@attrs.define
class UnetPretrainedEncoder:
    """UNet decoder on a `tf_keras.applications` encoder.

    Attributes:
        encoder: Encoder name (a key of :data:`AVAILABLE_ENCODERS`).
        pretrained: Load ImageNet weights (from disk, never downloaded).
        decoder_filters: Filters of the first (deepest) decoder stage.
        decoder_filters_rate: Filter factor per decoder stage.
        output_stride: Stride of the output (1 to 16).
        decoder_batchnorm: BN in the decoder.
    """

    encoder: str = "efficientnetb0"
    pretrained: bool = True
    decoder_filters: int = 256
    decoder_filters_rate: float = 1.0
    output_stride: int = 2
    decoder_batchnorm: bool = True

    @classmethod
    def from_config(cls, config) -> "UnetPretrainedEncoder":
        """Build from a :class:`~sleapish.nn.config.PretrainedEncoderConfig`.

        Raises:
            ValueError: For SLEAP encoder names without a Keras Applications encoder,
                or an output stride that is not a power of two below 32.
        """
        _check_encoder(config.encoder)
        log2_int(config.output_stride, "PretrainedEncoderConfig.output_stride")
        if config.output_stride >= _ENCODER_STRIDE:
            raise ValueError(
                f"PretrainedEncoderConfig.output_stride must be < {_ENCODER_STRIDE}. "
                f"Received: {config.output_stride}")
        return cls(encoder=config.encoder, pretrained=config.pretrained,
                   decoder_filters=config.decoder_filters,
                   decoder_filters_rate=config.decoder_filters_rate,
                   output_stride=config.output_stride,
                   decoder_batchnorm=config.decoder_batchnorm)

    @property
    def maximum_stride(self) -> int:
        """Stride of the encoder output (32 for all available encoders)."""
        return _ENCODER_STRIDE

    def make_backbone(self, x_in) -> Tuple[object, List[IntermediateFeature]]:
        """Build on `x_in`; returns `(x_out, decoder stage inputs as features)`.

        Raises:
            ValueError: For an unavailable encoder name.
            FileNotFoundError: If `pretrained` and the weights file is not on disk.
        """
        _check_encoder(self.encoder)
        ctor_name, weights_file = AVAILABLE_ENCODERS[self.encoder]
        weights_path = (find_pretrained_weights(weights_file, self.encoder)
                        if self.pretrained else None)
        x = x_in
        if self.pretrained and x.shape[-1] == 1:
            x = keras.layers.Lambda(lambda t: tf.tile(t, [1, 1, 1, 3]),
                                    name="tile_channels")(x)
        ctor = getattr(keras.applications, ctor_name)
        enc = ctor(include_top=False, weights=None, input_tensor=x)
        if weights_path is not None:
            enc.load_weights(str(weights_path), by_name=True)
        height = x_in.shape[1]
        skips: Dict[int, object] = {}
        for layer in enc.layers:
            out = layer.output
            if isinstance(out, list) or len(out.shape) != 4 or not out.shape[1]:
                continue
            if height and out.shape[1] and height % out.shape[1] == 0:
                skips[height // out.shape[1]] = out  # deepest layer at each stride
        y = enc.output
        stride = _ENCODER_STRIDE
        feats: List[IntermediateFeature] = []
        L = keras.layers
        i = 0
        while stride > self.output_stride:
            feats.append(IntermediateFeature(y, stride))
            stride //= 2
            y = L.UpSampling2D(2, name=f"decoder_stage{i}_upsampling")(y)
            if stride in skips and stride > 1:
                y = L.Concatenate(name=f"decoder_stage{i}_concat")([y, skips[stride]])
            filters = int(self.decoder_filters * self.decoder_filters_rate ** i)
            for part in "ab":
                y = L.Conv2D(filters, 3, padding="same", use_bias=not self.decoder_batchnorm,
                             name=f"decoder_stage{i}{part}_conv")(y)
                if self.decoder_batchnorm:
                    y = L.BatchNormalization(name=f"decoder_stage{i}{part}_bn")(y)
                y = L.Activation("relu", name=f"decoder_stage{i}{part}_relu")(y)
            i += 1
        return y, feats


def _check_encoder(name: str) -> None:
    if name not in AVAILABLE_ENCODERS:
        raise ValueError(
            f"Encoder {name!r} has no tf_keras.applications counterpart in sleapish. "
            f"Available: {sorted(AVAILABLE_ENCODERS)}. Received: {name!r}")

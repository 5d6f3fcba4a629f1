"""UNet with a classification network as encoder (SLEAP's `UnetPretrainedEncoder`).

SLEAP built this backbone with `segmentation_models.Unet`: an encoder network
(stride 32), then one decoder block per entry of `decoder_filters`, each "nearest
upsampling x2 -> concatenate the encoder's skip feature of the new stride (the first
four blocks) -> two 3x3 conv + BN + ReLU", the first block preceded by two 512-filter
"center" blocks when the encoder ends in max pooling (VGG). sleapish builds the same
networks with the same layer names, order and parameter counts:

- the ResNet / SE-ResNet / ResNeXt / SENet encoders of `classification_models` are
  rebuilt layer for layer (:mod:`.classification_encoders`);
- VGG, DenseNet, MobileNet, Inception and EfficientNet encoders come from
  `tf_keras.applications`, adjusted as `segmentation_models` did
  (:mod:`.keras_encoders`).

As in SLEAP, the encoder and decoder form a nested `tf_keras.Model` applied to the
backbone input, and a grayscale input gets an `ensure_rgb` layer when pretrained.
ImageNet weights are read from local files only (never downloaded).
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple, Union

import attrs
import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import keras
from sleapish.nn.architectures import classification_encoders, keras_encoders
from sleapish.nn.architectures.common import IntermediateFeature
from sleapish.nn.architectures.pretrained_weights import find_pretrained_weights
from sleapish.nn.config.model import PRETRAINED_ENCODER_NAMES
from sleapish.nn.data.normalization import ensure_rgb

#: SLEAP's encoder names.
AVAILABLE_ENCODERS: List[str] = list(PRETRAINED_ENCODER_NAMES)

_BUILDERS = {**classification_encoders.BUILDERS, **keras_encoders.BUILDERS}
_WEIGHT_FILES = {**classification_encoders.WEIGHT_FILES, **keras_encoders.WEIGHT_FILES}

_RESNET_SKIPS = ("stage4_unit1_relu1", "stage3_unit1_relu1", "stage2_unit1_relu1",
                 "relu0")
_EFFNET_SKIPS = ("block6a_expand_activation", "block4a_expand_activation",
                 "block3a_expand_activation", "block2a_expand_activation")

#: Encoder name -> the layers (names, or indices into the encoder's layers) whose
#: outputs are the skip connections at strides 16, 8, 4 and 2 (`segmentation_models`).
SKIP_LAYERS: Dict[str, Tuple[Union[str, int], ...]] = {
    "vgg16": ("block5_conv3", "block4_conv3", "block3_conv3", "block2_conv2"),
    "vgg19": ("block5_conv4", "block4_conv4", "block3_conv4", "block2_conv2"),
    **{n: _RESNET_SKIPS for n in ("resnet18", "resnet34", "resnet50", "resnet101",
                                  "resnet152", "resnext50", "resnext101", "seresnet18",
                                  "seresnet34")},
    "inceptionv3": (228, 86, 16, 9),
    "inceptionresnetv2": (594, 260, 16, 9),
    "densenet121": (311, 139, 51, 4),
    "densenet169": (367, 139, 51, 4),
    "densenet201": (479, 139, 51, 4),
    "seresnet50": (246, 136, 62, 4),
    "seresnet101": (552, 136, 62, 4),
    "seresnet152": (858, 208, 62, 4),
    "seresnext50": (1078, 584, 254, 4),
    "seresnext101": (2472, 584, 254, 4),
    "senet154": (6884, 1625, 454, 12),
    "mobilenet": ("conv_pw_11_relu", "conv_pw_5_relu", "conv_pw_3_relu",
                  "conv_pw_1_relu"),
    "mobilenetv2": ("block_13_expand_relu", "block_6_expand_relu", "block_3_expand_relu",
                    "block_1_expand_relu"),
    **{f"efficientnetb{i}": _EFFNET_SKIPS for i in range(8)},
}


def _conv3x3_bn_relu(x, filters: int, name: str):
    """`segmentation_models`' Conv3x3BnReLU: conv (no bias) -> BN -> ReLU."""
    L = keras.layers
    x = L.Conv2D(int(filters), 3, padding="same", use_bias=False,
                 kernel_initializer="he_uniform", name=f"{name}_conv")(x)
    x = L.BatchNormalization(axis=3, name=f"{name}_bn")(x)
    return L.Activation("relu", name=f"{name}_relu")(x)


def make_encoder(encoder: str, input_shape: Sequence[int], pretrained: bool = False):
    """Build an encoder network on its own input.

    Args:
        encoder: One of :data:`AVAILABLE_ENCODERS`.
        input_shape: `(height, width, channels)`.
        pretrained: Load the encoder's ImageNet weights from a local file.

    Returns:
        A `tf_keras.Model` `(batch, h, w, c) -> (batch, h / 32, w / 32, c')`.

    Raises:
        ValueError: For an unknown encoder name.
        FileNotFoundError: If `pretrained` and the weights file is not on disk.
    """
    if encoder not in _BUILDERS:
        raise InvalidValueError(f"Unknown encoder. Available: {AVAILABLE_ENCODERS}. "
                                f"Received: {encoder!r}")
    weights = (find_pretrained_weights(_WEIGHT_FILES[encoder], encoder)
               if pretrained else None)
    model = _BUILDERS[encoder](tuple(input_shape))
    if weights is not None:
        model.load_weights(str(weights))  # topological, as the original packages
    return model


def _skip_tensors(encoder_model, names) -> list:
    return [encoder_model.get_layer(name=n).output if isinstance(n, str)
            else encoder_model.get_layer(index=n).output for n in names]


@attrs.define
class UnetPretrainedEncoder:
    """UNet decoder on a (optionally ImageNet-pretrained) classification encoder.

    Attributes:
        encoder: Encoder name (one of :data:`AVAILABLE_ENCODERS`).
        decoder_filters: Filters of each decoder block, deepest first; its length is
            the number of upsampling steps (5 for an output stride of 1).
        pretrained: Load ImageNet weights into the encoder (from disk, never
            downloaded); a grayscale input is then tiled to RGB.

    Example:
        >>> backbone = UnetPretrainedEncoder("resnet18", (64, 32, 16, 8), False)
        >>> x, feats = backbone.make_backbone(keras.Input((256, 256, 1)))
        >>> tuple(x.shape), [f.stride for f in feats]
        ((None, 128, 128, 8), [16, 8, 4, 2])
    """

    encoder: str = attrs.field(default="efficientnetb0",
                               validator=attrs.validators.in_(AVAILABLE_ENCODERS))
    decoder_filters: Tuple[int, ...] = (256, 256, 128, 128)
    pretrained: bool = True

    @classmethod
    def from_config(cls, config) -> UnetPretrainedEncoder:
        """Build from a :class:`~sleapish.nn.config.PretrainedEncoderConfig`.

        As SLEAP: `log2(32 // output_stride)` decoder blocks with
        `int(decoder_filters * decoder_filters_rate ** i)` filters
        (`decoder_batchnorm` is not used: the decoder always has batch norm).
        """
        up_blocks = int(np.log2(32 // config.output_stride))
        filters = tuple(int(config.decoder_filters * config.decoder_filters_rate ** i)
                        for i in range(up_blocks))
        return cls(encoder=config.encoder, pretrained=config.pretrained,
                   decoder_filters=filters)

    @property
    def down_blocks(self) -> int:
        """Downsampling steps of the encoder (5)."""
        return 5

    @property
    def up_blocks(self) -> int:
        """Upsampling steps of the decoder (`len(decoder_filters)`)."""
        return len(self.decoder_filters)

    @property
    def maximum_stride(self) -> int:
        """Stride of the encoder output (32)."""
        return 32

    @property
    def output_stride(self) -> int:
        """Stride of the decoder output, `2 ** (down_blocks - up_blocks)`."""
        return int(2 ** (self.down_blocks - self.up_blocks))

    def make_backbone(self, x_in) -> Tuple[object, List[IntermediateFeature]]:
        """Build on `x_in`.

        Args:
            x_in: Input tensor `(batch, height, width, channels)`, grayscale or RGB.

        Returns:
            `(x_out, features)`: the last decoder block's output and the outputs of all
            decoder blocks as :class:`IntermediateFeature` (strides 16, 8, ...).

        Raises:
            FileNotFoundError: If `pretrained` and the weights file is not on disk.
        """
        img_shape = tuple(x_in.shape[1:])
        x = x_in
        if self.pretrained and img_shape[-1] == 1:
            x = keras.layers.Lambda(ensure_rgb, name="ensure_rgb")(x_in)
            img_shape = img_shape[:-1] + (3,)
        enc = make_encoder(self.encoder, img_shape, pretrained=self.pretrained)
        skips = _skip_tensors(enc, SKIP_LAYERS[self.encoder])
        y = enc.output
        if isinstance(enc.layers[-1], keras.layers.MaxPooling2D):
            y = _conv3x3_bn_relu(y, 512, "center_block1")
            y = _conv3x3_bn_relu(y, 512, "center_block2")
        outs = []
        L = keras.layers
        for i, filters in enumerate(self.decoder_filters):
            y = L.UpSampling2D(size=2, name=f"decoder_stage{i}_upsampling")(y)
            if i < len(skips):
                y = L.Concatenate(axis=3, name=f"decoder_stage{i}_concat")([y, skips[i]])
            y = _conv3x3_bn_relu(y, filters, f"decoder_stage{i}a")
            y = _conv3x3_bn_relu(y, filters, f"decoder_stage{i}b")
            outs.append(y)
        features_model = keras.Model(inputs=enc.inputs, outputs=outs)
        tensors = features_model(x)
        if not isinstance(tensors, (list, tuple)):
            tensors = [tensors]
        feats = [IntermediateFeature(t, 2 ** (4 - i)) for i, t in enumerate(tensors)]
        return feats[-1].tensor, feats


__all__ = ["AVAILABLE_ENCODERS", "SKIP_LAYERS", "UnetPretrainedEncoder", "make_encoder"]

"""Backbone architectures (SLEAP's `sleap.nn.architectures`)."""

from __future__ import annotations

from sleapish.errors import InvalidValueError
from sleapish.nn.architectures.common import IntermediateFeature
from sleapish.nn.architectures.encoder_decoder import (
    EncoderDecoder,
    PoolingBlock,
    SimpleConvBlock,
    SimpleUpsamplingBlock,
)
from sleapish.nn.architectures.hourglass import Hourglass
from sleapish.nn.architectures.leap import LeapCNN
from sleapish.nn.architectures.pretrained_encoders import (
    AVAILABLE_ENCODERS,
    UnetPretrainedEncoder,
)
from sleapish.nn.architectures.resnet import ResNet50, ResNet101, ResNet152, ResNetv1
from sleapish.nn.architectures.unet import UNet
from sleapish.nn.architectures.upsampling import UpsamplingStack

#: Backbone config field (in `BackboneConfig`) -> backbone class.
BACKBONE_CLASSES = {
    "leap": LeapCNN,
    "unet": UNet,
    "hourglass": Hourglass,
    "resnet": ResNetv1,
    "pretrained_encoder": UnetPretrainedEncoder,
}


def backbone_from_config(backbone_config):
    """Build the backbone selected by a :class:`~sleapish.nn.config.BackboneConfig`.

    Raises:
        ValueError: If no backbone is set.
    """
    name = backbone_config.which_oneof_attrib_name()
    if name is None:
        raise InvalidValueError("BackboneConfig has no backbone set. Received: all fields None")
    return BACKBONE_CLASSES[name].from_config(backbone_config.which_oneof())


__all__ = [
    "AVAILABLE_ENCODERS",
    "BACKBONE_CLASSES",
    "Hourglass",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNetv1",
    "UnetPretrainedEncoder",
    "UpsamplingStack",
    "EncoderDecoder",
    "IntermediateFeature",
    "LeapCNN",
    "PoolingBlock",
    "SimpleConvBlock",
    "SimpleUpsamplingBlock",
    "UNet",
    "backbone_from_config",
]

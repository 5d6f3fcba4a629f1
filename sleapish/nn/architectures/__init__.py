"""Backbone architectures (SLEAP's `sleap.nn.architectures`)."""

from __future__ import annotations

from sleapish.nn.architectures.common import IntermediateFeature
from sleapish.nn.architectures.encoder_decoder import (
    EncoderDecoder,
    PoolingBlock,
    SimpleConvBlock,
    SimpleUpsamplingBlock,
)
from sleapish.nn.architectures.leap import LeapCNN
from sleapish.nn.architectures.unet import UNet

#: Backbone config field (in `BackboneConfig`) -> backbone class.
BACKBONE_CLASSES = {"leap": LeapCNN, "unet": UNet}


def backbone_from_config(backbone_config):
    """Build the backbone selected by a :class:`~sleapish.nn.config.BackboneConfig`.

    Raises:
        ValueError: If no backbone is set.
    """
    name = backbone_config.which_oneof_attrib_name()
    if name is None:
        raise ValueError("BackboneConfig has no backbone set. Received: all fields None")
    return BACKBONE_CLASSES[name].from_config(backbone_config.which_oneof())


__all__ = [
    "BACKBONE_CLASSES",
    "EncoderDecoder",
    "IntermediateFeature",
    "LeapCNN",
    "PoolingBlock",
    "SimpleConvBlock",
    "SimpleUpsamplingBlock",
    "UNet",
    "backbone_from_config",
]

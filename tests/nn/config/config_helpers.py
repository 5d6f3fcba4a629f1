"""Test helper: a small centroid training config."""

from __future__ import annotations

from sleapish.nn.config import (
    BackboneConfig,
    CentroidsHeadConfig,
    HeadsConfig,
    ModelConfig,
    TrainingJobConfig,
    UNetConfig,
)


def centroid_config() -> TrainingJobConfig:
    return TrainingJobConfig(
        model=ModelConfig(
            backbone=BackboneConfig(unet=UNetConfig(max_stride=16, filters=8)),
            heads=HeadsConfig(centroid=CentroidsHeadConfig(anchor_part="thorax",
                                                           sigma=2.5)),
        )
    )

"""Optimization configuration: augmentation, batching, optimizer and schedules.

Mirrors `sleap.nn.config.optimization` of SLEAP 1.4.1 (fields, defaults, JSON keys).
"""

from __future__ import annotations

from typing import Optional

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn.config.utils import fraction, non_negative, one_of, positive


@attrs.define(eq=True)
class AugmentationConfig:
    """Random augmentation applied to training examples.

    Attributes:
        rotate: Rotate by a uniform angle in [rotation_min_angle, rotation_max_angle]
            degrees.
        rotation_min_angle: Minimum rotation in degrees.
        rotation_max_angle: Maximum rotation in degrees.
        translate: Translate by uniform integer pixels in [translate_min,
            translate_max].
        translate_min: Minimum translation in pixels.
        translate_max: Maximum translation in pixels.
        scale: Scale by a uniform factor in [scale_min, scale_max].
        scale_min: Minimum scale factor.
        scale_max: Maximum scale factor.
        uniform_noise: Add uniform noise in [uniform_noise_min_val,
            uniform_noise_max_val] (0-255 intensity units).
        uniform_noise_min_val: Minimum uniform noise.
        uniform_noise_max_val: Maximum uniform noise.
        gaussian_noise: Add Gaussian noise.
        gaussian_noise_mean: Mean of the Gaussian noise.
        gaussian_noise_stddev: Standard deviation of the Gaussian noise.
        contrast: Apply gamma contrast in [contrast_min_gamma, contrast_max_gamma].
        contrast_min_gamma: Minimum gamma.
        contrast_max_gamma: Maximum gamma.
        brightness: Add brightness in [brightness_min_val, brightness_max_val].
        brightness_min_val: Minimum brightness offset.
        brightness_max_val: Maximum brightness offset.
        random_crop: Crop a random `random_crop_height` x `random_crop_width` window.
        random_crop_height: Height of the random crop.
        random_crop_width: Width of the random crop.
        random_flip: Flip images at random, swapping symmetric body parts.
        flip_horizontal: If `True` flips are left-right, otherwise up-down.
    """

    rotate: bool = False
    rotation_min_angle: float = -180
    rotation_max_angle: float = 180
    translate: bool = False
    translate_min: int = -5
    translate_max: int = 5
    scale: bool = False
    scale_min: float = attrs.field(default=0.9, validator=positive)
    scale_max: float = attrs.field(default=1.1, validator=positive)
    uniform_noise: bool = False
    uniform_noise_min_val: float = 0.0
    uniform_noise_max_val: float = 10.0
    gaussian_noise: bool = False
    gaussian_noise_mean: float = 5.0
    gaussian_noise_stddev: float = attrs.field(default=1.0, validator=non_negative)
    contrast: bool = False
    contrast_min_gamma: float = attrs.field(default=0.5, validator=positive)
    contrast_max_gamma: float = attrs.field(default=2.0, validator=positive)
    brightness: bool = False
    brightness_min_val: float = 0.0
    brightness_max_val: float = 10.0
    random_crop: bool = False
    random_crop_height: int = attrs.field(default=256, validator=positive)
    random_crop_width: int = attrs.field(default=256, validator=positive)
    random_flip: bool = False
    flip_horizontal: bool = True

    def __attrs_post_init__(self):
        for lo, hi in [
            ("rotation_min_angle", "rotation_max_angle"),
            ("translate_min", "translate_max"),
            ("scale_min", "scale_max"),
            ("uniform_noise_min_val", "uniform_noise_max_val"),
            ("contrast_min_gamma", "contrast_max_gamma"),
            ("brightness_min_val", "brightness_max_val"),
        ]:
            if getattr(self, lo) > getattr(self, hi):
                raise InvalidValueError(
                    f"AugmentationConfig.{lo} must be <= {hi}. Received: "
                    f"{lo}={getattr(self, lo)!r}, {hi}={getattr(self, hi)!r}"
                )


@attrs.define(eq=True)
class HardKeypointMiningConfig:
    """Online hard keypoint mining: up-weight the parts with the largest losses.

    Attributes:
        online_mining: If `True`, enable online hard keypoint mining.
        hard_to_easy_ratio: A part is "hard" when its loss is at least this many times
            the smallest part loss.
        min_hard_keypoints: Minimum number of parts treated as hard.
        max_hard_keypoints: Maximum number of parts treated as hard (`None`: all).
        loss_scale: Factor applied to the hard parts' losses.
    """

    online_mining: bool = False
    hard_to_easy_ratio: float = attrs.field(default=2.0, validator=positive)
    min_hard_keypoints: int = attrs.field(default=2, validator=non_negative)
    max_hard_keypoints: Optional[int] = attrs.field(default=None, validator=positive)
    loss_scale: float = attrs.field(default=5.0, validator=positive)


@attrs.define(eq=True)
class LearningRateScheduleConfig:
    """Reduce the learning rate when the validation loss plateaus.

    Attributes:
        reduce_on_plateau: If `True`, enable the schedule.
        reduction_factor: Factor (in (0, 1]) the learning rate is multiplied by.
        plateau_min_delta: Minimum improvement of the validation loss that counts.
        plateau_patience: Epochs without improvement before reducing.
        plateau_cooldown: Epochs to wait after a reduction.
        min_learning_rate: Floor of the learning rate.
    """

    reduce_on_plateau: bool = False
    reduction_factor: float = attrs.field(default=0.1, validator=fraction)
    plateau_min_delta: float = attrs.field(default=1e-6, validator=non_negative)
    plateau_patience: int = attrs.field(default=5, validator=non_negative)
    plateau_cooldown: int = attrs.field(default=0, validator=non_negative)
    min_learning_rate: float = attrs.field(default=1e-8, validator=non_negative)


@attrs.define(eq=True)
class EarlyStoppingConfig:
    """Stop training when the validation loss stops improving.

    Attributes:
        stop_training_on_plateau: If `True`, enable early stopping.
        plateau_min_delta: Minimum improvement of the validation loss that counts.
        plateau_patience: Epochs without improvement before stopping.
    """

    stop_training_on_plateau: bool = False
    plateau_min_delta: float = attrs.field(default=1e-6, validator=non_negative)
    plateau_patience: int = attrs.field(default=10, validator=non_negative)


@attrs.define(eq=True)
class OptimizationConfig:
    """Training loop configuration.

    Attributes:
        preload_data: If `True`, decode all training frames into memory first.
        augmentation_config: An :class:`AugmentationConfig`.
        online_shuffling: If `True`, shuffle examples every epoch.
        shuffle_buffer_size: Size of the shuffle buffer.
        prefetch: If `True`, prefetch batches while the model trains.
        batch_size: Examples per batch.
        batches_per_epoch: Training batches per epoch; inferred from the data size
            (at least `min_batches_per_epoch`) when `None`.
        min_batches_per_epoch: Lower bound on inferred batches per epoch.
        val_batches_per_epoch: Validation batches per epoch; inferred when `None`.
        min_val_batches_per_epoch: Lower bound on inferred validation batches.
        epochs: Maximum number of epochs.
        optimizer: `"adam"` (AMSGrad), `"rmsprop"` or `"sgd"`.
        initial_learning_rate: Learning rate at the start of training.
        learning_rate_schedule: A :class:`LearningRateScheduleConfig`.
        hard_keypoint_mining: A :class:`HardKeypointMiningConfig`.
        early_stopping: An :class:`EarlyStoppingConfig`.
    """

    preload_data: bool = True
    augmentation_config: AugmentationConfig = attrs.field(factory=AugmentationConfig)
    online_shuffling: bool = True
    shuffle_buffer_size: int = attrs.field(default=128, validator=positive)
    prefetch: bool = True
    batch_size: int = attrs.field(default=8, validator=positive)
    batches_per_epoch: Optional[int] = attrs.field(default=None, validator=positive)
    min_batches_per_epoch: int = attrs.field(default=200, validator=non_negative)
    val_batches_per_epoch: Optional[int] = attrs.field(default=None, validator=positive)
    min_val_batches_per_epoch: int = attrs.field(default=10, validator=non_negative)
    epochs: int = attrs.field(default=100, validator=positive)
    optimizer: str = attrs.field(
        default="adam", validator=one_of(["adam", "rmsprop", "sgd"]))
    initial_learning_rate: float = attrs.field(default=1e-4, validator=positive)
    learning_rate_schedule: LearningRateScheduleConfig = attrs.field(
        factory=LearningRateScheduleConfig)
    hard_keypoint_mining: HardKeypointMiningConfig = attrs.field(
        factory=HardKeypointMiningConfig)
    early_stopping: EarlyStoppingConfig = attrs.field(factory=EarlyStoppingConfig)

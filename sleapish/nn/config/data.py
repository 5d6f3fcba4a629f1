"""Data configuration: labels sources and splits, preprocessing, instance cropping.

Field names, order and defaults are SLEAP 1.4.1's (`sleap.nn.config.data`), so a
`training_config.json` written by SLEAP loads unchanged and vice versa.
"""

from __future__ import annotations

from typing import List, Optional

import attrs
from sleap_io.model.skeleton import Skeleton

from sleapish.errors import InvalidValueError
from sleapish.io.skeleton_json import skeleton_signature
from sleapish.nn.config.utils import fraction, one_of, positive, power_of_two


def _skeletons_key(skeletons):
    """Structural comparison key for a list of skeletons (sleap-io compares by id)."""
    return tuple(skeleton_signature(s) for s in skeletons)


@attrs.define(eq=True)
class LabelsConfig:
    """Where the labels come from and how they are split.

    Attributes:
        training_labels: Path to a `.slp` file with the training labels. When the
            training CLI is given a labels path this is filled in.
        validation_labels: Path to a `.slp` file with validation labels. If `None`,
            `validation_fraction` of the training labels are held out.
        validation_fraction: Fraction of the training labeled frames (in [0, 1]) held
            out for validation when `validation_labels` is not given.
        test_labels: Path to a `.slp` file with held-out test labels, evaluated after
            training.
        split_by_inds: If `True`, split a single labels file by the frame indices in
            `training_inds`, `validation_inds` and `test_inds`.
        training_inds: Indices of labeled frames used for training (filled in by the
            trainer with the split it used).
        validation_inds: Indices of labeled frames used for validation.
        test_inds: Indices of labeled frames used for testing.
        search_path_hints: Folders searched for videos whose stored paths no longer
            exist.
        skeletons: The skeletons (`sleap_io.Skeleton`) of the training data, written
            into the config by the trainer. Serialized in SLEAP's jsonpickle form.
    """

    training_labels: Optional[str] = None
    validation_labels: Optional[str] = None
    validation_fraction: float = attrs.field(default=0.1, validator=fraction)
    test_labels: Optional[str] = None
    split_by_inds: bool = False
    training_inds: Optional[List[int]] = None
    validation_inds: Optional[List[int]] = None
    test_inds: Optional[List[int]] = None
    search_path_hints: List[str] = attrs.field(factory=list)
    skeletons: List[Skeleton] = attrs.field(factory=list, eq=attrs.cmp_using(
        eq=lambda a, b: _skeletons_key(a) == _skeletons_key(b)))


@attrs.define(eq=True)
class PreprocessingConfig:
    """Image preprocessing applied before the model, in training and inference.

    Attributes:
        ensure_rgb: If `True`, grayscale images are tiled to 3 channels.
        ensure_grayscale: If `True`, RGB images are converted to 1 channel.
        imagenet_mode: `None`, or one of `"tf"`, `"caffe"`, `"torch"`: the input
            normalization used by ImageNet-pretrained encoders.
        input_scaling: Factor (> 0) by which full images are resized before the model;
            < 1 trades accuracy for speed. Points map back as `x / scale + 0.5`.
        pad_to_stride: Images are padded (bottom/right) to a multiple of this. If
            `None`, the trainer sets it to the backbone's max stride.
        resize_and_pad_to_target: If `True`, images of different sizes are resized
            and padded to `target_height` x `target_width`.
        target_height: Target height for `resize_and_pad_to_target` (inferred from
            the largest video when `None`).
        target_width: Target width for `resize_and_pad_to_target`.
    """

    ensure_rgb: bool = False
    ensure_grayscale: bool = False
    imagenet_mode: Optional[str] = attrs.field(
        default=None, validator=one_of(["tf", "caffe", "torch"], optional=True))
    input_scaling: float = attrs.field(default=1.0, validator=positive)
    pad_to_stride: Optional[int] = attrs.field(default=None, validator=power_of_two)
    resize_and_pad_to_target: bool = True
    target_height: Optional[int] = attrs.field(default=None, validator=positive)
    target_width: Optional[int] = attrs.field(default=None, validator=positive)

    def __attrs_post_init__(self):
        if self.ensure_rgb and self.ensure_grayscale:
            raise InvalidValueError(
                "PreprocessingConfig: ensure_rgb and ensure_grayscale cannot both be "
                "True. Received: ensure_rgb=True, ensure_grayscale=True"
            )


@attrs.define(eq=True)
class InstanceCroppingConfig:
    """How instance-centered crops are made for top-down models.

    Attributes:
        center_on_part: Name of the body part crops are centered on (the anchor); if
            `None` or not visible, the midpoint of the instance's bounding box is used.
        crop_size: Side of the square crop in pixels. If `None`, the trainer picks the
            smallest size holding every instance plus the detection padding, rounded
            up to the max stride.
        crop_size_detection_padding: Padding in pixels added around the largest
            instance when `crop_size` is inferred.
    """

    center_on_part: Optional[str] = None
    crop_size: Optional[int] = attrs.field(default=None, validator=positive)
    crop_size_detection_padding: int = 16


@attrs.define(eq=True)
class DataConfig:
    """Data configuration: labels, preprocessing and instance cropping.

    Attributes:
        labels: A :class:`LabelsConfig`.
        preprocessing: A :class:`PreprocessingConfig`.
        instance_cropping: An :class:`InstanceCroppingConfig`.
    """

    labels: LabelsConfig = attrs.field(factory=LabelsConfig)
    preprocessing: PreprocessingConfig = attrs.field(factory=PreprocessingConfig)
    instance_cropping: InstanceCroppingConfig = attrs.field(
        factory=InstanceCroppingConfig)

"""Model configuration: backbone architectures and output heads.

Mirrors `sleap.nn.config.model` of SLEAP 1.4.1: same classes, fields, defaults and
JSON keys. :class:`BackboneConfig` and :class:`HeadsConfig` are "oneof" classes: at
most one field may be set, and it selects the architecture or the model type.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn.config.utils import one_of, oneof, positive, power_of_two


def _edges_converter(edges):
    """Normalize edges to a list of `(source, destination)` tuples of str."""
    if edges is None:
        return None
    out = []
    for e in edges:
        if isinstance(e, (str, bytes)) or len(e) != 2:
            raise InvalidValueError(
                "PartAffinityFieldsHeadConfig.edges must be pairs of node names. "
                f"Received: {e!r}"
            )
        out.append((str(e[0]), str(e[1])))
    return out


# ---------------------------------------------------------------------------- heads
@attrs.define(eq=True)
class SingleInstanceConfmapsHeadConfig:
    """Confidence maps for a single instance per image (one peak per part).

    Attributes:
        part_names: Body parts (node names) predicted, one channel each; all skeleton
            nodes when `None`.
        sigma: Gaussian spread of the maps in pixels of the model input (after input
            scaling).
        output_stride: Stride of the maps relative to the input (1, 2, 4, ...).
        loss_weight: Weight of this head's loss term.
        offset_refinement: If `True`, the model also outputs offset maps for
            sub-pixel refinement.
    """

    part_names: Optional[List[str]] = None
    sigma: float = attrs.field(default=5.0, validator=positive)
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    loss_weight: float = 1.0
    offset_refinement: bool = False


@attrs.define(eq=True)
class CentroidsHeadConfig:
    """Confidence maps of instance centroids (first stage of top-down models).

    Attributes:
        anchor_part: Node used as the centroid; the bounding-box midpoint when `None`
            or when the node is not visible.
        sigma: Gaussian spread in input pixels.
        output_stride: Stride of the maps relative to the input.
        loss_weight: Weight of this head's loss term.
        offset_refinement: If `True`, also output offset maps.
    """

    anchor_part: Optional[str] = None
    sigma: float = attrs.field(default=5.0, validator=positive)
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    loss_weight: float = 1.0
    offset_refinement: bool = False


@attrs.define(eq=True)
class CenteredInstanceConfmapsHeadConfig:
    """Confidence maps of the instance centered in a crop (second stage of top-down).

    Attributes:
        anchor_part: Node crops are centered on; bounding-box midpoint when `None`.
        part_names: Body parts predicted, one channel each; all nodes when `None`.
        sigma: Gaussian spread in input pixels.
        output_stride: Stride of the maps relative to the crop.
        loss_weight: Weight of this head's loss term.
        offset_refinement: If `True`, also output offset maps.
    """

    anchor_part: Optional[str] = None
    part_names: Optional[List[str]] = None
    sigma: float = attrs.field(default=5.0, validator=positive)
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    loss_weight: float = 1.0
    offset_refinement: bool = False


@attrs.define(eq=True)
class MultiInstanceConfmapsHeadConfig:
    """Confidence maps with one peak per part per instance (bottom-up models).

    Attributes:
        part_names: Body parts predicted, one channel each; all nodes when `None`.
        sigma: Gaussian spread in input pixels.
        output_stride: Stride of the maps relative to the input.
        loss_weight: Weight of this head's loss term.
        offset_refinement: If `True`, also output offset maps.
    """

    part_names: Optional[List[str]] = None
    sigma: float = attrs.field(default=5.0, validator=positive)
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    loss_weight: float = 1.0
    offset_refinement: bool = False


@attrs.define(eq=True)
class PartAffinityFieldsHeadConfig:
    """Part affinity fields: unit vectors along each skeleton edge (2 channels/edge).

    Attributes:
        edges: `(source, destination)` node-name pairs; all skeleton edges when `None`.
        sigma: Spread of the field around the edge, in input pixels (not multiplied
            by the stride).
        output_stride: Stride of the fields relative to the input.
        loss_weight: Weight of this head's loss term.
    """

    edges: Optional[Sequence[Tuple[str, str]]] = attrs.field(
        default=None, converter=_edges_converter)
    sigma: float = attrs.field(default=15.0, validator=positive)
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    loss_weight: float = 1.0


@attrs.define(eq=True)
class MultiInstanceConfig:
    """Bottom-up model: multi-instance confidence maps plus part affinity fields.

    Attributes:
        confmaps: A :class:`MultiInstanceConfmapsHeadConfig`.
        pafs: A :class:`PartAffinityFieldsHeadConfig`.
    """

    confmaps: MultiInstanceConfmapsHeadConfig = attrs.field(
        factory=MultiInstanceConfmapsHeadConfig)
    pafs: PartAffinityFieldsHeadConfig = attrs.field(
        factory=PartAffinityFieldsHeadConfig)


@attrs.define(eq=True)
class ClassMapsHeadConfig:
    """Class maps: per-pixel identity probabilities near each landmark (bottom-up ID).

    Attributes:
        classes: Names of the classes (track names); inferred from the tracks when
            `None`.
        sigma: Spread of the neighbourhood in which the maps are non-zero.
        output_stride: Stride of the maps (same as the confidence maps').
        loss_weight: Weight of this head's loss term.
    """

    classes: Optional[List[str]] = None
    sigma: float = attrs.field(default=5.0, validator=positive)
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    loss_weight: float = 1.0


@attrs.define(eq=True)
class MultiClassBottomUpConfig:
    """Bottom-up identity model: multi-instance confidence maps plus class maps.

    Attributes:
        confmaps: A :class:`MultiInstanceConfmapsHeadConfig`.
        class_maps: A :class:`ClassMapsHeadConfig`.
    """

    confmaps: MultiInstanceConfmapsHeadConfig = attrs.field(
        factory=MultiInstanceConfmapsHeadConfig)
    class_maps: ClassMapsHeadConfig = attrs.field(factory=ClassMapsHeadConfig)


@attrs.define(eq=True)
class ClassVectorsHeadConfig:
    """Class vectors: identity probabilities of the centered instance (top-down ID).

    Attributes:
        classes: Names of the classes; inferred from the tracks when `None`.
        num_fc_layers: Number of fully connected layers before the classifier.
        num_fc_units: Units in each fully connected layer.
        global_pool: If `True`, global max pooling precedes the dense layers.
        output_stride: Stride of the backbone features the head attaches to.
        loss_weight: Weight of this head's loss term.
    """

    classes: Optional[List[str]] = None
    num_fc_layers: int = attrs.field(default=1, validator=positive)
    num_fc_units: int = attrs.field(default=64, validator=positive)
    global_pool: bool = True
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    loss_weight: float = 1.0


@attrs.define(eq=True)
class MultiClassTopDownConfig:
    """Top-down identity model: centered-instance confidence maps plus class vectors.

    Attributes:
        confmaps: A :class:`CenteredInstanceConfmapsHeadConfig`.
        class_vectors: A :class:`ClassVectorsHeadConfig`.
    """

    confmaps: CenteredInstanceConfmapsHeadConfig = attrs.field(
        factory=CenteredInstanceConfmapsHeadConfig)
    class_vectors: ClassVectorsHeadConfig = attrs.field(factory=ClassVectorsHeadConfig)


@oneof
@attrs.define(eq=True)
class HeadsConfig:
    """The model type, selected by the one head configuration that is set.

    Attributes:
        single_instance: :class:`SingleInstanceConfmapsHeadConfig` (one animal).
        centroid: :class:`CentroidsHeadConfig` (top-down stage 1).
        centered_instance: :class:`CenteredInstanceConfmapsHeadConfig` (top-down
            stage 2).
        multi_instance: :class:`MultiInstanceConfig` (bottom-up with PAFs).
        multi_class_bottomup: :class:`MultiClassBottomUpConfig` (bottom-up identity).
        multi_class_topdown: :class:`MultiClassTopDownConfig` (top-down identity).
    """

    single_instance: Optional[SingleInstanceConfmapsHeadConfig] = None
    centroid: Optional[CentroidsHeadConfig] = None
    centered_instance: Optional[CenteredInstanceConfmapsHeadConfig] = None
    multi_instance: Optional[MultiInstanceConfig] = None
    multi_class_bottomup: Optional[MultiClassBottomUpConfig] = None
    multi_class_topdown: Optional[MultiClassTopDownConfig] = None


# ------------------------------------------------------------------------ backbones
@attrs.define(eq=True)
class LEAPConfig:
    """LEAP CNN backbone (encoder-decoder without skip connections).

    Attributes:
        max_stride: Stride at the bottom of the encoder (power of 2).
        output_stride: Stride of the output (power of 2, <= max_stride).
        filters: Filters of the first block.
        filters_rate: Factor by which filters grow per block.
        up_interpolate: If `True`, bilinear upsampling; else transposed convolutions.
        stacks: Number of repeated encoder-decoder stacks.
    """

    max_stride: int = attrs.field(default=8, validator=power_of_two)
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    filters: int = attrs.field(default=64, validator=positive)
    filters_rate: float = attrs.field(default=2, validator=positive)
    up_interpolate: bool = False
    stacks: int = attrs.field(default=1, validator=positive)


@attrs.define(eq=True)
class UNetConfig:
    """UNet backbone.

    Attributes:
        stem_stride: If set, a strided stem reduces resolution by this factor before
            the encoder.
        max_stride: Stride at the bottom of the encoder; sets the number of
            down-sampling blocks (log2) and the receptive field.
        output_stride: Stride of the output; sets where the decoder stops.
        filters: Filters of the first encoder block.
        filters_rate: Factor by which filters grow per block.
        middle_block: If `True`, add a convolutional block at the bottom.
        up_interpolate: If `True`, bilinear upsampling plus convolutions; else
            transposed convolutions.
        stacks: Number of repeated UNets (intermediate supervision).
    """

    stem_stride: Optional[int] = attrs.field(default=None, validator=power_of_two)
    max_stride: int = attrs.field(default=16, validator=power_of_two)
    output_stride: int = attrs.field(default=1, validator=power_of_two)
    filters: int = attrs.field(default=64, validator=positive)
    filters_rate: float = attrs.field(default=2, validator=positive)
    middle_block: bool = True
    up_interpolate: bool = False
    stacks: int = attrs.field(default=1, validator=positive)


@attrs.define(eq=True)
class HourglassConfig:
    """Stacked hourglass backbone.

    Attributes:
        stem_stride: Stride of the stem before the first hourglass.
        max_stride: Stride at the bottom of each hourglass.
        output_stride: Stride of the output.
        stem_filters: Filters in the stem.
        filters: Filters of the first hourglass block.
        filter_increase: Filters added at each down-sampling step.
        stacks: Number of stacked hourglasses.
    """

    stem_stride: int = attrs.field(default=4, validator=power_of_two)
    max_stride: int = attrs.field(default=64, validator=power_of_two)
    output_stride: int = attrs.field(default=4, validator=power_of_two)
    stem_filters: int = attrs.field(default=128, validator=positive)
    filters: int = attrs.field(default=256, validator=positive)
    filter_increase: int = 128
    stacks: int = attrs.field(default=3, validator=positive)


@attrs.define(eq=True)
class UpsamplingConfig:
    """Upsampling stack placed after an encoder-only backbone (ResNet).

    Attributes:
        method: `"interpolation"` (bilinear) or `"transposed_conv"`.
        skip_connections: `None`, `"add"` or `"concatenate"`.
        block_stride: Upsampling factor of each block.
        filters: Filters of the first block.
        filters_rate: Factor by which filters change per block.
        refine_convs: Convolutions after each upsampling step.
        batch_norm: If `True`, batch normalization after each convolution.
        transposed_conv_kernel_size: Kernel size of transposed convolutions.
    """

    method: str = attrs.field(
        default="interpolation", validator=one_of(["interpolation", "transposed_conv"]))
    skip_connections: Optional[str] = attrs.field(
        default=None, validator=one_of(["add", "concatenate"], optional=True))
    block_stride: int = attrs.field(default=2, validator=power_of_two)
    filters: int = attrs.field(default=64, validator=positive)
    filters_rate: float = attrs.field(default=1, validator=positive)
    refine_convs: int = 2
    batch_norm: bool = True
    transposed_conv_kernel_size: int = attrs.field(default=4, validator=positive)


@attrs.define(eq=True)
class ResNetConfig:
    """ResNet v1 backbone (encoder) with an upsampling stack.

    Attributes:
        version: `"ResNet50"`, `"ResNet101"` or `"ResNet152"`.
        weights: `"random"`, `"frozen"` (ImageNet, not trained) or `"tunable"`
            (ImageNet, fine-tuned).
        upsampling: An :class:`UpsamplingConfig`, or `None` for no decoder.
        max_stride: Stride of the encoder output; below 32, dilation replaces striding.
        output_stride: Stride of the output.
    """

    version: str = attrs.field(
        default="ResNet50", validator=one_of(["ResNet50", "ResNet101", "ResNet152"]))
    weights: str = attrs.field(
        default="frozen", validator=one_of(["random", "frozen", "tunable"]))
    upsampling: Optional[UpsamplingConfig] = None
    max_stride: int = attrs.field(default=32, validator=power_of_two)
    output_stride: int = attrs.field(default=4, validator=power_of_two)


#: Encoder names accepted by SLEAP's `PretrainedEncoderConfig`.
PRETRAINED_ENCODER_NAMES = (
    "vgg16", "vgg19",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50", "resnext101",
    "inceptionv3", "inceptionresnetv2",
    "densenet121", "densenet169", "densenet201",
    "seresnet18", "seresnet34", "seresnet50", "seresnet101", "seresnet152",
    "seresnext50", "seresnext101", "senet154",
    "mobilenet", "mobilenetv2",
    "efficientnetb0", "efficientnetb1", "efficientnetb2", "efficientnetb3",
    "efficientnetb4", "efficientnetb5", "efficientnetb6", "efficientnetb7",
)


@attrs.define(eq=True)
class PretrainedEncoderConfig:
    """UNet whose encoder is a (possibly ImageNet-pretrained) classification network.

    Attributes:
        encoder: Encoder name (see :data:`PRETRAINED_ENCODER_NAMES`).
        pretrained: If `True`, initialize the encoder with ImageNet weights.
        decoder_filters: Filters of the first decoder block.
        decoder_filters_rate: Factor by which decoder filters change per block.
        output_stride: Stride of the output.
        decoder_batchnorm: Kept for SLEAP config compatibility: SLEAP 1.4.1 does not
            use it when building the model, and neither does sleapish.
    """

    encoder: str = attrs.field(
        default="efficientnetb0", validator=one_of(PRETRAINED_ENCODER_NAMES))
    pretrained: bool = True
    decoder_filters: int = attrs.field(default=256, validator=positive)
    decoder_filters_rate: float = attrs.field(default=1.0, validator=positive)
    output_stride: int = attrs.field(default=2, validator=power_of_two)
    decoder_batchnorm: bool = True


@oneof
@attrs.define(eq=True)
class BackboneConfig:
    """The backbone architecture, selected by the one field that is set.

    Attributes:
        leap: A :class:`LEAPConfig`.
        unet: A :class:`UNetConfig`.
        hourglass: A :class:`HourglassConfig`.
        resnet: A :class:`ResNetConfig`.
        pretrained_encoder: A :class:`PretrainedEncoderConfig`.
    """

    leap: Optional[LEAPConfig] = None
    unet: Optional[UNetConfig] = None
    hourglass: Optional[HourglassConfig] = None
    resnet: Optional[ResNetConfig] = None
    pretrained_encoder: Optional[PretrainedEncoderConfig] = None


@attrs.define(eq=True)
class ModelConfig:
    """Model configuration: backbone, heads and an optional starting checkpoint.

    Attributes:
        backbone: A :class:`BackboneConfig`.
        heads: A :class:`HeadsConfig`.
        base_checkpoint: Path to a model folder whose weights initialize training.
    """

    backbone: BackboneConfig = attrs.field(factory=BackboneConfig)
    heads: HeadsConfig = attrs.field(factory=HeadsConfig)
    base_checkpoint: Optional[str] = None

"""The model builder: backbone + heads from a `ModelConfig`, as a `tf_keras.Model`.

`Model.from_config(config.model, skeleton, tracks).make_model(input_shape)` builds
the same network SLEAP builds from the same config: same layer names, shapes and
parameter counts, so SLEAP's `best_model.h5` weights load into it by name.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn import heads as H
from sleapish.nn._backend import keras
from sleapish.nn.architectures import (
    BACKBONE_CLASSES,
    Hourglass,
    LeapCNN,
    ResNet50,
    ResNet101,
    ResNet152,
    ResNetv1,
    UNet,
    UnetPretrainedEncoder,
    backbone_from_config,
)
from sleapish.nn.architectures.common import IntermediateFeature, check_input_size
from sleapish.nn.config import (
    HourglassConfig,
    LEAPConfig,
    PretrainedEncoderConfig,
    ResNetConfig,
    UNetConfig,
)
from sleapish.nn.head_kinds import head_kind

#: Backbone classes (SLEAP's `sleap.nn.model.ARCHITECTURES`).
ARCHITECTURES = [LeapCNN, UNet, Hourglass, ResNetv1, ResNet50, ResNet101, ResNet152,
                 UnetPretrainedEncoder]
ARCHITECTURE_NAMES = [cls.__name__ for cls in ARCHITECTURES]
#: Backbone config class -> backbone class.
BACKBONE_CONFIG_TO_CLS = {LEAPConfig: LeapCNN, UNetConfig: UNet, HourglassConfig: Hourglass,
                          ResNetConfig: ResNetv1,
                          PretrainedEncoderConfig: UnetPretrainedEncoder}
#: Head classes (SLEAP's `sleap.nn.model.HEADS`).
HEADS = [H.Head, H.CentroidConfmapsHead, H.SingleInstanceConfmapsHead,
         H.CenteredInstanceConfmapsHead, H.MultiInstanceConfmapsHead,
         H.PartAffinityFieldsHead, H.ClassMapsHead, H.ClassVectorsHead,
         H.OffsetRefinementHead]


def _ensure_list(x) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _edge_names(skeleton) -> Optional[List[Tuple[str, str]]]:
    if skeleton is None:
        return None
    return [(e.source.name, e.destination.name) for e in skeleton.edges]


def _track_names(tracks) -> Optional[List[str]]:
    if tracks is None:
        return None
    return [t if isinstance(t, str) else t.name for t in tracks]


def heads_from_config(heads_config, skeleton=None, tracks=None,
                      update_config: bool = False) -> List[H.Head]:
    """The output heads for a `HeadsConfig`, in SLEAP's output order.

    Order: the main confidence-map head, then the secondary head (PAFs, class maps
    or class vectors), then offsets when `offset_refinement` is set.

    Args:
        heads_config: A :class:`~sleapish.nn.config.HeadsConfig`.
        skeleton: `sleap_io.Skeleton` giving default part names and edges.
        tracks: Tracks (or names) giving default classes.
        update_config: If `True`, write inferred part names, edges and classes back
            into `heads_config`, as SLEAP's trainer does.

    Raises:
        ValueError: If no head is set, or names cannot be inferred.
    """
    kind = heads_config.which_oneof_attrib_name()
    if kind is None:
        raise InvalidValueError("HeadsConfig has no head set. Received: all fields None")
    cfg = heads_config.which_oneof()
    defaults = {"part_names": list(skeleton.node_names) if skeleton is not None else None,
                "edges": _edge_names(skeleton), "classes": _track_names(tracks)}
    out: List[H.Head] = []
    sub_cfgs = []
    for spec in head_kind(kind).heads:
        sub_cfg = getattr(cfg, spec.config) if spec.config else cfg
        names = {} if spec.names is None else {spec.names: defaults[spec.names]}
        head = getattr(H, spec.head).from_config(sub_cfg, **names)
        if update_config and spec.names in ("edges", "classes"):
            setattr(sub_cfg, spec.names, list(getattr(head, spec.names)))
        out.append(head)
        sub_cfgs.append(sub_cfg)
    main, cm_cfg = out[0], sub_cfgs[0]
    if update_config and hasattr(cm_cfg, "part_names"):
        cm_cfg.part_names = list(main.part_names)
    if cm_cfg.offset_refinement:
        parts = getattr(main, "part_names", None)
        out.append(H.OffsetRefinementHead.from_config(cm_cfg, part_names=parts))
    return out


@attrs.define
class Model:
    """A backbone with output heads.

    Attributes:
        backbone: A backbone instance (e.g. :class:`~sleapish.nn.architectures.UNet`).
        heads: Output heads, in output order.
        keras_model: The built `tf_keras.Model` (after :meth:`make_model`).

    Example:
        >>> model = Model.from_config(cfg.model, skeleton=labels.skeleton)
        >>> keras_model = model.make_model((384, 384, 1))
        >>> keras_model.output_names
        ['CentroidConfmapsHead']
    """

    backbone: object
    heads: List[H.Head] = attrs.field(converter=_ensure_list)
    keras_model: Optional[object] = None

    @classmethod
    def from_config(cls, config, skeleton=None, tracks=None,
                    update_config: bool = False) -> Model:
        """Build from a :class:`~sleapish.nn.config.ModelConfig`.

        As SLEAP, the backbone is built to end at the main (first) head's output
        stride: that stride is written into the backbone config's `output_stride`
        (whatever `update_config`), so a saved config says what was built.

        Args:
            config: The model config.
            skeleton: `sleap_io.Skeleton` for default part names and edges.
            tracks: Tracks or track names for default classes (identity models).
            update_config: Write inferred names back into `config`.

        Raises:
            ValueError: If no backbone or head is set, or names cannot be inferred.
        """
        if config.backbone.which_oneof() is None:
            raise InvalidValueError("Backbone architecture (config.model.backbone) was not "
                                    "specified. Received: all fields None")
        heads = heads_from_config(config.heads, skeleton=skeleton, tracks=tracks,
                                  update_config=update_config)
        config.backbone.which_oneof().output_stride = heads[0].output_stride
        return cls(backbone=backbone_from_config(config.backbone), heads=heads)

    @property
    def maximum_stride(self) -> int:
        """Total downsampling of the backbone."""
        return self.backbone.maximum_stride

    @property
    def output_stride(self) -> int:
        """Stride of the backbone's main output."""
        return self.backbone.output_stride

    def make_model(self, input_shape: Sequence[Optional[int]]):
        """Build the Keras model.

        Args:
            input_shape: `(height, width, channels)` of the input; height and width
                must be multiples of the maximum stride (or `None`).

        Returns:
            A `tf_keras.Model` with input `input` and one output per head (named
            after the head) in head order. With stacked backbones every stack gets
            each head; earlier stacks' outputs are named `<Head>_<stack>` and come
            before the final one.

        Raises:
            ValueError: If the input size does not fit the maximum stride, or a head's
                output stride matches no backbone feature.
        """
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise InvalidValueError(
                f"input_shape must be (height, width, channels). Received: {input_shape}")
        check_input_size(input_shape, self.maximum_stride, type(self.backbone).__name__)
        x_in = keras.Input(input_shape, name="input")
        x_main, feats = self.backbone.make_backbone(x_in)
        if not isinstance(x_main, list):
            x_main, feats = [x_main], [feats]
        n_stacks = len(x_main)
        outputs = []
        for head in self.heads:
            for s, (x, stack_feats) in enumerate(zip(x_main, feats)):
                name = head.name if s == n_stacks - 1 else f"{head.name}_{s}"
                t = self._feature_for(head, x, stack_feats)
                outputs.append(head.make_head(t, name=name))
        self.keras_model = keras.Model(inputs=x_in, outputs=outputs)
        return self.keras_model

    def _feature_for(self, head: H.Head, x_main, feats: List[IntermediateFeature]):
        if head.output_stride == self.backbone.output_stride:
            return x_main
        matches = [f for f in feats if f.stride == head.output_stride]
        if not matches:
            raise InvalidValueError(
                f"{head.name} has output_stride={head.output_stride}, but the backbone "
                f"{type(self.backbone).__name__} has features only at strides "
                f"{sorted({f.stride for f in feats} | {self.backbone.output_stride})}. "
                f"Received: output_stride={head.output_stride}")
        return matches[0].tensor


def transfer_weights(source, target) -> int:
    """Copy weights layer by layer, matching layers by name.

    SLEAP files from before 1.1 name head layers `<Head>_0`; a target layer `X` takes
    the weights of a source layer `X` or, failing that, `X_0`.

    Models nested in either model (SLEAP's pretrained-encoder backbones are a nested
    model) are matched layer by layer.

    Args:
        source: A `tf_keras.Model` (e.g. a loaded SLEAP `best_model.h5`).
        target: A `tf_keras.Model` built by :meth:`Model.make_model`.

    Returns:
        Number of layers whose weights were copied.

    Raises:
        ValueError: If a target layer with weights has no source layer, or shapes
            differ; the message names the layer and both shapes.
    """
    by_name = {layer.name: layer for layer in _flat_layers(source)}
    copied = 0
    for layer in _flat_layers(target):
        if not layer.weights:
            continue
        src = by_name.get(layer.name) or by_name.get(f"{layer.name}_0")
        if src is None:
            raise InvalidValueError(
                f"No layer named {layer.name!r} (or {layer.name}_0) in the source model. "
                f"Received layers: {sorted(by_name)[:8]}...")
        src_w, dst_w = src.get_weights(), layer.get_weights()
        shapes = ([w.shape for w in src_w], [w.shape for w in dst_w])
        if shapes[0] != shapes[1]:
            raise InvalidValueError(
                f"Weight shapes of layer {layer.name!r} differ: source {shapes[0]}, "
                f"target {shapes[1]}. Received: {src.name!r}")
        layer.set_weights(src_w)
        copied += 1
    return copied


def _flat_layers(model) -> list:
    """The layers of `model` with nested models replaced by their own layers."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(_flat_layers(layer))
        else:
            out.append(layer)
    return out


__all__ = ["ARCHITECTURES", "ARCHITECTURE_NAMES", "BACKBONE_CLASSES",
           "BACKBONE_CONFIG_TO_CLS", "HEADS", "Model",
           "heads_from_config", "transfer_weights"]

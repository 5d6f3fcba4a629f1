"""Output heads: what the model predicts and how the output layer is built.

Each head is a 1x1 convolution named after its class (SLEAP's convention; files
from older SLEAP versions add `_0`), except :class:`ClassVectorsHead`, a small
classifier. Heads carry the metadata the data pipelines and inference need (part
names, edges, classes, sigma, output stride, loss weight). Fields, their order and
defaults are SLEAP's, so positional construction works as with `sleap.nn.heads`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import List, Optional, Sequence, Tuple

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import keras


@attrs.define
class Head(ABC):
    """Base class: a 1x1 convolution with `channels` outputs.

    Attributes:
        output_stride: Stride of the head's output relative to the model input.
        loss_weight: Weight of this head's loss term.
    """

    output_stride: int = 1
    loss_weight: float = 1.0

    @property
    @abstractmethod
    def channels(self) -> int:
        """Number of output channels."""

    @property
    def activation(self) -> str:
        """Activation of the output layer."""
        return "linear"

    @property
    def loss_function(self) -> str:
        """Name of the loss this head is trained with ("mse")."""
        return "mse"

    @property
    def name(self) -> str:
        """Layer name: the class name."""
        return type(self).__name__

    def make_head(self, x_in, name: Optional[str] = None):
        """Build the output layer on `x_in`.

        Args:
            x_in: Feature tensor `(batch, h, w, c)` at `output_stride`.
            name: Layer name; the class name by default.

        Returns:
            Tensor `(batch, h, w, channels)`, float32.
        """
        return keras.layers.Conv2D(self.channels, 1, strides=1, padding="same",
                                   activation=self.activation,
                                   name=name or self.name)(x_in)


def _opt_list(values) -> Optional[List]:
    return None if values is None else list(values)


def _edge_list(edges) -> Optional[List[Tuple[str, str]]]:
    return None if edges is None else [tuple(e) for e in edges]


def _names(names, what: str) -> List:
    if not names:
        raise InvalidValueError(f"{what} needs at least one name. Received: {names!r}")
    return list(names)


@attrs.define
class _PartConfmapsHead(Head):
    """Confidence maps with one channel per part (the fields of the single-instance
    and bottom-up heads, which SLEAP defines as two classes)."""

    part_names: List[str] = attrs.field(converter=_opt_list)
    sigma: float = 5.0
    output_stride: int = 1
    loss_weight: float = 1.0

    @property
    def channels(self) -> int:
        """One channel per part."""
        return len(self.part_names)

    @classmethod
    def from_config(cls, config, part_names: Optional[Sequence[str]] = None):
        """From the matching head config.

        Args:
            config: The head config (e.g. `SingleInstanceConfmapsHeadConfig`).
            part_names: Used when `config.part_names` is `None` (the skeleton's
                nodes).

        Raises:
            ValueError: If neither gives a part name.
        """
        names = config.part_names if config.part_names is not None else part_names
        return cls(part_names=_names(names, cls.__name__), sigma=config.sigma,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


@attrs.define
class SingleInstanceConfmapsHead(_PartConfmapsHead):
    """Confidence maps, one channel per part, one instance per image.

    Attributes:
        part_names: Node names, one channel each.
        sigma: Gaussian spread in input pixels.
        output_stride: Stride of the output.
        loss_weight: Weight of the loss term.
    """


@attrs.define
class CentroidConfmapsHead(Head):
    """Centroid confidence maps (one channel).

    Attributes:
        anchor_part: Node used as the centroid, or `None` for bounding-box centers.
        sigma: Gaussian spread in input pixels.
        output_stride: Stride of the output.
        loss_weight: Weight of the loss term.
    """

    anchor_part: Optional[str] = None
    sigma: float = 5.0
    output_stride: int = 1
    loss_weight: float = 1.0

    @property
    def channels(self) -> int:
        """One channel."""
        return 1

    @classmethod
    def from_config(cls, config):
        """From a `CentroidsHeadConfig`."""
        return cls(anchor_part=config.anchor_part, sigma=config.sigma,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


@attrs.define
class CenteredInstanceConfmapsHead(Head):
    """Confidence maps of the instance centered in the crop, one channel per part.

    Attributes:
        part_names: Node names.
        anchor_part: Node crops are centered on.
        sigma: Gaussian spread in input pixels.
        output_stride: Stride of the output.
        loss_weight: Weight of the loss term.
    """

    part_names: List[str] = attrs.field(converter=_opt_list)
    anchor_part: Optional[str] = None
    sigma: float = 5.0
    output_stride: int = 1
    loss_weight: float = 1.0

    @property
    def channels(self) -> int:
        """One channel per part."""
        return len(self.part_names)

    @classmethod
    def from_config(cls, config, part_names: Optional[Sequence[str]] = None):
        """From a `CenteredInstanceConfmapsHeadConfig`; names as
        :meth:`SingleInstanceConfmapsHead.from_config`."""
        names = config.part_names if config.part_names is not None else part_names
        return cls(part_names=_names(names, cls.__name__), anchor_part=config.anchor_part,
                   sigma=config.sigma, output_stride=config.output_stride,
                   loss_weight=config.loss_weight)


@attrs.define
class MultiInstanceConfmapsHead(_PartConfmapsHead):
    """Confidence maps with a peak per part per instance (bottom-up models).

    Attributes:
        part_names: Node names, one channel each.
        sigma: Gaussian spread in input pixels.
        output_stride: Stride of the output.
        loss_weight: Weight of the loss term.
    """


@attrs.define
class PartAffinityFieldsHead(Head):
    """Part affinity fields: 2 channels (x, y) per edge, `[e0x, e0y, e1x, ...]`.

    Attributes:
        edges: `(source, destination)` node-name pairs.
        sigma: Spread around the edge in input pixels.
        output_stride: Stride of the output.
        loss_weight: Weight of the loss term.
    """

    edges: List[Tuple[str, str]] = attrs.field(converter=_edge_list)
    sigma: float = 15.0
    output_stride: int = 1
    loss_weight: float = 1.0

    @property
    def channels(self) -> int:
        """Two channels per edge."""
        return 2 * len(self.edges)

    @classmethod
    def from_config(cls, config, edges: Optional[Sequence[Tuple[str, str]]] = None):
        """From a `PartAffinityFieldsHeadConfig`; `edges` is used when
        `config.edges` is `None` (the skeleton's edges).

        Raises:
            ValueError: If neither gives an edge.
        """
        e = config.edges if config.edges is not None else edges
        if not e:
            raise InvalidValueError(f"{cls.__name__} needs at least one edge. Received: {e!r}")
        return cls(edges=e, sigma=config.sigma, output_stride=config.output_stride,
                   loss_weight=config.loss_weight)


@attrs.define
class ClassMapsHead(Head):
    """Class maps: per-pixel class probabilities (sigmoid), one channel per class.

    Attributes:
        classes: Class (track) names.
        sigma: Spread of the non-zero neighbourhood.
        output_stride: Stride of the output.
        loss_weight: Weight of the loss term.
    """

    classes: List[str] = attrs.field(converter=_opt_list)
    sigma: float = 5.0
    output_stride: int = 1
    loss_weight: float = 1.0

    @property
    def channels(self) -> int:
        """One channel per class."""
        return len(self.classes)

    @property
    def activation(self) -> str:
        """Sigmoid: classes are scored independently per pixel."""
        return "sigmoid"

    @classmethod
    def from_config(cls, config, classes: Optional[Sequence[str]] = None):
        """From a `ClassMapsHeadConfig`; `classes` (the track names) is used when
        `config.classes` is `None`."""
        names = config.classes if config.classes is not None else classes
        return cls(classes=_names(names, cls.__name__), sigma=config.sigma,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


@attrs.define
class ClassVectorsHead(Head):
    """Class vectors: softmax over classes for the centered instance.

    Built as global max pooling, flatten, `num_fc_layers` x (Dense + ReLU) and a
    softmax Dense, with SLEAP's layer names (`pre_classification_global_pool`,
    `pre_classification{i}_fc`, `pre_classification{i}_relu`, `ClassVectorsHead`).

    Attributes:
        classes: Class (track) names.
        num_fc_layers: Hidden dense layers.
        num_fc_units: Units per hidden layer.
        global_pool: Global max pooling before flattening.
        output_stride: Stride of the features the head is attached to.
        loss_weight: Weight of the loss term.
    """

    classes: List[str] = attrs.field(converter=_opt_list)
    num_fc_layers: int = 1
    num_fc_units: int = 64
    global_pool: bool = True
    output_stride: int = 1
    loss_weight: float = 1.0

    @property
    def channels(self) -> int:
        """One output per class."""
        return len(self.classes)

    @property
    def activation(self) -> str:
        """Softmax over classes."""
        return "softmax"

    @property
    def loss_function(self) -> str:
        """Categorical cross-entropy."""
        return "categorical_crossentropy"

    def make_head(self, x_in, name: Optional[str] = None):
        """Build the classifier.

        Args:
            x_in: Feature tensor `(batch, h, w, c)`.
            name: Name of the output layer; the class name by default.

        Returns:
            Tensor `(batch, n_classes)` of class probabilities.
        """
        L = keras.layers
        x = x_in
        if self.global_pool:
            x = L.GlobalMaxPool2D(name="pre_classification_global_pool")(x)
        x = L.Flatten(name="pre_classification_flatten")(x)
        for i in range(self.num_fc_layers):
            x = L.Dense(self.num_fc_units, name=f"pre_classification{i}_fc")(x)
            x = L.Activation("relu", name=f"pre_classification{i}_relu")(x)
        return L.Dense(self.channels, activation=self.activation,
                       name=name or self.name)(x)

    @classmethod
    def from_config(cls, config, classes: Optional[Sequence[str]] = None):
        """From a `ClassVectorsHeadConfig`; `classes` is used when `config.classes`
        is `None`."""
        names = config.classes if config.classes is not None else classes
        return cls(classes=_names(names, cls.__name__), num_fc_layers=config.num_fc_layers,
                   num_fc_units=config.num_fc_units, global_pool=config.global_pool,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


@attrs.define
class OffsetRefinementHead(Head):
    """Sub-pixel offsets: 2 channels (x, y) per part, `[p0x, p0y, p1x, ...]`.

    Attributes:
        part_names: Node names; for centroid models the single anchor part (`None`
            when centroids are bounding-box centers).
        output_stride: Stride of the output.
        sigma_threshold: Confidence map value above which offsets are trained.
        loss_weight: Weight of the loss term.
    """

    part_names: List[Optional[str]] = attrs.field(converter=_opt_list)
    output_stride: int = 1
    sigma_threshold: float = 0.2
    loss_weight: float = 1.0

    @property
    def channels(self) -> int:
        """Two channels per part."""
        return 2 * len(self.part_names)

    @classmethod
    def from_config(cls, config, part_names: Optional[Sequence[str]] = None,
                    sigma_threshold: float = 0.2, loss_weight: float = 1.0):
        """Offsets for a confidence-map head config, at its output stride.

        As SLEAP: configs with `part_names` use them (or `part_names` when they are
        `None`); centroid configs (no `part_names`) give `[config.anchor_part]`. The
        loss weight is the argument's, not the config's.

        Args:
            config: A confidence-map head config.
            part_names: Node names used when the config has none.
            sigma_threshold: Confidence map value above which offsets are trained.
            loss_weight: Weight of the offsets' loss term.

        Raises:
            ValueError: If a config with `part_names` gets no names at all.
        """
        if hasattr(config, "part_names"):
            names = config.part_names if config.part_names is not None else part_names
            names = _names(names, cls.__name__)
        elif hasattr(config, "anchor_part"):
            names = [config.anchor_part]
        else:
            names = _names(part_names, cls.__name__)
        return cls(part_names=names, output_stride=config.output_stride,
                   sigma_threshold=sigma_threshold, loss_weight=loss_weight)


__all__ = [
    "Head",
    "SingleInstanceConfmapsHead",
    "CentroidConfmapsHead",
    "CenteredInstanceConfmapsHead",
    "MultiInstanceConfmapsHead",
    "PartAffinityFieldsHead",
    "ClassMapsHead",
    "ClassVectorsHead",
    "OffsetRefinementHead",
]

"""Output heads: what the model predicts and how the output layer is built.

Each head is a 1x1 convolution named after its class (SLEAP's convention; files
from older SLEAP versions add `_0`), except :class:`ClassVectorsHead`, a small
classifier. Heads carry the metadata the data pipelines and inference need (part
names, edges, classes, sigma, output stride, loss weight).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import attrs

from sleapish.nn._backend import keras


@attrs.define
class Head:
    """Base class: a 1x1 convolution with `channels` outputs.

    Attributes:
        output_stride: Stride of the head's output relative to the model input.
        loss_weight: Weight of this head's loss term.
    """

    output_stride: int = 1
    loss_weight: float = 1.0

    @property
    def channels(self) -> int:
        """Number of output channels."""
        raise NotImplementedError

    @property
    def activation(self) -> str:
        """Activation of the output layer."""
        return "linear"

    @property
    def name(self) -> str:
        """Layer name: the class name."""
        return type(self).__name__

    def make_head(self, x_in, name: Optional[str] = None):
        """Build the output layer on `x_in` (`(batch, h, w, c)`).

        Returns:
            Tensor `(batch, h, w, channels)`.
        """
        return keras.layers.Conv2D(self.channels, 1, strides=1, padding="same",
                                   activation=self.activation,
                                   name=name or self.name)(x_in)


def _names(part_names, what: str) -> List[str]:
    if not part_names:
        raise ValueError(f"{what} needs at least one name. Received: {part_names!r}")
    return list(part_names)


@attrs.define
class _PartConfmapsHead(Head):
    """Confidence maps with one channel per body part.

    Attributes:
        part_names: Node names, one channel each.
        sigma: Gaussian spread in input pixels.
    """

    part_names: List[str] = attrs.field(factory=list)
    sigma: float = 5.0

    @property
    def channels(self) -> int:
        """One channel per part."""
        return len(self.part_names)

    @classmethod
    def from_config(cls, config, part_names: Optional[Sequence[str]] = None):
        """From the matching head config; part names default to `part_names` (the
        skeleton's nodes)."""
        names = _names(config.part_names or part_names, cls.__name__)
        return cls(part_names=names, sigma=config.sigma,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


@attrs.define
class SingleInstanceConfmapsHead(_PartConfmapsHead):
    """Confidence maps, one channel per part, one instance per image."""


@attrs.define
class CentroidConfmapsHead(Head):
    """Centroid confidence maps (one channel).

    Attributes:
        anchor_part: Node used as the centroid, or `None` for bounding-box centers.
        sigma: Gaussian spread in input pixels.
    """

    anchor_part: Optional[str] = None
    sigma: float = 5.0

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
    """

    part_names: List[str] = attrs.field(factory=list)
    anchor_part: Optional[str] = None
    sigma: float = 5.0

    @property
    def channels(self) -> int:
        """One channel per part."""
        return len(self.part_names)

    @classmethod
    def from_config(cls, config, part_names: Optional[Sequence[str]] = None):
        """From a `CenteredInstanceConfmapsHeadConfig`."""
        names = _names(config.part_names or part_names, cls.__name__)
        return cls(part_names=names, anchor_part=config.anchor_part, sigma=config.sigma,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


@attrs.define
class MultiInstanceConfmapsHead(_PartConfmapsHead):
    """Confidence maps with a peak per part per instance (bottom-up models)."""


@attrs.define
class PartAffinityFieldsHead(Head):
    """Part affinity fields: 2 channels (x, y) per edge, `[e0x, e0y, e1x, ...]`.

    Attributes:
        edges: `(source, destination)` node-name pairs.
        sigma: Spread around the edge in input pixels.
    """

    edges: List[Tuple[str, str]] = attrs.field(factory=list)
    sigma: float = 15.0

    @property
    def channels(self) -> int:
        """Two channels per edge."""
        return 2 * len(self.edges)

    @classmethod
    def from_config(cls, config, edges: Optional[Sequence[Tuple[str, str]]] = None):
        """From a `PartAffinityFieldsHeadConfig`; edges default to the skeleton's."""
        e = config.edges if config.edges is not None else edges
        if not e:
            raise ValueError(f"{cls.__name__} needs at least one edge. Received: {e!r}")
        return cls(edges=[tuple(x) for x in e], sigma=config.sigma,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


@attrs.define
class ClassMapsHead(Head):
    """Class maps: per-pixel class probabilities (sigmoid), one channel per class.

    Attributes:
        classes: Class (track) names.
        sigma: Spread of the non-zero neighbourhood.
    """

    classes: List[str] = attrs.field(factory=list)
    sigma: float = 5.0

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
        """From a `ClassMapsHeadConfig`; classes default to the track names."""
        names = _names(config.classes or classes, cls.__name__)
        return cls(classes=names, sigma=config.sigma,
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
    """

    classes: List[str] = attrs.field(factory=list)
    num_fc_layers: int = 1
    num_fc_units: int = 64
    global_pool: bool = True
    output_stride: int = 16

    @property
    def channels(self) -> int:
        """One output per class."""
        return len(self.classes)

    @property
    def activation(self) -> str:
        """Softmax over classes."""
        return "softmax"

    def make_head(self, x_in, name: Optional[str] = None):
        """Build the classifier on `x_in`; returns `(batch, n_classes)`."""
        L = keras.layers
        x = x_in
        if self.global_pool:
            x = L.GlobalMaxPool2D(name="pre_classification_global_pool")(x)
        x = L.Flatten(name="pre_classification_flatten")(x)
        for i in range(self.num_fc_layers):
            x = L.Dense(self.num_fc_units, name=f"pre_classification{i}_fc")(x)
            x = L.Activation("relu", name=f"pre_classification{i}_relu")(x)
        return L.Dense(self.channels, activation="softmax", name=name or self.name)(x)

    @classmethod
    def from_config(cls, config, classes: Optional[Sequence[str]] = None):
        """From a `ClassVectorsHeadConfig`."""
        names = _names(config.classes or classes, cls.__name__)
        return cls(classes=names, num_fc_layers=config.num_fc_layers,
                   num_fc_units=config.num_fc_units, global_pool=config.global_pool,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


@attrs.define
class OffsetRefinementHead(Head):
    """Sub-pixel offsets: 2 channels (x, y) per part, `[p0x, p0y, p1x, ...]`.

    Attributes:
        part_names: Node names (`["centroid"]`-like single name for centroids).
        sigma_threshold: Confidence map value above which offsets are trained.
    """

    part_names: List[str] = attrs.field(factory=list)
    sigma_threshold: float = 0.2

    @property
    def channels(self) -> int:
        """Two channels per part."""
        return 2 * len(self.part_names)

    @classmethod
    def from_config(cls, config, part_names: Optional[Sequence[str]] = None,
                    sigma_threshold: float = 0.2):
        """Offsets for a confidence-map head config (same stride and loss weight)."""
        names = getattr(config, "part_names", None) or part_names
        if names is None:  # centroid heads have one "part"
            names = [getattr(config, "anchor_part", None) or "centroid"]
        return cls(part_names=list(names), sigma_threshold=sigma_threshold,
                   output_stride=config.output_stride, loss_weight=config.loss_weight)


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

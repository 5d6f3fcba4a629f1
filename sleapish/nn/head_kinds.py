"""The six model types (SLEAP's `HeadsConfig` fields), in one table.

Each :class:`HeadKind` says what a model type is built from (its heads, and what each
head takes from the labels), how it trains (on full frames or instance crops, batches
counted in frames or instances, identity or not) and which trainer and predictor
serve it. Model building (:func:`sleapish.nn.model.make_heads`), the trainer choice
(:data:`sleapish.nn.training.trainer.TRAINERS`) and the predictor choice
(:meth:`~sleapish.nn.inference.predictor_base.Predictor.class_for_heads`) all read
this table. Classes are named, not imported, so this module depends on nothing.

Example:
    >>> HEAD_KINDS["multi_instance"].heads[1].head
    'PartAffinityFieldsHead'
    >>> predictor_for_kinds({"centroid", "centered_instance"})
    'TopDownPredictor'
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

import attrs

from sleapish.errors import InvalidValueError


@attrs.frozen
class HeadSpec:
    """One output head of a model type.

    Attributes:
        config: Attribute of the model type's config holding this head's config
            ("" for the config itself).
        head: Class name in :mod:`sleapish.nn.heads`.
        names: What the head takes from the labels when its config leaves it None:
            "part_names" (skeleton nodes), "edges" (skeleton edges), "classes"
            (track names) or None.
    """

    config: str
    head: str
    names: Optional[str] = None


@attrs.frozen
class HeadKind:
    """A model type.

    Attributes:
        name: The `HeadsConfig` field (e.g. "centered_instance").
        heads: Its heads; the first is the confidence maps head.
        trainer: Class name in :mod:`sleapish.nn.training.trainer`.
        predictor: Class name of its predictor (:mod:`sleapish.nn.inference.predictors`).
        on_crops: Trains on instance crops (input "instance_image", no stride padding).
        count_instances: Batches per epoch count instances, not frames.
        identity: Predicts identities (trains on tracked instances only).
        dispatch_priority: When several model types are loaded together (the two
            halves of top-down), the lowest value picks the predictor.
    """

    name: str
    heads: Tuple[HeadSpec, ...]
    trainer: str
    predictor: str
    on_crops: bool = False
    count_instances: bool = False
    identity: bool = False
    dispatch_priority: int = 10


HEAD_KINDS: Dict[str, HeadKind] = {k.name: k for k in (
    HeadKind("single_instance", (HeadSpec("", "SingleInstanceConfmapsHead", "part_names"),),
             trainer="SingleInstanceModelTrainer", predictor="SingleInstancePredictor",
             count_instances=True, dispatch_priority=0),
    HeadKind("centroid", (HeadSpec("", "CentroidConfmapsHead"),),
             trainer="CentroidConfmapsModelTrainer", predictor="TopDownPredictor",
             dispatch_priority=3),
    HeadKind("centered_instance",
             (HeadSpec("", "CenteredInstanceConfmapsHead", "part_names"),),
             trainer="TopdownConfmapsModelTrainer", predictor="TopDownPredictor",
             on_crops=True, count_instances=True, dispatch_priority=2),
    HeadKind("multi_instance",
             (HeadSpec("confmaps", "MultiInstanceConfmapsHead", "part_names"),
              HeadSpec("pafs", "PartAffinityFieldsHead", "edges")),
             trainer="BottomUpModelTrainer", predictor="BottomUpPredictor",
             dispatch_priority=4),
    HeadKind("multi_class_bottomup",
             (HeadSpec("confmaps", "MultiInstanceConfmapsHead", "part_names"),
              HeadSpec("class_maps", "ClassMapsHead", "classes")),
             trainer="BottomUpMultiClassModelTrainer",
             predictor="BottomUpMultiClassPredictor", identity=True, dispatch_priority=5),
    HeadKind("multi_class_topdown",
             (HeadSpec("confmaps", "CenteredInstanceConfmapsHead", "part_names"),
              HeadSpec("class_vectors", "ClassVectorsHead", "classes")),
             trainer="TopDownMultiClassModelTrainer",
             predictor="TopDownMultiClassPredictor", on_crops=True, count_instances=True,
             identity=True, dispatch_priority=1),
)}
"""Model type name -> :class:`HeadKind`, in `HeadsConfig`'s field order."""


def head_kind(name: Optional[str]) -> HeadKind:
    """The :class:`HeadKind` of a `HeadsConfig` field name.

    Raises:
        ValueError: For None (no head set) or an unknown name (`InvalidValueError`).
    """
    if name not in HEAD_KINDS:
        raise InvalidValueError(f"No model type {name!r}: choose one of "
                                f"{list(HEAD_KINDS)}. Received: {name!r}")
    return HEAD_KINDS[name]


def predictor_for_kinds(kinds: Iterable[str]) -> str:
    """The predictor class name for models of these types loaded together.

    Raises:
        ValueError: For no kinds or an unknown one (`InvalidValueError`).
    """
    found = [head_kind(k) for k in kinds]
    if not found:
        raise InvalidValueError("No model given. Received: no model types")
    return min(found, key=lambda k: k.dispatch_priority).predictor


__all__ = ["HeadSpec", "HeadKind", "HEAD_KINDS", "head_kind", "predictor_for_kinds"]

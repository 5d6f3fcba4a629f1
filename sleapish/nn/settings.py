"""Frozen inference settings: peak finding and PAF grouping.

Predictors build one :class:`PeakFindingConfig` (and, bottom-up, one
:class:`PAFGroupingConfig`) from their SLEAP-named fields and pass them to the layers
they make; layers keep them as immutable values. SLEAP's scripts set a layer's
attributes after construction (`layer.peak_threshold = 0.5`,
`centroid_crop.max_instances = 2`); those assignments still work: they replace the
frozen config with an evolved copy, validated like a new one, and an
:class:`~sleapish.nn.inference.models.InferenceModel` compares its layers'
:attr:`SettingsMixin.settings` to know when its traced step must be rebuilt.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn.peak_finding import check_refinement


def _finite(instance, attribute, value) -> None:
    if not math.isfinite(value):
        raise InvalidValueError(f"{type(instance).__name__}.{attribute.name} must be a finite "
                                f"number. Received: {value!r}")


def _positive(instance, attribute, value) -> None:
    if value < 1:
        raise InvalidValueError(f"{type(instance).__name__}.{attribute.name} must be >= 1. "
                                f"Received: {value!r}")


def _non_negative(instance, attribute, value) -> None:
    if not value >= 0:
        raise InvalidValueError(f"{type(instance).__name__}.{attribute.name} must be >= 0. "
                                f"Received: {value!r}")


def _refinement(instance, attribute, value) -> None:
    check_refinement(value)


@attrs.frozen(kw_only=True)
class PeakFindingConfig:
    """How confidence-map peaks are found (SLEAP's layer arguments).

    Attributes:
        peak_threshold: Minimum confidence map value of a valid peak (float).
        refinement: None, "integral" or "local" (quarter-pixel); an offset regression
            head, when the model has one, replaces it.
        integral_patch_size: Side of the patch of integral refinement (int >= 1).
    """

    peak_threshold: float = attrs.field(default=0.2, converter=float, validator=_finite)
    refinement: Optional[str] = attrs.field(default="local", validator=_refinement)
    integral_patch_size: int = attrs.field(default=5, converter=int,
                                           validator=_positive)


@attrs.frozen(kw_only=True)
class PAFGroupingConfig:
    """How peaks are grouped into instances with part affinity fields.

    Attributes:
        max_edge_length_ratio: Lines longer than `ratio * max(PAF height, width,
            channels) * pafs_stride` pixels are penalized (float).
        dist_penalty_weight: Scale of that distance penalty (float).
        n_points: Points sampled along each candidate line (int >= 1).
        min_instance_peaks: Instances with fewer peaks are dropped (if > 0); a float
            is a fraction of the number of nodes.
        min_line_scores: Connections scoring below this (in [-1, 1]) are not used.
    """

    max_edge_length_ratio: float = attrs.field(default=0.25, converter=float,
                                               validator=_finite)
    dist_penalty_weight: float = attrs.field(default=1.0, converter=float,
                                             validator=_finite)
    n_points: int = attrs.field(default=10, converter=int, validator=_positive)
    min_instance_peaks: Union[int, float] = attrs.field(default=0,
                                                        validator=_non_negative)
    min_line_scores: float = attrs.field(default=0.25, converter=float,
                                         validator=_finite)


def _peak_setting(name: str) -> property:
    """A layer attribute that reads and evolves the layer's `peak_finding`."""

    def fget(self):
        return getattr(self.peak_finding, name)

    def fset(self, value):
        self.peak_finding = attrs.evolve(self.peak_finding, **{name: value})

    return property(fget, fset, doc=f"`peak_finding.{name}` (assigning replaces the "
                                    "frozen config with an evolved copy).")


class SettingsMixin:
    """Settings of an inference layer as one hashable value.

    A layer lists the attribute names that change its outputs in `_setting_names`;
    :attr:`settings` is their values with the layer's class, compared by the
    inference model before reusing a traced step.
    """

    _setting_names: Tuple[str, ...] = ()

    @property
    def settings(self) -> tuple:
        """`(class name, *values of _setting_names)`; hashable."""
        return (type(self).__name__,) + tuple(getattr(self, n)
                                              for n in self._setting_names)


class PeakFindingMixin(SettingsMixin):
    """`peak_threshold`, `refinement` and `integral_patch_size` as views of a frozen
    :class:`PeakFindingConfig` held in `self.peak_finding`."""

    peak_threshold = _peak_setting("peak_threshold")
    refinement = _peak_setting("refinement")
    integral_patch_size = _peak_setting("integral_patch_size")


__all__ = ["PeakFindingConfig", "PAFGroupingConfig", "check_refinement",
           "SettingsMixin", "PeakFindingMixin"]

"""Pieces shared by all backbones: intermediate features and validation helpers."""

from __future__ import annotations

import math
from typing import Any

import attrs

from sleapish.errors import InvalidValueError


@attrs.define
class IntermediateFeature:
    """A backbone activation and its stride relative to the input.

    Attributes:
        tensor: Keras tensor of shape `(batch, height / stride, width / stride, c)`.
        stride: Stride of the tensor relative to the backbone input (int).
    """

    tensor: Any
    stride: int

    @property
    def scale(self) -> float:
        """Resolution relative to the input (`1 / stride`)."""
        return 1.0 / self.stride


def log2_int(value: int, what: str) -> int:
    """`log2(value)` for a positive power of two, else a clear error.

    Args:
        value: The number to take the log of.
        what: Name of the quantity, used in the error message.

    Raises:
        ValueError: If `value` is not a positive power of two.
    """
    if value is None or value < 1 or int(value) != value or (int(value) & (int(value) - 1)):
        raise InvalidValueError(f"{what} must be a positive power of 2. Received: {value!r}")
    return int(round(math.log2(value)))


def check_input_size(input_shape, max_stride: int, name: str) -> None:
    """Raise if the input is too small for `max_stride` or not divisible by it.

    Args:
        input_shape: `(height, width, channels)`; `None` dims are not checked.
        max_stride: Total downsampling of the backbone.
        name: Backbone name for the message.

    Raises:
        ValueError: If a spatial dimension is smaller than, or not a multiple of,
            `max_stride`.
    """
    for dim, label in zip(input_shape[:2], ("height", "width")):
        if dim is None:
            continue
        if dim < max_stride or dim % max_stride:
            raise InvalidValueError(
                f"{name} downsamples by {max_stride} (max_stride), so the input {label} "
                f"must be a positive multiple of {max_stride} (pad_to_stride). "
                f"Received: input_shape={tuple(input_shape)}"
            )

"""Helpers shared by the config classes: oneof classes and field validators."""

from __future__ import annotations

from typing import Any, Iterable, Optional

import attrs

from sleapish.errors import InvalidTypeError, InvalidValueError


def oneof(attrs_cls: type) -> type:
    """Make an attrs class a "oneof": at most one of its attributes may be set.

    The decorated class checks on construction that no more than one attribute is
    not `None`, and gains the methods `which_oneof_attrib_name()` (name of the set
    attribute, or `None`) and `which_oneof()` (its value, or `None`), as in SLEAP.

    Args:
        attrs_cls: An attrs class whose attributes all default to `None`.

    Returns:
        The same class, modified in place.

    Raises:
        ValueError: On construction, when two or more attributes are set. The message
            names the class and every attribute that was set.

    Example:
        >>> @oneof
        ... @attrs.define
        ... class Pet:
        ...     cat: Optional[str] = None
        ...     dog: Optional[str] = None
        >>> Pet(dog="rex").which_oneof_attrib_name()
        'dog'
    """
    if not attrs.has(attrs_cls):
        raise InvalidTypeError(f"oneof needs an attrs class. Received: {attrs_cls!r}")
    original_init = attrs_cls.__init__
    names = [a.name for a in attrs.fields(attrs_cls)]

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        set_names = [n for n in names if getattr(self, n) is not None]
        if len(set_names) > 1:
            raise InvalidValueError(
                f"{attrs_cls.__name__} allows only one of {names} to be set, but "
                f"{len(set_names)} are set. Received: {set_names}"
            )

    def which_oneof_attrib_name(self) -> Optional[str]:
        """Name of the attribute that is set, or `None` when none is."""
        for n in names:
            if getattr(self, n) is not None:
                return n
        return None

    def which_oneof(self) -> Any:
        """Value of the attribute that is set, or `None` when none is."""
        n = self.which_oneof_attrib_name()
        return None if n is None else getattr(self, n)

    attrs_cls.__init__ = __init__
    attrs_cls.which_oneof_attrib_name = which_oneof_attrib_name
    attrs_cls.which_oneof = which_oneof
    attrs_cls._oneof_names = tuple(names)
    return attrs_cls


def is_oneof(cls: type) -> bool:
    """Whether `cls` was decorated with :func:`oneof`."""
    return hasattr(cls, "_oneof_names")


def one_of(choices: Iterable[Any], optional: bool = False):
    """An attrs validator accepting only the given values (and `None` if optional).

    The error names the field, the allowed values and the value received.
    """
    choices = tuple(choices)

    def _validate(instance, attribute, value):
        if optional and value is None:
            return
        if value not in choices:
            raise InvalidValueError(
                f"{type(instance).__name__}.{attribute.name} must be one of "
                f"{list(choices)}. Received: {value!r}"
            )

    return _validate


def positive(instance, attribute, value):
    """attrs validator: the value must be > 0 (or `None`)."""
    if value is not None and not value > 0:
        raise InvalidValueError(
            f"{type(instance).__name__}.{attribute.name} must be > 0. "
            f"Received: {value!r}"
        )


def non_negative(instance, attribute, value):
    """attrs validator: the value must be >= 0 (or `None`)."""
    if value is not None and value < 0:
        raise InvalidValueError(
            f"{type(instance).__name__}.{attribute.name} must be >= 0. "
            f"Received: {value!r}"
        )


def fraction(instance, attribute, value):
    """attrs validator: the value must lie in [0, 1]."""
    if value is not None and not 0 <= value <= 1:
        raise InvalidValueError(
            f"{type(instance).__name__}.{attribute.name} must be in [0, 1]. "
            f"Received: {value!r}"
        )


def power_of_two(instance, attribute, value):
    """attrs validator: the value must be a positive power of two (or `None`)."""
    if value is not None and (value < 1 or (int(value) & (int(value) - 1)) != 0):
        raise InvalidValueError(
            f"{type(instance).__name__}.{attribute.name} must be a power of 2. "
            f"Received: {value!r}"
        )

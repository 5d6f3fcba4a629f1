"""JSON <-> config objects, with SLEAP's layout and clear errors.

Structuring is strict about types (a string where an int belongs is an error, not a
silent conversion), lenient about missing keys (old files take defaults) and unknown
keys (logged as a warning, as newer SLEAP files may carry keys this version lacks),
and strict about "oneof" classes: an unknown backbone or head name is an error.
"""

from __future__ import annotations

import json
import logging
import typing
from typing import Any, Dict, Union

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn
from sleap_io.model.skeleton import Skeleton

from sleapish.errors import InvalidValueError, SleapishError
from sleapish.io.skeleton_json import skeleton_from_dict, skeleton_to_dict
from sleapish.nn.config.utils import is_oneof

logger = logging.getLogger(__name__)


class ConfigError(SleapishError, ValueError):
    """A config (JSON text, file or dict) is invalid; the message names the field."""


def strip_json_comments(text: str) -> str:
    """Remove `//` line comments and `/* */` block comments outside JSON strings.

    Args:
        text: JSON text that may contain comments.

    Returns:
        The text with comments replaced by nothing (newlines are kept so that JSON
        error line numbers still point at the original lines).
    """
    out, i, n = [], 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
        elif c == '"':
            in_str = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            end = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_json_text(text: str, source: str = "<string>") -> Any:
    """Parse JSON text that may contain comments.

    Raises:
        ConfigError: If the text is not valid JSON; the message names the source,
            line and column.
    """
    try:
        return json.loads(strip_json_comments(text))
    except json.JSONDecodeError as e:
        lines = e.doc.splitlines()
        if not e.doc.strip():
            raise ConfigError(f"Malformed JSON in {source}: empty text.") from None
        line = lines[e.lineno - 1].strip() if e.lineno <= len(lines) else ""
        raise ConfigError(
            f"Malformed JSON in {source}: {e.msg} at line {e.lineno}, column "
            f"{e.colno}." + (f" Received: {line[:120]!r}" if line else "")) from None


# --------------------------------------------------------------------- converter
def _strict_bool(value, _):
    if isinstance(value, bool):
        return value
    raise InvalidValueError(f"expected a boolean (true/false). Received: {value!r}")


def _strict_int(value, _):
    if isinstance(value, bool):
        raise InvalidValueError(f"expected an integer. Received: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise InvalidValueError(f"expected an integer. Received: {value!r}")


def _strict_float(value, _):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValueError(f"expected a number. Received: {value!r}")
    return float(value)


def _strict_number(value, _):
    """`Union[int, float]`: an int stays an int, a float a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValueError(f"expected a number. Received: {value!r}")
    return value


def _strict_str(value, _):
    if isinstance(value, str):
        return value
    raise InvalidValueError(f"expected a string. Received: {value!r}")


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(Union[int, float], _strict_number)
    conv.register_structure_hook(Skeleton, lambda d, _: skeleton_from_dict(d))
    conv.register_unstructure_hook(Skeleton, skeleton_to_dict)

    def oneof_hook_factory(cls):
        base = make_dict_structure_fn(cls, conv)
        names = set(cls._oneof_names)

        def hook(value, _):
            if not isinstance(value, dict):
                raise InvalidValueError(
                    f"{cls.__name__} must be an object with one of "
                    f"{sorted(names)}. Received: {value!r}")
            unknown = sorted(set(value) - names)
            if unknown:
                raise InvalidValueError(
                    f"unknown {cls.__name__} field(s) {unknown}; expected one of "
                    f"{list(cls._oneof_names)}. Received: {unknown[0]!r}")
            return base(value, cls)

        return hook

    conv.register_structure_hook_factory(is_oneof, oneof_hook_factory)
    # Tuples (PAF edges) are written as JSON lists, as SLEAP writes them.
    conv.register_unstructure_hook(tuple, list)
    return conv


CONVERTER = _make_converter()


def _warn_unknown_keys(cls: type, data: Any, path: str) -> None:
    """Log keys of `data` that `cls` (recursively) does not define."""
    if not attrs.has(cls) or not isinstance(data, dict):
        return
    hints = typing.get_type_hints(cls)
    fields = {a.name for a in attrs.fields(cls)}
    extra = sorted(set(data) - fields)
    if extra and not is_oneof(cls):
        logger.warning("Ignoring unknown config keys at %s: %s", path or "<root>", extra)
    for name in fields & set(data):
        t = hints.get(name)
        for arg in (typing.get_args(t) or (t,)):
            if attrs.has(arg):
                _warn_unknown_keys(arg, data[name], f"{path}.{name}" if path else name)


def _describe_type(t: Any) -> str:
    """`"a TensorBoardConfig object"`, `"a list"`, ... for an error message."""
    origin = typing.get_origin(t)
    if origin is typing.Union:
        args = [a for a in typing.get_args(t) if a is not type(None)]
        return _describe_type(args[0]) + " or null" if len(args) == 1 else \
            " or ".join(_describe_type(a) for a in args)
    if attrs.has(t):
        return f"a {t.__name__} object ({{...}})"
    if origin in (list, tuple) or t in (list, tuple):
        return "a list"
    if origin is dict or t is dict:
        return "an object ({...})"
    return f"a {getattr(t, '__name__', t)}"


def _format_exc(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return f"required field missing ({exc})"
    msg = str(exc)
    if isinstance(exc, ValueError) and "Received:" in msg:
        return msg
    if isinstance(exc, (TypeError, AttributeError)) and _type is not None:
        return f"expected {_describe_type(_type)}, got a value of another type"
    return f"{type(exc).__name__}: {msg}"


def structure_config(data: Any, cls: type, source: str = "config") -> Any:
    """Build a config object of class `cls` from plain JSON data.

    Args:
        data: Parsed JSON (dicts, lists, numbers, strings, None).
        cls: The attrs config class to build, e.g. `TrainingJobConfig`.
        source: Name of the data's origin used in error messages (e.g. a path).

    Returns:
        An instance of `cls`.

    Raises:
        ConfigError: If any value is invalid; the message lists every invalid field
            as a dotted path with the value received.
    """
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: a {cls.__name__} must be a JSON object. Received: "
            f"{type(data).__name__}")
    _warn_unknown_keys(cls, data, "")
    try:
        return CONVERTER.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as e:
        if isinstance(e, cattrs.BaseValidationError):
            problems = cattrs.transform_error(e, path=cls.__name__,
                                              format_exception=_format_exc)
        else:
            problems = [f"{_format_exc(e, None)} @ {cls.__name__}"]
        raise ConfigError(
            f"Invalid {cls.__name__} in {source}: " + "; ".join(problems)) from None


def unstructure_config(config: Any) -> Dict[str, Any]:
    """Convert a config object to plain JSON data in SLEAP's key layout."""
    return CONVERTER.unstructure(config)


def to_json_text(data: Dict[str, Any]) -> str:
    """Serialize plain data as SLEAP does (4-space indent)."""
    return json.dumps(data, indent=4)

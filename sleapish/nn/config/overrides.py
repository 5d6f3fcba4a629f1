"""`KEY=VALUE` overrides of any config field by dotted path (`sleapish-train --set`).

Example:
    >>> cfg = apply_overrides(cfg, ["model.backbone.unet.filters=32",
    ...                             "optimization.augmentation_config.rotate=false"])
    ... # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any, Dict, Sequence

from sleapish.nn.config.serialization import ConfigError

__all__ = ["parse_override", "apply_overrides"]


def parse_override(text: str):
    """Split `"a.b.c=VALUE"` into `(["a", "b", "c"], value)`.

    The value is read as JSON (`32`, `0.5`, `true`, `null`, `[1, 2]`, `"x"`), and
    otherwise taken as a plain string (`baseline`).

    Raises:
        ConfigError: If there is no `=` or the key is empty.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not k for k in key.split(".")):
        raise ConfigError(f"--set needs KEY=VALUE with a dotted key, e.g. "
                          f"model.backbone.unet.filters=32. Received: {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw.strip()
    return key.split("."), value


def apply_overrides(config, overrides: Sequence[str]):
    """A copy of a `TrainingJobConfig` with `--set` overrides applied and validated.

    Every override must name an existing field (so a typo is an error, not a new
    key); the result is validated like a JSON config, so a wrong type or range is a
    :class:`ConfigError` naming the field.

    Args:
        config: A `TrainingJobConfig`.
        overrides: `"dotted.key=value"` strings, applied in order.

    Returns:
        The new `TrainingJobConfig`.

    Raises:
        ConfigError: For a malformed override, an unknown field or an invalid value.
    """
    data: Dict[str, Any] = config.to_dict()
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for depth, k in enumerate(keys):
            here = ".".join(keys[:depth]) or "the config"
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text}: {here} is not a group of fields.")
            if k not in node:
                raise ConfigError(f"--set {text}: {here} has no field {k!r}; its fields "
                                  f"are {sorted(node)}.")
            if depth == len(keys) - 1:
                node[k] = value
            else:
                if node[k] is None:  # an unset group (e.g. a head): fill it in
                    node[k] = {}
                node = node[k]
    return type(config).from_json_dicts(data, source="--set")

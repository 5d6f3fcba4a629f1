"""Test helper: round trips of every attrs config and every Keras object's config.

`attrs_classes(package)` and `keras_config_classes(package)` find the classes;
`assert_attrs_roundtrip` and `assert_keras_roundtrip` check one object.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from typing import List

import attrs


def _modules(package: str) -> list:
    pkg = importlib.import_module(package)
    mods = [pkg]
    for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), package + "."):
        if not info.name.endswith("__main__"):
            mods.append(importlib.import_module(info.name))
    return mods


def _defined_in(package: str, predicate) -> List[type]:
    found = {}
    for mod in _modules(package):
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if obj.__module__.startswith(package) and predicate(obj):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


def attrs_classes(package: str) -> List[type]:
    """The attrs classes defined in `package` and its submodules."""
    return _defined_in(package, attrs.has)


def keras_config_classes(package: str) -> List[type]:
    """Keras layers, losses and metrics defined in `package`."""
    from sleapish.nn._backend import keras

    bases = (keras.layers.Layer, keras.losses.Loss, keras.metrics.Metric)
    return _defined_in(package, lambda c: issubclass(c, bases))


def assert_attrs_roundtrip(config) -> None:
    """`config` -> SLEAP's JSON data -> JSON text -> the same config."""
    from sleapish.nn.config.serialization import structure_config, unstructure_config

    data = unstructure_config(config)
    again = structure_config(json.loads(json.dumps(data)), type(config))
    assert again == config, (type(config).__name__, data)
    assert unstructure_config(again) == data


def assert_keras_roundtrip(obj) -> None:
    """`type(obj).from_config(obj.get_config())` has the same config (and the
    config is JSON data)."""
    config = obj.get_config()
    json.dumps(config)
    again = type(obj).from_config(config)
    assert again.get_config() == config, type(obj).__name__
    public = {k: v for k, v in vars(obj).items() if not k.startswith("_")
              and isinstance(v, (int, float, str, bool, type(None)))}
    assert {k: getattr(again, k) for k in public} == public, type(obj).__name__
    for k, v in vars(obj).items():  # nested Keras objects come back too
        if hasattr(v, "get_config") and not k.startswith("_"):
            assert getattr(again, k).get_config() == v.get_config(), (type(obj), k)

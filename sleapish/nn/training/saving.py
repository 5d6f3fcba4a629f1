"""Saving trained models as SLEAP-compatible HDF5 files.

tf-keras 2.21 writes layer-config keys that the Keras 2 releases SLEAP 1.4 users
run (2.7-2.15) reject when they rebuild the model, e.g. `optional` in the
`InputLayer` config, or `module`/`registered_name` in serialized initializers.
:func:`save_model_h5` writes the file, then rewrites its `model_config` to the
layout SLEAP's own `best_model.h5` files use. Weights are untouched.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Dict, Union

import h5py

from sleapish.errors import InvalidValueError
from sleapish.io.files import atomic_output

PathLike = Union[str, os.PathLike]

#: Keys of the functional model config that Keras 2.7 reads.
_MODEL_KEYS = ("name", "layers", "input_layers", "output_layers")
#: Keys of one layer entry.
_LAYER_KEYS = ("class_name", "config", "name", "inbound_nodes")
#: Layer-config keys newer than Keras 2.7, dropped when they hold their default.
_NEW_KEYS_DEFAULTS = {"optional": False, "keepdims": False}


def _legacy_object(value: Any) -> Any:
    """Serialized Keras objects (initializers, ...) as `{class_name, config}`."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            return {"class_name": value["class_name"],
                    "config": _legacy_object(value["config"])}
        return {k: _legacy_object(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_legacy_object(v) for v in value]
    return value


def legacy_model_config(model_config: Dict[str, Any]) -> Dict[str, Any]:
    """A functional model config rewritten for Keras 2.7-2.15.

    Args:
        model_config: The `{"class_name": "Functional", "config": {...}}` dict that
            tf-keras writes into the HDF5 `model_config` attribute.

    Returns:
        A new dict without the keys older Keras releases reject; values that
        matter (shapes, filters, activations, ...) are unchanged.

    Raises:
        ValueError: If a layer sets a newer option to a non-default value that older
            Keras cannot represent (the message names the layer and key).
    """
    cfg = model_config["config"]
    layers = []
    for layer in cfg["layers"]:
        lcfg = dict(layer["config"])
        for key, default in _NEW_KEYS_DEFAULTS.items():
            if key in lcfg:
                if lcfg[key] != default:
                    raise InvalidValueError(
                        f"Layer {layer['name']!r} sets {key}={lcfg[key]!r}, which Keras "
                        f"2.7 cannot load. Received: {key}={lcfg[key]!r}")
                del lcfg[key]
        lcfg = {k: _legacy_object(v) for k, v in lcfg.items()}
        entry = {k: layer[k] for k in _LAYER_KEYS if k in layer}
        entry["config"] = lcfg
        layers.append(entry)
    new_cfg = {k: cfg[k] for k in _MODEL_KEYS if k in cfg}
    new_cfg["layers"] = layers
    return {"class_name": model_config["class_name"], "config": new_cfg}


def save_model_h5(keras_model, path: PathLike) -> None:
    """Save a model (architecture + weights, no optimizer) as a SLEAP-style `.h5`.

    The file loads with `tf_keras.models.load_model(path)` (no custom objects
    needed), with SLEAP 1.4 and with `sleapish.load_model`. Written atomically.

    Args:
        keras_model: A built `tf_keras.Model`.
        path: Output `.h5` path; its folder must exist.
    """
    with atomic_output(path) as tmp:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*HDF5 file.*")
            keras_model.save(str(tmp), save_format="h5", include_optimizer=False)
        with h5py.File(tmp, "r+") as f:
            mc = json.loads(f.attrs["model_config"])
            f.attrs["model_config"] = json.dumps(legacy_model_config(mc))


__all__ = ["legacy_model_config", "save_model_h5"]

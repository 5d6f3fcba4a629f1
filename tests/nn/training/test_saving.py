"""HDF5 model saving with SLEAP-readable configs (nn/training/saving.py)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest


def test_legacy_model_config_strips_new_keys_and_keeps_values(tmp_path):
    from sleapish.nn._backend import keras
    from sleapish.nn.training.saving import save_model_h5

    x = keras.Input((16, 16, 1), name="input")
    y = keras.layers.Conv2D(2, 3, padding="same", name="c")(x)
    z = keras.layers.Dense(3, name="d")(keras.layers.GlobalMaxPooling2D()(y))
    model = keras.Model(x, [y, z])
    path = tmp_path / "m.h5"
    save_model_h5(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]
    with h5py.File(path) as f:
        assert "training_config" not in f.attrs
        text = f.attrs["model_config"]
    assert '"optional"' not in text and '"registered_name"' not in text
    assert '"keepdims"' not in text and '"module"' not in text
    cfg = json.loads(text)["config"]
    conv = next(layer for layer in cfg["layers"] if layer["name"] == "c")
    assert conv["config"]["kernel_initializer"] == {"class_name": "GlorotUniform",
                                                    "config": {"seed": None}}
    loaded = keras.models.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_legacy_model_config_refuses_non_default_new_option():
    from sleapish.nn.training.saving import legacy_model_config

    mc = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "GlobalMaxPooling2D", "name": "g", "inbound_nodes": [],
         "config": {"name": "g", "keepdims": True}}], "input_layers": [],
        "output_layers": []}}
    with pytest.raises(ValueError, match="keepdims=True"):
        legacy_model_config(mc)

"""Finding things in model folders and Keras models (SLEAP's inference utilities)."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Optional, Union

from sleapish.errors import InvalidValueError, SleapishError

PathLike = Union[str, os.PathLike]

#: Checkpoint names tried, in order, when a model folder is given.
KERAS_MODEL_NAMES = ("best_model.h5", "final_model.h5", "latest_model.h5",
                     "initial_model.h5")


class ModelFolderError(SleapishError, FileNotFoundError):
    """A model folder is missing, incomplete or unreadable."""


def resolve_model_folder(path: PathLike) -> Path:
    """The model folder for a folder, a JSON config inside one, or a zipped folder.

    A `.zip` is extracted once to a temporary folder (SLEAP exports models zipped).

    Raises:
        ModelFolderError: If the path does not exist or the zip is unreadable.
    """
    import tempfile
    import zipfile

    path = Path(path)
    if not path.exists():
        raise ModelFolderError(f"Model folder not found. Received: {str(path)!r}")
    if path.is_file() and path.suffix.lower() == ".json":
        return path.parent
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            out = Path(tempfile.mkdtemp(prefix=f"sleapish_{path.stem}_"))
            with zipfile.ZipFile(path) as zf:
                zf.extractall(out)
        except zipfile.BadZipFile as e:
            raise ModelFolderError(f"Zipped model {path} is unreadable ({e}). "
                                   f"Received: {str(path)!r}") from None
        configs = sorted(out.rglob("training_config.json")) or sorted(
            out.rglob("initial_config.json"))
        if not configs:
            raise ModelFolderError(f"Zipped model {path} has no training_config.json. "
                                   f"Received: {[p.name for p in out.rglob('*')][:8]}")
        return configs[0].parent
    return path


def check_model_path(path: PathLike) -> None:
    """Cheap checks of a `-m` path before TensorFlow is imported: it exists, and a
    plain folder (not an exported one) holds a config and a Keras checkpoint.

    Raises:
        ModelFolderError: Naming what is missing.
    """
    from sleapish.nn.inference.export_common import is_export_folder

    path = Path(path)
    if not path.exists():
        raise ModelFolderError(f"Model folder not found. Received: {str(path)!r}")
    if not path.is_dir() or is_export_folder(path):  # a file, a zip or an export
        return
    if not any((path / n).is_file() for n in ("training_config.json",
                                              "initial_config.json")):
        raise ModelFolderError(
            f"Model folder {path} has no training_config.json. Received: "
            f"{sorted(q.name for q in path.iterdir())[:8]}")
    get_keras_model_path(path)


def get_keras_model_path(path: PathLike) -> Path:
    """Path of the Keras checkpoint of a model folder (or the file itself).

    Args:
        path: A model folder, or a path to an `.h5` checkpoint.

    Raises:
        ModelFolderError: If nothing loadable is there; the message lists what was
            tried.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".h5":
        return path
    if path.is_file() and path.suffix.lower() == ".json":
        path = path.parent
    if not path.is_dir():
        raise ModelFolderError(f"Model folder not found. Received: {str(path)!r}")
    tried = [path / n for n in KERAS_MODEL_NAMES]
    for p in tried:
        if p.is_file():
            return p
    raise ModelFolderError(
        f"Model folder {path} has no Keras checkpoint. Tried: {[p.name for p in tried]}. "
        f"Received: {sorted(q.name for q in path.iterdir())}")


def load_keras_model(path: PathLike):
    """Load a SLEAP/sleapish `.h5` model for inference (no optimizer state).

    Raises:
        ModelFolderError: If the file is missing or is not a Keras model.
    """
    from sleapish.nn._backend import keras

    model_path = get_keras_model_path(path)
    try:
        return keras.models.load_model(str(model_path), compile=False)
    except Exception as e:
        raise ModelFolderError(
            f"Could not load the Keras model {model_path} ({type(e).__name__}: {e}). "
            f"Received: {str(model_path)!r}") from None


def find_head(keras_model, name: str) -> Optional[int]:
    """Index of the output of head `name`: the output named exactly `name`, else
    SLEAP's legacy `<name>_<k>` (files before SLEAP 1.1 name heads `<name>_0`), else
    the first output whose name contains `name` (SLEAP's substring rule).

    Stacked backbones (e.g. Hourglass with `stacks=3`) have one output per stack and
    head: the intermediate ones are `<name>_0`, `<name>_1`, ... and the final one is
    `<name>`, which is the one returned. Among legacy suffixes only, the highest `k`
    (the last stack) is returned.

    Args:
        keras_model: A `tf_keras.Model`.
        name: Head class name, e.g. "CentroidConfmapsHead".

    Returns:
        The output index, or `None` if no output matches.
    """
    names = list(keras_model.output_names)
    if name in names:
        return names.index(name)
    suffixed = [(int(m.group(1)), i) for i, n in enumerate(names)
                if (m := re.fullmatch(re.escape(name) + r"_(\d+)", n))]
    if suffixed:
        return max(suffixed)[1]
    return next((i for i, n in enumerate(names) if name in n), None)


def get_model_output_stride(keras_model, input_ind: int = 0, output_ind: int = -1) -> int:
    """Stride of an output relative to an input, from their static heights.

    Args:
        keras_model: A `tf_keras.Model`.
        input_ind: Index of the reference input (the first by default).
        output_ind: Index of the output (the last by default).

    Returns:
        `input_height // output_height` (int), as SLEAP; a `UserWarning` is issued
        when the heights do not divide evenly.

    Raises:
        ValueError: If either height is unknown (`None`).
    """
    in_shape = keras_model.inputs[input_ind].shape
    out_shape = keras_model.outputs[output_ind].shape
    if in_shape[1] is None or out_shape[1] is None:
        raise InvalidValueError("Cannot infer the output stride of a model with unknown "
                                f"spatial shapes. Received: input {in_shape}, output {out_shape}")
    size_in, size_out = int(in_shape[1]), int(out_shape[1])
    if size_in % size_out != 0:
        warnings.warn(f"Model input of shape {in_shape} does not divide evenly with "
                      f"output of shape {out_shape}.", UserWarning, stacklevel=2)
    return size_in // size_out


def reset_input_layer(keras_model, new_shape=None):
    """A copy of a functional Keras model whose input accepts any height and width.

    SLEAP's saved models have fixed input sizes; with `resize_input_layer=True`,
    `load_model` uses this so frames of any size (multiples of the max stride) work.

    Args:
        keras_model: A functional `tf_keras.Model` with one image input.
        new_shape: `(height, width, channels)`; `(None, None, channels)` by default.

    Returns:
        A new model with the same layers and weights.
    """
    from sleapish.nn._backend import keras

    config = keras_model.get_config()
    channels = keras_model.inputs[0].shape[-1]
    shape = tuple(new_shape) if new_shape is not None else (None, None, channels)
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_input_shape"] = (None,) + shape
    new_model = keras.Model.from_config(config)
    new_model.set_weights(keras_model.get_weights())
    return new_model


def load_model_folder(path: PathLike, resize_input_layer: bool = True):
    """The config and Keras model of a trained model folder.

    Args:
        path: A model folder, its `training_config.json`, or a zipped folder.
        resize_input_layer: Accept frames of any size (the input layer's height and
            width become None).

    Returns:
        `(TrainingJobConfig, tf_keras.Model)`.

    Raises:
        ModelFolderError: If the folder, its config or its checkpoint is missing.
    """
    from sleapish.nn.config import load_config

    path = resolve_model_folder(path)
    try:
        cfg = load_config(path)
    except FileNotFoundError as e:
        raise ModelFolderError(f"Model folder {path} is missing its config: {e}") from None
    km = load_keras_model(path)
    if resize_input_layer:
        km = reset_input_layer(km)
    return cfg, km


def wrap_model(cfg, keras_model):
    """A :class:`sleapish.nn.model.Model` (SLEAP's model wrapper) around a loaded Keras
    model: backbone and heads from the config, `keras_model` set.

    Args:
        cfg: The model's `TrainingJobConfig`.
        keras_model: The loaded `tf_keras.Model`.
    """
    from sleapish.nn.model import Model

    skeletons = cfg.data.labels.skeletons
    try:
        model = Model.from_config(cfg.model, skeleton=skeletons[0] if skeletons else None)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        model = Model(backbone=None, heads=[])  # config without names: network only
    model.keras_model = keras_model
    return model


def keras_model_of(model):
    """The Keras model of a :class:`sleapish.nn.model.Model` wrapper (or itself)."""
    return getattr(model, "keras_model", None) or model

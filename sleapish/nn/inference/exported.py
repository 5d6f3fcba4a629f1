"""Predicting with an exported model folder (`load_model(EXPORT_DIR)`,
`sleapish-track --exported EXPORT_DIR`).

An export folder carries its training configs and a SavedModel of the whole model;
:func:`load_exported` builds the same predictor class `load_model` builds for the
trained folders, with an :class:`ExportedInferenceModel` in place of the Keras
inference model, so tracking, labels and provenance work as for any predictor. Only the
SavedModel is run: the Keras weights are not needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Union

import numpy as np

from sleapish.errors import InputNotFoundError, InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.inference import predictors as P
from sleapish.nn.inference.export_common import FROZEN_GRAPH_FILE, read_info
from sleapish.nn.inference.ops import convert_channels
from sleapish.nn.inference.predictor_base import predictor_classes

PathLike = Union[str, os.PathLike]


class ExportedInferenceModel:
    """Runs an exported SavedModel's signature on batches of frames.

    Attributes:
        path: The export folder.
        info: Its `info.json`.
        signature: The loaded concrete signature function.
        input_shape: `(height, width, channels)` the signature takes (None for any).
    """

    def __init__(self, path: PathLike, info: Dict[str, Any]):
        self.path = Path(path)
        self.info = info
        meta = info.get("sleapish", {})
        name = meta.get("signature", "serving_default")
        self._loaded = tf.saved_model.load(str(self.path))
        if name not in self._loaded.signatures:
            raise InvalidValueError(f"Exported model {self.path} has no signature {name!r}. "
                                    f"Received signatures: {sorted(self._loaded.signatures)}")
        self.signature = self._loaded.signatures[name]
        self.input_shape = tuple(meta.get("input", {}).get("shape", [None] * 4)[1:])
        self.unragged = bool(info.get("unragged_outputs", True))

    def _fit_channels(self, images: np.ndarray) -> np.ndarray:
        want = self.input_shape[2] if len(self.input_shape) == 3 else None
        have = images.shape[-1]
        if want is None or have == want:
            return images
        if {want, have} != {1, 3}:
            raise InvalidValueError(f"The exported model takes {want}-channel frames. "
                                    f"Received: {have} channels")
        return convert_channels(images, grayscale=want == 1).numpy()

    def predict_on_batch(self, data, numpy: bool = True) -> Dict[str, np.ndarray]:
        """Predict one batch of uint8 frames (or a dict with "image").

        Returns:
            The signature's outputs as numpy arrays, minus sleapish's export-only keys,
            in the layout of `InferenceModel.predict_on_batch(numpy=True)`.
        """
        del numpy  # always numpy: the SavedModel's outputs are dense
        images = data["image"] if isinstance(data, dict) else data
        images = self._fit_channels(np.asarray(images))
        if images.dtype != np.uint8:
            raise InvalidValueError(f"Exported models take uint8 frames. Received: "
                                    f"{images.dtype}")
        h, w = self.input_shape[:2] if len(self.input_shape) == 3 else (None, None)
        if (h is not None and images.shape[1] != h) or (
                w is not None and images.shape[2] != w):
            raise InvalidValueError(f"The exported model {self.path} takes {h} x {w} frames. "
                                    f"Received: {images.shape[1]} x {images.shape[2]}")
        outs = self.signature(image=tf.constant(images))
        return {k: v.numpy() for k, v in outs.items() if k != "instance_class_inds"}


def _configs(path: Path) -> Dict[str, Any]:
    from sleapish.nn.config import load_config

    folder = path / "configs"
    out = {}
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        out[f.stem] = load_config(f)
    return out


def load_exported(path: PathLike, batch_size: int = 4,
                  progress_reporting: str = "rich", tracker=None) -> P.Predictor:
    """The predictor of an export folder.

    Args:
        path: A folder written by `export_model` / `sleapish-export`.
        batch_size: Frames per batch.
        progress_reporting: "rich", "json" or "none".
        tracker: Optional tracker.

    Returns:
        A `Predictor` subclass whose `inference_model` runs the SavedModel.

    Raises:
        FileNotFoundError: If `path` is not an export folder or lacks its SavedModel
            or configs.
    """
    path = Path(path)
    info = read_info(path)
    if not (path / "saved_model.pb").is_file():
        raise InputNotFoundError(f"Exported model {path} has no saved_model.pb (only "
                                 f"{FROZEN_GRAPH_FILE}?): re-export it with sleapish.")
    configs = _configs(path)
    if not configs:
        raise InputNotFoundError(f"Exported model {path} has no configs/ folder: it was "
                                 "not exported from trained model folders.")
    meta = info.get("sleapish", {})
    kind = meta.get("predictor")
    if kind not in predictor_classes():
        raise InvalidValueError(f"Exported model {path} names an unknown predictor. Received: "
                                f"{kind!r}")
    cls = predictor_classes()[kind]
    predictor = cls(**cls._model_fields({k: (cfg, None) for k, cfg in configs.items()},
                                        None))
    predictor.inference_model = ExportedInferenceModel(path, info)
    predictor.batch_size = int(batch_size)
    predictor.verbosity = progress_reporting
    predictor.tracker = tracker
    return predictor


__all__ = ["ExportedInferenceModel", "load_exported"]

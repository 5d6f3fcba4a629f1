"""What the export writer, reader and command line share, without TensorFlow.

Kept apart from :mod:`~sleapish.nn.inference.export` so that `sleapish-export --help`,
argument errors and the `is_export_folder` check of `sleapish-track -m` do not import
TensorFlow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Union

from sleapish.errors import InputNotFoundError, InvalidValueError, SleapishError

#: The exported folder's description file.
INFO_FILE = "info.json"
FROZEN_GRAPH_FILE = "frozen_graph.pb"
TFLITE_FILE = "model.tflite"

#: Export formats `export_model` writes.
FORMATS = ("saved_model", "tflite", "onnx")

PathLike = Union[str, os.PathLike]


class ExportError(SleapishError, ValueError):
    """A model that cannot be exported as asked (one-line message)."""


def is_export_folder(path: PathLike) -> bool:
    """Whether `path` is a folder written by `export_model` (has `info.json`)."""
    return (Path(path) / INFO_FILE).is_file()


def read_info(path: PathLike) -> Dict[str, Any]:
    """The `info.json` of an export folder.

    Raises:
        FileNotFoundError: If `path` is not an export folder.
        ValueError: If `info.json` is not valid JSON.
    """
    info_path = Path(path) / INFO_FILE
    if not info_path.is_file():
        raise InputNotFoundError(f"{path} is not an exported model folder: it has no "
                                 f"{INFO_FILE}. Received: {path}")
    try:
        return json.loads(info_path.read_text())
    except json.JSONDecodeError as e:
        raise InvalidValueError(f"{info_path} is not valid JSON: {e.msg} (line {e.lineno})"
                                ) from None


__all__ = ["INFO_FILE", "FROZEN_GRAPH_FILE", "TFLITE_FILE", "FORMATS", "ExportError",
           "is_export_folder", "read_info"]

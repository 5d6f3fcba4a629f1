"""What the export writer, reader and command line share, without TensorFlow.

Kept apart from :mod:`~sleapish.nn.inference.export` so that `sleapish-export --help`,
argument errors and the `is_export_folder` check of `sleapish-track -m` do not import
TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

#: The exported folder's description file.
INFO_FILE = "info.json"

#: Export formats `export_model` writes.
FORMATS = ("saved_model", "tflite", "onnx")

PathLike = Union[str, os.PathLike]


class ExportError(ValueError):
    """A model that cannot be exported as asked (one-line message)."""


def is_export_folder(path: PathLike) -> bool:
    """Whether `path` is a folder written by `export_model` (has `info.json`)."""
    return (Path(path) / INFO_FILE).is_file()


__all__ = ["INFO_FILE", "FORMATS", "ExportError", "is_export_folder"]

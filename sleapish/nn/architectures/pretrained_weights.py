"""Locating ImageNet weight files on disk. sleapish never downloads weights.

Looked for, in order: the folder in `SLEAPISH_PRETRAINED_WEIGHTS`, then Keras's cache
(`$KERAS_HOME/models`, `~/.keras/models`), which is where `tf_keras.applications`
stores the files it downloads, so weights fetched once by Keras are found.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

from sleapish.errors import InputNotFoundError


def weight_search_dirs() -> List[Path]:
    """Folders searched for pretrained weight files, in order."""
    dirs = []
    if os.environ.get("SLEAPISH_PRETRAINED_WEIGHTS"):
        dirs.append(Path(os.environ["SLEAPISH_PRETRAINED_WEIGHTS"]))
    if os.environ.get("KERAS_HOME"):
        dirs.append(Path(os.environ["KERAS_HOME"]) / "models")
    dirs.append(Path.home() / ".keras" / "models")
    return dirs


def find_pretrained_weights(filename: str, what: str) -> Path:
    """Path of a local weights file.

    Args:
        filename: File name, e.g. `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`.
        what: What the weights are for, used in the error message.

    Raises:
        FileNotFoundError: If the file is in none of the search folders; the message
            lists the folders and how to proceed.
    """
    tried = [d / filename for d in weight_search_dirs()]
    for path in tried:
        if path.is_file():
            return path
    raise InputNotFoundError(
        f"ImageNet weights for {what} were not found and sleapish never downloads them. "
        f"Put {filename} (the file Keras Applications, classification_models or "
        f"efficientnet would download) in one of {[str(p.parent) for p in tried]} "
        "(or set SLEAPISH_PRETRAINED_WEIGHTS to its folder), or use random weights "
        f"(ResNetConfig.weights='random' / PretrainedEncoderConfig.pretrained=False). "
        f"Received: {filename}")

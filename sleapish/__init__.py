"""sleapish: SLEAP's neural networks for multi-animal pose estimation, rebuilt on
TensorFlow 2.21 + tf-keras.

The data model (`Labels`, `Video`, `Skeleton`, `Instance`, ...) is sleap-io's and is
re-exported here. TensorFlow is imported only when a module that needs it is used,
and its C++ log spam is silenced unless `TF_CPP_MIN_LOG_LEVEL` is set by the user.
"""

import os as _os
from typing import TYPE_CHECKING

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sleap_io import (
    Edge,
    Instance,
    LabeledFrame,
    Labels,
    Node,
    PredictedInstance,
    Skeleton,
    Symmetry,
    Track,
    Video,
)

from sleapish.errors import SleapishError
from sleapish.io import load_file, load_video, read_frames, save_file
from sleapish.version import SLEAP_COMPAT_VERSION, __version__

if TYPE_CHECKING:  # for IDEs and type checkers; at run time it is imported on use
    from sleapish.nn.inference.loading_api import load_model


def __getattr__(name: str):
    """`sleapish.load_model` (SLEAP's `sleap.load_model`) is imported on first use,
    so that `import sleapish` does not import TensorFlow."""
    if name == "load_model":
        from sleapish.nn.inference.loading_api import load_model

        globals()["load_model"] = load_model
        return load_model
    raise AttributeError(f"module 'sleapish' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"load_model"})


__all__ = [
    "Edge",
    "Instance",
    "LabeledFrame",
    "Labels",
    "Node",
    "PredictedInstance",
    "SLEAP_COMPAT_VERSION",
    "SleapishError",
    "Skeleton",
    "Symmetry",
    "Track",
    "Video",
    "__version__",
    "load_file",
    "load_model",
    "load_video",
    "read_frames",
    "save_file",
]

"""sleapish: SLEAP's neural networks for multi-animal pose estimation, rebuilt on
TensorFlow 2.21 + tf-keras.

The data model (`Labels`, `Video`, `Skeleton`, `Instance`, ...) is sleap-io's and is
re-exported here. TensorFlow is imported only when a module that needs it is used,
and its C++ log spam is silenced unless `TF_CPP_MIN_LOG_LEVEL` is set by the user.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sleap_io import (  # noqa: E402
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

from sleapish.io import load_file, load_video, read_frames, save_file  # noqa: E402
from sleapish.version import SLEAP_COMPAT_VERSION, __version__  # noqa: E402


def load_model(*args, **kwargs):
    """Load trained model folder(s) into a predictor (SLEAP's `sleap.load_model`).

    Imports TensorFlow on first use. See
    :func:`sleapish.nn.inference.loading_api.load_model` for the arguments.
    """
    from sleapish.nn.inference.loading_api import load_model as _load_model

    return _load_model(*args, **kwargs)

__all__ = [
    "Edge",
    "Instance",
    "LabeledFrame",
    "Labels",
    "Node",
    "PredictedInstance",
    "SLEAP_COMPAT_VERSION",
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

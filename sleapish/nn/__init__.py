"""Neural-network package of sleapish, mirroring `sleap.nn`.

Submodules are imported on use, so `import sleapish.nn.config` does not import
TensorFlow.
"""

import importlib as _importlib

_SUBMODULES = frozenset({
    "architectures", "config", "data", "evals", "heads", "identity", "inference",
    "model", "paf_grouping", "peak_finding", "tracking", "training", "utils",
})


def __getattr__(name):
    """`sleapish.nn.<submodule>` imports the submodule on first access (as SLEAP's
    `sleap.nn.utils.match_points(...)` after `import sleap`), keeping
    `import sleapish.nn` free of TensorFlow."""
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

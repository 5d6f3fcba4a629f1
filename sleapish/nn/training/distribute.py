"""Distribution strategies: one device, several devices, several workers.

`"default"` trains on one device. `"mirrored"` replicates the model on every
local GPU (or, for testing, logical CPU device) and splits each batch among them.
`"multiworker"` does the same across processes or machines described by the
`TF_CONFIG` environment variable; only the chief (`chief` task, or worker 0 when
there is none) writes files.
"""

from __future__ import annotations

import json
import os

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf

STRATEGIES = ("default", "mirrored", "multiworker")


def make_strategy(strategy="default"):
    """A `tf.distribute.Strategy` from a name (or the strategy itself).

    Args:
        strategy: "default", "mirrored", "multiworker", or a strategy instance.

    Raises:
        ValueError: For another name, or "multiworker" without `TF_CONFIG`.
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy in (None, "default"):
        return tf.distribute.get_strategy()
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if strategy == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise InvalidValueError("--strategy multiworker needs the TF_CONFIG environment "
                                    "variable (cluster and task of this worker). Received: "
                                    "TF_CONFIG unset")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise InvalidValueError(f"strategy must be one of {STRATEGIES}. Received: {strategy!r}")


def is_chief(strategy=None) -> bool:
    """Whether this process is the one that writes outputs.

    True without a cluster; with `TF_CONFIG`, for the `chief` task or, when the
    cluster has no chief, for worker 0.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and getattr(resolver, "task_type", None) is not None:
        task_type, task_id = resolver.task_type, resolver.task_id
        has_chief = "chief" in resolver.cluster_spec().as_dict()
    else:
        raw = os.environ.get("TF_CONFIG")
        if not raw or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return True
        tf_config = json.loads(raw)
        task = tf_config.get("task", {})
        task_type, task_id = task.get("type"), task.get("index", 0)
        has_chief = "chief" in tf_config.get("cluster", {})
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and not has_chief


__all__ = ["STRATEGIES", "make_strategy", "is_chief"]

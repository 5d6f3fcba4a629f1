"""A clean, explicit environment for subprocess tests.

A subprocess must not inherit the caller's TensorFlow, CUDA, threading or sleapish
settings (`TF_CPP_MIN_LOG_LEVEL`, `CUDA_VISIBLE_DEVICES`, `TF_CONFIG`,
`OMP_NUM_THREADS`, `SLEAPISH_*`, ...): a test's result would then depend on the
machine or the shell it runs from. Only what a process needs to start is kept.
"""

from __future__ import annotations

import os

_KEEP = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ",
         "SYSTEMROOT", "SLEAPISH_SHARED_DATA")


def clean_env(**extra: str) -> dict:
    """`os.environ` reduced to `_KEEP`, plus unbuffered output and `extra`."""
    env = {k: os.environ[k] for k in _KEEP if k in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env

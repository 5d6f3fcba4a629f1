"""Reading and writing evaluation metrics files (`metrics.{split}.npz`).

Two formats are read:

* **SLEAP's**: a single `metrics` entry holding a pickled `dict` inside an object
  array. Its values may reference SLEAP classes (e.g. `sleap.instance.PointArray` for
  the `vis.*` counts of older versions). These files are read with a restricted
  unpickler that allows only numpy arrays/scalars and plain builtins, and turns any
  `sleap.*` / `attr.*` class into an inert `SleapObject` placeholder (or into a plain
  `np.ndarray` where the pickle rebuilds an array subclass). Nothing from SLEAP is
  imported and no other class can be reached.
* **sleapish's**: one npz entry per metric name, each a plain (non-object) array, so
  the file loads with `np.load(path, allow_pickle=False)`.

Both are returned as a `dict` keyed by SLEAP's metric names.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import numpy as np

from sleapish.errors import InputNotFoundError, InvalidValueError, SleapishError
from sleapish.io.files import atomic_output

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

#: Keys whose values SLEAP keeps as Python lists (restored as lists on load).
LIST_KEYS = {"dist.frame_idxs": int, "dist.video_paths": str}

_BUILTINS = frozenset({"list", "dict", "set", "frozenset", "tuple", "str", "bytes",
                       "bytearray", "int", "float", "complex", "bool", "slice", "range",
                       "object"})
_NUMPY = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy", "recarray"),
    ("numpy", "record"), ("numpy.rec", "recarray"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.records", "record"), ("numpy._core.records", "record"),
    ("numpy.core.records", "recarray"), ("numpy._core.records", "recarray"),
})
_PLACEHOLDER_ROOTS = ("sleap", "attr", "attrs", "cattr", "cattrs", "sleap_io")


class UnsafePickleError(SleapishError, pickle.UnpicklingError):
    """A metrics pickle referenced a class or function outside the allowed set."""


class SleapObject:
    """Inert stand-in for a SLEAP (or attrs) object found in a SLEAP metrics pickle.

    Records what the pickle tried to build, without running any of SLEAP's code.

    Attributes:
        sleap_class: `"module.Name"` of the original class (class attribute).
        args: Positional arguments the pickle passed to the constructor.
        state: The state passed to `__setstate__` (usually a `dict` or tuple).
        items: Items appended or set by the pickle (list/dict-like objects).
    """

    sleap_class = "sleap.object"

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        self.args, self.state, self.items = args, None, []
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state

    def append(self, item):
        self.items.append(item)

    def extend(self, items):
        self.items.extend(items)

    def __setitem__(self, key, value):
        self.items.append((key, value))

    def __repr__(self) -> str:
        return f"SleapObject({self.sleap_class})"


_PLACEHOLDERS: Dict[str, type] = {}


def _placeholder(module: str, name: str) -> type:
    key = f"{module}.{name}"
    if key not in _PLACEHOLDERS:
        _PLACEHOLDERS[key] = type(name, (SleapObject,), {"sleap_class": key})
    return _PLACEHOLDERS[key]


def _numpy_global(module: str, name: str) -> Any:
    if module.startswith("numpy.core") and int(np.__version__.split(".")[0]) >= 2:
        module = "numpy._core" + module[len("numpy.core"):]
    return getattr(importlib.import_module(module), name)


def _safe_reconstruct(real):
    """Wrap numpy's `_reconstruct` so placeholder classes become plain ndarrays."""

    def reconstruct(cls, shape, dtype):
        if not (isinstance(cls, type) and issubclass(cls, np.ndarray)):
            cls = np.ndarray
        return real(cls, shape, dtype)

    return reconstruct


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that allows numpy arrays, builtins and SLEAP placeholders only.

    Any global outside these (e.g. `os.system`, `builtins.eval`, `subprocess.Popen`)
    raises `UnsafePickleError` before it is resolved.
    """

    def find_class(self, module: str, name: str) -> Any:
        root = module.split(".")[0]
        if module == "builtins" and name in _BUILTINS:
            return getattr(__import__("builtins"), name)
        if (module, name) in {("collections", "OrderedDict")}:
            return dict
        if (module, name) == ("copyreg", "_reconstructor"):
            import copyreg

            return copyreg._reconstructor
        if (module, name) in _NUMPY:
            obj = _numpy_global(module, name)
            return _safe_reconstruct(obj) if name == "_reconstruct" else obj
        if module == "numpy.dtypes" and name.endswith("DType"):
            return _numpy_global(module, name)
        if module in ("pathlib", "pathlib._local") and name.endswith("Path"):
            return lambda *parts: str(Path(*parts)) if parts else ""
        if root in _PLACEHOLDER_ROOTS:
            return _placeholder(module, name)
        raise UnsafePickleError(
            f"Refusing to unpickle global '{module}.{name}': metrics files may only "
            "contain numpy arrays, plain builtins and SLEAP objects (loaded as inert "
            f"placeholders). Received: {module}.{name}")


def restricted_loads(data: bytes) -> Any:
    """Unpickle `data` with `RestrictedUnpickler`.

    Args:
        data: Pickle bytes.

    Returns:
        The unpickled object (SLEAP classes replaced by placeholders).

    Raises:
        UnsafePickleError: If the pickle names a disallowed global.
    """
    return RestrictedUnpickler(io.BytesIO(data)).load()


def _plain(value: Any) -> Any:
    """Turn loaded values into plain Python/numpy values (no subclasses, 0-d -> scalar)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        arr = np.asarray(value)
        if arr.dtype == object:
            arr = arr.copy()
            for i, v in np.ndenumerate(arr):
                arr[i] = _plain(v)
        return arr[()] if arr.ndim == 0 else arr
    return value


def _read_sleap_npz(path: Path) -> Dict[str, Any]:
    with zipfile.ZipFile(path) as zf, zf.open("metrics.npy") as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(fp)
        if dtype != np.dtype(object):
            raise InvalidValueError(f"'metrics' in {path} is not a pickled dict. Received "
                                    f"dtype: {dtype}")
        obj = RestrictedUnpickler(fp).load()
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.ndim == 0:
        obj = obj[()]
    if not isinstance(obj, dict):
        raise InvalidValueError(f"'metrics' in {path} is not a dict. Received: "
                                f"{type(obj).__name__}")
    return _plain(obj)


def load_metrics(model_path: PathLike, split: str = "val") -> Dict[str, Any]:
    """Load evaluation metrics written by SLEAP or by sleapish.

    Args:
        model_path: A model folder (reads `metrics.{split}.npz` in it) or the path of
            a metrics `.npz` file.
        split: `"train"`, `"val"` or `"test"`. Ignored when `model_path` is a file.

    Returns:
        `dict` keyed by SLEAP's metric names (`"oks_voc.mAP"`, `"dist.p95"`,
        `"vis.precision"`, ...). Scalars are numpy scalars, arrays plain
        `np.ndarray`s; `"dist.frame_idxs"` / `"dist.video_paths"` are lists of
        `int` / `str` when present. SLEAP objects, if any, appear as `SleapObject`.

    Raises:
        FileNotFoundError: If the metrics file does not exist.
        UnsafePickleError: If a SLEAP-format file references a disallowed global.
    """
    path = Path(model_path)
    if path.is_dir():
        path = path / f"metrics.{split}.npz"
    if not path.is_file():
        raise InputNotFoundError(f"Metrics file not found. Received: {str(path)!r}")
    with np.load(path, allow_pickle=False) as data:
        try:
            metrics = {k: data[k] for k in data.files}
        except ValueError:  # an object array: SLEAP's pickled `metrics` dict
            metrics = None
    if metrics is None:
        return _read_sleap_npz(path)
    out = _plain(metrics)
    for key, kind in LIST_KEYS.items():
        if key in out:
            out[key] = [kind(v) for v in np.atleast_1d(out[key]).tolist()]
    return out


def save_metrics(path: PathLike, metrics: Mapping[str, Any]) -> None:
    """Save metrics as an npz with one plain array per metric (atomically).

    The file loads with `np.load(path, allow_pickle=False)`. Values that cannot be
    stored without pickling (object arrays, e.g. lists of instances) are left out
    with a warning.

    Args:
        path: Output `.npz` path (its folder must exist).
        metrics: `dict` of metric name -> scalar, array or list of numbers/strings.
    """
    arrays = {}
    for key, value in metrics.items():
        try:
            if key in LIST_KEYS and None not in list(value):
                value = np.asarray(list(value), dtype=LIST_KEYS[key])
            arr = np.asarray(value)
        except (TypeError, ValueError):
            arr = np.asarray(None)
        if arr.dtype == object:
            logger.warning("Not saving metric %r: it is not a plain array (%s).",
                           key, type(value).__name__)
            continue
        arrays[key] = arr
    path = Path(path)
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

"""Key manipulation transformers (SLEAP's `general`)."""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence

import attrs

from sleapish.nn._backend import tf
from sleapish.nn.data.utils import check_keys


@attrs.define
class KeyRenamer:
    """Rename keys.

    Attributes:
        old_key_names: Keys to rename.
        new_key_names: Their new names.
        drop_old: Remove the old keys.
    """

    old_key_names: Sequence[str] = ()
    new_key_names: Sequence[str] = ()
    drop_old: bool = True

    @property
    def input_keys(self) -> List[str]:
        """Keys read."""
        return list(self.old_key_names)

    @property
    def output_keys(self) -> List[str]:
        """Keys written."""
        return list(self.new_key_names)

    def transform_dataset(self, ds):
        """Rename the keys of every example."""
        check_keys(list(ds.element_spec), self.old_key_names, "KeyRenamer")

        def fn(ex):
            for old, new in zip(self.old_key_names, self.new_key_names):
                ex[new] = ex.pop(old) if self.drop_old else ex[old]
            return ex

        return ds.map(fn)


@attrs.define
class KeyFilter:
    """Keep only the given keys."""

    keep_keys: Sequence[str] = ()

    @property
    def input_keys(self) -> List[str]:
        """Keys read."""
        return list(self.keep_keys)

    @property
    def output_keys(self) -> List[str]:
        """Keys kept."""
        return list(self.keep_keys)

    def transform_dataset(self, ds):
        """Drop every other key."""
        check_keys(list(ds.element_spec), self.keep_keys, "KeyFilter")
        return ds.map(lambda ex: {k: ex[k] for k in self.keep_keys})


@attrs.define
class LambdaMap:
    """Apply `func(*inputs) -> outputs` on keys (a graph function).

    Attributes:
        func: Function of the input tensors returning one tensor or a tuple.
        input_key_names: Keys passed to `func`.
        output_key_names: Keys the results are written to.
    """

    func: Callable
    input_key_names: Sequence[str] = ()
    output_key_names: Sequence[str] = ()

    @property
    def input_keys(self) -> List[str]:
        """Keys read."""
        return list(self.input_key_names)

    @property
    def output_keys(self) -> List[str]:
        """Keys written."""
        return list(self.output_key_names)

    def transform_dataset(self, ds):
        """Map `func` over every example."""

        def fn(ex):
            out = self.func(*[ex[k] for k in self.input_key_names])
            if len(self.output_key_names) == 1:
                out = (out,)
            for k, v in zip(self.output_key_names, out):
                ex[k] = v
            return ex

        return ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class KeyMapper:
    """Map example dicts to tuples of dicts, e.g. `(inputs, targets)` for Keras fit.

    Attributes:
        key_maps: One `{example_key: output_key}` dict per tuple element.
    """

    key_maps: Sequence[Dict[str, str]] = ()

    @property
    def input_keys(self) -> List[str]:
        """Keys read."""
        return [k for m in self.key_maps for k in m]

    @property
    def output_keys(self) -> List[str]:
        """Keys written (across tuple elements)."""
        return [v for m in self.key_maps for v in m.values()]

    def transform_dataset(self, ds):
        """Map every example to the tuple."""
        check_keys(list(ds.element_spec), self.input_keys, "KeyMapper")
        return ds.map(lambda ex: tuple({v: ex[k] for k, v in m.items()}
                                       for m in self.key_maps))

"""Dataset-level operations: shuffle, batch (ragged -> NaN-padded), repeat, cache."""

from __future__ import annotations

from typing import Callable, List, Optional

import attrs

from sleapish.nn._backend import tf
from sleapish.nn.data.utils import unrag_tensor


class _PassKeys:
    """Mixin: dataset ops read and write no particular keys."""

    @property
    def input_keys(self) -> List[str]:
        """No required keys."""
        return []

    @property
    def output_keys(self) -> List[str]:
        """No added keys."""
        return []


@attrs.define
class Shuffler(_PassKeys):
    """Shuffle examples.

    Attributes:
        shuffle: Whether to shuffle.
        buffer_size: Shuffle buffer size (None: the whole dataset, if finite).
        reshuffle_each_iteration: New order each epoch.
    """

    shuffle: bool = True
    buffer_size: Optional[int] = 64
    reshuffle_each_iteration: bool = True

    def transform_dataset(self, ds):
        """Shuffle `ds`."""
        if not self.shuffle:
            return ds
        size = self.buffer_size
        if size is None:
            size = int(ds.cardinality())
            size = size if size > 0 else 1024
        return ds.shuffle(size, reshuffle_each_iteration=self.reshuffle_each_iteration)


@attrs.define
class Batcher(_PassKeys):
    """Batch examples; variable-length keys are padded with NaN (ints with -1).

    Attributes:
        batch_size: Examples per batch.
        drop_remainder: Drop a last incomplete batch.
        unrag: Convert ragged batch tensors to dense padded ones.
    """

    batch_size: int = 8
    drop_remainder: bool = False
    unrag: bool = True

    def transform_dataset(self, ds):
        """Batch `ds` (plain batching when every key has a fixed shape)."""
        specs = tf.nest.flatten(ds.element_spec)
        if all(isinstance(s, tf.TensorSpec) and s.shape.is_fully_defined() for s in specs):
            return ds.batch(self.batch_size, drop_remainder=self.drop_remainder)
        ds = ds.ragged_batch(self.batch_size, drop_remainder=self.drop_remainder)
        if not self.unrag:
            return ds

        def fn(ex):
            return {k: unrag_tensor(v) for k, v in ex.items()}

        return ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class Unbatcher(_PassKeys):
    """Split batches back into examples."""

    unbatch: bool = True

    def transform_dataset(self, ds):
        """Unbatch `ds`."""
        return ds.unbatch() if self.unbatch else ds


@attrs.define
class Repeater(_PassKeys):
    """Repeat the dataset (`epochs=-1`: forever)."""

    repeat: bool = True
    epochs: int = -1

    def transform_dataset(self, ds):
        """Repeat `ds`."""
        return ds.repeat(self.epochs) if self.repeat else ds


@attrs.define
class Prefetcher(_PassKeys):
    """Prefetch examples in the background."""

    prefetch: bool = True
    buffer_size: int = tf.data.AUTOTUNE

    def transform_dataset(self, ds):
        """Prefetch `ds`."""
        return ds.prefetch(self.buffer_size) if self.prefetch else ds


@attrs.define
class Preloader(_PassKeys):
    """Keep every example in memory after its first read (decode frames once)."""

    def transform_dataset(self, ds):
        """Cache `ds` in memory."""
        return ds.cache()


@attrs.define
class LambdaFilter(_PassKeys):
    """Keep examples for which `filter_fn(example)` is True (a graph function)."""

    filter_fn: Callable

    def transform_dataset(self, ds):
        """Filter `ds`."""
        return ds.filter(self.filter_fn)

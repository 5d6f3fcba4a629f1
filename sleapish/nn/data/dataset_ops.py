"""Dataset-level operations: shuffle, batch (ragged -> NaN-padded), repeat, cache."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

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


#: Second word of every epoch stream's base seed (any constant would do).
_STREAM_SALT = 0x5EED


@attrs.define
class SeededEpochs(_PassKeys):
    """Training epochs whose examples are a pure function of `(seed, epoch)`.

    Epoch `e` is `batches_per_epoch` batches taken from passes `q = 0, 1, ...` over
    the source examples; pass `(e, q)` gives example `i` the int64 `(2,)` seed
    `fold_in(fold_in(fold_in([seed, salt], e), q), i)` under
    :data:`~sleapish.nn.data.augmentation.SEED_KEY` (the augmenters draw from it and
    the key is dropped after them), applies `blocks`, shuffles with a seed of its
    own and batches (the last batch of a pass may be smaller, as in SLEAP). Each
    epoch starts a fresh pass, so the stream from epoch `first_epoch` on is the
    same whether or not earlier epochs ran in this process: a resumed training sees
    exactly the batches an uninterrupted one would.

    Attributes:
        blocks: Transformers applied to each pass's examples (augmentation,
            preprocessing, targets), in order.
        seed: The stream's seed.
        batches_per_epoch: Batches per epoch.
        batch_size: Examples per batch.
        shuffle_buffer_size: Shuffle buffer (0 or None: no shuffling).
        first_epoch: First epoch of the stream.
        seed_consumers: How many leading `blocks` read the seed key (it is
            dropped after them).
    """

    blocks: List[Any] = attrs.field(factory=list)
    seed: int = 0
    batches_per_epoch: int = 1
    batch_size: int = 8
    shuffle_buffer_size: Optional[int] = 64
    first_epoch: int = 0
    seed_consumers: int = 0

    def transform_dataset(self, ds):
        """Turn the (cached) source examples into the infinite batched stream."""
        from sleapish.nn.data.augmentation import SEED_KEY

        fold = tf.random.experimental.stateless_fold_in
        base = tf.constant([int(self.seed) & 0x7FFFFFFFFFFFFFFF, _STREAM_SALT], tf.int64)

        def one_pass(epoch_seed, q):
            # Traced in the function's own graph: its graph seed (nonzero, fixed)
            # makes the shuffle below depend on `shuffle_seed` alone, not on the
            # caller's global seed (with which TF cannot combine a tensor seed 0).
            tf.random.set_seed(_STREAM_SALT)
            s = fold(epoch_seed, q)
            x = ds.enumerate().map(lambda i, ex: {**ex, SEED_KEY: fold(s, i)})
            for n, block in enumerate(self.blocks):
                if n == self.seed_consumers:
                    x = x.map(lambda ex: {k: v for k, v in ex.items() if k != SEED_KEY})
                x = block.transform_dataset(x)
            if self.seed_consumers >= len(self.blocks):
                x = x.map(lambda ex: {k: v for k, v in ex.items() if k != SEED_KEY})
            if self.shuffle_buffer_size:
                shuffle_seed = tf.random.stateless_uniform(
                    [], fold(s, -1), minval=None, maxval=None, dtype=tf.int64)
                x = x.shuffle(self.shuffle_buffer_size, seed=shuffle_seed,
                              reshuffle_each_iteration=False)
            return Batcher(batch_size=self.batch_size).transform_dataset(x)

        def epoch(e):
            epoch_seed = fold(base, e)
            passes = tf.data.Dataset.range(tf.int64.max)
            return passes.flat_map(lambda q: one_pass(epoch_seed, q)).take(
                self.batches_per_epoch)

        return tf.data.Dataset.range(int(self.first_epoch), tf.int64.max).flat_map(epoch)

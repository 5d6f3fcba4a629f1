"""Dataset ops (batching, shuffling, repeating, ...) and key transformers
(nn/data/dataset_ops.py, nn/data/general.py)."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import tf
from sleapish.nn.data.dataset_ops import (
    Batcher,
    LambdaFilter,
    Preloader,
    Repeater,
    Shuffler,
    Unbatcher,
)
from sleapish.nn.data.general import KeyFilter, KeyMapper, KeyRenamer, LambdaMap


def test_batcher_pads_ragged_with_nan_and_minus_one():
    def gen():
        yield {"x": np.ones((1, 2, 2), np.float32), "t": np.array([3], np.int32)}
        yield {"x": np.ones((3, 2, 2), np.float32), "t": np.array([1, 2, 0], np.int32)}

    ds = tf.data.Dataset.from_generator(gen, output_signature={
        "x": tf.TensorSpec([None, 2, 2], tf.float32), "t": tf.TensorSpec([None], tf.int32)})
    (batch,) = [{k: v.numpy() for k, v in b.items()}
                for b in Batcher(batch_size=2).transform_dataset(ds)]
    assert batch["x"].shape == (2, 3, 2, 2)
    assert np.isnan(batch["x"][0, 1:]).all() and (batch["x"][1] == 1).all()
    np.testing.assert_array_equal(batch["t"], [[3, -1, -1], [1, 2, 0]])
    unb = list(Unbatcher().transform_dataset(Batcher(batch_size=2).transform_dataset(ds)))
    assert len(unb) == 2


def test_dataset_ops_and_key_transformers():
    ds = tf.data.Dataset.range(10).map(lambda i: {"a": i, "b": 2 * i})
    vals = [int(e["a"]) for e in Shuffler(buffer_size=10).transform_dataset(ds)]
    assert sorted(vals) == list(range(10))
    assert len(list(Repeater(epochs=3).transform_dataset(ds))) == 30
    assert len(list(LambdaFilter(lambda e: e["a"] % 2 == 0).transform_dataset(ds))) == 5
    assert len(list(Preloader().transform_dataset(ds))) == 10
    e = next(iter(KeyRenamer(["a"], ["c"]).transform_dataset(ds)))
    assert set(e) == {"b", "c"}
    e = next(iter(KeyFilter(["b"]).transform_dataset(ds.skip(2))))
    assert set(e) == {"b"} and int(e["b"]) == 4
    e = next(iter(LambdaMap(lambda a, b: a + b, ["a", "b"], ["s"]).transform_dataset(
        ds.skip(1))))
    assert int(e["s"]) == 3
    x, y = next(iter(KeyMapper([{"a": "input"}, {"b": "Head"}]).transform_dataset(ds)))
    assert set(x) == {"input"} and set(y) == {"Head"}
    with pytest.raises(KeyError, match=r"KeyFilter needs.*missing \['z'\]"):
        KeyFilter(["z"]).transform_dataset(ds)

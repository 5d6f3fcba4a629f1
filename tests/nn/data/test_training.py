"""Label splits for training (nn/data/training.py)."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

import sleapish
from sleapish.nn.data.training import split_labels_by_inds, split_labels_train_val


@pytest.fixture(scope="module")
def labels(synthetic):
    return sleapish.load_file(synthetic.labels_path)


def test_splits(labels):
    tr, tr_inds, va, va_inds = split_labels_train_val(labels, 0.25, seed=1)
    assert len(tr) == 24 and len(va) == 8
    assert sorted(np.concatenate([tr_inds, va_inds])) == list(range(32))
    again = split_labels_train_val(labels, 0.25, seed=1)
    np.testing.assert_array_equal(again[3], va_inds)
    assert va[0].frame_idx == labels[int(va_inds[0])].frame_idx
    one = split_labels_by_inds(labels, [4])
    _, a, _, b = split_labels_train_val(one, 0.1)
    assert list(a) == list(b) == [0]
    with pytest.raises(IndexError, match=r"\[0, 32\)"):
        split_labels_by_inds(labels, [32])
    with pytest.raises(ValueError, match="empty"):
        split_labels_train_val(sio.Labels(), 0.1)

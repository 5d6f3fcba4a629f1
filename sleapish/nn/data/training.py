"""Train/validation splits of labels (SLEAP's `sleap.nn.data.training`)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from sleapish.errors import IndexOutOfRangeError, InvalidValueError


def _subset(labels, inds):
    import sleap_io as sio

    lfs = [labels[int(i)] for i in inds]
    return sio.Labels(labeled_frames=lfs, videos=list(labels.videos),
                      skeletons=list(labels.skeletons), tracks=list(labels.tracks),
                      provenance=dict(labels.provenance))


def split_labels_by_inds(labels, inds: Sequence[int]):
    """A labels object with the labeled frames at `inds` (same videos and tracks).

    Raises:
        IndexError: If an index is out of range (the message gives the range).
    """
    inds = [int(i) for i in inds]
    bad = [i for i in inds if not 0 <= i < len(labels)]
    if bad:
        raise IndexOutOfRangeError(f"Labeled frame indices out of range [0, {len(labels)}). "
                                   f"Received: {bad[:5]}")
    return _subset(labels, inds)


def split_labels_train_val(labels, validation_fraction: float,
                           seed: Optional[int] = None) -> Tuple:
    """Randomly split labeled frames into training and validation sets.

    At least one frame goes to each set; with a single labeled frame it is used for
    both (as SLEAP does).

    Args:
        labels: `sleap_io.Labels`.
        validation_fraction: Fraction (in [0, 1]) of frames for validation.
        seed: Random seed for a reproducible split.

    Returns:
        `(train_labels, train_inds, val_labels, val_inds)` with sorted index arrays.

    Raises:
        ValueError: If the labels are empty or the fraction is out of range.
    """
    n = len(labels)
    if n == 0:
        raise InvalidValueError("Cannot split empty labels. Received: 0 labeled frames")
    if not 0 <= validation_fraction <= 1:
        raise InvalidValueError(f"validation_fraction must be in [0, 1]. Received: "
                                f"{validation_fraction}")
    if n == 1:
        inds = np.array([0])
        return _subset(labels, inds), inds, _subset(labels, inds), inds
    n_val = min(max(int(round(n * validation_fraction)), 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    val_inds, train_inds = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return (_subset(labels, train_inds), train_inds, _subset(labels, val_inds),
            val_inds)

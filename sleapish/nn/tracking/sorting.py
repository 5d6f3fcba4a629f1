"""The element order of SLEAP's `np.argsort` calls, whatever numpy sleapish runs on.

SLEAP 1.4.1 as installed today (`pip install sleap==1.4.1`) runs on numpy 1.26. That
numpy sorts float64/int64 with AVX-512 sorting networks when the CPU has AVX512_SKX,
and with the scalar introsort described below otherwise. :func:`sleap_argsort`
follows the same split: numpy's own (SIMD) argsort on AVX-512 machines, where numpy
2.x orders ties as 1.26 does for inputs up to 64 elements (checked against numpy
1.26.4 on this machine kind, and end to end: bottom-up + flow tracking of
`centered_pair_low_quality.mp4` frames 0-499 gives SLEAP 1.4.1's 38 tracks with all
759 instances on the same track), and :func:`legacy_argsort` elsewhere. Larger tied
inputs on AVX-512 may differ from numpy 1.26 (its sorting networks changed).

SLEAP 1.4.1 breaks ties between equal costs (greedy matching) and equal scores
(non-maximum suppression) by the order `np.argsort(x)` returns. It ran on numpy
< 1.23, whose default argsort is an introsort: median-of-3 quicksort that leaves
partitions of at most 16 elements to insertion sort, with a heapsort fallback after
`2 * floor(log2(n))` levels. Equal elements end up in an order that is a fixed
function of the input. numpy >= 1.25 dispatches the same call to SIMD sorting
networks (AVX-512, later AVX2) on most x86 machines. Those order equal elements
differently, even for 4 elements, so the tie-breaking (and so the tracks) would
depend on the machine.

`legacy_argsort` returns numpy 1.22's order on every machine. When no two elements
are equal, every correct sort gives the same order and it defers to numpy's stable
sort. For at most 16 elements, numpy's insertion sort is stable too. Only longer
inputs with ties go through the Python port below, which follows numpy's algorithm
step by step.
"""

from __future__ import annotations

import math

import numpy as np

# numpy's `SMALL_QUICKSORT`: partitions with `pr - pl <= 15` go to insertion sort.
_SMALL_QUICKSORT = 15


def _has_ties(flat: np.ndarray) -> bool:
    """Whether two elements compare equal (NaNs count as equal to each other)."""
    if flat.size < 2:
        return False
    s = np.sort(flat, kind="stable")
    if s.dtype.kind in "fc":
        nan = np.isnan(s)
        if nan.sum() > 1:
            return True
        s = s[~nan]
    return bool(np.any(s[1:] == s[:-1]))


def _keys(flat: np.ndarray) -> list:
    """Python keys whose `<` is numpy's `Tag::less` (NaN after everything)."""
    if flat.dtype.kind == "f":
        return [(1, 0.0) if math.isnan(x) else (0, x) for x in flat.tolist()]
    return flat.tolist()


def _sift_down(v: list, a: list, base: int, i: int, n: int, tmp: int) -> None:
    """Sift `tmp` down from heap position `i` of a heap of `n` (1-based)."""
    j = i << 1
    while j <= n:
        if j < n and v[a[base + j]] < v[a[base + j + 1]]:
            j += 1
        if v[tmp] < v[a[base + j]]:
            a[base + i] = a[base + j]
            i = j
            j += j
        else:
            break
    a[base + i] = tmp


def _aheapsort(v: list, a: list, start: int, n: int) -> None:
    """numpy's `aheapsort_` on `a[start:start + n]` (1-based heap indexing)."""
    base = start - 1
    for node in range(n >> 1, 0, -1):
        _sift_down(v, a, base, node, n, a[base + node])
    while n > 1:
        tmp = a[base + n]
        a[base + n] = a[base + 1]
        n -= 1
        _sift_down(v, a, base, 1, n, tmp)


def _introsort(v: list) -> list:
    """numpy 1.22's `aquicksort_` on the keys `v`; returns the index order."""
    num = len(v)
    a = list(range(num))
    if num < 2:
        return a
    pl, pr = 0, num - 1
    stack = []  # (pl, pr, depth) of the larger partitions still to sort
    cdepth = (num.bit_length() - 1) * 2
    while True:
        if cdepth < 0:
            _aheapsort(v, a, pl, pr - pl + 1)
        else:
            while pr - pl > _SMALL_QUICKSORT:
                pm = pl + ((pr - pl) >> 1)
                if v[a[pm]] < v[a[pl]]:
                    a[pm], a[pl] = a[pl], a[pm]
                if v[a[pr]] < v[a[pm]]:
                    a[pr], a[pm] = a[pm], a[pr]
                if v[a[pm]] < v[a[pl]]:
                    a[pm], a[pl] = a[pl], a[pm]
                vp = v[a[pm]]
                pi, pj = pl, pr - 1
                a[pm], a[pj] = a[pj], a[pm]
                while True:
                    pi += 1
                    while v[a[pi]] < vp:
                        pi += 1
                    pj -= 1
                    while vp < v[a[pj]]:
                        pj -= 1
                    if pi >= pj:
                        break
                    a[pi], a[pj] = a[pj], a[pi]
                pk = pr - 1
                a[pi], a[pk] = a[pk], a[pi]
                cdepth -= 1
                if pi - pl < pr - pi:  # keep the smaller side, stack the larger
                    stack.append((pi + 1, pr, cdepth))
                    pr = pi - 1
                else:
                    stack.append((pl, pi - 1, cdepth))
                    pl = pi + 1
            for pi in range(pl + 1, pr + 1):  # insertion sort
                vi = a[pi]
                vp = v[vi]
                pj = pi
                while pj > pl and vp < v[a[pj - 1]]:
                    a[pj] = a[pj - 1]
                    pj -= 1
                a[pj] = vi
        if not stack:
            break
        pl, pr, cdepth = stack.pop()
    return a


def legacy_argsort(values) -> np.ndarray:
    """`np.argsort(values, axis=None)` as numpy < 1.23 (SLEAP 1.4.1's) orders it.

    Args:
        values: Array of any shape (flattened in C order), real numbers. NaNs sort
            last, as in numpy.

    Returns:
        `(values.size,)` int64 indices into the flattened array, in ascending order
        of value. Ties come out in the order numpy 1.22's default introsort gives.

    Example:
        >>> legacy_argsort([[0.0, -1.0], [0.0, -1.0]]).tolist()
        [1, 3, 0, 2]
    """
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind == "b":
        flat = flat.astype(np.int64)
    if flat.size <= _SMALL_QUICKSORT + 1 or not _has_ties(flat):
        return np.argsort(flat, kind="stable").astype(np.int64)
    return np.asarray(_introsort(_keys(flat)), np.int64)


def simd_argsort_available() -> bool:
    """Whether this CPU runs numpy's AVX-512 argsort (numpy's `AVX512_SKX` feature)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return bool(__cpu_features__.get("AVX512_SKX", False))


def sleap_argsort(values) -> np.ndarray:
    """SLEAP 1.4.1's `np.argsort(values, axis=None)` order on this machine.

    Args:
        values: Array of any shape (flattened, as `axis=None`).

    Returns:
        int64 `(values.size,)` indices: numpy's argsort on AVX-512 machines (numpy
        1.26's SIMD order for up to 64 elements), :func:`legacy_argsort` otherwise
        (numpy 1.26's scalar introsort).
    """
    flat = np.asarray(values).reshape(-1)
    if simd_argsort_available():
        return np.argsort(flat, kind="quicksort").astype(np.int64)
    return legacy_argsort(flat)


__all__ = ["legacy_argsort", "sleap_argsort", "simd_argsort_available"]

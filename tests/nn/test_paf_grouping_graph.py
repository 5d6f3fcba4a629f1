"""Graph-only PAF matching, assembly and identity assignment equal the NumPy paths."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.nn._backend import tf
from sleapish.nn.identity import _assign_groups, _assign_groups_graph
from sleapish.nn.paf_grouping import (
    EdgeType,
    group_instances_np,
    match_candidates_np,
    toposort_edges,
)
from sleapish.nn.paf_grouping.graph import group_instances_graph, match_candidates_graph


def _candidates(rng, n_edges=3):
    rows = []
    for s in range(rng.integers(1, 4)):
        for e in range(n_edges):
            ns, nd = rng.integers(0, 4, 2)
            for a in range(ns):
                for b in range(nd):
                    sc = rng.integers(0, 3) / 2 if rng.random() < 0.5 else rng.random()
                    rows.append((s, e, a, b, np.nan if rng.random() < 0.1 else sc))
    r = np.array(rows, np.float64).reshape(-1, 5)
    return (r[:, 0].astype(np.int32), r[:, 1].astype(np.int32),
            r[:, 2:4].astype(np.int32), r[:, 4].astype(np.float32))


def test_matching_in_graph_equals_numpy():
    rng = np.random.default_rng(0)
    fn = tf.function(lambda *a: match_candidates_graph(*a, n_edges=3), input_signature=[
        tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None, 2], tf.int32), tf.TensorSpec([None], tf.float32)])
    for _ in range(60):
        args = _candidates(rng)
        want = match_candidates_np(*args, n_edges=3)
        got = [x.numpy() for x in fn(*args)]
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g, w)


def _assembly_case(rng, n_nodes, edges):
    n_samples = rng.integers(1, 4)
    peaks, p_sample, p_chan = [], [], []
    for s in range(n_samples):
        for n in range(n_nodes):
            for _ in range(rng.integers(0, 4)):
                peaks.append(rng.random(2) * 100)
                p_sample.append(s)
                p_chan.append(n)
    peaks = np.array(peaks, np.float32).reshape(-1, 2)
    p_sample, p_chan = np.array(p_sample, np.int64), np.array(p_chan, np.int64)
    m = [[], [], [], [], []]
    for s in range(n_samples):
        for e, (a, b) in enumerate(edges):
            na = int(((p_sample == s) & (p_chan == a)).sum())
            nb = int(((p_sample == s) & (p_chan == b)).sum())
            for _ in range(rng.integers(0, max(na, nb) + 2) if na and nb else 0):
                # Random (not one-to-one) connections: repeats and merges happen.
                for lst, v in zip(m, (s, e, rng.integers(na), rng.integers(nb),
                                      rng.random())):
                    lst.append(v)
    m = [np.array(x, np.int32) for x in m[:4]] + [np.array(m[4], np.float32)]
    return (peaks, rng.random(len(peaks)).astype(np.float32), p_sample, p_chan, *m,
            n_samples)


@pytest.mark.slow
@pytest.mark.parametrize("min_instance_peaks", [0, 2, 0.5])
def test_assembly_in_graph_equals_numpy_on_any_graph(min_instance_peaks):
    rng = np.random.default_rng(int(min_instance_peaks * 10) + 1)
    n_cases = 0
    while n_cases < 25:
        n_nodes = int(rng.integers(2, 6))
        edges = [(int(a), int(b)) for a, b in rng.integers(0, n_nodes,
                                                            (rng.integers(1, 6), 2))]
        types = [EdgeType(a, b) for a, b in edges]
        try:
            order = toposort_edges(types)
        except ValueError:  # no root node: not a skeleton
            continue
        n_cases += 1
        case = _assembly_case(rng, n_nodes, edges)
        want = group_instances_np(*case, n_nodes, order, types, min_instance_peaks, 0.25)
        got = [x.numpy() for x in group_instances_graph(
            *case, n_nodes, order, types, min_instance_peaks, 0.25)]
        for w, g in zip(want[:2], got[:2]):
            np.testing.assert_array_equal(g, w)
        np.testing.assert_allclose(got[2], want[2], rtol=1e-6)
        np.testing.assert_array_equal(got[3], want[3])


@pytest.mark.slow
def test_identity_assignment_in_graph_equals_scipy():
    rng = np.random.default_rng(2)
    for _ in range(40):
        n = int(rng.integers(0, 12))
        probs = rng.integers(0, 4, (n, 3)).astype(np.float32) / 3  # ties
        sample = np.sort(rng.integers(0, 3, n)).astype(np.int32)
        chan = rng.integers(0, 2, n).astype(np.int32)
        want = _assign_groups(probs, sample, chan)
        got = [x.numpy() for x in _assign_groups_graph(
            tf.constant(probs), tf.constant(sample), tf.constant(chan))]
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_assembly_of_hungarian_matches_takes_the_tree_path_and_equals_numpy():
    # One-to-one matches on a tree skeleton (what PAF matching produces): the graph
    # code's vectorized tree branch must give the NumPy result too.
    rng = np.random.default_rng(7)
    n_nodes = 5
    edges = [(0, 1), (1, 2), (1, 3), (3, 4)]
    types = [EdgeType(a, b) for a, b in edges]
    order = toposort_edges(types)
    for _ in range(20):
        peaks, vals, p_sample, p_chan, *_, n_samples = _assembly_case(rng, n_nodes, edges)
        cand = [[], [], [], []]
        for s in range(n_samples):
            for e, (a, b) in enumerate(edges):
                na = int(((p_sample == s) & (p_chan == a)).sum())
                nb = int(((p_sample == s) & (p_chan == b)).sum())
                for i in range(na):
                    for j in range(nb):
                        for lst, v in zip(cand, (s, e, (i, j), rng.random())):
                            lst.append(v)
        if not cand[0]:
            continue
        matches = match_candidates_np(np.array(cand[0]), np.array(cand[1]),
                                      np.array(cand[2]).reshape(-1, 2),
                                      np.array(cand[3], np.float32), n_edges=len(edges))
        case = (peaks, vals, p_sample, p_chan, *matches, n_samples)
        want = group_instances_np(*case, n_nodes, order, types, 0, 0.25)
        got = [x.numpy() for x in group_instances_graph(*case, n_nodes, order, types, 0,
                                                        0.25)]
        for w, g in zip(want[:2], got[:2]):
            np.testing.assert_array_equal(g, w)
        np.testing.assert_allclose(got[2], want[2], rtol=1e-6)
        np.testing.assert_array_equal(got[3], want[3])

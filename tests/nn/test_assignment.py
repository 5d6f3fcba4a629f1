"""In-graph linear sum assignment against scipy, ties and infeasible matrices included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as scipy_lsa

from sleapish.nn._backend import tf
from sleapish.nn.assignment import linear_sum_assignment, max_score_assignment
from sleapish.nn.paf_grouping.matching import _hungarian

_LSA = tf.function(linear_sum_assignment,
                   input_signature=[tf.TensorSpec([None, None], tf.float64)])
_MAX = tf.function(max_score_assignment,
                   input_signature=[tf.TensorSpec([None, None], tf.float32)])


def _random_costs(rng, n):
    for t in range(n):
        nr, nc = rng.integers(0, 7, 2)
        if t % 2:  # small integers: many ties
            c = rng.integers(0, 3, (nr, nc)).astype(np.float64)
        else:
            c = rng.random((nr, nc)).astype(np.float32).astype(np.float64)
        if rng.random() < 0.3:
            c[rng.random((nr, nc)) < 0.3] = np.inf
        if rng.random() < 0.05 and c.size:
            c.flat[0] = -np.inf if t % 4 else np.nan
        yield c


def test_assignment_equals_scipy_including_ties_and_infeasible():
    rng = np.random.default_rng(3)
    n_infeasible = n_ties = 0
    for c in _random_costs(rng, 300):
        rows, cols, ok = (x.numpy() for x in _LSA(c))
        try:
            want = scipy_lsa(c)
        except ValueError:  # NaN / -inf entries, or no finite assignment
            assert not ok, c
            n_infeasible += 1
            continue
        assert ok, c
        np.testing.assert_array_equal(rows, want[0], err_msg=str(c))
        np.testing.assert_array_equal(cols, want[1], err_msg=str(c))
        n_ties += int(len(np.unique(c)) < c.size)
    assert n_infeasible > 10 and n_ties > 50  # both regimes were exercised


def test_constant_matrix_gives_scipys_identity_and_transposed_order():
    rows, cols, ok = (x.numpy() for x in _LSA(np.ones((3, 5))))
    assert ok and rows.tolist() == [0, 1, 2] and cols.tolist() == [0, 1, 2]
    tall = np.array([[4.0, 1.0], [2.0, 0.0], [3.0, 5.0]])
    rows, cols, _ = (x.numpy() for x in _LSA(tall))
    want = scipy_lsa(tall)
    assert rows.tolist() == want[0].tolist() and cols.tolist() == want[1].tolist()
    empty = [x.numpy() for x in _LSA(np.zeros((0, 3)))]
    assert empty[0].shape == (0,) and empty[2]


@pytest.mark.parametrize("seed", [0, 1])
def test_max_score_assignment_equals_the_numpy_path_with_its_fallback(seed):
    rng = np.random.default_rng(seed)
    for _ in range(120):
        nr, nc = rng.integers(1, 6, 2)
        s = rng.integers(-2, 3, (nr, nc)).astype(np.float32) / 2
        s[rng.random((nr, nc)) < 0.35] = np.nan  # forbidden pairs, often infeasible
        if rng.random() < 0.1:
            s.flat[0] = np.inf  # scipy rejects -inf costs: the fallback handles it
        rows, cols = (x.numpy() for x in _MAX(s))
        want = _hungarian(s)
        np.testing.assert_array_equal(rows, want[0], err_msg=str(s))
        np.testing.assert_array_equal(cols, want[1], err_msg=str(s))


@pytest.mark.slow
def test_assignment_converts_to_onnx_and_runs_the_same():
    import onnxruntime as ort
    import tf2onnx

    spec = tf.TensorSpec([None, None], tf.float64, name="cost")
    fn = tf.function(lambda cost: linear_sum_assignment(cost), input_signature=[spec])
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=[spec])
    sess = ort.InferenceSession(proto.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    for c in _random_costs(rng, 25):
        if not np.isfinite(c).all() or c.size == 0:
            continue
        got = sess.run(None, {"cost": c})
        want = scipy_lsa(c)
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()

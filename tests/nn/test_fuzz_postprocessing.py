"""Fuzzing (hypothesis): peak finding, PAF grouping and identity assignment take random
shapes, NaNs, empty frames and extreme values without crashing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sleapish.nn._backend import tf
from sleapish.nn.identity import _assign_groups
from sleapish.nn.paf_grouping import PAFScorer
from sleapish.nn.peak_finding import find_global_peaks, find_local_peaks

_FUZZ = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])
_VALUES = st.one_of(st.floats(-2.0**100, 2.0**100, width=32), st.just(float("nan")),
                    st.floats(0, 1, width=32))


@st.composite
def _maps(draw, max_side=12):
    shape = (draw(st.integers(0, 2)), draw(st.integers(1, max_side)),
             draw(st.integers(1, max_side)), draw(st.integers(1, 3)))
    return draw(arrays(np.float32, shape, elements=_VALUES))


@pytest.mark.slow
@_FUZZ
@given(cms=_maps(), refinement=st.sampled_from([None, "local", "integral"]),
       threshold=st.floats(-1, 2))
def test_peak_finding_never_crashes(cms, refinement, threshold):
    pts, vals = find_global_peaks(cms, threshold=threshold, refinement=refinement)
    assert tuple(pts.shape) == (cms.shape[0], cms.shape[3], 2)
    pts, vals, s, c = find_local_peaks(cms, threshold=threshold, refinement=refinement)
    assert pts.shape[0] == vals.shape[0] == s.shape[0] == c.shape[0]


@pytest.mark.slow
@_FUZZ
@given(data=st.data(), n_peaks=st.integers(0, 8), in_graph=st.booleans())
def test_paf_grouping_never_crashes(data, n_peaks, in_graph):
    scorer = PAFScorer(["a", "b", "c"], [("a", "b"), ("b", "c")], pafs_stride=2,
                       in_graph=in_graph)
    pafs = data.draw(arrays(np.float32, (1, 8, 8, 4), elements=_VALUES))
    peaks = data.draw(arrays(np.float32, (n_peaks, 2),
                             elements=st.floats(-50, 100, width=32)))
    chans = data.draw(arrays(np.int32, (n_peaks,), elements=st.integers(0, 2)))
    vals = np.ones(n_peaks, np.float32)
    ragged = [tf.RaggedTensor.from_row_lengths(x, [n_peaks]) for x in (peaks, vals, chans)]
    inst, inst_vals, scores, *_ = scorer.predict(pafs, *ragged)
    assert inst.shape[0] == 1 and int(inst.row_lengths()[0]) == int(scores.row_lengths()[0])


@_FUZZ
@given(probs=arrays(np.float32, st.tuples(st.integers(0, 6), st.integers(1, 3)),
                    elements=st.floats(0, 1, width=32)), data=st.data())
def test_identity_assignment_never_crashes(probs, data):
    n = probs.shape[0]
    samples = np.sort(data.draw(arrays(np.int32, (n,), elements=st.integers(0, 2))))
    chans = data.draw(arrays(np.int32, (n,), elements=st.integers(0, 1)))
    peak_inds, class_inds = _assign_groups(probs, samples, chans)
    assert len(peak_inds) == len(class_inds) <= n

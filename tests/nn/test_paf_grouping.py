"""Tests of sleapish.nn.paf_grouping (SLEAP 1.4.1's sleap.nn.paf_grouping)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from sleapish.nn._backend import tf
from sleapish.nn.config.model import (
    MultiInstanceConfig,
    MultiInstanceConfmapsHeadConfig,
    PartAffinityFieldsHeadConfig,
)
from sleapish.nn.data.confidence_maps import make_multi_confmaps
from sleapish.nn.data.edge_maps import get_edge_points, make_multi_pafs
from sleapish.nn.data.utils import make_grid_vectors
from sleapish.nn.paf_grouping import (
    EdgeConnection,
    EdgeType,
    PAFScorer,
    PeakID,
    assign_connections_to_instances,
    compute_distance_penalty,
    get_connection_candidates,
    get_paf_lines,
    group_instances_batch,
    group_instances_sample,
    make_line_subs,
    make_predicted_instances,
    match_candidates_batch,
    match_candidates_sample,
    score_paf_lines,
    score_paf_lines_batch,
    toposort_edges,
)
from sleapish.nn.paf_grouping import assembly as pgm
from sleapish.nn.paf_grouping.edges import _min_peaks_threshold

NAMES = ["head", "thorax", "abdomen", "wingL", "wingR"]
EDGES = [("head", "thorax"), ("thorax", "abdomen"), ("thorax", "wingL"),
         ("thorax", "wingR")]
BODY = np.array([[0, -12], [0, 0], [0, 14], [-9, 8], [9, 8]], np.float64)


def ragged(rows, dtype, inner=()):
    """Ragged tensor from a list of per-sample arrays."""
    rows = [np.asarray(r, dtype).reshape((-1,) + inner) for r in rows]
    lengths = [len(r) for r in rows]
    return tf.RaggedTensor.from_row_lengths(np.concatenate(rows), lengths)


# ------------------------------------------------------------------ candidates, lines
def test_get_connection_candidates():
    edge_inds, edge_peak_inds = get_connection_candidates(
        [0, 0, 0, 1, 1, 2], [[0, 1], [1, 2], [2, 3]], 4)
    assert_array_equal(edge_inds, [0, 0, 0, 0, 0, 0, 1, 1])
    assert_array_equal(edge_peak_inds,
                       [[0, 3], [0, 4], [1, 3], [1, 4], [2, 3], [2, 4], [3, 5], [4, 5]])
    # Peaks of a node keep their input order; empty when a node has no peaks.
    edge_inds, edge_peak_inds = get_connection_candidates([1, 0, 1], [[0, 1]], 2)
    assert_array_equal(edge_peak_inds, [[1, 0], [1, 2]])
    assert get_connection_candidates([0, 0], [[0, 1]], 2)[1].shape == (0, 2)
    no_peaks = np.zeros(0, np.int32)
    assert get_connection_candidates(no_peaks, [[0, 1]], 2)[0].shape == (0,)


def test_make_line_subs():
    peaks = tf.constant([[0, 0], [4, 8]], tf.float32)
    subs = make_line_subs(peaks, [[0, 1]], [0], n_line_points=3, pafs_stride=2)
    assert_array_equal(subs, [[[[0, 0, 0], [0, 0, 1]], [[2, 1, 0], [2, 1, 1]],
                               [[4, 2, 0], [4, 2, 1]]]])


def test_make_line_subs_rounds_half_to_even_and_clips():
    peaks = tf.constant([[0.5, 1.5], [2.5, 3.5], [9.0, -3.0]], tf.float32)
    subs = make_line_subs(peaks, [[0, 1]], [1], n_line_points=2, pafs_stride=1)
    # x 0.5 -> 0, 2.5 -> 2; y 1.5 -> 2, 3.5 -> 4; channels 2 and 3 for edge 1.
    assert_array_equal(subs[0, :, 0], [[2, 0, 2], [4, 2, 2]])
    assert_array_equal(subs[0, :, 1, 2], [3, 3])
    subs = make_line_subs(peaks, [[1, 2]], [0], 2, 1, pafs_hw=(3, 5))
    assert_array_equal(subs[0, :, 0, :2], [[2, 2], [0, 4]])  # rows <= 2, cols <= 4


def test_get_paf_lines_and_score():
    pafs = tf.cast(tf.reshape(tf.range(6 * 4 * 2), [6, 4, 2]), tf.float32)
    peaks = tf.constant([[0, 0], [4, 8]], tf.float32)
    lines = get_paf_lines(pafs, peaks, [[0, 1]], [0], n_line_points=3, pafs_stride=2)
    assert_array_equal(lines, [[[0, 1], [18, 19], [36, 37]]])
    unit = np.array([4, 8]) / np.hypot(4, 8)
    expected = np.mean(np.asarray(lines[0]) @ unit) + (2 / np.hypot(4, 8) - 1)
    scores = score_paf_lines(lines, peaks, [[0, 1]], max_edge_length=2)
    assert_allclose(scores, [expected], rtol=1e-6)
    assert_allclose(scores, [24.27], atol=1e-2)  # SLEAP's documented value


def test_score_without_penalty_and_zero_length():
    lines = tf.constant(np.tile([1.0, 0.0], (4, 5, 1)), tf.float32)  # field along +x
    peaks = tf.constant([[0, 0], [4, 0], [0, 4], [-4, 0], [0, 0]], tf.float32)
    scores = score_paf_lines(lines, peaks, [[0, 1], [0, 2], [0, 3], [0, 4]], 100.0)
    assert_allclose(scores[:3], [1.0, 0.0, -1.0], atol=1e-7)
    assert np.isnan(scores[3])  # zero-length line: 0/0 direction, as SLEAP


def test_compute_distance_penalty():
    assert_allclose(compute_distance_penalty(tf.constant([5.0, 10.0, 20.0]), 10.0),
                    [0, 0, -0.5])
    assert_allclose(compute_distance_penalty(tf.constant([40.0]), 10.0, 2.0), [-1.5])


def test_max_edge_length_includes_channel_count():
    # PAFs (4 x 4 grid, 12 channels): max_edge_length = 0.25 * max(4, 4, 12) * 1 = 3.
    pafs = tf.zeros([1, 4, 4, 12])
    edges = [[i, i + 1] for i in range(6)]
    _, _, scores = score_paf_lines_batch(
        pafs, ragged([[[0, 0], [10, 0]]], np.float32, (2,)), ragged([[0, 1]], np.int32),
        edges, 10, 1, 0.25, 1.0, 7)
    assert_allclose(scores.flat_values, [3 / 10 - 1], rtol=1e-6)


def test_score_paf_lines_batch_ragged_per_sample():
    pafs = tf.cast(tf.reshape(tf.range(6 * 4 * 2), [1, 6, 4, 2]), tf.float32)
    edge_inds, edge_peak_inds, scores = score_paf_lines_batch(
        pafs, tf.constant([[[0, 0], [4, 8]]], tf.float32), tf.constant([[0, 1]]),
        [[0, 1], [1, 2], [2, 3]], 3, 2, 2 / 12, 1.0, 4)
    assert edge_inds.to_list() == [[0]] and edge_peak_inds.to_list() == [[[0, 1]]]
    assert_allclose(scores.to_list(), [[24.27]], atol=1e-2)
    # Three samples (middle one empty): indices are per sample.
    pafs = tf.random.stateless_normal([3, 8, 8, 4], [1, 2])
    peaks = ragged([[[1, 1], [5, 5], [2, 6]], [], [[3, 3], [6, 1]]], np.float32, (2,))
    chans = ragged([[0, 1, 1], [], [1, 0]], np.int32)
    edge_inds, edge_peak_inds, scores = score_paf_lines_batch(
        pafs, peaks, chans, [[0, 1], [1, 2]], 5, 1, 0.25, 1.0, 3)
    assert edge_inds.to_list() == [[0, 0], [], [0]]
    assert edge_peak_inds.to_list() == [[[0, 1], [0, 2]], [], [[1, 0]]]
    single = get_paf_lines(pafs[2], peaks[2], [[1, 0]], [0], 5, 1)
    expected = score_paf_lines(single, peaks[2], [[1, 0]], 0.25 * 8)
    assert_array_equal(scores[2], expected)


# ------------------------------------------------------------------------ matching
def test_match_candidates_sample():
    matched = match_candidates_sample([0, 0], [[0, 1], [2, 1]], [-0.5, 1.0], 1)
    assert [m.numpy().tolist() for m in matched] == [[0], [1], [0], [1.0]]


def test_hungarian_maximizes_total_not_greedy():
    # Greedy would take 0.9 then 0.1; the optimum is 0.8 + 0.85.
    scores = [0.9, 0.8, 0.85, 0.1, 0.3, 0.2]  # 3 sources x 2 destinations
    cands = [[s, d] for s in range(3) for d in (3, 4)]
    edge, src, dst, score = match_candidates_sample([0] * 6, cands, scores, 1)
    assert src.numpy().tolist() == [0, 1] and dst.numpy().tolist() == [1, 0]
    assert_allclose(score, [0.8, 0.85])


def test_match_nan_and_infeasible_do_not_crash():
    # A 1x1 NaN matrix is infeasible for SLEAP's inf costs (it raises): here the pair
    # is matched with its NaN score and later dropped by min_line_scores.
    _, src, dst, score = match_candidates_sample([0], [[0, 1]], [np.nan], 1)
    assert src.numpy().tolist() == [0] and np.isnan(score[0])
    # NaN pairs are avoided when a feasible assignment exists.
    _, src, dst, _ = match_candidates_sample([0] * 4, [[0, 2], [0, 3], [1, 2], [1, 3]],
                                             [np.nan, 0.1, 0.2, 0.9], 1)
    assert list(zip(src.numpy(), dst.numpy())) == [(0, 1), (1, 0)]


def test_match_candidates_batch():
    edge_inds = ragged([[0, 0, 1], [], [0]], np.int32)
    peak_inds = ragged([[[0, 1], [2, 1], [1, 3]], [], [[1, 0]]], np.int32, (2,))
    scores = ragged([[-0.5, 1.0, 0.4], [], [0.7]], np.float32)
    out = match_candidates_batch(edge_inds, peak_inds, scores, 2)
    assert [o.to_list() for o in out] == [
        [[0, 1], [], [0]], [[1, 0], [], [0]], [[0, 0], [], [0]],
        [[1.0, pytest.approx(0.4)], [], [pytest.approx(0.7)]]]


# ------------------------------------------------------------------ order, assembly
def test_toposort_edges_tree_and_quirks():
    tree = [EdgeType(1, 2), EdgeType(0, 1), EdgeType(1, 3), EdgeType(3, 4),
            EdgeType(0, 5)]
    assert toposort_edges(tree) == (1, 4, 0, 2, 3)
    assert toposort_edges([(0, 1), (2, 1)]) == (0,)  # second root's edge not reached
    assert toposort_edges([(0, 1), (2, 3)]) == (0,)  # other component dropped
    assert toposort_edges([(0, 1), (0, 1)]) == (0,)
    assert toposort_edges([]) == ()
    with pytest.raises(ValueError, match="no root"):
        toposort_edges([(0, 1), (1, 0)])


def _conns(spec):
    return {EdgeType(*k): [EdgeConnection(s, d, sc) for s, d, sc in v]
            for k, v in spec.items()}


def test_assignment_rules():
    # Case 1 (new), case 2 (dst joins src), case 4 (src new, dst assigned: ignored).
    a = assign_connections_to_instances(_conns({
        (0, 1): [(0, 0, 1.0), (1, 1, 1.0)], (1, 2): [(0, 0, 1.0)],
        (3, 1): [(0, 1, 1.0)]}))
    assert a == {PeakID(0, 0): 0, PeakID(1, 0): 0, PeakID(0, 1): 1, PeakID(1, 1): 1,
                 PeakID(2, 0): 0}
    # Case 3 with disjoint node sets: the destination's instance is merged in.
    a = assign_connections_to_instances(_conns({
        (0, 1): [(0, 0, 1.0)], (2, 3): [(0, 0, 1.0)], (1, 2): [(0, 0, 1.0)]}))
    assert set(a.values()) == {0} and len(a) == 4
    # Case 3 with a shared node type: only the destination peak moves.
    a = assign_connections_to_instances(_conns({
        (0, 1): [(0, 0, 1.0), (1, 1, 1.0)], (1, 0): [(0, 1, 1.0)]}))
    assert a == {PeakID(0, 0): 0, PeakID(1, 0): 0, PeakID(0, 1): 0, PeakID(1, 1): 1}


def test_min_instance_peaks_int_and_fraction():
    spec = {(0, 1): [(0, 0, 1.0), (1, 1, 1.0)], (1, 2): [(0, 0, 1.0)]}  # sizes 3, 2
    sizes = lambda a: sorted(np.unique(list(a.values()), return_counts=True)[1])
    assert sizes(assign_connections_to_instances(_conns(spec), 0)) == [2, 3]
    assert sizes(assign_connections_to_instances(_conns(spec), 3)) == [3]
    # Fractions of n_nodes: int(0.5 * 5) = 2, int(0.7 * 5) = 3.
    assert sizes(assign_connections_to_instances(_conns(spec), 0.5, 5)) == [2, 3]
    assert sizes(assign_connections_to_instances(_conns(spec), 0.7, 5)) == [3]
    # n_nodes inferred from the connections' node types (3): int(0.9 * 3) = 2.
    assert sizes(assign_connections_to_instances(_conns(spec), 0.9)) == [2, 3]
    a = assign_connections_to_instances(_conns(spec), 3)
    pts, vals, scores = make_predicted_instances(
        [np.array([[0, 0], [1, 1]]), np.array([[2, 2], [3, 3]]), np.array([[4, 4]])],
        [np.array([.1, .2]), np.array([.3, .4]), np.array([.5])], _conns(spec), a)
    assert_array_equal(pts, [[[0, 0], [2, 2], [4, 4]]])
    assert_allclose(vals, [[.1, .3, .5]])
    assert_array_equal(scores, [2.0])


def test_group_instances_sample():
    out = group_instances_sample(
        tf.reshape(tf.range(10, dtype=tf.float32), [5, 2]),
        tf.range(5, dtype=tf.float32),
        tf.constant([0, 1, 2, 0, 1]), [0, 1, 0], [0, 0, 1], [0, 0, 1],
        np.ones(3, np.float32), 3, (0, 1), [EdgeType(0, 1), EdgeType(1, 2)], 0)
    assert_array_equal(out[0], [[[0, 1], [2, 3], [4, 5]],
                                [[6, 7], [8, 9], [np.nan] * 2]])
    assert_array_equal(out[1], [[0, 1, 2], [3, 4, np.nan]])
    assert_array_equal(out[2], [2.0, 1.0])


def test_instance_scores_and_min_line_scores():
    peaks = np.arange(8, dtype=np.float32).reshape(4, 2)
    args = (peaks, np.ones(4, np.float32), [0, 1, 2, 3], [0, 1, 2], [0, 0, 0],
            [0, 0, 0])
    types, order = [EdgeType(0, 1), EdgeType(1, 2), EdgeType(2, 3)], (0, 1, 2)
    pts, _, scores = group_instances_sample(
        *args, np.float32([0.5, 0.75, 0.3]), 4, order, types, 0)
    assert_array_equal(scores, [np.float32(0.5) + np.float32(0.75) + np.float32(0.3)])
    # 0.2 < min_line_scores: node 2 stays unconnected and the instance stops at node 1;
    # the 2-3 connection forms its own instance.
    pts, _, scores = group_instances_sample(
        *args, np.float32([0.5, 0.2, 0.3]), 4, order, types, 0)
    assert_array_equal(pts[0], [[0, 1], [2, 3], [np.nan] * 2, [np.nan] * 2])
    assert_allclose(scores, [0.5, 0.3])
    _, _, scores = group_instances_sample(
        *args, np.float32([0.5, 0.2, 0.3]), 4, order, types, 0, min_line_scores=0.1)
    assert len(scores) == 1


def test_group_instances_sample_any_edge_order():
    # Visiting 1->2 before 0->1: the 0->1 connection finds its destination assigned
    # and its source new, which SLEAP ignores, so node 0 is left out.
    args = (np.float32([[0, 0], [1, 1], [2, 2]]), np.ones(3, np.float32), [0, 1, 2],
            [0, 1], [0, 0], [0, 0], np.float32([0.5, 0.5]), 3)
    types = [EdgeType(0, 1), EdgeType(1, 2)]
    pts, _, scores = group_instances_sample(*args, (1, 0), types, 0)
    assert_array_equal(pts, [[[np.nan, np.nan], [1, 1], [2, 2]]])
    assert_array_equal(scores, [0.5])
    pts, _, scores = group_instances_sample(*args, (0, 1), types, 0)
    assert_array_equal(pts, [[[0, 0], [1, 1], [2, 2]]])
    assert_array_equal(scores, [1.0])


def test_predict_empty_and_partial_inputs():
    scorer = PAFScorer(NAMES, EDGES, pafs_stride=2)
    pafs = tf.zeros([3, 8, 8, 8])
    out = scorer.predict(pafs, np.zeros((0, 2), np.float32), np.zeros(0, np.float32),
                         np.zeros(0, np.int32), peak_sample_inds=np.zeros(0, np.int32))
    assert [o.nrows() for o in out] == [3] * 6
    assert out[0].shape.as_list() == [3, None, 5, 2]
    assert out[0].flat_values.shape[0] == 0
    # Only head and thorax found, in sample 1; wings and abdomen have no candidates.
    out = scorer.predict(pafs + 0.5, np.float32([[2, 2], [2, 6]]),
                         np.ones(2, np.float32), np.int32([0, 1]),
                         peak_sample_inds=np.int32([1, 1]))
    assert out[0].row_lengths().numpy().tolist() == [0, 1, 0]
    assert_array_equal(out[0][1][0, 2:], np.full((3, 2), np.nan))


def test_one_numpy_call_per_batch_in_graph():
    scorer = PAFScorer(NAMES, EDGES, pafs_stride=2)
    fn = tf.function(lambda *a: scorer.predict(*a[:4], peak_sample_inds=a[4]))
    graph = fn.get_concrete_function(
        tf.TensorSpec([None, 8, 8, 8]), tf.TensorSpec([None, 2]), tf.TensorSpec([None]),
        tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32)).graph
    ops = [op.type for op in graph.get_operations()]
    assert sum(t in ("PyFunc", "PyFuncStateless", "EagerPyFunc") for t in ops) == 2


def test_group_instances_batch_ragged():
    row = [[0, 0], [2, 2], [4, 4], [6, 6], [8, 8]]
    peaks = ragged([row, [], row[:2]], np.float32, (2,))
    vals = ragged([range(5), [], range(2)], np.float32)
    chans = ragged([[0, 1, 2, 0, 1], [], [0, 1]], np.int32)
    match = [ragged(x, dt) for x, dt in (
        ([[0, 1, 0], [], [0]], np.int32), ([[0, 0, 1], [], [0]], np.int32),
        ([[0, 0, 1], [], [0]], np.int32), ([[1, 1, 1], [], [0.5]], np.float32))]
    pts, vals_out, scores = group_instances_batch(
        peaks, vals, chans, *match, 3, (0, 1), [EdgeType(0, 1), EdgeType(1, 2)], 0)
    assert pts.shape.as_list() == [3, None, 3, 2]
    assert scores.to_list() == [[2.0, 1.0], [], [0.5]]
    assert_array_equal(pts[2], [[[0, 0], [2, 2], [np.nan, np.nan]]])


# ------------------------------------------------------------------------ PAFScorer
def test_pafscorer_fields_and_from_config():
    config = MultiInstanceConfig(
        confmaps=MultiInstanceConfmapsHeadConfig(part_names=NAMES),
        pafs=PartAffinityFieldsHeadConfig(edges=EDGES, output_stride=4))
    scorer = PAFScorer.from_config(config, n_points=5, min_instance_peaks=2)
    assert (scorer.max_edge_length_ratio, scorer.dist_penalty_weight, scorer.n_points,
            scorer.min_line_scores) == (0.25, 1.0, 5, 0.25)
    assert scorer.pafs_stride == 4 and scorer.min_instance_peaks == 2
    assert scorer.edge_inds == [(0, 1), (1, 2), (1, 3), (1, 4)]
    assert scorer.edge_types[0] == EdgeType(0, 1)
    assert (scorer.n_nodes, scorer.n_edges, scorer.sorted_edge_inds) == (5, 4,
                                                                         (0, 1, 2, 3))
    with pytest.raises(ValueError, match="part_names"):
        PAFScorer.from_config(MultiInstanceConfig())


# ----------------------------------------------------------------------- acceptance
def body(cx, cy, angle):
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return BODY @ rot.T + [cx, cy]


def layout(name, rng):
    """True instances `(n, 5, 2)` for a named scene in a 192 x 192 image."""
    if name == "crossing":  # abdomens cross each other, thoraxes 20 px apart
        a = [[50, 35], [50, 50], [72, 68], [40, 58], [58, 60]]
        b = [[70, 35], [70, 50], [48, 68], [80, 58], [62, 62]]
        return np.array([a, b], np.float32)
    if name == "nose_to_tail":  # one animal's abdomen 2 px from the next one's head
        return np.stack([body(90, 90, 0), body(90, 118, 0)]).astype(np.float32)
    n = int(name)
    cells = rng.permutation(12)[:n]
    return np.stack([body(24 + 48 * (c % 4) + rng.uniform(-4, 4),
                          32 + 64 * (c // 4) + rng.uniform(-4, 4),
                          rng.uniform(0, 2 * np.pi)) for c in cells]).astype(np.float32)


def scene_pafs(instances, stride=2, size=192):
    xv, yv = make_grid_vectors(size, size, stride)
    edge_inds = [(NAMES.index(s), NAMES.index(d)) for s, d in EDGES]
    src, dst = get_edge_points(instances, edge_inds)
    pafs = make_multi_pafs(xv, yv, src, dst, sigma=15.0)
    return tf.reshape(pafs, [1, pafs.shape[0], pafs.shape[1], -1])


def as_set(instances):
    return sorted(tuple(np.asarray(i).ravel().tolist()) for i in instances)


@pytest.mark.parametrize("scene", ["1", "2", "5", "10", "crossing", "nose_to_tail"])
def test_recovers_synthetic_instances(scene):
    rng = np.random.default_rng(len(scene) + 7)
    truth = layout(scene, rng)
    peaks = truth.reshape(-1, 2)
    chans = np.tile(np.arange(5), len(truth)).astype(np.int32)
    perm = rng.permutation(len(peaks))
    scorer = PAFScorer(NAMES, EDGES, pafs_stride=2)
    out = scorer.predict(scene_pafs(truth), peaks[perm], np.ones(len(perm), np.float32),
                         chans[perm], peak_sample_inds=np.zeros(len(perm), np.int32))
    assert out[0].row_lengths().numpy().tolist() == [len(truth)]
    assert as_set(out[0][0].numpy()) == as_set(truth)
    assert np.all(out[2].flat_values.numpy() > 3.5)  # 4 edges, each close to 1


def local_peaks(cms, threshold=0.2):
    """Grid peaks above threshold and all 8 neighbours: `(xy, vals, samples, chans)`."""
    cms = np.asarray(cms)
    padded = np.pad(cms, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    h, w = cms.shape[1:3]
    neighbours = np.stack([padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
                           for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])
    s, y, x, c = np.nonzero((cms > threshold) & np.all(cms > neighbours, axis=0))
    return np.stack([x, y], 1).astype(np.float32), cms[s, y, x, c], s, c


def test_recovers_instances_from_confmap_peaks_in_one_batch():
    rng = np.random.default_rng(3)
    scenes = [np.round(layout(n, rng) / 2) * 2 for n in ("1", "2", "5", "10")]
    xv, yv = make_grid_vectors(192, 192, 2)
    cms = tf.stack([make_multi_confmaps(t, xv, yv, sigma=3.0) for t in scenes])
    pafs = tf.concat([scene_pafs(t) for t in scenes], axis=0)
    points, vals, samples, chans = local_peaks(cms)
    points = points * 2  # confmap grid -> image pixels
    scorer = PAFScorer(NAMES, EDGES, pafs_stride=2, min_instance_peaks=1.0)
    run = tf.function(lambda *a: scorer.predict(*a[:4], peak_sample_inds=a[4]))
    instances, peak_vals, scores, *_ = run(pafs, points, vals, chans.astype(np.int32),
                                           samples.astype(np.int32))
    assert instances.row_lengths().numpy().tolist() == [1, 2, 5, 10]
    for k, truth in enumerate(scenes):
        assert as_set(instances[k].numpy()) == as_set(truth)
    assert_allclose(peak_vals.flat_values, 1.0)


# ----------------------------------------------------------------------- properties
@st.composite
def grouping_problems(draw):
    n_samples = draw(st.integers(1, 3))
    n_nodes = draw(st.integers(2, 5))
    edges = [(draw(st.integers(0, i - 1)), i) for i in range(1, n_nodes)]
    edges = [e[::-1] if draw(st.booleans()) and k else e for k, e in enumerate(edges)]
    edges = draw(st.permutations(edges))
    stride = draw(st.sampled_from([1, 2]))
    size = 12
    coord = st.one_of(st.integers(-2, size + 1), st.sampled_from([0, 5]))  # collisions
    peaks = [draw(st.lists(st.tuples(st.integers(0, n_nodes - 1), coord, coord),
                           max_size=8)) for _ in range(n_samples)]
    seed = draw(st.integers(0, 2**16))
    min_peaks = draw(st.sampled_from([0, 2, 3, 0.5]))
    return n_samples, n_nodes, edges, stride, size, peaks, seed, min_peaks


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grouping_problems())
def test_random_problems_invariants(problem):
    n_samples, n_nodes, edges, stride, size, peaks, seed, min_peaks = problem
    names = [f"n{i}" for i in range(n_nodes)]
    scorer = PAFScorer(names, [(names[s], names[d]) for s, d in edges], stride,
                       min_instance_peaks=min_peaks, min_line_scores=-0.5)
    grid = size // stride
    pafs = tf.random.stateless_uniform([n_samples, grid, grid, 2 * len(edges)],
                                       [seed, 0], -1, 1)
    rows = [np.array([p[1:] for p in s], np.float32).reshape(-1, 2) for s in peaks]
    chans = [np.array([p[0] for p in s], np.int32) for s in peaks]
    ids = [1000.0 * k + np.arange(len(r), dtype=np.float32) for k, r in enumerate(rows)]
    out = scorer.predict(pafs, ragged(rows, np.float32, (2,)), ragged(ids, np.float32),
                         ragged(chans, np.int32))
    instances, vals, scores, edge_inds, edge_peak_inds, _ = out
    lengths = instances.row_lengths().numpy()
    assert len(lengths) == n_samples
    assert_array_equal(vals.row_lengths(), lengths)
    assert_array_equal(scores.row_lengths(), lengths)
    assert np.all(np.isfinite(scores.flat_values.numpy()))
    threshold = _min_peaks_threshold(min_peaks, n_nodes) or 0
    for k in range(n_samples):
        e, pi = edge_inds[k].numpy(), edge_peak_inds[k].numpy().reshape(-1, 2)
        assert np.all((pi >= 0) & (pi < len(rows[k])))
        assert_array_equal(chans[k][pi[:, 0]], np.asarray(scorer.edge_inds)[e, 0]
                           if len(e) else [])
        inst, v = instances[k].numpy(), vals[k].numpy()
        used = v[~np.isnan(v)]
        assert len(np.unique(used)) == len(used)  # no peak in two instances
        for i, node in zip(*np.nonzero(~np.isnan(v))):
            j = int(v[i, node] - 1000 * k)
            assert chans[k][j] == node
            assert_array_equal(inst[i, node], rows[k][j])
        assert np.all((~np.isnan(v)).sum(1) >= max(2, threshold))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grouping_problems())
def test_vectorized_assembly_matches_general_rules(problem):
    n_samples, n_nodes, edges, stride, size, peaks, seed, min_peaks = problem
    rows = [np.array([p[1:] for p in s], np.float32).reshape(-1, 2) for s in peaks]
    chans = np.concatenate([[p[0] for p in s] for s in peaks]).astype(np.int64)
    samples = np.repeat(np.arange(n_samples), [len(s) for s in peaks]).astype(np.int64)
    pafs = tf.random.stateless_normal([n_samples, size // stride, size // stride,
                                       2 * len(edges)], [seed, 1])
    cands = score_paf_lines_batch(pafs, ragged(rows, np.float32, (2,)),
                                  tf.RaggedTensor.from_value_rowids(chans, samples,
                                                                    n_samples),
                                  edges, 10, stride, 0.25, 1.0, n_nodes)
    matches = [m for m in match_candidates_batch(*cands, len(edges))]
    flat = [m.flat_values.numpy() for m in matches]
    types = [EdgeType(*e) for e in edges]
    order = toposort_edges(types)
    args = (np.concatenate(rows), samples.astype(np.float32), samples, chans,
            matches[0].value_rowids().numpy(), *flat)
    fast = pgm.group_instances_np(*args, n_samples, n_nodes, order, types, min_peaks,
                                  0.0)
    general = pgm._group_general(*args[:4], *(a[a_keep] for a, a_keep in zip(
        args[4:], [flat[3] >= 0.0] * 5)), n_samples, n_nodes, list(order),
        [tuple(e) for e in edges], min_peaks)
    for a, b in zip(fast, general):
        assert_array_equal(a, b)

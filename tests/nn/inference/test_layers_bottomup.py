"""Bottom-up inference layers, PAF grouping and class maps (nn/inference/layers_bottomup.py)."""

from __future__ import annotations

import numpy as np
from layer_models import cms_at, const_model
from numpy.testing import assert_allclose, assert_array_equal

from sleapish.nn.inference import (
    BottomUpInferenceLayer,
    BottomUpInferenceModel,
    BottomUpMultiClassInferenceLayer,
    BottomUpMultiClassInferenceModel,
)
from sleapish.nn.paf_grouping import PAFScorer


def _bottomup_model(h=32, w=48):
    """Two horizontal instances A -> B; PAFs point along +x everywhere."""
    a = np.array([[8.0, 8.0], [8.0, 24.0]], np.float32)
    b = np.array([[32.0, 8.0], [32.0, 24.0]], np.float32)
    cms = np.concatenate([np.maximum(cms_at(a[:1], h, w, 2), cms_at(a[1:], h, w, 2)),
                          np.maximum(cms_at(b[:1], h, w, 2), cms_at(b[1:], h, w, 2))], -1)
    pafs = np.zeros([h // 4, w // 4, 2], np.float32)
    pafs[..., 0] = 1.0
    return const_model({"MultiInstanceConfmapsHead": cms, "PartAffinityFieldsHead": pafs},
                       [h, w, 1]), a, b


def test_bottomup_layer_groups_instances():
    model, a, b = _bottomup_model()
    scorer = PAFScorer(["A", "B"], [("A", "B")], pafs_stride=4, max_edge_length_ratio=1.0)
    layer = BottomUpInferenceLayer(model, scorer, refinement="integral",
                                   return_confmaps=True, return_pafs=True,
                                   return_paf_graph=True)
    assert (layer.cm_output_stride, layer.paf_output_stride) == (2, 4)
    assert layer.pafs_ind == 1 and layer.offsets_ind is None
    out = BottomUpInferenceModel(layer).predict(np.zeros([2, 32, 48, 1], np.uint8))
    assert_array_equal(out["n_valid"], [2, 2])
    got = sorted(map(tuple, out["instance_peaks"][0].reshape(2, 4)))
    want = sorted(map(tuple, np.concatenate([a, b], 1)))
    assert_allclose(got, want, atol=1e-4)
    assert_allclose(out["instance_scores"][0], [1.0, 1.0], atol=1e-5)
    assert {"confmaps", "part_affinity_fields", "peaks", "edge_inds",
            "line_scores"} <= set(out)
    # Default ratio 0.25: lines longer than 0.25 * max(8, 12, 2) * 4 = 12 px are
    # penalized by min(12 / 24 - 1, 0) = -0.5.
    # (Grid peaks, refinement=None: SLEAP's "local" step on these exactly symmetric
    # peaks is crop_and_resize rounding noise, +-0.25 grid px.)
    scorer = PAFScorer(["A", "B"], [("A", "B")], pafs_stride=4)
    out = BottomUpInferenceLayer(model, scorer, refinement=None)(
        np.zeros([1, 32, 48, 1], np.uint8))
    assert_allclose(out["instance_scores"][0], [0.5, 0.5], atol=1e-5)
    # input_scale: / scale + 0.5 after grouping.
    layer = BottomUpInferenceLayer(model, scorer, input_scale=0.5, refinement=None)
    out = layer(np.zeros([1, 64, 96, 1], np.uint8))
    assert_allclose(np.sort(out["instance_peaks"][0].numpy()[:, 0, 1]),
                    np.sort(a[:, 1]) / 0.5 + 0.5)
    # Connections below min_line_scores are not used.
    strict = PAFScorer(["A", "B"], [("A", "B")], pafs_stride=4, min_line_scores=1.1)
    out = BottomUpInferenceLayer(model, strict)(np.zeros([1, 32, 48, 1], np.uint8))
    assert out["instance_peaks"].row_lengths().numpy().tolist() == [0]


def test_bottomup_multiclass_layer():
    h, w = 32, 48
    _, a, b = _bottomup_model(h, w)
    pts = [np.concatenate([a[i:i + 1], b[i:i + 1]]) for i in range(2)]
    confmaps = np.maximum(cms_at(pts[0], h, w, 2), cms_at(pts[1], h, w, 2))
    class_maps = np.zeros([h // 2, w // 2, 2], np.float32)
    class_maps[:8, :, 1] = 1.0  # top half (instance 0) is class 1
    class_maps[8:, :, 0] = 1.0
    model = const_model({"MultiInstanceConfmapsHead": confmaps,
                         "ClassMapsHead": class_maps}, [h, w, 1])
    layer = BottomUpMultiClassInferenceLayer(model, refinement="local",
                                             return_class_maps=True)
    out = BottomUpMultiClassInferenceModel(layer).predict(np.zeros([1, h, w, 1], np.uint8))
    assert out["instance_peaks"].shape == (1, 2, 2, 2)
    # SLEAP's "local" step on exactly symmetric peaks is crop_and_resize rounding
    # noise: +-0.25 grid px (0.5 px at stride 2), as SLEAP 1.4.1 gives here.
    assert_allclose(out["instance_peaks"][0, 0], pts[1], atol=0.5)
    assert_allclose(out["instance_peaks"][0, 1], pts[0], atol=0.5)
    assert_allclose(out["instance_scores"][0], 1.0)
    assert "class_maps" in out

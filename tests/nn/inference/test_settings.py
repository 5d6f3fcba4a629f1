"""Frozen inference settings, their layer views, and channel conversion in traced steps."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sleapish.nn._backend import tf
from sleapish.nn.inference.ops import convert_channels
from sleapish.nn.paf_grouping import PAFScorer
from sleapish.nn.settings import PAFGroupingConfig, PeakFindingConfig


def test_peak_finding_config_is_frozen_validated_and_converted():
    cfg = PeakFindingConfig(peak_threshold="0.3", integral_patch_size=7.0,
                            refinement="integral")
    assert cfg.peak_threshold == 0.3 and cfg.integral_patch_size == 7
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cfg.peak_threshold = 0.5
    with pytest.raises(ValueError, match="refinement must be None, 'integral' or 'local'"):
        PeakFindingConfig(refinement="quarter")
    with pytest.raises(ValueError, match="integral_patch_size must be >= 1"):
        PeakFindingConfig(integral_patch_size=0)
    with pytest.raises(ValueError, match="peak_threshold must be a finite number"):
        PeakFindingConfig(peak_threshold=float("nan"))
    assert hash(cfg) == hash(PeakFindingConfig(peak_threshold=0.3, refinement="integral",
                                               integral_patch_size=7))


def test_paf_scorer_holds_a_validated_grouping_config():
    grouping = PAFGroupingConfig(max_edge_length_ratio=0.5, n_points=5)
    scorer = PAFScorer(["a", "b"], [("a", "b")], pafs_stride=2, **attrs.asdict(grouping))
    assert scorer.grouping == grouping
    with pytest.raises(ValueError, match="PAFGroupingConfig.n_points must be >= 1"):
        PAFScorer(["a", "b"], [("a", "b")], pafs_stride=2, n_points=0)
    with pytest.raises(ValueError, match="min_instance_peaks must be >= 0"):
        PAFGroupingConfig(min_instance_peaks=-1)


@pytest.mark.parametrize("grayscale", [True, False])
def test_convert_channels_with_run_time_channels_matches_the_static_path(grayscale):
    # A step traced with a relaxed channel dimension must convert 3- and 1-channel
    # frames exactly as the static path does, whichever comes first.
    step = tf.function(lambda x: convert_channels(x, grayscale),
                       input_signature=[tf.TensorSpec([None, 6, 5, None], tf.uint8)])
    rng = np.random.default_rng(0)
    for c in (3, 1, 3):
        imgs = rng.integers(0, 256, [2, 6, 5, c], dtype=np.uint8)
        expected = convert_channels(imgs, grayscale).numpy()
        got = step(imgs).numpy()
        assert got.shape == (2, 6, 5, 1 if grayscale else 3)
        assert_array_equal(got, expected)


def test_layer_settings_are_frozen_configs_and_assignments_evolve_them():
    from layer_models import cms_at, const_model

    from sleapish.nn.inference import SingleInstanceInferenceLayer, SingleInstanceInferenceModel

    grid = np.array([[3.0, 5.0], [7.0, 2.0]], np.float32)
    model = const_model({"SingleInstanceConfmapsHead": cms_at(grid, 10, 10)}, [10, 10, 1])
    cfg = PeakFindingConfig(peak_threshold=0.1, refinement=None)
    layer = SingleInstanceInferenceLayer(model, peak_threshold=0.9, peak_finding=cfg)
    assert layer.peak_finding is cfg and layer.peak_threshold == 0.1
    with pytest.raises(TypeError, match="peak_finding must be a PeakFindingConfig"):
        SingleInstanceInferenceLayer(model, peak_finding={"peak_threshold": 0.1})

    sim = SingleInstanceInferenceModel(layer)
    frames = np.zeros([2, 10, 10, 1], np.uint8)
    assert_array_equal(sim.predict(frames)["instance_peaks"][0, 0], grid)
    step = sim._sleapish_predict_step
    sim.predict(frames)
    assert sim._sleapish_predict_step is step  # same settings: the traced step is reused
    layer.peak_threshold = 1.5  # SLEAP-style assignment evolves the frozen config
    assert layer.peak_finding == attrs.evolve(cfg, peak_threshold=1.5)
    assert cfg.peak_threshold == 0.1
    assert np.isnan(sim.predict(frames)["instance_peaks"]).all()
    assert sim._sleapish_predict_step is not step
    with pytest.raises(ValueError, match="refinement must be"):
        layer.refinement = "bogus"

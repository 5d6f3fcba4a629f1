"""Peak finding (NHWC): hand-computed cases and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sleapish.nn.data.confidence_maps import make_confmaps
from sleapish.nn.data.utils import make_grid_vectors
from sleapish.nn.peak_finding import (
    crop_bboxes,
    find_global_peaks,
    find_global_peaks_rough,
    find_local_peaks,
    find_local_peaks_rough,
    find_offsets_local_direction,
    integral_regression,
    refine_peaks_with_offsets,
)

NAN = np.nan


def _gauss_map(h, w, points, sigma):
    """(1, h, w, n) Gaussian maps at (x, y) points."""
    xv, yv = make_grid_vectors(h, w, 1)
    return make_confmaps(np.array(points, np.float32), xv, yv, sigma).numpy()[None]


def test_global_rough_exact_threshold_and_ties():
    cms = np.zeros((2, 5, 6, 2), np.float32)
    cms[0, 3, 4, 0] = 0.9
    cms[0, 1, 2, 1] = 0.05  # below threshold: NaN point, value kept
    cms[1, 2, 1, 0] = cms[1, 4, 0, 0] = 0.5  # tie: first in row-major order
    pts, vals = [t.numpy() for t in find_global_peaks_rough(cms, threshold=0.1)]
    np.testing.assert_array_equal(pts[0, 0], [4, 3])
    assert np.isnan(pts[0, 1]).all() and vals[0, 1] == pytest.approx(0.05)
    np.testing.assert_array_equal(pts[1, 0], [1, 2])
    assert np.isnan(pts[1, 1]).all() and vals[1, 1] == 0.0


@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.5])
def test_integral_refinement_recovers_subpixel_centres(sigma):
    truth = [[20.3, 17.8], [12.6, 26.45]]
    cms = _gauss_map(40, 48, truth, sigma)
    # The patch must cover the Gaussian (+-3 sigma); SLEAP's default 5 does for
    # sigma = 1 and is biased toward the grid point for wider maps (as in SLEAP).
    patch = 2 * int(np.ceil(3 * sigma)) + 1
    pts, vals = [t.numpy() for t in find_global_peaks(
        cms, threshold=0.2, refinement="integral", integral_patch_size=patch)]
    np.testing.assert_allclose(pts[0], truth, atol=0.05)
    if sigma > 1:
        biased, _ = find_global_peaks(cms, refinement="integral", integral_patch_size=5)
        assert np.abs(biased.numpy()[0] - truth).max() > 0.05
    rough, _ = find_global_peaks(cms, threshold=0.2)
    np.testing.assert_array_equal(rough[0], [[20, 18], [13, 26]])
    lpts, lvals, s, c = find_local_peaks(cms, refinement="integral",
                                         integral_patch_size=patch)
    order = np.argsort(c.numpy())
    np.testing.assert_allclose(lpts.numpy()[order], truth, atol=0.05)


def test_local_refinement_is_quarter_pixel_step():
    cms = np.zeros((1, 7, 7, 1), np.float32)
    cms[0, 3, 3, 0] = 1.0
    cms[0, 3, 4, 0] = 0.5  # right neighbour larger -> +0.25 in x
    cms[0, 2, 3, 0] = 0.4  # upper neighbour larger -> -0.25 in y
    pts, _ = find_global_peaks(cms, refinement="local")
    np.testing.assert_array_equal(pts[0, 0], [3.25, 2.75])
    lpts, _, _, _ = find_local_peaks(cms, refinement="local")
    np.testing.assert_array_equal(lpts, [[3.25, 2.75]])
    patches = np.zeros((2, 3, 3), np.float32)
    patches[1, 1, 0] = 1  # left larger
    np.testing.assert_array_equal(find_offsets_local_direction(patches), [[0, 0], [-0.25, 0]])


def test_local_rough_strict_plateau_border_threshold():
    cms = np.zeros((2, 6, 6, 2), np.float32)
    cms[0, 0, 0, 0] = 0.8  # corner peak
    cms[0, 3, 3, 0] = 0.6
    cms[0, 3, 4, 0] = 0.6  # plateau with (3, 3): neither is a peak
    cms[0, 5, 2, 1] = 0.2  # equal to threshold: not a peak (strict)
    cms[1, 2, 5, 1] = 0.7  # border peak in sample 1, channel 1
    pts, vals, s, c = [t.numpy() for t in find_local_peaks_rough(cms, threshold=0.2)]
    np.testing.assert_array_equal(pts, [[0, 0], [5, 2]])
    np.testing.assert_allclose(vals, [0.8, 0.7])
    np.testing.assert_array_equal(s, [0, 1])
    np.testing.assert_array_equal(c, [0, 1])
    empty = find_local_peaks(np.zeros((1, 4, 4, 3), np.float32), refinement="integral")
    assert [t.shape[0] for t in empty] == [0, 0, 0, 0]


def test_global_all_nan_and_small_maps():
    cms = np.zeros((1, 3, 3, 2), np.float32)
    pts, vals = find_global_peaks(cms, refinement="integral", integral_patch_size=5)
    assert np.isnan(pts).all() and (vals.numpy() == 0).all()
    cms[0, 1, 1, 0] = 1.0
    pts, _ = find_global_peaks(cms, refinement="integral", integral_patch_size=5)
    np.testing.assert_allclose(pts[0, 0], [1, 1])  # patch larger than the map: zeros outside


def test_crop_bboxes_and_integral_regression():
    img = np.arange(2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5, 1)
    crops = crop_bboxes(img, np.array([[0, 0, 2, 2], [1, 2, 3, 4]], np.float32), [1, 0])
    np.testing.assert_array_equal(crops[0, ..., 0], img[1, 0:3, 0:3, 0])
    np.testing.assert_array_equal(crops[1, ..., 0], img[0, 1:4, 2:5, 0])
    cms = np.zeros((1, 3, 3, 1), np.float32)
    cms[0, 1, 1, 0], cms[0, 1, 2, 0] = 3.0, 1.0
    gv = np.array([-1, 0, 1], np.float32)
    x, y = [t.numpy() for t in integral_regression(cms, gv, gv)]
    assert float(x[0, 0]) == pytest.approx(0.25) and float(y[0, 0]) == 0.0


def test_offset_head_refinement():
    offsets = np.zeros((1, 4, 4, 4), np.float32)
    offsets[0, 2, 1] = [0.3, -0.2, 0.1, 0.4]  # node 0 (x, y), node 1 (x, y)
    pts = np.array([[1, 2], [1, 2], [NAN, NAN]], np.float32)
    out = refine_peaks_with_offsets(pts, [0, 0, 0], [0, 1, 0], offsets).numpy()
    np.testing.assert_allclose(out[:2], [[1.3, 1.8], [1.1, 2.4]], rtol=1e-6)
    assert np.isnan(out[2]).all()


def test_bad_refinement_name():
    with pytest.raises(ValueError, match="refinement"):
        find_global_peaks(np.zeros((1, 4, 4, 1), np.float32), refinement="quadratic")


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=4, max_dims=4, min_side=1,
                                                max_side=9),
                  elements=st.floats(0, 1, width=32, allow_subnormal=False)),
       st.sampled_from([None, "integral", "local"]))
def test_properties_on_random_maps(cms, refinement):
    n, h, w, c = cms.shape
    pts, vals, s, ch = find_local_peaks(cms, threshold=0.2, refinement=refinement)
    assert pts.shape[0] == vals.shape[0] == s.shape[0] == ch.shape[0]
    s, ch = s.numpy(), ch.numpy()
    assert ((s >= 0) & (s < n)).all() and ((ch >= 0) & (ch < c)).all()
    assert (vals.numpy() > 0.2).all() and np.isfinite(pts.numpy()).all()
    if refinement != "integral":  # no refinement or +-0.25 px steps
        assert (np.abs(pts.numpy() - np.round(pts.numpy())) <= 0.25).all()
    gp, gv = find_global_peaks(cms, threshold=0.2, refinement=refinement)
    assert gp.shape == (n, c, 2) and gv.shape == (n, c)
    np.testing.assert_allclose(gv, cms.reshape(n, h * w, c).max(axis=1), rtol=1e-6)
    finite = np.isfinite(gp.numpy()).all(axis=-1)
    np.testing.assert_array_equal(finite, gv.numpy() >= 0.2)
    xy = gp.numpy()[finite]
    assert ((xy[:, 0] >= -2.5) & (xy[:, 0] <= w + 1.5)).all()

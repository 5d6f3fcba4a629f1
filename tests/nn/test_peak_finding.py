"""Peak finding (NHWC): hand-computed cases and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sleapish.nn.data.confidence_maps import make_confmaps, make_multi_confmaps_with_offsets
from sleapish.nn.data.offset_regression import make_offsets
from sleapish.nn.data.utils import make_grid_vectors
from sleapish.nn.peak_finding import (
    crop_bboxes,
    find_global_peaks,
    find_global_peaks_integral,
    find_global_peaks_rough,
    find_global_peaks_with_offsets,
    find_local_peaks,
    find_local_peaks_integral,
    find_local_peaks_rough,
    find_local_peaks_with_offsets,
    find_offsets_local_direction,
    integral_regression,
    make_gaussian_kernel,
    refine_peaks_with_offsets,
    smooth_imgs,
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
    cms[1, 2, 1, 0] = cms[1, 4, 0, 0] = 0.5  # tie in rows 2, 4 and columns 1, 0
    cms[1, 3, 2, 1] = cms[1, 3, 5, 1] = 0.7  # tie within row 3
    pts, vals = [t.numpy() for t in find_global_peaks_rough(cms, threshold=0.1)]
    np.testing.assert_array_equal(pts[0, 0], [4, 3])
    assert np.isnan(pts[0, 1]).all() and vals[0, 1] == pytest.approx(0.05)
    # SLEAP: first row holding the max (2) and first column holding it (0), found
    # separately; the value there is 0, below the threshold.
    assert np.isnan(pts[1, 0]).all() and vals[1, 0] == 0.0
    np.testing.assert_array_equal(pts[1, 1], [2, 3])
    assert vals[1, 1] == pytest.approx(0.7)


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


@pytest.mark.slow
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
    rows = cms.max(axis=2).argmax(axis=1)  # (n, c): first row / column with the max
    cols = cms.max(axis=1).argmax(axis=1)
    want = cms[np.arange(n)[:, None], rows, cols, np.arange(c)[None]]
    np.testing.assert_array_equal(gv, want)
    assert (want <= cms.max(axis=(1, 2))).all()
    finite = np.isfinite(gp.numpy()).all(axis=-1)
    np.testing.assert_array_equal(finite, gv.numpy() >= 0.2)
    xy = gp.numpy()[finite]
    assert ((xy[:, 0] >= -2.5) & (xy[:, 0] <= w + 1.5)).all()


# --------------------------------------------------------- SLEAP 1.4.1 specifics
def test_refined_functions_are_tf_functions():
    cms = _gauss_map(9, 9, [[3.0, 4.0]], 1.0)
    for fn, args in [(find_global_peaks, (cms,)), (find_local_peaks, (cms,)),
                     (find_global_peaks_with_offsets, (cms, np.zeros((1, 9, 9, 2)))),
                     (find_local_peaks_with_offsets, (cms, np.zeros((1, 9, 9, 2))))]:
        assert callable(fn.__wrapped__)  # SLEAP's tests call the undecorated function
        for a, b in zip(fn(*args), fn.__wrapped__(*args)):
            np.testing.assert_array_equal(a, b)
    # float64 input is cast, not rejected.
    pts, _ = find_global_peaks(cms.astype(np.float64), refinement="integral")
    np.testing.assert_allclose(pts[0, 0], [3, 4], atol=1e-6)


def test_integral_and_local_patches_follow_crop_and_resize_at_borders():
    # Peak at x = 4 of a 6-wide map, right neighbour 0.5. The 5 x 5 box spans
    # x = 2..6; crop_and_resize's float32 box arithmetic puts its 4th column (x = 5,
    # inside the map) a hair past the edge, so it reads 0 there, as in SLEAP: the
    # integral offset is 0 instead of 0.5 / 1.5. The 3 x 3 box (x = 3..5) sees it.
    cms = np.zeros((1, 3, 6, 1), np.float32)
    cms[0, 1, 4, 0], cms[0, 1, 5, 0] = 1.0, 0.5
    pts, _ = find_global_peaks(cms, threshold=0.2, refinement="integral")
    np.testing.assert_array_equal(pts[0, 0], [4.0, 1.0])
    lpts, _, _, _ = find_local_peaks(cms, threshold=0.2, refinement="integral")
    np.testing.assert_array_equal(lpts, [[4.0, 1.0]])
    pts, _ = find_global_peaks(cms, threshold=0.2, refinement="local")
    np.testing.assert_array_equal(pts[0, 0], [4.25, 1.0])


def test_integral_wrappers_take_crop_size():
    truth = [[5.3, 6.6], [9.4, 2.25]]  # (x = 9.5 would be a plateau: no local peak)
    cms = _gauss_map(12, 14, truth, 1.0)
    pts, vals = find_global_peaks_integral(cms, crop_size=5, threshold=0.2)
    np.testing.assert_allclose(pts[0], truth, atol=0.05)
    empty = find_global_peaks_integral(np.zeros((2, 6, 6, 2), np.float32), crop_size=3)
    assert np.isnan(empty[0]).all() and empty[0].shape == (2, 2, 2)
    lpts, lvals, s, c = find_local_peaks_integral(cms, crop_size=5, threshold=0.2)
    np.testing.assert_allclose(lpts.numpy()[np.argsort(c.numpy())], truth, atol=0.05)
    assert [t.shape[0] for t in find_local_peaks_integral(np.zeros((1, 4, 4, 3)))] == [0] * 4


@pytest.mark.parametrize("stride", [1, 2])
def test_global_peaks_with_offsets_recover_points(stride):
    truth = np.array([[7.3, 9.8], [20.55, 4.1], [13.0, 13.0]], np.float32)
    xv, yv = make_grid_vectors(24, 28, stride)
    cms = make_confmaps(truth, xv, yv, 1.5 * stride).numpy()
    offs = make_offsets(truth, xv, yv, stride=stride).numpy().reshape(len(yv), len(xv), -1)
    miss = np.zeros_like(cms[..., :1])  # a node with no peak: NaN, value kept
    pts, vals = find_global_peaks_with_offsets(
        np.concatenate([cms, miss], -1)[None],
        np.concatenate([offs, np.zeros_like(offs[..., :2])], -1)[None], threshold=0.2)
    np.testing.assert_allclose(pts.numpy()[0, :3] * stride, truth, atol=1e-3)
    assert np.isnan(pts.numpy()[0, 3]).all() and vals.numpy()[0, 3] == 0
    np.testing.assert_allclose(vals.numpy()[0, :3], 1.0, atol=0.25)


@pytest.mark.parametrize("stride", [1, 2])
def test_local_peaks_with_offsets_recover_points(stride):
    instances = np.array([[[4.2, 5.7], [16.6, 6.1]], [[10.4, 18.9], [np.nan, np.nan]]],
                         np.float32)
    xv, yv = make_grid_vectors(24, 24, stride)
    cms, offs = make_multi_confmaps_with_offsets(instances, xv, yv, stride=stride,
                                                 sigma=1.5 * stride, offsets_threshold=0.2)
    cms = cms.numpy()[None]
    offs = offs.numpy().reshape(1, len(yv), len(xv), -1)
    pts, vals, s, c = find_local_peaks_with_offsets(cms, offs, threshold=0.2)
    np.testing.assert_array_equal(s, [0, 0, 0])
    order = np.lexsort((pts.numpy()[:, 1], c.numpy()))  # by channel, then y
    np.testing.assert_array_equal(c.numpy()[order], [0, 0, 1])
    np.testing.assert_allclose(pts.numpy()[order] * stride,
                               [instances[0, 0], instances[1, 0], instances[0, 1]],
                               atol=1e-3)
    empty = find_local_peaks_with_offsets(np.zeros((1, 5, 5, 2)), np.zeros((1, 5, 5, 4)))
    assert [t.shape[0] for t in empty] == [0] * 4


def test_gaussian_kernel_and_smoothing():
    k = make_gaussian_kernel(5, 2.0).numpy()
    assert k.shape == (5, 5) and k[2, 2] == 1.0
    np.testing.assert_allclose(k[0, 0], np.exp(-8 / 8), rtol=1e-6)
    np.testing.assert_allclose(k[2, 3], np.exp(-1 / 8), rtol=1e-6)
    img = np.zeros((1, 7, 7, 2), np.float32)
    img[0, 3, 3, 1] = 1.0
    out = smooth_imgs(img, kernel_size=3, sigma=1.0).numpy()
    assert out.shape == img.shape and (out[..., 0] == 0).all()
    norm = 2 * np.pi
    np.testing.assert_allclose(out[0, 3, 3, 1], 1 / norm, rtol=1e-6)
    np.testing.assert_allclose(out[0, 2, 4, 1], np.exp(-1) / norm, rtol=1e-6)
    assert out[0, 1, 3, 1] == 0  # outside the 3 x 3 kernel

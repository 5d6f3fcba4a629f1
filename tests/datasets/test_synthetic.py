"""The synthetic dataset generator: deterministic, in bounds, learnable parts."""

from __future__ import annotations

import numpy as np
import pytest

from sleapish.datasets import render_frames, simulate_trajectories, synthetic_skeleton


def test_trajectories_deterministic_and_inside_image():
    a = simulate_trajectories(50, 3, 96, 128, seed=3)
    b = simulate_trajectories(50, 3, 96, 128, seed=3)
    c = simulate_trajectories(50, 3, 96, 128, seed=4)
    assert a.shape == (50, 3, 4, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a[..., 0].min() >= 0 and a[..., 0].max() < 128
    assert a[..., 1].min() >= 0 and a[..., 1].max() < 96
    # Rigid body: head-thorax distance is 9 px in every frame; animals move.
    np.testing.assert_allclose(np.linalg.norm(a[:, :, 0] - a[:, :, 1], axis=-1), 9.0)
    assert np.linalg.norm(a[-1, :, 1] - a[0, :, 1], axis=-1).min() > 5


def test_rendered_parts_are_bright_where_labeled():
    pts = simulate_trajectories(4, 2, 96, 96, seed=1)
    frames = render_frames(pts, 96, 96, identity_marks=False)
    assert frames.shape == (4, 96, 96, 1) and frames.dtype == np.uint8
    x, y = np.round(pts[:, :, 0]).astype(int).T  # heads
    heads = frames[np.arange(4)[:, None], y.T, x.T, 0]
    assert heads.min() > 150
    assert np.median(frames) < 50


def test_identity_marks_distinguish_animals():
    pts = simulate_trajectories(1, 2, 96, 96, seed=2)
    plain = render_frames(pts, 96, 96, identity_marks=False).astype(int)
    marked = render_frames(pts, 96, 96, identity_marks=True).astype(int)
    assert (marked - plain).max() > 50


def test_skeleton_and_bad_arguments():
    skel = synthetic_skeleton()
    assert skel.node_names == ["head", "thorax", "abdomen", "tail"]
    assert skel.edge_inds == [(1, 0), (1, 2), (2, 3)]
    with pytest.raises(ValueError, match="n_frames"):
        simulate_trajectories(0, 1, 96, 96)
    with pytest.raises(ValueError, match="too small"):
        simulate_trajectories(5, 1, 40, 40)

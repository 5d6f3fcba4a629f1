"""Losses (MSE + online hard keypoint mining), per-part metrics and optimizers
(nn/training/losses.py)."""

from __future__ import annotations

import numpy as np
import pytest


def test_ohkm_matches_hand_computation():
    from sleapish.nn.training.losses import compute_ohkm_loss

    gt = np.zeros((2, 3, 3, 4), np.float32)
    pr = np.zeros_like(gt)
    # Per-channel summed squared errors: 1, 3, 6, 10 (x 18 pixels).
    for c, v in enumerate([1.0, 3.0, 6.0, 10.0]):
        pr[..., c] = np.sqrt(v)
    sums = np.array([1, 3, 6, 10]) * 18.0
    # Ratio >= 2 to the easiest (18): channels 1, 2, 3 -> k = 3.
    expected = 5.0 * (sums[1] + sums[2] + sums[3]) / (2 * 3 * 3 * 3)
    assert float(compute_ohkm_loss(gt, pr)) == pytest.approx(expected, rel=1e-6)
    # max_hard_keypoints caps k at the two hardest.
    expected2 = 5.0 * (sums[2] + sums[3]) / (2 * 3 * 3 * 2)
    assert float(compute_ohkm_loss(gt, pr, max_hard_keypoints=2)) == pytest.approx(
        expected2, rel=1e-6)
    # min_hard_keypoints raises k when few channels are hard.
    expected4 = 5.0 * sums.sum() / (2 * 3 * 3 * 4)
    assert float(compute_ohkm_loss(gt, pr, hard_to_easy_ratio=100,
                                   min_hard_keypoints=4)) == pytest.approx(expected4)


def test_loss_fn_adds_ohkm_only_when_enabled():
    from sleapish.nn.config import OptimizationConfig
    from sleapish.nn.training.losses import compute_ohkm_loss, make_loss_fn

    rng = np.random.default_rng(0)
    gt = rng.random((2, 4, 4, 3)).astype(np.float32)
    pr = rng.random((2, 4, 4, 3)).astype(np.float32)
    mse = float(np.mean((gt - pr) ** 2))
    opt = OptimizationConfig()
    assert float(make_loss_fn(opt)(gt, pr)) == pytest.approx(mse, rel=1e-5)
    opt.hard_keypoint_mining.online_mining = True
    assert float(make_loss_fn(opt)(gt, pr)) == pytest.approx(
        mse + float(compute_ohkm_loss(gt, pr)), rel=1e-5)


def test_part_loss_is_channel_mse_over_batches():
    from sleapish.nn.training.losses import PartLoss, sanitize_scope_name

    rng = np.random.default_rng(1)
    m = PartLoss(channel_ind=1, name=sanitize_scope_name("left wing/tip"))
    assert m.name == "left_wing_tip"
    a, b = rng.random((2, 2, 5, 5, 3)).astype(np.float32)
    c, d = rng.random((2, 3, 5, 5, 3)).astype(np.float32)
    m.update_state(a, b)
    m.update_state(c, d)
    err = np.concatenate([(a - b)[..., 1].ravel(), (c - d)[..., 1].ravel()]) ** 2
    assert float(m.result()) == pytest.approx(err.mean(), rel=1e-5)


@pytest.mark.parametrize("name,cls", [("adam", "Adam"), ("rmsprop", "RMSprop"),
                                      ("sgd", "SGD")])
def test_optimizers(name, cls):
    from sleapish.nn.config import OptimizationConfig
    from sleapish.nn.training.losses import make_optimizer

    opt = make_optimizer(OptimizationConfig(optimizer=name, initial_learning_rate=3e-4))
    assert type(opt).__name__ == cls
    assert float(opt.learning_rate.numpy()) == pytest.approx(3e-4)
    if name == "adam":
        assert opt.amsgrad

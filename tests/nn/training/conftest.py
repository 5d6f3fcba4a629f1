"""Fixtures for training tests: tiny configs and one trained run reused by many tests."""

from __future__ import annotations

import pytest
from training_helpers import tiny_config


@pytest.fixture(scope="session")
def one_animal(tmp_path_factory):
    """A synthetic single-animal dataset (for the single-instance model)."""
    from sleapish.datasets import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp("one_animal"), n_frames=12,
                                  n_animals=1, image_size=(96, 96), seed=11)


@pytest.fixture(scope="session")
def trained_run(synthetic, tmp_path_factory):
    """A bottom-up run trained through the CLI (3 epochs x 3 batches), shared by tests.

    Returns:
        Path of the run folder.
    """
    from sleapish.train import main

    runs = tmp_path_factory.mktemp("runs")
    cfg = tiny_config("multi_instance", runs, epochs=3, batches=3)
    cfg.outputs.checkpointing.latest_model = True
    cfg.optimization.hard_keypoint_mining.online_mining = True
    cfg.outputs.zip_outputs = True
    path = runs / "config.json"
    cfg.save_json(path)
    code = main([str(path), str(synthetic.labels_path), "--run_name", "cli_run",
                 "--seed", "3", "--verbosity", "none", "--eval-max-frames", "4",
                 "--save_viz", "--keep_viz", "--tensorboard", "--keep-resume-state"])
    assert code == 0
    return runs / "cli_run"

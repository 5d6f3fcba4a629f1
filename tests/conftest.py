"""Shared fixtures: SLEAP's real files (../shared/data) and a synthetic dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SLEAPISH_SHARED_DATA", REPO.parent / "shared" / "data"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of SLEAP's real models, labels and videos.

    Skips when absent on a developer machine; fails under CI=true, so that a wrong
    path cannot turn CI green by skipping.
    """
    if not (SHARED_DATA / "models").is_dir():
        msg = f"SLEAP reference data not found at {SHARED_DATA}"
        if _in_ci():
            pytest.fail(msg + " (required under CI=true)")
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """A small synthetic dataset (32 frames, 2 animals, 128x128) made once per run."""
    from sleapish.datasets import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), n_frames=32,
                                  n_animals=2, image_size=(128, 128), seed=7)

"""Kill -9 at random points of a short seeded training, resume, compare.

One uninterrupted run is the reference. A second run is killed with SIGKILL at 10
random points, each resume killed again: after a random training batch, right after
an epoch's resume state (before its log and models), or when evaluation starts
(`SLEAPISH_FAULT_KILL_TRAINING`, so every trial really is a kill). Then it is resumed
to the end: its log, final, best and latest weights must equal the reference's
exactly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clean_env import clean_env
from training_helpers import tiny_config

from sleapish.nn.training.callbacks import FAULT_ENV

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`

REPO = Path(__file__).resolve().parents[3]


def _train_cmd(cfg_path, labels, run_name):
    return [sys.executable, "-m", "sleapish.train", str(cfg_path), str(labels),
            "--seed", "11", "--verbosity", "none", "--eval-max-frames", "1",
            "--run_name", run_name]


def _resume_cmd(run):
    return [sys.executable, "-m", "sleapish.train", "--resume", str(run),
            "--verbosity", "none", "--eval-max-frames", "1"]


def _env():
    return clean_env()


def _weights(path):
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f["model_weights"].visititems(
            lambda name, obj: out.__setitem__(name, obj[()]) if hasattr(obj, "shape")
            else None)
    return out


@pytest.mark.slow
def test_ten_random_kills_then_resume_equals_an_uninterrupted_run(synthetic, tmp_path):
    cfg = tiny_config("centroid", tmp_path, epochs=4, batches=3)  # 12 batches
    cfg.outputs.checkpointing.final_model = True
    cfg.outputs.checkpointing.latest_model = True
    aug = cfg.optimization.augmentation_config
    aug.rotate, aug.brightness, aug.uniform_noise = True, True, True  # random draws
    cfg.optimization.learning_rate_schedule.plateau_patience = 0  # LR changes
    cfg.optimization.learning_rate_schedule.plateau_min_delta = 1e9
    cfg_path = tmp_path / "cfg.json"
    cfg.save_json(cfg_path)

    ref = subprocess.run(_train_cmd(cfg_path, synthetic.labels_path, "ref"), cwd=REPO,
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr[-3000:]
    assert not (tmp_path / "ref" / "resume").exists()  # removed once finished

    run = tmp_path / "killed"
    rng = np.random.default_rng(0)
    epochs, batches = 4, 3
    outcomes = []
    for _trial in range(10):
        state_path = run / "resume" / "state.json"
        done = json.loads(state_path.read_text())["next_epoch"] if \
            state_path.exists() else 0
        left = (epochs - done) * batches
        kind = rng.choice(["batch", "state", "eval"], p=[0.6, 0.25, 0.15]) if left \
            else "eval"
        if kind == "batch":
            point = f"batch:{rng.integers(1, left + 1)}"
        elif kind == "state":
            point = f"state:{rng.integers(done, epochs)}"
        else:
            point = "eval"
        cmd = _resume_cmd(run) if state_path.exists() else _train_cmd(
            cfg_path, synthetic.labels_path, "killed")
        if not state_path.exists() and run.exists():  # killed before training began
            import shutil

            shutil.rmtree(run)
        r = subprocess.run(cmd, cwd=REPO, env=clean_env(**{FAULT_ENV: point}),
                           capture_output=True, text=True, timeout=300)
        outcomes.append((point, r.returncode))
        assert r.returncode == -signal.SIGKILL, (outcomes, r.stderr[-3000:])
        assert not list(run.glob("**/.*tmp*")), "half-written files left behind"
    r = subprocess.run(_resume_cmd(run), cwd=REPO, env=_env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]

    assert (run / "training_log.csv").read_text() == \
        (tmp_path / "ref" / "training_log.csv").read_text()
    for name in ("final_model.h5", "best_model.h5", "latest_model.h5"):
        got, want = _weights(run / name), _weights(tmp_path / "ref" / name)
        assert sorted(got) == sorted(want), name
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{name}: {k}")
    assert not (run / "resume").exists()

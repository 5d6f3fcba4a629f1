"""Kill -9 at random points of a short seeded training, resume, compare.

One uninterrupted run is the reference. A second run is killed with SIGKILL at
10 random moments (each resume is itself killed again), then resumed to the end:
its log, final and best weights must equal the reference's exactly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from training_helpers import tiny_config
from clean_env import clean_env

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
    cfg = tiny_config("centroid", tmp_path, epochs=4, batches=3)
    cfg.outputs.checkpointing.final_model = True
    cfg.outputs.checkpointing.latest_model = True
    aug = cfg.optimization.augmentation_config
    aug.rotate, aug.brightness, aug.uniform_noise = True, True, True  # random draws
    cfg.optimization.learning_rate_schedule.plateau_patience = 0  # LR changes
    cfg.optimization.learning_rate_schedule.plateau_min_delta = 1e9
    cfg_path = tmp_path / "cfg.json"
    cfg.save_json(cfg_path)

    t0 = time.time()
    ref = subprocess.run(_train_cmd(cfg_path, synthetic.labels_path, "ref"), cwd=REPO,
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr[-3000:]
    duration = time.time() - t0
    assert not (tmp_path / "ref" / "resume").exists()  # removed once finished

    run = tmp_path / "killed"
    rng = np.random.default_rng(0)
    outcomes = []
    for trial in range(10):
        started = (run / "resume" / "state.json").exists()
        cmd = _resume_cmd(run) if started else _train_cmd(
            cfg_path, synthetic.labels_path, "killed")
        if not started and run.exists():  # killed before training began: start over
            import shutil

            shutil.rmtree(run)
        proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(float(rng.uniform(0.5, duration)))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            state = run / "resume" / "state.json"
            outcomes.append("killed at epoch " + (
                str(json.loads(state.read_text())["next_epoch"]) if state.exists()
                else "-"))
        else:
            outcomes.append(f"exited {proc.returncode}")
            assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
            break
        assert not list(run.glob("**/.*tmp*")), "half-written files left behind"
    if (run / "resume" / "state.json").exists():
        r = subprocess.run(_resume_cmd(run), cwd=REPO, env=_env(), capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
    assert sum(o.startswith("killed") for o in outcomes) >= 5, outcomes

    assert (run / "training_log.csv").read_text() == \
        (tmp_path / "ref" / "training_log.csv").read_text()
    for name in ("final_model.h5", "best_model.h5", "latest_model.h5"):
        got, want = _weights(run / name), _weights(tmp_path / "ref" / name)
        assert sorted(got) == sorted(want), name
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{name}: {k}")
    assert not (run / "resume").exists()

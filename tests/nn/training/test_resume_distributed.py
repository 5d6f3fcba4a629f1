"""Resume after SIGKILL, MirroredStrategy on 2 CPU devices, MultiWorker on 2 processes.

Each scenario runs TensorFlow in subprocesses (a killed run, logical devices and
cluster settings must be set before TensorFlow starts), bounded by timeouts.
"""

from __future__ import annotations

import csv
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clean_env import clean_env
from training_helpers import tiny_config

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`

REPO = Path(__file__).resolve().parents[3]


def _env(**extra):
    return clean_env(**extra)


def _epochs(run) -> list:
    with open(Path(run) / "training_log.csv") as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def test_sigkill_mid_epoch_then_resume_finishes_without_losing_anything(
        synthetic, tmp_path):
    from sleapish.nn.training import resume
    from sleapish.nn.training.callbacks import load_resume_state

    cfg = tiny_config("centroid", tmp_path, run_name="killed", epochs=4, batches=25)
    cfg.optimization.learning_rate_schedule.plateau_patience = 0  # LR changes
    cfg.optimization.learning_rate_schedule.plateau_cooldown = 0
    cfg.optimization.learning_rate_schedule.plateau_min_delta = 1e9
    cfg.save_json(tmp_path / "cfg.json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sleapish.train", str(tmp_path / "cfg.json"),
         str(synthetic.labels_path), "--verbosity", "none", "--seed", "2"],
        cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state_file = tmp_path / "killed" / "resume" / "state.json"
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            if state_file.exists() and json.loads(state_file.read_text())[
                    "next_epoch"] >= 2:
                break
            if proc.poll() is not None:
                pytest.fail(f"training exited early: {proc.stderr.read().decode()}")
            time.sleep(0.05)
        else:
            pytest.fail("no checkpoint of epoch 2 within 240 s")
        time.sleep(0.3)  # into epoch 3
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    run = tmp_path / "killed"
    state = load_resume_state(run)
    assert state["next_epoch"] in (2, 3)  # killed during epoch 3 (or 4)
    done = state["next_epoch"]
    assert _epochs(run) == list(range(done))
    assert state["learning_rate"] < 1e-4  # the plateau schedule already acted
    frozen = {n: (run / n).read_bytes() for n in (
        "training_config.json", "initial_config.json", "labels_gt.train.slp",
        "labels_gt.val.slp")}
    assert not list(run.glob(".*tmp*")), "half-written files left behind"

    trainer = resume(run, verbosity="none", eval_max_frames=2)
    trainer.setup()
    opt = trainer.keras_model.optimizer
    assert int(opt.iterations.numpy()) == done * 25  # optimizer state restored
    assert float(opt.learning_rate.numpy()) == pytest.approx(state["learning_rate"])
    assert trainer.callbacks[0].wait == state["callbacks"]["reduce_lr"]["wait"]
    trainer.train()
    assert int(opt.iterations.numpy()) == 4 * 25
    assert _epochs(run) == [0, 1, 2, 3]
    assert trainer.seed == 2 and trainer.data_seed == 2  # the run's, kept on resume
    assert not (run / "resume").exists()  # removed once the run finished
    for name, data in frozen.items():
        assert (run / name).read_bytes() == data, name
    for name in ("best_model.h5", "labels_pr.val.slp", "metrics.val.npz"):
        assert (run / name).exists()


MIRRORED_SCRIPT = r"""
import json, sys
import tensorflow as tf
cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
from sleapish.nn.config import TrainingJobConfig
from sleapish.nn.training import Trainer
out = {}
for strategy in ("default", "mirrored"):
    cfg = TrainingJobConfig.load_json(sys.argv[1])
    t = Trainer.from_config(cfg, training_labels=sys.argv[2], seed=4,
                            strategy=strategy, verbosity="none")
    t.setup()
    out[strategy] = {"replicas": t.strategy.num_replicas_in_sync,
                     "loss": t.train().history["loss"]}
print("RESULT" + json.dumps(out))
"""


def _deterministic_config(kind, tmp_path, epochs=3, batches=3):
    cfg = tiny_config(kind, tmp_path, epochs=epochs, batches=batches)
    cfg.outputs.save_outputs = False
    opt = cfg.optimization
    opt.batch_size = 4
    opt.online_shuffling = False
    opt.augmentation_config.rotate = False
    lab = cfg.data.labels
    lab.split_by_inds = True
    lab.training_inds, lab.validation_inds = list(range(16)), list(range(16, 20))
    return cfg


def test_mirrored_strategy_on_two_cpu_devices_matches_one_device(synthetic, tmp_path):
    cfg = _deterministic_config("centroid", tmp_path)
    cfg.save_json(tmp_path / "cfg.json")
    r = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path / "cfg.json"),
                        str(synthetic.labels_path)], cwd=REPO, env=_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.split("RESULT", 1)[1])
    assert out["default"]["replicas"] == 1 and out["mirrored"]["replicas"] == 2
    np.testing.assert_allclose(out["mirrored"]["loss"], out["default"]["loss"],
                               rtol=1e-3)


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multiworker_strategy_two_processes_only_chief_writes(synthetic, tmp_path):
    cfg = _deterministic_config("centroid", tmp_path, epochs=2, batches=2)
    cfg.outputs.save_outputs = True
    cfg.outputs.run_name = "mw"
    cfg.save_json(tmp_path / "cfg.json")
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                             "index": i}})
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "sleapish.train", str(tmp_path / "cfg.json"),
             str(synthetic.labels_path), "--strategy", "multiworker", "--seed", "1",
             "--verbosity", "none", "--eval-max-frames", "2"],
            cwd=REPO, env=_env(TF_CONFIG=tf_config), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    runs = sorted(x.name for x in tmp_path.iterdir() if x.is_dir())
    assert runs == ["mw"]  # the non-chief worker wrote no run folder
    assert _epochs(tmp_path / "mw") == [0, 1]
    assert (tmp_path / "mw" / "best_model.h5").exists()
    assert "Run folder:" in outs[0][0]


MIRRORED_RESUME_SCRIPT = r"""
import json, sys
import tensorflow as tf
cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
from sleapish.nn.config import TrainingJobConfig
from sleapish.nn.training import Trainer, resume
cfg = TrainingJobConfig.load_json(sys.argv[1])
t = Trainer.from_config(cfg, training_labels=sys.argv[2], seed=4, strategy="mirrored",
                        verbosity="none", eval_max_frames=2, keep_resume_state=True)
t.train()
run = t.run_path
# Ask for one more epoch than was trained, then resume under the strategy.
cfg2 = TrainingJobConfig.load_json(run + "/training_config.json")
cfg2.optimization.epochs = 3
cfg2.save_json(run + "/training_config.json")
r = resume(run, strategy="mirrored", verbosity="none", eval_max_frames=2)
r.setup()
opt = r.keras_model.optimizer
slots = [v for v in opt.variables if "iteration" not in v.name and "learning_rate" not in v.name]
out = {"iterations": int(opt.iterations.numpy()),
       "slot_types": sorted({type(v).__name__ for v in slots}),
       "initial_epoch": r.initial_epoch}
r.train()
out["after"] = int(opt.iterations.numpy())
print("RESULT" + json.dumps(out))
"""


def test_resume_under_mirrored_strategy_restores_distributed_optimizer_state(
        synthetic, tmp_path):
    cfg = _deterministic_config("centroid", tmp_path, epochs=2, batches=3)
    cfg.outputs.save_outputs = True
    cfg.outputs.run_name = "mirrored_resume"
    cfg.save_json(tmp_path / "cfg.json")
    r = subprocess.run([sys.executable, "-c", MIRRORED_RESUME_SCRIPT,
                        str(tmp_path / "cfg.json"), str(synthetic.labels_path)],
                       cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.split("RESULT", 1)[1])
    assert out["initial_epoch"] == 2 and out["iterations"] == 6 and out["after"] == 9
    assert out["slot_types"] and all("Mirrored" in t for t in out["slot_types"]), out
    assert _epochs(tmp_path / "mirrored_resume") == [0, 1, 2]


def test_ctrl_c_during_training_exits_130_and_says_how_to_resume(synthetic, tmp_path):
    cfg = tiny_config("centroid", tmp_path, run_name="interrupted", epochs=50, batches=5)
    cfg.save_json(tmp_path / "cfg.json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sleapish.train", str(tmp_path / "cfg.json"),
         str(synthetic.labels_path), "--verbosity", "none", "--seed", "1"],
        cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    state_file = tmp_path / "interrupted" / "resume" / "state.json"
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if state_file.exists() and json.loads(state_file.read_text())[
                    "next_epoch"] >= 1:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    lines = [s for s in err.splitlines() if s.strip() and not s.startswith(
        ("Epoch", "Run folder", "Model:", "Trainer", "Training"))]
    assert "Traceback" not in err
    assert lines[-1] == ("sleapish-train: interrupted; continue with: sleapish-train "
                         f"--resume {tmp_path / 'interrupted'}"), err[-2000:]
    assert not list((tmp_path / "interrupted").glob(".*tmp*"))

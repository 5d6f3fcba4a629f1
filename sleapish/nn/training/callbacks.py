"""Keras callbacks of the trainer: checkpoints, CSV log, resumable state, progress.

Every file a callback writes is written atomically (temporary file, then rename),
so a run killed at any moment leaves only complete files behind. The resume state
(`resume/state.json` + a TensorFlow checkpoint of the weights and optimizer) is
written at the end of every epoch, after the learning-rate schedule and early
stopping have updated, so `--resume` continues exactly where the last finished
epoch left off.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from sleapish.io.files import atomic_write_text
from sleapish.nn._backend import keras, tf
from sleapish.nn.training.saving import save_model_h5

RESUME_DIR = "resume"
STATE_FILE = "state.json"


def current_lr(model) -> float:
    """The optimizer's current learning rate as a float."""
    return float(keras.backend.get_value(model.optimizer.learning_rate))


class _Resumable:
    """Mixin: attributes in `resume_state` are restored after `on_train_begin`."""

    _state_keys: tuple = ()
    resume_state: Optional[Dict[str, Any]] = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.resume_state:
            for k in self._state_keys:
                if k in self.resume_state:
                    setattr(self, k, self.resume_state[k])

    def get_state(self) -> Dict[str, Any]:
        """JSON-serializable state to save with a checkpoint."""
        return {k: _jsonable(getattr(self, k)) for k in self._state_keys}


def _jsonable(v):
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return "inf" if v > 0 else "-inf"
    return v


def _from_json(v):
    return float(v) if v in ("inf", "-inf") else v


class ReduceLROnPlateau(_Resumable, keras.callbacks.ReduceLROnPlateau):
    """Keras' `ReduceLROnPlateau` whose counters survive a resume."""

    _state_keys = ("wait", "cooldown_counter", "best")


class EarlyStopping(_Resumable, keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping` whose counters survive a resume."""

    _state_keys = ("wait", "best", "best_epoch")


class BestModelCheckpoint(_Resumable, keras.callbacks.Callback):
    """Save `best_model.h5` whenever the monitored value improves.

    Args:
        filepath: Output `.h5` path.
        monitor: Log key to minimize (SLEAP: `"val_loss"`).
    """

    _state_keys = ("best",)

    def __init__(self, filepath: str, monitor: str = "val_loss"):
        super().__init__()
        self.filepath = filepath
        self.monitor = monitor
        self.best = np.inf

    def on_train_begin(self, logs=None):
        self.best = np.inf
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        """Save when `logs[monitor]` is lower than the best so far."""
        value = (logs or {}).get(self.monitor)
        if value is not None and float(value) < float(self.best):
            self.best = float(value)
            save_model_h5(self.model, self.filepath)


class ModelCheckpointOnEvent(keras.callbacks.Callback):
    """Save the model at `"train_begin"`, `"epoch_end"` or `"train_end"`.

    Args:
        filepath: Output path; may contain `%d`-style formatting for the epoch
            (e.g. `model.epoch%04d.h5`).
        event: When to save.
    """

    def __init__(self, filepath: str, event: str = "epoch_end"):
        super().__init__()
        if event not in ("train_begin", "epoch_end", "train_end"):
            raise ValueError("event must be train_begin, epoch_end or train_end. "
                             f"Received: {event!r}")
        self.filepath = filepath
        self.event = event
        self._epoch = 0

    def _save(self, epoch: int):
        path = self.filepath % epoch if "%" in self.filepath else self.filepath
        save_model_h5(self.model, path)

    def on_train_begin(self, logs=None):
        if self.event == "train_begin":
            self._save(0)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        if self.event == "epoch_end":
            self._save(epoch)

    def on_train_end(self, logs=None):
        if self.event == "train_end":
            self._save(self._epoch)


class CSVLog(keras.callbacks.Callback):
    """`training_log.csv` in SLEAP's layout: `epoch`, then sorted log keys.

    The whole file is rewritten atomically every epoch. On resume, rows of epochs
    before `initial_epoch` are kept and later ones (an interrupted epoch) dropped.

    Args:
        filename: Output CSV path.
        initial_epoch: First epoch of this (possibly resumed) run.
    """

    def __init__(self, filename: str, initial_epoch: int = 0):
        super().__init__()
        self.filename = filename
        self.rows: List[Dict[str, Any]] = []
        if initial_epoch > 0 and os.path.exists(filename):
            with open(filename, newline="") as f:
                self.rows = [r for r in csv.DictReader(f)
                             if int(r["epoch"]) < initial_epoch]

    def on_epoch_end(self, epoch, logs=None):
        """Append the epoch's logs (with `lr`) and rewrite the file."""
        row = {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
        row.setdefault("lr", current_lr(self.model))
        row["lr"] = str(np.float32(row["lr"]))  # "1e-04", as Keras' CSVLogger
        row["epoch"] = epoch
        self.rows.append(row)
        keys = sorted({k for r in self.rows for k in r} - {"epoch"})
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["epoch"] + keys, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: r.get(k, "") for k in ["epoch"] + keys})
        atomic_write_text(self.filename, buf.getvalue())


class ResumeCheckpoint(keras.callbacks.Callback):
    """Save what `--resume` needs at the end of every epoch.

    Writes `<run>/resume/epoch_NNNN/` (a `tf.train.Checkpoint` of the model and
    optimizer), then atomically `<run>/resume/state.json` pointing at it with the
    next epoch, the learning rate and the counters of the stateful callbacks; then
    deletes older checkpoint folders.

    Args:
        run_path: The run folder.
        stateful: Callbacks (name -> callback with `get_state()`) whose state is
            saved.
        seed: The run's seed (a resumed run reseeds with `seed + next_epoch`).
    """

    def __init__(self, run_path: str, stateful: Dict[str, Any],
                 seed: Optional[int] = None):
        super().__init__()
        self.folder = Path(run_path) / RESUME_DIR
        self.stateful = stateful
        self.seed = seed

    def on_epoch_end(self, epoch, logs=None):
        """Checkpoint after epoch `epoch` (0-based)."""
        self.folder.mkdir(exist_ok=True)
        name = f"epoch_{epoch:04d}"
        target = self.folder / name
        if target.exists():
            shutil.rmtree(target)
        ckpt = tf.train.Checkpoint(model=self.model, optimizer=self.model.optimizer)
        ckpt.write(str(target / "ckpt"))
        state = {"next_epoch": epoch + 1, "checkpoint": f"{name}/ckpt",
                 "learning_rate": current_lr(self.model),
                 "stop_training": bool(self.model.stop_training),
                 "seed": self.seed,
                 "callbacks": {k: cb.get_state() for k, cb in self.stateful.items()},
                 "time": time.time()}
        atomic_write_text(self.folder / STATE_FILE, json.dumps(state, indent=2))
        for old in self.folder.glob("epoch_*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)


def load_resume_state(run_path) -> Dict[str, Any]:
    """Read `<run>/resume/state.json`.

    Raises:
        FileNotFoundError: If the run folder has no resume state (e.g. it was
            killed before finishing its first epoch).
    """
    path = Path(run_path) / RESUME_DIR / STATE_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"No resume state in {run_path}: {path} is missing (the run finished no "
            f"epoch, or was not made by sleapish). Received: {run_path}")
    state = json.loads(path.read_text())
    state["callbacks"] = {k: {kk: _from_json(vv) for kk, vv in v.items()}
                          for k, v in state.get("callbacks", {}).items()}
    return state


def restore_checkpoint(model, run_path, state: Dict[str, Any]) -> None:
    """Restore weights and optimizer state (slots, iterations, learning rate)."""
    opt = model.optimizer
    opt.build(model.trainable_variables)
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt)
    ckpt.read(str(Path(run_path) / RESUME_DIR / state["checkpoint"])).assert_existing_objects_matched()
    keras.backend.set_value(opt.learning_rate, state["learning_rate"])


class ProgressBar(keras.callbacks.Callback):
    """A tqdm bar per epoch with the running losses and the whole run's ETA.

    Args:
        epochs: Total epochs of the run.
        steps_per_epoch: Batches per epoch.
        initial_epoch: First epoch (when resuming).
        print_fn: Where epoch summaries go (default `print`).
    """

    def __init__(self, epochs: int, steps_per_epoch: int, initial_epoch: int = 0,
                 print_fn: Callable[[str], None] = print):
        super().__init__()
        self.epochs, self.steps = epochs, steps_per_epoch
        self.initial_epoch = initial_epoch
        self.print_fn = print_fn
        self._bar = None
        self._epoch_times: List[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm import tqdm  # text bar: works in terminals and notebooks

        self._t_epoch = time.perf_counter()
        self._bar = tqdm(total=self.steps, desc=f"Epoch {epoch + 1}/{self.epochs}",
                         unit="batch", leave=False, dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            if logs and "loss" in logs:
                self._bar.set_postfix(loss=f"{float(logs['loss']):.3g}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        dt = time.perf_counter() - self._t_epoch
        self._epoch_times.append(dt)
        remaining = (self.epochs - epoch - 1) * float(np.median(self._epoch_times))
        logs = logs or {}
        parts = [f"{k}={float(logs[k]):.4g}" for k in ("loss", "val_loss") if k in logs]
        self.print_fn(f"Epoch {epoch + 1}/{self.epochs} ({dt:.1f}s, "
                      f"{dt / max(self.steps, 1):.3f} s/batch) " + " ".join(parts)
                      + f" lr={current_lr(self.model):.3g} ETA {remaining:.0f}s")


__all__ = ["ReduceLROnPlateau", "EarlyStopping", "BestModelCheckpoint",
           "ModelCheckpointOnEvent", "CSVLog", "ResumeCheckpoint", "ProgressBar",
           "load_resume_state", "restore_checkpoint", "current_lr"]

"""Keras callbacks of the trainer: checkpoints, CSV log, resumable state, progress.

Every file a callback writes is written atomically (temporary file, then rename),
so a run killed at any moment leaves only complete files behind. The resume state
(`resume/state.json` + a TensorFlow checkpoint of the weights and optimizer) is
written at the end of every epoch, after the learning-rate schedule and early
stopping have updated, so `--resume` continues exactly where the last finished
epoch left off.

The epoch's other files (`training_log.csv`, `best_model.h5`, `latest_model.h5`,
`model.epochNNNN.h5`) are written only after the state, by
:class:`ResumeCheckpoint` committing the :class:`_Deferred` writers, so none of
them is ever newer than the state a resume restores; the state holds what they
need (the log rows, whether the epoch improved), and a resume first rewrites
them from it (:meth:`_Deferred.recommit`), so none is lost either.
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
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from sleapish.errors import InputNotFoundError, InvalidValueError
from sleapish.io.files import atomic_write_text
from sleapish.nn._backend import keras, tf
from sleapish.nn.training.outputs import RESUME_DIR, STATE_FILE
from sleapish.nn.training.saving import save_model_h5

#: Fault injection for the tests: `batch:N` (SIGKILL after this process's N-th
#: training batch), `state:E` (right after epoch E's resume state, before the
#: epoch's other files) or `eval` (when evaluation starts).
FAULT_ENV = "SLEAPISH_FAULT_KILL_TRAINING"


def fault_point(kind: str, value: Optional[int] = None) -> None:
    """SIGKILL this process if `FAULT_ENV` names this point (tests only)."""
    spec = os.environ.get(FAULT_ENV, "")
    if not spec:
        return
    want_kind, _, want = spec.partition(":")
    if want_kind == kind and (not want or value is None or int(want) == int(value)):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


class FaultInjection(keras.callbacks.Callback):
    """Calls :func:`fault_point` after every training batch (tests only)."""

    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        fault_point("batch", self.batches)


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


class _Deferred:
    """Mixin: a writer whose epoch-end file may wait for the resume state.

    `on_epoch_end` prepares; :meth:`commit` writes, at once unless `deferred`
    (set by :class:`ResumeCheckpoint`, which commits after writing the state).
    """

    deferred: bool = False

    def _prepared(self) -> None:
        if not self.deferred:
            self.commit()

    def commit(self) -> None:
        """Write the file(s) of the last finished epoch."""
        raise NotImplementedError

    def recommit(self, state: Dict[str, Any]) -> None:
        """On resume, rewrite the last epoch's files (the restored weights are that
        epoch's) from the resume `state`, in case the run was killed before."""
        raise NotImplementedError


class ReduceLROnPlateau(_Resumable, keras.callbacks.ReduceLROnPlateau):
    """Keras' `ReduceLROnPlateau` whose counters survive a resume."""

    _state_keys = ("wait", "cooldown_counter", "best")


class EarlyStopping(_Resumable, keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping` whose counters survive a resume."""

    _state_keys = ("wait", "best", "best_epoch")


class BestModelCheckpoint(_Resumable, _Deferred, keras.callbacks.Callback):
    """Save `best_model.h5` whenever the monitored value improves.

    Args:
        filepath: Output `.h5` path.
        monitor: Log key to minimize (SLEAP: `"val_loss"`).
    """

    _state_keys = ("best", "improved")

    def __init__(self, filepath: str, monitor: str = "val_loss"):
        super().__init__()
        self.filepath = filepath
        self.monitor = monitor
        self.best = np.inf
        self.improved = False

    def on_train_begin(self, logs=None):
        self.best = np.inf
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        """Save when `logs[monitor]` is lower than the best so far."""
        value = (logs or {}).get(self.monitor)
        self.improved = value is not None and float(value) < float(self.best)
        if self.improved:
            self.best = float(value)
        self._prepared()

    def commit(self) -> None:
        """Write `best_model.h5` if the last epoch improved."""
        if self.improved:
            save_model_h5(self.model, self.filepath)

    def recommit(self, state: Dict[str, Any]) -> None:
        """Rewrite `best_model.h5` if the state's epoch improved."""
        self.improved = bool((state.get("callbacks", {}).get("best_model") or {})
                             .get("improved"))
        self.commit()


class ModelCheckpointOnEvent(_Deferred, keras.callbacks.Callback):
    """Save the model at `"train_begin"`, `"epoch_end"` or `"train_end"`.

    Args:
        filepath: Output path; may contain `%d`-style formatting for the epoch
            (e.g. `model.epoch%04d.h5`).
        event: When to save.
    """

    def __init__(self, filepath: str, event: str = "epoch_end"):
        super().__init__()
        if event not in ("train_begin", "epoch_end", "train_end"):
            raise InvalidValueError("event must be train_begin, epoch_end or train_end. "
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
            self._prepared()

    def commit(self) -> None:
        """Write the epoch-end model file."""
        if self.event == "epoch_end":
            self._save(self._epoch)

    def recommit(self, state: Dict[str, Any]) -> None:
        """Rewrite the epoch-end model of the state's last epoch."""
        self._epoch = int(state["next_epoch"]) - 1
        if self._epoch >= 0:
            self.commit()

    def on_train_end(self, logs=None):
        if self.event == "train_end":
            self._save(self._epoch)

    def write_train_end(self, model, last_epoch: int) -> None:
        """Write the train-end model of `model` after epoch `last_epoch` (a resumed
        run with no epochs left, whose kill may have come before `fit` returned)."""
        if self.event == "train_end":
            self.set_model(model)
            self._epoch = last_epoch
            self._save(self._epoch)


class CSVLog(_Deferred, keras.callbacks.Callback):
    """`training_log.csv` in SLEAP's layout: `epoch`, then sorted log keys.

    The whole file is rewritten atomically every epoch. The rows live in the resume
    state too; on resume they are taken from it (rows of later, interrupted epochs
    are dropped).

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
        self._prepared()

    def get_state(self) -> Dict[str, Any]:
        """The rows so far (saved in the resume state)."""
        return {"rows": [{k: _jsonable(v) for k, v in r.items()} for r in self.rows]}

    def recommit(self, state: Dict[str, Any]) -> None:
        """Take the rows from the resume state and rewrite the file."""
        saved = (state.get("callbacks", {}).get("csv_log") or {}).get("rows")
        if saved is not None:
            self.rows = [{k: _from_json(v) for k, v in r.items()} for r in saved]
        self.commit()

    def commit(self) -> None:
        """Rewrite the whole file atomically."""
        keys = sorted({k for r in self.rows for k in r} - {"epoch"})
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["epoch"] + keys, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: r.get(k, "") for k in ["epoch"] + keys})
        atomic_write_text(self.filename, buf.getvalue())


class ResumeCheckpoint(keras.callbacks.Callback):
    """Save what `--resume` needs at the end of every epoch.

    At train begin of a new run, writes a state with `next_epoch = 0` and no
    checkpoint (a run killed in its first epoch resumes from the start). At every
    epoch end, writes `<run>/resume/epoch_NNNN/` (a `tf.train.Checkpoint` of the
    model and optimizer), then atomically `<run>/resume/state.json` pointing at it
    with the next epoch, the learning rate and the state of the stateful
    callbacks; then commits the deferred writers and deletes older checkpoints.

    Args:
        run_path: The run folder.
        stateful: Callbacks (name -> callback with `get_state()`) whose state is
            saved.
        seed: The run's seed (weights, split, op determinism).
        data_seed: The seed of its training data stream.
        deferred: Writers (see :class:`_Deferred`) committed after the state.
    """

    def __init__(self, run_path: str, stateful: Dict[str, Any],
                 seed: Optional[int] = None, data_seed: Optional[int] = None,
                 deferred: Optional[List[Any]] = None):
        super().__init__()
        self.folder = Path(run_path) / RESUME_DIR
        self.stateful = stateful
        self.seed = seed
        self.data_seed = data_seed
        self.deferred = list(deferred or [])
        for cb in self.deferred:
            cb.deferred = True

    def _write_state(self, state: Dict[str, Any]) -> None:
        state.update(seed=self.seed, data_seed=self.data_seed, time=time.time())
        atomic_write_text(self.folder / STATE_FILE, json.dumps(state, indent=2))

    def on_train_begin(self, logs=None):
        """Write the epoch-0 state of a new run."""
        if not (self.folder / STATE_FILE).exists():
            self.folder.mkdir(exist_ok=True)
            self._write_state({"next_epoch": 0, "checkpoint": None,
                               "learning_rate": current_lr(self.model),
                               "stop_training": False, "callbacks": {}})

    def on_epoch_end(self, epoch, logs=None):
        """Checkpoint after epoch `epoch` (0-based)."""
        self.folder.mkdir(exist_ok=True)
        name = f"epoch_{epoch:04d}"
        target = self.folder / name
        if target.exists():
            shutil.rmtree(target)
        ckpt = tf.train.Checkpoint(model=self.model, optimizer=self.model.optimizer)
        ckpt.write(str(target / "ckpt"))
        self._write_state({
            "next_epoch": epoch + 1, "checkpoint": f"{name}/ckpt",
            "learning_rate": current_lr(self.model),
            "stop_training": bool(self.model.stop_training),
            "callbacks": {k: cb.get_state() for k, cb in self.stateful.items()}})
        fault_point("state", epoch)
        for cb in self.deferred:
            cb.commit()
        for old in self.folder.glob("epoch_*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)


def load_resume_state(run_path) -> Dict[str, Any]:
    """Read `<run>/resume/state.json`.

    Raises:
        FileNotFoundError: If the run folder has no resume state (it stopped
            before training started, finished and removed it, or was not made by
            sleapish).
    """
    path = Path(run_path) / RESUME_DIR / STATE_FILE
    if not path.exists():
        raise InputNotFoundError(
            f"No resume state in {run_path}: {path} is missing (the run stopped before "
            "training started, or finished and removed it; --keep-resume-state keeps "
            "it). Start the training again instead.")
    try:
        state = json.loads(path.read_text())
        state["callbacks"] = {k: {kk: _from_json(vv) for kk, vv in v.items()}
                              for k, v in state.get("callbacks", {}).items()}
        int(state["next_epoch"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise InvalidValueError(f"The resume state {path} is damaged ({e}); start the "
                                "training again.") from None
    return state


def restore_checkpoint(model, run_path, state: Dict[str, Any]) -> None:
    """Restore weights and optimizer state (slots, iterations, learning rate).

    A state without a checkpoint (a run killed in its first epoch) restores
    nothing.
    """
    if not state.get("checkpoint"):
        return
    opt = model.optimizer
    opt.build(model.trainable_variables)
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt)
    path = Path(run_path) / RESUME_DIR / state["checkpoint"]
    ckpt.read(str(path)).assert_existing_objects_matched()
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


def make_callbacks(config, run_path: Optional[str], resume_state: Optional[Dict[str, Any]],
                   initial_epoch: int = 0, verbosity: str = "rich",
                   seed: Optional[int] = None, data_seed: Optional[int] = None,
                   viz: Optional[Callable[[], tuple]] = None) -> List[Any]:
    """The callbacks of a training run, as its config asks, restored on resume.

    Args:
        config: The run's `TrainingJobConfig` (`optimization` and `outputs`).
        run_path: The run folder (the chief worker's), or None: no files written.
        resume_state: The state of a resumed run (:func:`load_resume_state`), or None.
        initial_epoch: The first epoch of this call's `fit`.
        verbosity: "rich" adds a progress bar.
        seed: The run's seed, recorded in the resume state.
        data_seed: The data stream's seed, recorded in the resume state.
        viz: Returns `(examples, heads)` for the visualization saver (called only
            when `outputs.save_visualizations` is on).

    Returns:
        The callbacks, in the order they run: learning rate, checkpoints, logs,
        progress, early stopping, fault injection (tests) and the resume checkpoint.
    """
    opt = config.optimization
    state = (resume_state or {}).get("callbacks", {})
    cbs: List[Any] = []
    stateful: Dict[str, Any] = {}
    sched = opt.learning_rate_schedule
    if sched.reduce_on_plateau:
        stateful["reduce_lr"] = ReduceLROnPlateau(
            monitor="val_loss", mode="min", factor=sched.reduction_factor,
            patience=sched.plateau_patience, min_delta=sched.plateau_min_delta,
            cooldown=sched.plateau_cooldown, min_lr=sched.min_learning_rate, verbose=0)
        cbs.append(stateful["reduce_lr"])
    if run_path is not None:
        cbs += _output_callbacks(config, run_path, resume_state, initial_epoch, stateful,
                                 viz)
    if verbosity == "rich":
        cbs.append(ProgressBar(opt.epochs, opt.batches_per_epoch, initial_epoch))
    es = opt.early_stopping
    if es.stop_training_on_plateau:
        stateful["early_stopping"] = EarlyStopping(
            monitor="val_loss", mode="min", patience=es.plateau_patience,
            min_delta=es.plateau_min_delta, verbose=0)
        cbs.append(stateful["early_stopping"])
    for name, cb in stateful.items():
        cb.resume_state = state.get(name)
    if os.environ.get(FAULT_ENV):
        cbs.append(FaultInjection())
    if run_path is not None:
        cbs.append(ResumeCheckpoint(run_path, stateful, seed=seed, data_seed=data_seed,
                                    deferred=[cb for cb in cbs if isinstance(cb, _Deferred)]))
    return cbs


def _output_callbacks(config, run, resume_state, initial_epoch, stateful, viz) -> List[Any]:
    """Checkpoints, TensorBoard, the CSV log and visualizations in `run`."""
    ck, cbs = config.outputs.checkpointing, []

    def join(name):
        return os.path.join(run, name)

    if ck.initial_model and resume_state is None:
        cbs.append(ModelCheckpointOnEvent(join("initial_model.h5"), "train_begin"))
    if ck.best_model:
        stateful["best_model"] = BestModelCheckpoint(join("best_model.h5"),
                                                     monitor="val_loss")
        cbs.append(stateful["best_model"])
    if ck.every_epoch:
        cbs.append(ModelCheckpointOnEvent(join("model.epoch%04d.h5"), "epoch_end"))
    if ck.latest_model:
        cbs.append(ModelCheckpointOnEvent(join("latest_model.h5"), "epoch_end"))
    if ck.final_model:
        cbs.append(ModelCheckpointOnEvent(join("final_model.h5"), "train_end"))
    tb = config.outputs.tensorboard
    if tb.write_logs:
        cbs.append(keras.callbacks.TensorBoard(
            log_dir=run, histogram_freq=0, write_graph=tb.architecture_graph,
            update_freq=tb.loss_frequency, profile_batch=2 if tb.profile_graph else 0))
    if config.outputs.log_to_csv:
        stateful["csv_log"] = CSVLog(join("training_log.csv"), initial_epoch=initial_epoch)
        cbs.append(stateful["csv_log"])
    if config.outputs.save_visualizations and viz is not None:
        from sleapish.nn.training.visualization import VisualizationSaver

        examples, heads = viz()
        cbs.append(VisualizationSaver(join("viz"), examples, heads))
    return cbs


def recommit(callbacks: Sequence[Any], model, state: Dict[str, Any]) -> None:
    """On resume: rewrite the last epoch's log rows and models from the state (a kill
    may have come between writing the state and writing them)."""
    for cb in callbacks:
        if isinstance(cb, _Deferred):
            cb.set_model(model)
            cb.recommit(state)


def finish_without_fit(callbacks: Sequence[Any], model, initial_epoch: int) -> None:
    """A resumed run with no epochs left: write the train-end models
    (`final_model.h5`) that a kill before `fit` returned may have skipped."""
    for cb in callbacks:
        if isinstance(cb, ModelCheckpointOnEvent):
            cb.write_train_end(model, initial_epoch - 1)


__all__ = ["ReduceLROnPlateau", "EarlyStopping", "BestModelCheckpoint",
           "ModelCheckpointOnEvent", "CSVLog", "ResumeCheckpoint", "ProgressBar",
           "load_resume_state", "restore_checkpoint", "current_lr", "make_callbacks",
           "recommit", "finish_without_fit"]

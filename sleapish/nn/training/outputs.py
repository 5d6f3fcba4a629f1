"""The run folder: its name, a write check, the inputs saved before training, and what
is written after it (evaluation of every split, the zip, removing visualizations)."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Optional

from sleapish.nn.training.data_readers import TrainingSetupError

RESUME_DIR = "resume"
"""The run folder's resume state: `<run>/resume/` (removed when a run finishes)."""
STATE_FILE = "state.json"


def resume_state_path(run_path) -> Path:
    """`<run>/resume/state.json`, the state a resumed run continues from."""
    return Path(run_path) / RESUME_DIR / STATE_FILE


def get_timestamp() -> str:
    """Date and time as `YYMMDD_HHMMSS` (SLEAP's run-name prefix)."""
    return datetime.now().strftime("%y%m%d_%H%M%S")


def new_run_path(outputs_config, base_run_name: Optional[str] = None) -> str:
    """The run folder path, choosing a name and a free suffix as SLEAP does.

    Without `run_name`, the name is `<timestamp>.<base_run_name>`; without
    `run_name_suffix`, `_1`, `_2`, ... is appended until the folder does not exist.
    The chosen name and suffix are written into `outputs_config`.
    """
    cfg = outputs_config
    if cfg.run_name is None:
        cfg.run_name = get_timestamp() + (f".{base_run_name}" if base_run_name else "")
    if cfg.run_name_suffix is None:
        cfg.run_name_suffix = ""
        i = 0
        while os.path.exists(cfg.run_path):
            i += 1
            cfg.run_name_suffix = f"_{i}"
    return cfg.run_path


def check_writable(run_path) -> None:
    """Create the run folder and check a file can be written in it.

    Raises:
        TrainingSetupError: If the folder cannot be created or written, or the path
            is an existing file.
    """
    path = Path(run_path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write_test.{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except (OSError, PermissionError) as e:
        raise TrainingSetupError(
            f"Cannot write the run folder {path} ({type(e).__name__}: {e.strerror or e}); "
            "set outputs.runs_folder to a writable folder. Received: "
            f"{path}") from None


def save_run_inputs(run_path, config, initial_config, data_readers) -> None:
    """Write `initial_config.json`, `training_config.json` and `labels_gt.*.slp`."""
    from sleapish.io.labels import save_file

    run = Path(run_path)
    if initial_config is not None:
        initial_config.save_json(run / "initial_config.json")
    config.save_json(run / "training_config.json")
    save_file(data_readers.training_labels, run / "labels_gt.train.slp")
    save_file(data_readers.validation_labels, run / "labels_gt.val.slp")
    if data_readers.test_labels_reader is not None:
        save_file(data_readers.test_labels, run / "labels_gt.test.slp")


def evaluate_splits(predictor, data_readers, run_path: Optional[str],
                    identity: bool = False,
                    max_frames: Optional[int] = None) -> Dict[str, Dict[str, Any]]:
    """Predict every split with `predictor`; save `labels_pr.<split>.slp` and
    `metrics.<split>.npz` in the run folder.

    Args:
        predictor: The trained model's predictor.
        data_readers: The run's :class:`~sleapish.nn.training.data_readers.DataReaders`.
        run_path: The run folder, or None (nothing written).
        identity: Identity models: only frames whose instances have tracks count.
        max_frames: Evaluate at most this many frames per split (None: all).

    Returns:
        Split name ("train", "val", "test") -> metrics dict (see
        :func:`sleapish.nn.evals.evaluate`), for the splits the run has.
    """
    import logging
    import time

    from sleapish.io.labels import save_file
    from sleapish.nn import evals
    from sleapish.nn.data.training import split_labels_by_inds
    from sleapish.nn.training.data_readers import user_labeled

    logger = logging.getLogger("sleapish.nn.training.trainer")
    results = {}
    splits = [("train", data_readers.training_labels_reader),
              ("val", data_readers.validation_labels_reader),
              ("test", data_readers.test_labels_reader)]
    for split, reader in splits:
        if reader is None:
            continue
        gt = user_labeled(reader.labels, identity)
        if max_frames is not None and len(gt) > max_frames:
            gt = split_labels_by_inds(gt, range(max_frames))
        t0 = time.perf_counter()
        pr = predictor.predict(gt)
        metrics = evals.evaluate(gt, pr)
        if run_path is not None:
            save_file(pr, os.path.join(run_path, f"labels_pr.{split}.slp"))
            evals.save_metrics(os.path.join(run_path, f"metrics.{split}.npz"), metrics)
        logger.info("%s: %d frames in %.1f s, mAP %.3f, mOKS %.3f", split, len(gt),
                    time.perf_counter() - t0, metrics.get("oks_voc.mAP", float("nan")),
                    metrics.get("oks.mOKS", float("nan")))
        results[split] = metrics
    return results


def remove_visualizations(run_path) -> None:
    """Delete the run's `viz` folder (if any)."""
    import shutil

    shutil.rmtree(os.path.join(run_path, "viz"), ignore_errors=True)


def package_run(run_path, exclude=(RESUME_DIR,)) -> str:
    """Zip the run folder next to it (`<run>.zip`, written atomically).

    Args:
        run_path: The run folder.
        exclude: Top-level entries left out (the resume state).

    Returns:
        The zip path.
    """
    import zipfile

    run = Path(run_path)
    target = run.with_name(run.name + ".zip")
    tmp = run.with_name(f"{run.name}.{uuid.uuid4().hex}.tmp.zip")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(run.rglob("*")):
                rel = path.relative_to(run)
                if rel.parts[0] not in exclude and path.is_file():
                    z.write(path, rel.as_posix())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return str(target)


__all__ = ["RESUME_DIR", "STATE_FILE", "resume_state_path", "get_timestamp", "new_run_path",
           "check_writable", "save_run_inputs", "evaluate_splits", "remove_visualizations",
           "package_run"]

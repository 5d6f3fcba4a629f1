"""The run folder: its name, a write check, and the inputs saved before training."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Optional

from sleapish.nn.training.data_readers import TrainingSetupError


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


__all__ = ["get_timestamp", "new_run_path", "check_writable", "save_run_inputs"]

"""`sleapish-train` / `python -m sleapish.train`: SLEAP's `sleap-train`.

Examples:
    sleapish-train baseline.centroid labels.slp
    sleapish-train my_config.json labels.pkg.slp --run_name fly_centroid
    sleapish-train --resume models/fly_centroid
    sleapish-train config.json labels.slp --strategy mirrored
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Optional, Sequence

from sleapish.errors import InputNotFoundError, InvalidValueError
from sleapish.nn.training.outputs import resume_state_path


def make_parser() -> argparse.ArgumentParser:
    """The argument parser (SLEAP's options plus `--resume`, `--strategy`, `--seed`)."""
    p = argparse.ArgumentParser(
        prog="sleapish-train",
        description="Train a SLEAP-compatible model from a training config (JSON path "
                    "or the name of a packaged profile, e.g. baseline.centroid).")
    p.add_argument("training_job_path", nargs="?", default=None,
                   help="training config JSON, or a packaged profile name "
                        "(see --list-profiles)")
    p.add_argument("labels_path", nargs="?", default="",
                   help="training labels (.slp / .pkg.slp); overrides the config")
    p.add_argument("--video-paths", default="",
                   help="comma-separated folders searched for videos that moved")
    p.add_argument("--val_labels", "--val", default=None,
                   help="validation labels file; overrides the config")
    p.add_argument("--test_labels", "--test", default=None,
                   help="test labels file; overrides the config")
    p.add_argument("--base_checkpoint", default=None,
                   help="model folder (with best_model.h5) whose weights initialize "
                        "the model")
    p.add_argument("--tensorboard", action="store_true",
                   help="write TensorBoard logs to the run folder")
    p.add_argument("--save_viz", action="store_true",
                   help="save prediction visualizations to <run>/viz each epoch")
    p.add_argument("--keep_viz", action="store_true",
                   help="keep the visualizations after training")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs to train (default: the config's "
                        "optimization.epochs)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="batch size (default: the config's optimization.batch_size)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE",
                   help="set any config field by its dotted path, e.g. --set "
                        "model.backbone.unet.filters=32 (value read as JSON, else "
                        "text; repeatable; validated like the JSON file)")
    p.add_argument("--run_name", default="", help="run folder name")
    p.add_argument("--prefix", default="", help="prefix of the run folder name")
    p.add_argument("--suffix", default="", help="suffix of the run folder name")
    p.add_argument("--resume", default=None, metavar="RUN_FOLDER",
                   help="continue an interrupted run from its last checkpoint")
    p.add_argument("--strategy", default="default",
                   choices=["default", "mirrored", "multiworker"],
                   help="distribution strategy (multiworker reads TF_CONFIG)")
    p.add_argument("--no-report", dest="report", action="store_false",
                   help="do not write <run>/report.html at the end (default: written; "
                        "sleapish-report RUN_FOLDER writes it any time)")
    p.add_argument("--keep-resume-state", action="store_true",
                   help="keep <run>/resume (the state --resume reads) after the run "
                        "finishes; by default it is removed then")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of weights, split and data stream; makes the run "
                        "reproducible (turns on TensorFlow op determinism)")
    p.add_argument("--eval-max-frames", type=int, default=None,
                   help="evaluate at most this many frames per split after training")
    p.add_argument("--verbosity", default="rich", choices=["rich", "json", "none"],
                   help="progress output")
    p.add_argument("--list-profiles", action="store_true",
                   help="print the packaged training profiles (name and file) and exit")
    dev = p.add_mutually_exclusive_group()
    dev.add_argument("--cpu", action="store_true", help="train on the CPU only")
    dev.add_argument("--gpu", default=None,
                     help="GPU index to use (sets CUDA_VISIBLE_DEVICES)")
    from sleapish.cli_errors import add_debug_flag
    from sleapish.cli_help import state_defaults

    return state_defaults(add_debug_flag(p))


def resolve_job_path(path: str) -> str:
    """A config path, or the packaged profile of that name.

    Raises:
        FileNotFoundError: If neither exists.
    """
    if os.path.exists(path):
        return path
    from sleapish.nn.training.profiles import find_profile

    return str(find_profile(path))


def _check_exists(path: Optional[str], what: str) -> None:
    if path and not os.path.exists(path):
        raise InputNotFoundError(f"{what} not found: {path}")


def _check_inputs(args, cfg=None) -> None:
    """The files the arguments name exist (checked before TensorFlow loads)."""
    if args.resume:
        run = args.resume
        if not os.path.isfile(os.path.join(run, "training_config.json")):
            raise InputNotFoundError(f"{run} is not a sleapish run folder: "
                                     f"training_config.json is missing. Received: {run}")
        if not resume_state_path(run).is_file():
            raise InputNotFoundError(
                f"No resume state in {run}: resume/state.json is missing (the run "
                "stopped before training started, or finished and removed it; "
                "--keep-resume-state keeps it). Start the training again instead.")
        return
    labels = args.labels_path or (cfg.data.labels.training_labels if cfg else None)
    if not labels:
        raise InvalidValueError("No training labels: give LABELS_PATH after the config, or set "
                                "data.labels.training_labels in it")
    _check_exists(labels, "Training labels file")
    _check_exists(args.val_labels, "Validation labels file")
    _check_exists(args.test_labels, "Test labels file")
    _check_exists(args.base_checkpoint, "--base_checkpoint model folder")


def create_trainer(args):
    """Build the trainer the parsed arguments describe.

    Files and the config are checked before TensorFlow is imported, so a bad input
    fails in about a second.
    """
    if args.resume:
        _check_inputs(args)
        from sleapish.nn.training import resume

        ignored = [f"--{k}" for k in ("seed", "run_name", "prefix", "suffix",
                                       "base_checkpoint", "val_labels", "test_labels",
                                       "epochs", "batch_size", "overrides")
                   if getattr(args, k)] + [f for f, on in (
                       ("--tensorboard", args.tensorboard), ("--save_viz", args.save_viz),
                       ("CONFIG", args.training_job_path)) if on]
        if ignored:
            logging.getLogger(__name__).warning(
                "--resume continues the run as configured; ignoring %s", ignored)
        return resume(args.resume, strategy=args.strategy, verbosity=args.verbosity,
                      eval_max_frames=args.eval_max_frames,
                      video_search_paths=[v for v in args.video_paths.split(",") if v],
                      keep_resume_state=args.keep_resume_state)
    if args.training_job_path is None:
        raise InvalidValueError("Give a training config (path or profile name), or --resume "
                                "RUN_FOLDER. Received: no arguments")
    from sleapish.nn.config import TrainingJobConfig
    from sleapish.nn.config.overrides import apply_overrides

    job_path = resolve_job_path(args.training_job_path)
    cfg = TrainingJobConfig.load_json(job_path)
    overrides = list(args.overrides)
    if args.epochs is not None:
        overrides.append(f"optimization.epochs={args.epochs}")
    if args.batch_size is not None:
        overrides.append(f"optimization.batch_size={args.batch_size}")
    if overrides:
        cfg = apply_overrides(cfg, overrides)
        cfg.filename = str(job_path)
    _check_inputs(args, cfg)
    out = cfg.outputs
    out.save_outputs = True
    out.tensorboard.write_logs |= args.tensorboard
    out.save_visualizations |= args.save_viz
    out.keep_viz_images = args.keep_viz
    if args.run_name:
        out.run_name = args.run_name
    if args.prefix:
        out.run_name_prefix = args.prefix
    if args.suffix:
        out.run_name_suffix = args.suffix
    if args.base_checkpoint:
        cfg.model.base_checkpoint = args.base_checkpoint
    from sleapish.nn.training.profiles import PROFILE_DIR

    packaged = os.path.dirname(os.path.abspath(job_path)) == os.path.abspath(PROFILE_DIR)
    logging.getLogger(__name__).info(
        "%s %s%s", "Training profile" if packaged else "Training config", job_path,
        f" with {', '.join(overrides)}" if overrides else "")
    from sleapish.nn.training import Trainer

    return Trainer.from_config(
        cfg, training_labels=args.labels_path or None,
        validation_labels=args.val_labels, test_labels=args.test_labels,
        video_search_paths=[v for v in args.video_paths.split(",") if v],
        strategy=args.strategy, seed=args.seed, verbosity=args.verbosity,
        eval_max_frames=args.eval_max_frames, keep_resume_state=args.keep_resume_state)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `sleapish-train`; returns an exit code (bad input prints one line and
    returns 2, `--debug` shows its traceback; Ctrl-C prints one line and returns 130)."""
    from sleapish.cli_errors import run_command

    args = make_parser().parse_args(argv)
    run = {}
    return run_command("sleapish-train", lambda: _main(args, run), debug=args.debug,
                       interrupted=lambda: _interrupted(run.get("trainer")))


def _interrupted(trainer) -> str:
    where = trainer.run_path if trainer is not None else None
    if where and resume_state_path(where).exists():
        return f"interrupted; continue with: sleapish-train --resume {where}"
    return "interrupted"


def _main(args, run: dict) -> int:
    if args.list_profiles:
        from sleapish.nn.training.profiles import PROFILE_DIR, list_profiles

        names = list_profiles()
        width = max(len(n) for n in names) - len(".json")
        print(f"Packaged training profiles (in {PROFILE_DIR}); pass the name or a "
              "path to your own config:")
        for name in names:
            print(f"  {name[:-len('.json')]:<{width}}  {PROFILE_DIR / name}")
        return 0
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    elif args.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(args.gpu)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    trainer = create_trainer(args)
    trainer.setup()  # bad input fails here, before any training step
    run["trainer"] = trainer
    trainer.write_report = args.report
    if args.verbosity == "json":
        print(json.dumps({"event": "setup", "run_path": trainer.run_path}))
    trainer.train()
    if trainer.run_path:
        print(f"Run folder: {trainer.run_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

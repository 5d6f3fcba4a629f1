"""`sleapish-track`: SLEAP 1.4.1's `sleap-track` command line.

Usage:

```text
    sleapish-track VIDEO.mp4 -m MODEL_DIR [-m MODEL_DIR] [-o OUT.slp] [--frames 0-99]
    sleapish-track VIDEO.mp4 -m MODEL_DIR --tracking.tracker flow
    sleapish-track LABELS.slp -m MODEL_DIR --only-labeled-frames
    sleapish-track LABELS.slp -m MODEL_DIR --video.index 0 --frames 0-99
    sleapish-track VIDEOS_FOLDER/ -m MODEL_DIR -o OUT_FOLDER/
    sleapish-track INPUTS.csv -m MODEL_DIR           # or INPUTS.txt, one path a line
    sleapish-track PREDICTIONS.slp --tracking.tracker simple   # retrack
    python -m sleapish.nn.inference ...
```

:func:`main` is SLEAP's `sleap.nn.inference.main`. Called with a list of arguments
(from Python) it raises on bad input - `ValueError` for inputs, outputs and options, as
SLEAP does; run as the command (no arguments), it prints one line `sleapish-track:
error: ...` and exits with status 2. Inputs and outputs are checked before the models
load (see :mod:`~sleapish.nn.inference.cli_inputs`), the models load once for all
inputs, each input gets a fresh tracker, and each output is written to a temporary
file and renamed into place.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import List, Optional, Sequence

from sleapish.cli_errors import run_command
from sleapish.nn.inference.cli_inputs import (  # noqa: F401 - re-exported
    VIDEO_SUFFIXES,
    CLIInputError,
    collect_inputs,
    make_provider_from_args,
    parse_frames,
    plan_jobs,
)
from sleapish.nn.inference.cli_parser import (  # noqa: F401 - re-exported
    add_tracking_args,
    make_parser,
    make_predictor_from_args,
    make_tracker_from_args,
    select_devices,
    tracking_option_names,
    tracking_options,
)


def main(args: Optional[Sequence[str]] = None) -> int:
    """Run `sleapish-track` (SLEAP's `sleap-track` entry point).

    Args:
        args: Command-line arguments (without the program name); paths may be
            `os.PathLike`. None reads `sys.argv` and runs as the command: errors
            print one line and return 2 (`--debug`: the traceback).

    Returns:
        0 on success; 2 for a bad input and 130 for Ctrl-C when run as the command.

    Raises:
        ValueError: (when `args` is given) For a missing or unusable input, output or
            option (`CLIInputError` is a `ValueError`), as SLEAP raises.
        FileNotFoundError: For a missing model folder (`ModelFolderError`).
        SystemExit: For options argparse rejects (status 2), and for `-h`.
    """
    if args is not None:  # paths may be `pathlib.Path` or `py.path.local` objects
        return _main([os.fspath(a) if isinstance(a, os.PathLike) else a for a in args])
    return run_command(
        "sleapish-track", lambda: _main(None), debug="--debug" in sys.argv[1:],
        interrupted=lambda: ("interrupted; no output was written (with --resume, the "
                             "same command continues from the last checkpoint)"))


class _Run:
    """The state of one invocation: parsed args, timing, printing."""

    def __init__(self, args, argv: Optional[List[str]]):
        self.args = args
        self.t0 = time.time()
        self.start = str(datetime.now())
        self.verbose = args.verbosity != "none"
        self.command = (" ".join(sys.argv) if argv is None
                        else " ".join(["sleapish-track", *argv]))

    def say(self, *parts) -> None:
        """Print a progress line to stdout (not with `--verbosity none`)."""
        if self.verbose:
            print(*parts, flush=True)

    @staticmethod
    def note(text: str) -> None:
        """Print a note (a skipped file, a missing GUI) to stderr."""
        print(f"sleapish-track: {text}", file=sys.stderr, flush=True)

    def provenance(self, data_path, output_path) -> dict:
        """SLEAP's provenance keys (and sleapish's versions) for one output."""
        import sleapish

        finish = str(datetime.now())
        return {
            "sleapish_version": sleapish.__version__,
            "sleap_compat_version": sleapish.SLEAP_COMPAT_VERSION,
            "platform": platform.platform(),
            "python_version": platform.python_version(),
            "command": self.command,
            "data_path": Path(data_path).as_posix(),
            "output_path": Path(output_path).as_posix(),
            "total_elapsed": time.time() - self.t0,
            "start_timestamp": self.start,
            "finish_timestamp": finish,
            "args": _jsonable(used_args(self.args)),
        }

    def open_in_gui(self, path) -> None:
        """`--open-in-gui`: run SLEAP's `sleap-label` on the output if installed."""
        if not self.args.open_in_gui:
            return
        if shutil.which("sleap-label"):
            subprocess.call(["sleap-label", str(path)])
        else:
            self.note(f"--open-in-gui: sleap-label (SLEAP's GUI) is not installed; open "
                      f"{path} in it yourself")


def used_args(args) -> dict:
    """The parsed arguments with the values actually used: when a tracker runs, its
    options that were not given hold the defaults it used (not None)."""
    import inspect

    from sleapish.nn.tracking import Tracker

    out = dict(vars(args))
    if tracking_options(args):
        params = inspect.signature(Tracker.make_tracker_by_name).parameters
        for name in tracking_option_names():
            key = f"tracking.{name}"
            if out.get(key) is None and name in params and \
                    params[name].default is not inspect.Parameter.empty:
                out[key] = params[name].default
    return out


def _jsonable(d: dict) -> dict:
    """The parsed arguments with JSON types only (paths become strings)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, (list, tuple)):
            v = [x if isinstance(x, (int, float, str, bool, type(None))) else str(x)
                 for x in v]
        elif not isinstance(v, (int, float, str, bool, type(None))):
            v = str(v)
        out[k] = v
    return out


def _main(argv: Optional[List[str]]) -> int:
    """Parse, pick devices, collect the inputs, then predict or retrack."""
    parser = make_parser()
    args = parser.parse_intermixed_args(argv)
    if not args.data_path and getattr(args, "labels", None):  # SLEAP's old --labels
        args.data_path = [args.labels]
    run = _Run(args, argv)
    run.say("Started inference at:", run.start)
    notes: List[str] = []
    items = collect_inputs(args.data_path, notes)
    if args.models and args.cluster is not None:
        select_devices(args)
        return _predict_on_cluster(run, items, notes)
    if args.models:
        return _predict(run, items, notes)
    if getattr(args, "tracking.tracker") is not None:
        return _retrack(run, items, notes)
    raise CLIInputError(
        "Neither tracker type nor path to trained models specified. Use "
        "'sleapish-track -m path/to/model ...' to predict with models; to retrack "
        "predictions, give a tracker with 'sleapish-track predictions.slp "
        "--tracking.tracker simple ...'.")


def _remove_empty(labels) -> None:
    """`--no-empty-frames`: drop frames without instances."""
    labels.labeled_frames = [lf for lf in labels.labeled_frames if lf.instances]


def _predict(run: _Run, items, notes: List[str]) -> int:
    """Check every input and output, load the models once, predict each input."""
    import sleapish

    args = run.args
    make_tracker_from_args(args)  # check the tracking options before loading models
    jobs, folder = plan_jobs(args, items, notes)
    for text in notes:
        run.note(text)
    if not jobs:
        run.note("nothing to predict on (no videos among the inputs)")
        return 0
    _check_checkpoints(args, jobs)
    from sleapish.nn.inference.loading import check_model_path

    for model in args.models:
        check_model_path(model)
    select_devices(args)  # imports TensorFlow: only once the inputs are known good
    predictor = make_predictor_from_args(args)
    totals = [0, 0, 0.0]  # frames, instances, seconds
    for job in jobs:
        provider = job.make_provider()
        checkpoint = _checkpoint_for(args, job, provider)
        tracker = make_tracker_from_args(args, warn=False)  # fresh for each input
        predictor.tracker = tracker if getattr(tracker, "is_valid", True) else None
        run.say(f"{'Labels' if job.item.is_labels else 'Video'}:", job.item.path.as_posix())
        t0 = time.perf_counter()
        labels = predictor.predict(provider, checkpoint=checkpoint)
        elapsed = time.perf_counter() - t0
        if args.no_empty_frames:
            _remove_empty(labels)
        labels.provenance.update(run.provenance(job.item.path, job.output))
        labels.provenance.update({
            "model_paths": [Path(m).as_posix() for m in args.models],
            "predictor": type(predictor).__name__,
            "skipped_frames": list(predictor.skipped_frames),
            "fps": round(job.n_frames / elapsed, 3) if elapsed else None})
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        sleapish.save_file(labels, job.output)
        if checkpoint is not None:
            checkpoint.remove()
        n_inst = sum(len(lf.instances) for lf in labels)
        fps = f"{job.n_frames / elapsed:.1f} fps" if elapsed else "- fps"
        run.say(f"Predicted {len(labels)}/{job.n_frames} frames: {n_inst} instances, "
                f"{len(labels.tracks)} tracks, {fps} ({elapsed:.1f} s) -> "
                f"{job.output.as_posix()}")
        run.open_in_gui(job.output)
        totals = [a + b for a, b in zip(totals, (len(labels), n_inst, elapsed))]
    if len(jobs) > 1:
        where = folder.as_posix() if folder is not None else "next to each input"
        fps = f"{totals[0] / totals[2]:.1f} fps" if totals[2] else "- fps"
        run.say(f"Predicted {totals[0]} frames of {len(jobs)} inputs: {totals[1]} "
                f"instances, {fps} ({time.time() - run.t0:.1f} s in all) -> {where}")
    return 0


def _check_checkpoints(args, jobs) -> None:
    """An unfinished run's checkpoint needs --resume (continue) or --overwrite."""
    from sleapish.nn.inference.checkpoint import checkpoint_path

    for job in jobs:
        path = checkpoint_path(job.output)
        if not path.exists() or args.resume:
            continue
        if not args.overwrite:
            raise CLIInputError(f"{job.output} has an unfinished run's checkpoint {path}: "
                                "add --resume to continue it, or --overwrite to start "
                                "over.")
        path.unlink()


def _checkpoint_for(args, job, provider):
    """The checkpoint of a video job with --resume (None otherwise)."""
    from sleapish.nn.data.providers import VideoReader
    from sleapish.nn.inference.checkpoint import (
        PredictionCheckpoint,
        checkpoint_path,
        job_key,
    )

    if not args.resume or not isinstance(provider, VideoReader):
        return None
    return PredictionCheckpoint(checkpoint_path(job.output), job_key(args),
                                every_frames=args.checkpoint_frames,
                                every_seconds=args.checkpoint_seconds)


def _predict_on_cluster(run: _Run, items, notes: List[str]) -> int:
    """`--cluster`: the videos among the inputs on Ray workers; exit 1 if any failed."""
    from sleapish.nn.inference.cluster import run_cluster

    for text in notes:
        run.note(text)
    labels = [str(i.path) for i in items if i.is_labels]
    if labels:
        raise CLIInputError("--cluster predicts videos; labels files are not supported "
                            f"there. Received: {labels}")
    if run.args.output and Path(run.args.output).suffix == ".slp":
        raise CLIInputError("With --cluster, -o/--output is a folder (one output per "
                            f"video). Received: {run.args.output!r}")
    make_tracker_from_args(run.args)  # check the tracking options first
    results = run_cluster(run.args, [i.path for i in items],
                          say=run.say if run.verbose else print)
    failed = [r for r in results if r.status == "failed"]
    return 1 if failed else 0


def _retrack(run: _Run, items, notes: List[str]) -> int:
    """Track existing predictions again; writes `<input>.<tracker name>.slp`.

    The tracker name is SLEAP's `Tracker.get_name()`, e.g.
    `FlowCandidateMaker.instance_similarity.greedy_matching`. As in SLEAP 1.4.1, every
    frame of the file is retracked (`--frames` and `--video.index` do not apply).
    """
    import sleapish
    from sleapish.nn.tracking import retrack

    args = run.args
    for text in notes:
        run.note(text)
    if len(items) != 1 or not items[0].is_labels:
        raise CLIInputError("Retracking (no -m/--model) takes one predictions .slp file. "
                            f"Received: {[str(i.path) for i in items]}")
    data_path = items[0].path
    tracker = make_tracker_from_args(args)
    if not tracker.is_valid:
        raise CLIInputError("--tracking.tracker None does no tracking, and without "
                            "-m/--model there is nothing else to do. Received: "
                            f"{getattr(args, 'tracking.tracker')!r}")
    name = f"{data_path.name}.{tracker.get_name()}.slp"
    output = Path(args.output) if args.output else data_path.with_name(name)
    if output.is_dir():
        output = output / name
    if not output.parent.is_dir():
        raise CLIInputError(f"Output folder does not exist: {output.parent}. Received: "
                            f"{str(output)!r}")
    run.say("Loading predictions...")
    try:
        labels = sleapish.load_file(data_path)
    except FileNotFoundError as e:
        if tracker.uses_image:
            raise CLIInputError(f"Optical flow tracking reads the video frames: {e}"
                                ) from None
        labels = sleapish.load_file(data_path, open_videos=False)  # frames not needed
    except ValueError as e:  # not a labels file
        raise CLIInputError(f"Could not load the labels file {data_path}: {e}") from None
    run.say("Starting tracker...")
    t0 = time.perf_counter()
    result = retrack(labels, tracker, progress=args.verbosity == "rich")
    elapsed = time.perf_counter() - t0
    if args.no_empty_frames:
        _remove_empty(result)
    result.provenance.update(run.provenance(data_path, output))
    result.provenance["tracker"] = tracker.get_name()
    sleapish.save_file(result, output)
    n_inst = sum(len(lf.instances) for lf in result)
    fps = f"{len(result) / elapsed:.1f} fps" if elapsed else "- fps"
    run.say(f"Tracked {len(result)} frames: {n_inst} instances, {len(result.tracks)} "
            f"tracks, {fps} ({elapsed:.1f} s) -> {output.as_posix()}")
    run.open_in_gui(output)
    return 0


# SLEAP's names (`sleap.nn.inference._make_cli_parser` etc.).
_make_cli_parser = make_parser
_make_provider_from_cli = make_provider_from_args
_make_predictor_from_cli = make_predictor_from_args
_make_tracker_from_cli = make_tracker_from_args

if __name__ == "__main__":
    sys.exit(main())

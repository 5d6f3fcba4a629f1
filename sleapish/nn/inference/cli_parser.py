"""The options of `sleapish-track` (SLEAP 1.4.1's `sleap-track`) and what they build.

:func:`make_parser` is SLEAP's `_make_cli_parser`: every option `sleap-track --help`
lists in 1.4.1, its hidden legacy options, and a few of sleapish's (several data paths,
`--refinement`). :func:`make_tracker_from_args` and :func:`make_predictor_from_args` are
SLEAP's `_make_tracker_from_cli` and `_make_predictor_from_cli`; :func:`select_devices`
applies `--cpu` / `--first-gpu` / `--last-gpu` / `--gpu`.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
from typing import Any, Dict, List

from sleapish.cli_errors import add_debug_flag
from sleapish.cli_help import state_defaults
from sleapish.errors import InvalidValueError
from sleapish.nn.inference.backends import BACKENDS

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Predict poses in videos or labels files with trained models, track them, or retrack
existing predictions.

examples:
  sleapish-track video.mp4 -m models/centroid -m models/centered_instance
  sleapish-track video.mp4 -m models/bottomup --tracking.tracker flow -n 2
  sleapish-track labels.slp -m models/bottomup --only-labeled-frames
  sleapish-track labels.slp -m models/bottomup --video.index 0 --frames 0-99
  sleapish-track videos/ -m models/bottomup -o predictions/      # every video in a folder
  sleapish-track inputs.csv -m models/bottomup     # columns: data path[, output path]
  sleapish-track predictions.slp --tracking.tracker simple       # retrack, no model

The output defaults to the input with its suffix replaced by .predictions.slp (a
retracked file: <input>.<tracker name>.slp). Everything is checked before models load;
outputs are written to a temporary file and renamed into place.
"""


def add_tracking_args(parser: argparse.ArgumentParser) -> None:
    """Add SLEAP's `--tracking.<option>` arguments (all default to None).

    The option table is the tracker's own (`Tracker.add_cli_parser_args`), so that
    every option of `make_tracker_by_name` is an option here.
    """
    from sleapish.nn.tracking import Tracker

    Tracker.add_cli_parser_args(parser.add_argument_group("tracking"), arg_scope="tracking")


def tracking_option_names() -> List[str]:
    """Names of the `--tracking.*` options, in SLEAP's order."""
    from sleapish.nn.tracking import Tracker

    return [opt["name"] for opt in Tracker.get_by_name_factory_options()]


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of `sleapish-track` (SLEAP's `_make_cli_parser`).

    Returns:
        An `argparse.ArgumentParser`. Dotted options keep their dots in the
        namespace (`getattr(args, "video.index")`), as in SLEAP.
    """
    p = argparse.ArgumentParser(prog="sleapish-track", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_path", nargs="*", default=[],
                   help="video, labels .slp file, folder of videos, or .csv/.txt list "
                        "of inputs (several may be given)")
    p.add_argument("-m", "--model", dest="models", action="append", default=None,
                   metavar="MODEL",
                   help="trained model folder (with training_config.json); repeat for "
                        "a centroid + centered-instance pair; an exported model "
                        "folder (sleapish-export) also works. Without a model, a "
                        "predictions .slp is retracked with --tracking.tracker")
    p.add_argument("--exported", dest="models", action="append", metavar="EXPORT_DIR",
                   help="an exported model folder (from sleapish-export) to predict "
                        "with instead of trained model folders")
    p.add_argument("--frames", type=str, default="",
                   help="frames of a video to predict: '0-99', '1,2,3' or '0-9,20' "
                        "(default: all)")
    p.add_argument("--video-paths", default="", metavar="FOLDERS",
                   help=".slp input: comma-separated folders searched for videos that "
                        "moved (default: none; the labels file's folder is always "
                        "searched)")
    p.add_argument("--only-labeled-frames", action="store_true", default=False,
                   help=".slp input: predict only the frames with user instances (to "
                        "compare with the ground truth)")
    p.add_argument("--only-suggested-frames", action="store_true", default=False,
                   help=".slp input: predict only the suggested frames that have no "
                        "user instances")
    p.add_argument("-o", "--output", type=str, default=None,
                   help="output .slp (default: the input with suffix .predictions.slp); "
                        "a folder when there are several inputs")
    p.add_argument("--no-empty-frames", action="store_true", default=False,
                   help="drop frames without predicted instances from the output")
    p.add_argument("--verbosity", type=str, choices=["none", "rich", "json"],
                   default="rich",
                   help="progress: 'rich' a progress bar, 'json' JSON lines (for "
                        "programs), 'none' nothing (default: rich)")
    p.add_argument("--video.dataset", type=str, default=None,
                   help="dataset of an HDF5 video")
    p.add_argument("--video.input_format", type=str, default="channels_last",
                   help="channel layout of an HDF5 video: channels_last or "
                        "channels_first (default: channels_last)")
    p.add_argument("--video.index", type=str, default="",
                   help=".slp input: index of the video in the labels to predict on "
                        "(with --frames), instead of its labeled frames")
    dev = p.add_mutually_exclusive_group(required=False)
    dev.add_argument("--cpu", action="store_true", help="run on the CPU only")
    dev.add_argument("--first-gpu", action="store_true", help="run on the first GPU")
    dev.add_argument("--last-gpu", action="store_true", help="run on the last GPU")
    dev.add_argument("--gpu", type=str, default="auto",
                     help="index of the GPU to run on, or 'auto': the GPU with the most "
                          "free memory (default: auto)")
    p.add_argument("--max_edge_length_ratio", type=float, default=0.25,
                   help="bottom-up: longest expected edge as a fraction of the image "
                        "size; longer connections are penalized (default: 0.25)")
    p.add_argument("--dist_penalty_weight", type=float, default=1.0,
                   help="bottom-up: weight of that length penalty; above 1 is stricter "
                        "(default: 1.0)")
    p.add_argument("--batch_size", type=int, default=4,
                   help="frames per batch: larger is faster but needs more memory "
                        "(default: 4)")
    p.add_argument("--open-in-gui", action="store_true",
                   help="open the predictions in SLEAP's sleap-label when done (if "
                        "installed)")
    p.add_argument("--peak_threshold", type=float, default=0.2,
                   help="minimum confidence map value of a peak (default: 0.2)")
    p.add_argument("-n", "--max_instances", type=int, default=None,
                   help="at most this many instances per frame (multi-instance models; "
                        "not identity models)")
    p.add_argument("--resume", action="store_true", default=False,
                   help="checkpoint progress next to each output (<output>.resume) and "
                        "continue from an earlier run's checkpoint after a kill "
                        "(default: off)")
    p.add_argument("--checkpoint-frames", dest="checkpoint_frames", type=int,
                   default=200,
                   help="with --resume: checkpoint every this many frames (default: 200)")
    p.add_argument("--checkpoint-seconds", dest="checkpoint_seconds", type=float,
                   default=60.0,
                   help="with --resume: ... or every this many seconds (default: 60)")
    p.add_argument("--overwrite", action="store_true", default=False,
                   help="start over where an unfinished run left a checkpoint "
                        "(default: refuse); with --cluster: redo outputs that are "
                        "already complete (default: skip them)")
    p.add_argument("--keep-outside-points", dest="keep_outside_points",
                   action="store_true", default=False,
                   help="keep points that peak refinement moved outside the image, as "
                        "SLEAP does (default: they become invisible)")
    p.add_argument("--strict-frames", dest="strict_frames", action="store_true",
                   default=False,
                   help="stop at a video frame that does not decode (default: skip it "
                        "with a warning and list it in the output's provenance)")
    p.add_argument("--refinement", choices=["integral", "local", "none"],
                   default="integral",
                   help="sub-pixel peak refinement; an offset head overrides it "
                        "(sleapish; SLEAP always uses integral)")
    p.add_argument("--backend", choices=list(BACKENDS), default="tensorflow",
                   help="runtime of the networks on CPU: tensorflow (default: the whole "
                        "model is one graph), onnxruntime (needs sleapish[export]) or "
                        "openvino (needs sleapish[openvino]); see docs/benchmarks.md "
                        "for when they pay off (sleapish)")
    p.add_argument("--backend-threads", dest="backend_threads", type=int, default=None,
                   help="with --backend onnxruntime/openvino: threads of its pool "
                        "(default: all cores)")
    # SLEAP's deprecated options: parsed for old command lines, hidden from --help.
    hidden = argparse.SUPPRESS
    p.add_argument("--labels", type=str, default=hidden, help=hidden)
    for scope in ("single", "topdown", "bottomup"):
        p.add_argument(f"--{scope}.peak_threshold", type=float, default=hidden,
                       help=hidden)
    for scope in ("single", "topdown", "bottomup"):
        p.add_argument(f"--{scope}.batch_size", type=int, default=hidden, help=hidden)
    add_tracking_args(p)
    _add_cluster_args(p.add_argument_group(
        "cluster (sleapish; needs sleapish[cluster]: Ray)"))
    return state_defaults(add_debug_flag(p))



def _add_cluster_args(g) -> None:
    """`--cluster` and its options (see :mod:`sleapish.nn.inference.cluster`)."""
    g.add_argument("--cluster", nargs="?", const="local", default=None,
                   metavar="ADDRESS",
                   help="predict the videos on Ray workers: 'local' (default when given "
                        "without a value: start a local Ray instance), 'auto' (join a "
                        "running cluster) or ray://HOST:PORT; outputs are written as each "
                        "video finishes, complete ones are skipped on a rerun")
    g.add_argument("--workers", type=int, default=None,
                   help="worker actors (default: one per GPU, else one per 2 CPUs)")
    g.add_argument("--gpus-per-worker", dest="gpus_per_worker", type=float, default=None,
                   help="GPUs per worker (default: 1 on a GPU cluster, else 0)")
    g.add_argument("--retries", type=int, default=2,
                   help="retries of a video that fails or whose worker dies, on another "
                        "worker (default: 2)")
    g.add_argument("--split-frames", dest="split_frames", type=int, default=None,
                   help="cut videos longer than this many frames into chunks predicted "
                        "on different workers, then track on the driver (default: off)")


def tracking_options(args) -> Dict[str, Any]:
    """The `--tracking.*` options that were given (not None), without the prefix."""
    return {name: getattr(args, f"tracking.{name}") for name in tracking_option_names()
            if getattr(args, f"tracking.{name}", None) is not None}


def make_tracker_from_args(args, warn: bool = True):
    """The tracker the `--tracking.*` options describe (SLEAP's `_make_tracker_from_cli`).

    As in SLEAP, any `--tracking.*` option makes a tracker; without
    `--tracking.tracker` it is `make_tracker_by_name`'s default, "flow" (a warning
    says so).

    Args:
        args: Parsed `sleapish-track` arguments.
        warn: Log that warning.

    Returns:
        A `Tracker`, or None when no tracking option was given.

    Raises:
        ValueError: For unknown tracker, similarity or matching names, or Kalman
            options without a target instance count.
    """
    opts = tracking_options(args)
    if not opts:
        return None
    if "tracker" not in opts and warn:
        logger.warning("--tracking.* options were given without --tracking.tracker: "
                       "tracking with the default tracker, flow (as SLEAP does).")
    from sleapish.nn.tracking import Tracker

    return Tracker.make_tracker_by_name(**opts)


def _legacy(args, option: str, current):
    """The last given of the hidden `--{single,topdown,bottomup}.<option>`."""
    for scope in ("single", "topdown", "bottomup"):
        val = getattr(args, f"{scope}.{option}", None)
        if val is not None:
            current = val
    return current


def make_predictor_from_args(args):
    """Load the models of `-m/--model` (SLEAP's `_make_predictor_from_cli`).

    Uses `--peak_threshold`, `--batch_size` (or their hidden per-model forms),
    `--max_instances`, `--verbosity`, `--refinement`, `--backend`,
    `--backend-threads` and, for bottom-up models,
    `--max_edge_length_ratio` and `--dist_penalty_weight`.

    Returns:
        A `Predictor`.

    Raises:
        ValueError: If no model is given or the models make no predictor.
        ModelFolderError: For a missing or incomplete model folder.
    """
    from sleapish.nn.inference.loading_api import load_model

    models = getattr(args, "models", None)
    if not models:
        raise InvalidValueError("No model given: pass -m/--model MODEL_FOLDER. Received: "
                                f"{models!r}")
    refinement = getattr(args, "refinement", "integral")
    predictor = load_model(
        list(models), peak_threshold=_legacy(args, "peak_threshold", args.peak_threshold),
        batch_size=int(_legacy(args, "batch_size", args.batch_size)),
        refinement=None if refinement == "none" else refinement,
        progress_reporting=args.verbosity, max_instances=args.max_instances,
        backend=getattr(args, "backend", "tensorflow"),
        backend_threads=getattr(args, "backend_threads", None))
    predictor.strict_frames = bool(getattr(args, "strict_frames", False))
    predictor.keep_outside_points = bool(getattr(args, "keep_outside_points", False))
    if type(predictor).__name__ == "BottomUpPredictor" and \
            predictor.bottomup_model is not None:  # not an exported model
        predictor.max_edge_length_ratio = args.max_edge_length_ratio
        predictor.dist_penalty_weight = args.dist_penalty_weight
        predictor._initialize_inference_model()
    return predictor


def _auto_gpu(n_gpus: int) -> int:
    """The GPU with the most free memory (nvidia-smi), or 0."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.free",
                              "--format=csv,noheader,nounits"], capture_output=True,
                             text=True, timeout=10, check=True).stdout
        free = [int(x) for x in out.split()]
    except (OSError, ValueError, subprocess.SubprocessError):
        free = []
    if len(free) != n_gpus or not free:
        logger.info("Could not query free GPU memory; using the first GPU.")
        return 0
    best = max(range(n_gpus), key=lambda i: free[i])
    logger.info("Auto-selected GPU %d with %d MiB free.", best, free[best])
    return best


def select_devices(args) -> None:
    """Make only the devices that `--cpu` / `--first-gpu` / `--last-gpu` / `--gpu`
    choose visible to TensorFlow, with memory growth on (SLEAP disables
    preallocation too).

    Raises:
        ValueError: For a `--gpu` that is not an index of an available GPU.
    """
    from sleapish.nn._backend import enable_memory_growth, tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return
    if getattr(args, "cpu", False):
        visible = []
    elif getattr(args, "first_gpu", False):
        visible = gpus[:1]
    elif getattr(args, "last_gpu", False):
        visible = gpus[-1:]
    else:
        choice = str(getattr(args, "gpu", "auto"))
        if choice == "auto":
            idx = _auto_gpu(len(gpus))
        else:
            try:
                idx = int(choice)
                gpus[idx]
            except (ValueError, IndexError):
                raise InvalidValueError(f"--gpu must be 'auto' or the index of one of the "
                                        f"{len(gpus)} GPUs. Received: {choice!r}") from None
        visible = [gpus[idx]]
    try:
        tf.config.set_visible_devices(visible, "GPU")
        enable_memory_growth(visible)
    except RuntimeError:  # TensorFlow already set up its devices in this process
        logger.warning("Devices are already initialized; --cpu/--gpu have no effect in "
                       "this process.")

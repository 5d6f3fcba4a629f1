"""`sleapish-track`: predict and track instances in a video, or retrack predictions.

Usage:
    sleapish-track VIDEO.mp4 -m MODEL_DIR [-m MODEL_DIR] [-o OUT.slp] [--frames 0-99]
    sleapish-track VIDEO.mp4 -m MODEL_DIR --tracking.tracker flow
    sleapish-track LABELS.slp -m MODEL_DIR --only-labeled-frames
    sleapish-track PREDICTIONS.slp --tracking.tracker simple   # retrack
    python -m sleapish.nn.inference VIDEOS_FOLDER/ -m MODEL_DIR

The output (default `<input>.predictions.slp`) is written to a temporary file and
renamed into place, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence


def parse_frames(text: Optional[str], n_frames: int) -> Optional[List[int]]:
    """Parse "0-10,15,20-22" (inclusive ranges) into sorted unique indices.

    Raises:
        ValueError: For malformed text or indices outside `[0, n_frames)`.
    """
    if not text:
        return None
    out = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                a, b = part.split("-", 1)
                out.update(range(int(a), int(b) + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise ValueError(f"--frames must look like '0-10,15'. Received: {text!r}") from None
    bad = sorted(i for i in out if not 0 <= i < n_frames)
    if bad:
        raise ValueError(f"--frames out of range for a video of {n_frames} frames. "
                         f"Received: {bad[:5]}")
    return sorted(out)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser (SLEAP's `sleap-track` options that apply)."""
    p = argparse.ArgumentParser(prog="sleapish-track", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_path", nargs="+",
                   help="video file(s), .slp labels file(s) or a folder of videos")
    p.add_argument("-m", "--model", action="append", default=None,
                   help="model folder (repeat for centroid + centered instance); without "
                        "it, a predictions .slp is retracked with --tracking.tracker")
    p.add_argument("-o", "--output", help="output .slp (default: <input>.predictions.slp)")
    p.add_argument("--frames", help="frame indices, e.g. '0-99,150'")
    p.add_argument("--only-labeled-frames", action="store_true",
                   help="for a .slp input: predict only its labeled frames")
    p.add_argument("--only-suggested-frames", action="store_true",
                   help="for a .slp input: predict only its suggested frames")
    p.add_argument("--no-empty-frames", action="store_true",
                   help="drop frames without predicted instances from the output")
    p.add_argument("--batch_size", type=int, default=4)
    p.add_argument("--peak_threshold", type=float, default=0.2)
    p.add_argument("--max_instances", type=int, default=None)
    p.add_argument("--refinement", choices=["integral", "local", "none"],
                   default="integral")
    p.add_argument("--max_edge_length_ratio", type=float, default=0.25,
                   help="bottom-up: max edge length as a fraction of the image size")
    p.add_argument("--dist_penalty_weight", type=float, default=1.0,
                   help="bottom-up: weight of the edge length penalty")
    p.add_argument("--verbosity", choices=["rich", "json", "none"], default="rich")
    p.add_argument("--cpu", action="store_true", help="run on the CPU only")
    p.add_argument("--gpu", default=None, help="GPU index to use (sets CUDA_VISIBLE_DEVICES)")
    add_tracking_args(p)
    return p


def _flag(text: str) -> bool:
    t = str(text).strip().lower()
    if t in ("1", "true", "yes", "y", "on"):
        return True
    if t in ("0", "false", "no", "n", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected 0/1 or true/false. Received: {text!r}")


def _int_list(text: str):
    return [int(x.strip()) for x in text.split(",")] if text else None


def _float_list(text: str):
    return [float(x.strip()) for x in text.split(",")] if text else None


# SLEAP 1.4.1's `--tracking.*` options: (name, type, help); defaults are those of
# `make_tracker_by_name` (an option not given is not passed).
TRACKING_OPTIONS = [
    ("tracker", str, "simple, flow, simplemaxtracks, flowmaxtracks or none (default: none)"),
    ("max_tracking", _flag, "cap the number of tracks at max_tracks (default: 0)"),
    ("max_tracks", int, "maximum number of tracks (default: none)"),
    ("target_instance_count", int, "target instances per frame (default: 0)"),
    ("pre_cull_to_target", _flag, "cull instances over the target count before tracking "
                                  "(default: 0)"),
    ("pre_cull_iou_threshold", float, "IoU threshold for pre-culling overlapping "
                                      "instances (default: none)"),
    ("post_connect_single_breaks", _flag, "connect single track breaks after tracking "
                                          "(needs target_instance_count; default: 0)"),
    ("clean_instance_count", int, "instances per frame to keep when cleaning *after* "
                                  "tracking (deprecated; default: 0)"),
    ("clean_iou_threshold", float, "IoU threshold of that cleaning (default: none)"),
    ("similarity", str, "instance, normalized_instance, centroid, iou or object_keypoint "
                        "(default: instance)"),
    ("match", str, "greedy or hungarian (default: greedy)"),
    ("robust", float, "quantile of a track's similarities; 1 = max (default: 1)"),
    ("track_window", int, "frames to look back for matches (default: 5)"),
    ("min_new_track_points", int, "minimum points to spawn a track (default: 0)"),
    ("min_match_points", int, "minimum points of match candidates (default: 0)"),
    ("img_scale", float, "optical flow: image scale (default: 1.0)"),
    ("of_window_size", int, "optical flow: window size per pyramid level (default: 21)"),
    ("of_max_levels", int, "optical flow: pyramid levels (default: 3)"),
    ("save_shifted_instances", _flag, "optical flow: chain shifts through saved shifted "
                                      "instances (default: 0)"),
    ("kf_node_indices", _int_list, "Kalman filter: node indices, e.g. '0,1'"),
    ("kf_init_frame_count", int, "Kalman filter: frames to initialise; 0 = off (default: 0)"),
    ("oks_errors", _float_list, "object keypoint similarity: per-node error in pixels "
                                "(default: 1)"),
    ("oks_score_weighting", _flag, "object keypoint similarity: weight by point scores "
                                   "(default: 0)"),
    ("oks_normalization", str, "object keypoint similarity: all, ref or union "
                               "(default: all)"),
]


def add_tracking_args(parser: argparse.ArgumentParser) -> None:
    """Add SLEAP's `--tracking.<option>` arguments (all default to None)."""
    group = parser.add_argument_group("tracking")
    for name, typ, help_text in TRACKING_OPTIONS:
        group.add_argument(f"--tracking.{name}", dest=f"tracking.{name}", type=typ,
                           default=None, help=help_text)


def make_tracker_from_args(args):
    """The tracker the `--tracking.*` options describe, or None without a tracker."""
    opts = {name: getattr(args, f"tracking.{name}") for name, _, _ in TRACKING_OPTIONS}
    if opts["tracker"] is None:
        return None
    from sleapish.nn.tracking import make_tracker_by_name

    return make_tracker_by_name(**{k: v for k, v in opts.items() if v is not None})


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `sleapish-track`; returns an exit code (errors print one clear line)."""
    args = make_parser().parse_args(argv)
    import os

    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    elif args.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(args.gpu)
    try:
        return _run(args)
    except (FileNotFoundError, ValueError, TypeError, RuntimeError,
            NotImplementedError) as e:
        print(f"sleapish-track: error: {e}", file=sys.stderr)
        return 2


VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".mj2", ".h5", ".hdf5")


def _inputs(paths) -> List[Path]:
    """Expand folders into their video files; check every input exists."""
    out = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"Input not found. Received: {str(raw)!r}")
        if path.is_dir():
            vids = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
            if not vids:
                raise FileNotFoundError(f"No videos in folder {path}. Received: {raw!r}")
            out.extend(vids)
        else:
            out.append(path)
    return out


def _provider(args, data_path: Path):
    import sleapish
    from sleapish.nn.data.providers import LabelsReader, VideoReader

    if data_path.suffix.lower() != ".slp":
        video = sleapish.load_video(data_path)
        return VideoReader(video, parse_frames(args.frames, len(video)))
    labels = sleapish.load_file(data_path)
    if args.only_labeled_frames:
        return LabelsReader(labels, user_instances_only=True, include_empty=True)
    if args.only_suggested_frames:
        inds = sorted({int(s.frame_idx) for s in labels.suggestions
                       if s.video is labels.video})
        if not inds:
            raise ValueError(f"{data_path} has no suggested frames. Received: 0")
        return VideoReader(labels.video, inds)
    return VideoReader(labels.video, parse_frames(args.frames, len(labels.video)))


def _run(args) -> int:
    import platform

    import sleapish
    from sleapish.nn.inference.loading_api import load_model

    inputs = _inputs(args.data_path)
    if args.output and len(inputs) > 1:
        raise ValueError("-o/--output takes a single input. Received: "
                         f"{len(inputs)} inputs")
    tracker = make_tracker_from_args(args)
    if not args.model:
        if tracker is None:
            raise ValueError("Neither a model (-m) nor a tracker (--tracking.tracker) was "
                             "given: pass -m to predict, or --tracking.tracker to retrack "
                             f"predictions. Received: {[str(p) for p in inputs]}")
        return _retrack(args, inputs, tracker)
    outputs = [Path(args.output) if args.output else
               p.with_name(p.name + ".predictions.slp") for p in inputs]
    for out in outputs:
        if not out.parent.is_dir():
            raise FileNotFoundError(f"Output folder does not exist. Received: {str(out)!r}")
    predictor = load_model(args.model, batch_size=args.batch_size,
                           peak_threshold=args.peak_threshold,
                           refinement=None if args.refinement == "none" else args.refinement,
                           max_instances=args.max_instances,
                           progress_reporting=args.verbosity)
    predictor.tracker = tracker
    layer = getattr(predictor.inference_model, "inference_layer", None)
    if layer is not None and hasattr(layer, "paf_scorer"):
        layer.paf_scorer.max_edge_length_ratio = args.max_edge_length_ratio
        layer.paf_scorer.dist_penalty_weight = args.dist_penalty_weight
    for data_path, output in zip(inputs, outputs):
        provider = _provider(args, data_path)
        t0 = time.perf_counter()
        result = predictor.predict(provider)
        elapsed = time.perf_counter() - t0
        if args.no_empty_frames:
            result.labeled_frames = [lf for lf in result.labeled_frames if lf.instances]
        result.provenance.update({
            "model_paths": [str(m) for m in args.model], "data_path": str(data_path),
            "args": {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
                     for k, v in vars(args).items()},
            "total_elapsed": round(elapsed, 3),
            "fps": round(len(result) / elapsed, 3) if elapsed else None,
            "sleapish_version": sleapish.__version__,
            "sleap_compat_version": sleapish.SLEAP_COMPAT_VERSION,
            "platform": platform.platform(), "python_version": platform.python_version()})
        sleapish.save_file(result, output)
        n_inst = sum(len(lf.instances) for lf in result)
        if args.verbosity != "none":
            print(f"Predicted {len(result)} frames ({n_inst} instances) in "
                  f"{elapsed:.1f} s -> {output}")
    return 0


def _retrack(args, inputs: List[Path], tracker) -> int:
    """Track existing predictions again; writes `<input>.<tracker name>.slp`.

    The tracker name is SLEAP's `Tracker.get_name()`, e.g.
    `FlowCandidateMaker.instance_similarity.greedy_matching`. As in SLEAP 1.4.1, every
    frame of the file is retracked (`--frames` does not apply).
    """
    import platform

    import sleapish
    from sleapish.nn.tracking import retrack

    if len(inputs) != 1 or inputs[0].suffix.lower() != ".slp":
        raise ValueError("Retracking (no -m) takes one predictions .slp file. Received: "
                         f"{[str(p) for p in inputs]}")
    data_path = inputs[0]
    output = (Path(args.output) if args.output
              else data_path.with_name(f"{data_path.name}.{tracker.get_name()}.slp"))
    if not output.parent.is_dir():
        raise FileNotFoundError(f"Output folder does not exist. Received: {str(output)!r}")
    try:
        labels = sleapish.load_file(data_path)
    except FileNotFoundError:
        if tracker.uses_image:  # optical flow needs the frames
            raise
        labels = sleapish.load_file(data_path, open_videos=False)
    t0 = time.perf_counter()
    result = retrack(labels, tracker, progress=args.verbosity == "rich")
    elapsed = time.perf_counter() - t0
    if args.no_empty_frames:
        result.labeled_frames = [lf for lf in result.labeled_frames if lf.instances]
    result.provenance.update({
        "data_path": str(data_path), "output_path": str(output), "tracker": tracker.get_name(),
        "args": {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
                 for k, v in vars(args).items()},
        "total_elapsed": round(elapsed, 3), "sleapish_version": sleapish.__version__,
        "sleap_compat_version": sleapish.SLEAP_COMPAT_VERSION,
        "platform": platform.platform(), "python_version": platform.python_version()})
    sleapish.save_file(result, output)
    if args.verbosity != "none":
        print(f"Tracked {len(result)} frames ({len(result.tracks)} tracks) in "
              f"{elapsed:.1f} s -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`sleapish-track`: predict (and later track) instances in a video or labels file.

Usage:
    sleapish-track VIDEO.mp4 -m MODEL_DIR [-m MODEL_DIR] [-o OUT.slp] [--frames 0-99]
    sleapish-track LABELS.slp -m MODEL_DIR --only-labeled-frames
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
    p.add_argument("-m", "--model", action="append", required=True,
                   help="model folder (repeat for centroid + centered instance)")
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
    return p


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
    except (FileNotFoundError, ValueError, TypeError, RuntimeError) as e:
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


if __name__ == "__main__":
    sys.exit(main())

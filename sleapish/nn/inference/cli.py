"""`sleapish-track`: predict (and later track) instances in a video or labels file.

Usage:
    sleapish-track VIDEO.mp4 -m MODEL_DIR [-m MODEL_DIR] [-o OUT.slp] [--frames 0-99]
    sleapish-track LABELS.slp -m MODEL_DIR --only-labeled-frames

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
    p.add_argument("data_path", help="video file or .slp labels file")
    p.add_argument("-m", "--model", action="append", required=True,
                   help="model folder (repeat for centroid + centered instance)")
    p.add_argument("-o", "--output", help="output .slp (default: <input>.predictions.slp)")
    p.add_argument("--frames", help="frame indices, e.g. '0-99,150'")
    p.add_argument("--only-labeled-frames", action="store_true",
                   help="for a .slp input: predict only its labeled frames")
    p.add_argument("--no-empty-frames", action="store_true",
                   help="drop frames without predicted instances from the output")
    p.add_argument("--batch_size", type=int, default=4)
    p.add_argument("--peak_threshold", type=float, default=0.2)
    p.add_argument("--max_instances", type=int, default=None)
    p.add_argument("--refinement", choices=["integral", "local", "none"],
                   default="integral")
    p.add_argument("--verbosity", choices=["rich", "json", "none"], default="rich")
    p.add_argument("--cpu", action="store_true", help="run on the CPU only")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `sleapish-track`; returns an exit code (errors print one clear line)."""
    args = make_parser().parse_args(argv)
    if args.cpu:
        import os

        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    try:
        return _run(args)
    except (FileNotFoundError, ValueError, TypeError, RuntimeError) as e:
        print(f"sleapish-track: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    import sleapish
    from sleapish.nn.data.providers import LabelsReader, VideoReader
    from sleapish.nn.inference.loading_api import load_model

    data_path = Path(args.data_path)
    if not data_path.exists():
        raise FileNotFoundError(f"Input not found. Received: {str(data_path)!r}")
    output = Path(args.output) if args.output else data_path.with_name(
        data_path.name + ".predictions.slp")
    if not output.parent.is_dir():
        raise FileNotFoundError(f"Output folder does not exist. Received: {str(output)!r}")
    predictor = load_model(args.model, batch_size=args.batch_size,
                           peak_threshold=args.peak_threshold,
                           refinement=None if args.refinement == "none" else args.refinement,
                           max_instances=args.max_instances,
                           progress_reporting=args.verbosity)
    if data_path.suffix.lower() == ".slp":
        labels = sleapish.load_file(data_path)
        if args.only_labeled_frames:
            provider = LabelsReader(labels, user_instances_only=True, include_empty=True)
        else:
            provider = VideoReader(labels.video,
                                   parse_frames(args.frames, len(labels.video)))
    else:
        video = sleapish.load_video(data_path)
        provider = VideoReader(video, parse_frames(args.frames, len(video)))
    t0 = time.perf_counter()
    result = predictor.predict(provider)
    if args.no_empty_frames:
        result.labeled_frames = [lf for lf in result.labeled_frames if lf.instances]
    result.provenance["model_paths"] = [str(m) for m in args.model]
    result.provenance["sleapish_version"] = sleapish.__version__
    sleapish.save_file(result, output)
    n_inst = sum(len(lf.instances) for lf in result)
    if args.verbosity != "none":
        print(f"Predicted {len(result)} frames ({n_inst} instances) in "
              f"{time.perf_counter() - t0:.1f} s -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`sleapish-export`: SLEAP 1.4.1's `sleap-export` command line, with formats.

Usage::

    sleapish-export -m models/bottomup -e exported/bottomup
    sleapish-export -m models/centroid -m models/centered_instance -e exported/td -n 4
    sleapish-export -m models/bottomup -e exported/bu --format tflite --overwrite

The export folder holds a SavedModel of the whole model (frames in, instances out),
`frozen_graph.pb`, `info.json` and the training configs; predict with it using
`sleapish-track VIDEO --exported exported/bottomup`, or from plain TensorFlow with
`tf.saved_model.load`. See `docs/export.md`.
"""

from __future__ import annotations

import argparse
import os
from pprint import pprint
from typing import Optional, Sequence

from sleapish.errors import InputNotFoundError, InvalidValueError
from sleapish.nn.inference.export_common import FORMATS


def _make_export_cli_parser() -> argparse.ArgumentParser:
    """The argument parser of `sleapish-export` (SLEAP's options, then sleapish's)."""
    p = argparse.ArgumentParser(
        prog="sleapish-export",
        description="Export trained model folders as one graph (frames in, instances "
                    "out): SavedModel, frozen_graph.pb and info.json.")
    p.add_argument("-m", "--model", dest="models", action="append",
                   help="trained model folder (with training_config.json); repeat for "
                        "a centroid + centered-instance pair")
    p.add_argument("-e", "--export_path", type=str, nargs="?", default="exported_model",
                   help="output folder (default: exported_model)")
    p.add_argument("-r", "--ragged", action="store_true", default=False,
                   help="keep ragged outputs as flat values plus <name>_row_lengths "
                        "(default: NaN-padded dense outputs)")
    p.add_argument("-n", "--max_instances", type=int,
                   help="keep at most this many instances per frame and pad the "
                        "outputs to it (top-down and bottom-up; default: no limit)")
    p.add_argument("--format", choices=FORMATS, default="saved_model",
                   help="also write model.tflite or model.onnx next to the SavedModel "
                        "(default: saved_model only)")
    p.add_argument("--tflite-select-ops", dest="tflite_select_ops", action="store_true",
                   default=False,
                   help="with --format tflite: keep ops TFLite lacks as TensorFlow ops "
                        "(needs a TFLite runtime with the Flex delegate; default: "
                        "builtin ops only)")
    p.add_argument("--peak_threshold", type=float, default=0.2,
                   help="peak threshold baked into the export (default: 0.2)")
    p.add_argument("--refinement", choices=["integral", "local", "none"],
                   default="integral",
                   help="peak refinement baked into the export (default: integral)")
    p.add_argument("--model-name", dest="model_name", default=None,
                   help="name recorded in info.json (default: none)")
    p.add_argument("--overwrite", action="store_true", default=False,
                   help="replace an existing, non-empty export folder (default: refuse)")
    from sleapish.cli_errors import add_debug_flag
    from sleapish.cli_help import state_defaults

    return state_defaults(add_debug_flag(p))


def export_cli(args: Optional[Sequence[str]] = None) -> int:
    """Run `sleapish-export` (SLEAP's `sleap.nn.inference.export_cli`).

    Args:
        args: Arguments without the program name. None reads `sys.argv` and runs as
            the command: bad input prints one line and returns 2.

    Returns:
        0 on success, 2 for bad input when run as the command.

    Raises:
        ValueError, FileNotFoundError, FileExistsError: (when `args` is given) for a
            missing model folder, an export folder in the way, or a model the chosen
            format cannot hold.
    """
    parser = _make_export_cli_parser()
    ns, _ = parser.parse_known_args(args=None if args is None else
                                    [os.fspath(a) for a in args])
    if args is not None:
        print("Args:")
        pprint(vars(ns))
        print()
        return _run(ns, overwrite=None if not ns.overwrite else True)
    from sleapish.cli_errors import run_command

    return run_command("sleapish-export", lambda: _run(ns, overwrite=bool(ns.overwrite)),
                       debug=ns.debug)


def _run(ns, overwrite) -> int:
    if not ns.models:
        raise InvalidValueError("No model given: pass -m/--model MODEL_FOLDER. Received: none")
    for m in ns.models:
        if not os.path.exists(m):
            raise InputNotFoundError(f"Model folder not found: {m}")
    from sleapish.nn.inference.export import export_model

    path = export_model(ns.models, ns.export_path, unrag_outputs=not ns.ragged,
                        max_instances=ns.max_instances, format=ns.format,
                        model_name=ns.model_name, overwrite=overwrite,
                        tflite_select_ops=ns.tflite_select_ops,
                        peak_threshold=ns.peak_threshold,
                        refinement=None if ns.refinement == "none" else ns.refinement)
    print(f"Exported {', '.join(ns.models)} to {path} ({ns.format}).")
    return 0


def main() -> int:
    """Console entry point of `sleapish-export`."""
    return export_cli(None)


__all__ = ["export_cli", "_make_export_cli_parser", "main"]

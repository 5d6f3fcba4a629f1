"""SLEAP 1.4.1's tracker option table (`Tracker.get_by_name_factory_options`).

Each option is a dict with `name`, `default` (as SLEAP lists it, for help texts),
`type` (the argparse converter), optional `options` (allowed values) and `help`.
`add_cli_parser_args` adds them to a parser as `--[scope.]name`, every default None,
so that only the options given reach `make_tracker_by_name` (as in `sleap-track`).

SLEAP declares `max_tracking` with `type=bool`, for which argparse turns any
non-empty string (even "0") into True; here "0"/"false"/"no" mean False.
"""

from __future__ import annotations

from typing import List, Optional

from sleapish.nn.tracking.candidates import tracker_policies
from sleapish.nn.tracking.matching import match_policies
from sleapish.nn.tracking.similarity import similarity_policies


def _flag(s: str) -> bool:
    """`1/0`, `true/false`, `yes/no` -> bool."""
    return str(s).strip().lower() not in ("0", "false", "no", "off", "")


def _int_list(s: str) -> Optional[List[int]]:
    """`"0, 2"` -> `[0, 2]`; empty -> None."""
    return [int(x.strip()) for x in s.split(",")] if s else None


def _float_list(s: str) -> Optional[List[float]]:
    """`"1.5, 2"` -> `[1.5, 2.0]`; empty -> None."""
    return [float(x.strip()) for x in s.split(",")] if s else None


# (name, default as SLEAP lists it, converter, allowed values or None, help)
_OPTIONS = [
    ("tracker", "None", str, list(tracker_policies) + ["None"], "Candidate maker."),
    ("max_tracking", False, _flag, None,
     "Cap the number of tracks at max_tracks (off when max_tracks is unset or 0)."),
    ("max_tracks", None, int, None, "Maximum number of tracks."),
    ("target_instance_count", 0, int, None, "Target number of instances per frame."),
    ("pre_cull_to_target", 0, int, None,
     "If non-zero (and target_instance_count is), cull each frame to the target "
     "count before tracking."),
    ("pre_cull_iou_threshold", 0, float, None,
     "If non-zero (and pre_cull_to_target is), first drop overlapping instances "
     "above this overlap."),
    ("post_connect_single_breaks", 0, int, None,
     "If non-zero (and target_instance_count is), join a lost track to the one "
     "track spawned in its place."),
    ("clean_instance_count", 0, int, None,
     "Target instances per frame for cleaning after tracking (deprecated)."),
    ("clean_iou_threshold", 0, float, None, "Overlap threshold of that cleaning."),
    ("similarity", "instance", str, list(similarity_policies), "Similarity function."),
    ("match", "greedy", str, list(match_policies), "Matching function."),
    ("robust", 1, float, None,
     "Quantile of a track's candidate similarities used for matching; 1 = maximum."),
    ("track_window", 5, int, None, "Frames to look back for candidates."),
    ("min_new_track_points", 0, int, None, "Minimum visible points to spawn a track."),
    ("min_match_points", 0, int, None, "Minimum visible points of a candidate."),
    ("img_scale", 1.0, float, None, "Optical flow: image scale."),
    ("of_window_size", 21, int, None, "Optical flow: window size per pyramid level."),
    ("of_max_levels", 3, int, None, "Optical flow: number of pyramid levels."),
    ("save_shifted_instances", 0, int, None,
     "If non-zero (flow tracker), shift from the latest saved shift of a frame."),
    ("kf_node_indices", "", _int_list, None, "Kalman filter: node indices to follow."),
    ("kf_init_frame_count", "0", int, None,
     "Kalman filter: frames tracked by the regular tracker to initialise; 0 = off."),
    ("oks_errors", "1", _float_list, None,
     "Object keypoint similarity: per-node standard error in pixels (one value for "
     "all nodes, or one per node)."),
    ("oks_score_weighting", "0", int, None,
     "Object keypoint similarity: if 1, weight each node by both point scores."),
    ("oks_normalization", "all", str, ["all", "ref", "union"],
     "Object keypoint similarity: divide by all nodes, the reference's visible "
     "nodes, or nodes visible in both."),
]


def get_by_name_factory_options() -> List[dict]:
    """The option table, in SLEAP's order.

    Returns:
        A list of dicts with keys `name`, `default`, `type`, `help` and, for
        options with a fixed set of values, `options`.
    """
    out = []
    for name, default, typ, choices, help_text in _OPTIONS:
        opt = dict(name=name, default=default, type=typ, help=help_text)
        if choices is not None:
            opt["options"] = list(choices)
        out.append(opt)
    return out


def add_cli_parser_args(parser, arg_scope: str = "") -> None:
    """Add `--[arg_scope.]<name>` arguments (default None) to an argparse parser.

    Args:
        parser: An `argparse.ArgumentParser` (or argument group).
        arg_scope: Prefix such as "tracking" (`--tracking.tracker`), or "".
    """
    for opt in get_by_name_factory_options():
        help_text = opt["help"]
        if opt.get("options"):
            help_text += " Options: " + ", ".join(opt["options"])
        help_text += f" (default: {opt['default']})"
        name = f"{arg_scope}.{opt['name']}" if arg_scope else opt["name"]
        parser.add_argument(f"--{name}", type=opt["type"], help=help_text)


__all__ = ["add_cli_parser_args", "get_by_name_factory_options"]

"""Tracking benchmark: speed (frames/s) and identity quality on real flies.

Retracks SLEAP's `clip.predictions.slp` (1500 frames, 2 flies, on the 1024x1024
`clip.mp4`) with each tracker and compares to the ground-truth tracks of
`clip.2node.slp` (the same 2 nodes as the predictions)
(female/male): predicted instances are paired with ground-truth instances per frame
(Hungarian on node-median distance), each predicted track is mapped to the ground-truth
track it most often covers, and we count identity switches (a ground-truth animal
changing predicted track between consecutive frames where it is paired) and the
fraction of paired instances whose track maps to the right animal.

Usage: `python benchmarks/bench_tracking.py [--frames N]`; writes
`benchmarks/reports/tracking.md`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sleapish.nn.tracking.metrics import track_identity_metrics

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"

TRACKERS = [
    ("simple", dict(tracker="simple")),
    ("simple, hungarian", dict(tracker="simple", match="hungarian")),
    ("simple, iou + hungarian", dict(tracker="simple", similarity="iou", match="hungarian")),
    ("simplemaxtracks, 2", dict(tracker="simple", max_tracking=True, max_tracks=2)),
    ("flow", dict(tracker="flow")),
    ("flow, hungarian, cull 2 + connect", dict(
        tracker="flow", match="hungarian", target_instance_count=2, pre_cull_to_target=True,
        post_connect_single_breaks=True)),
    ("kalman (simple init, 2 nodes)", dict(
        tracker="simple", match="hungarian", target_instance_count=2,
        kf_init_frame_count=10, kf_node_indices=[0, 1])),
]


def identity_scores(pred_frames, gt_by_idx):
    """(identity switches, fraction of paired instances on the right track, pairs)."""
    m = track_identity_metrics(list(gt_by_idx.values()), list(pred_frames))
    return m["identity_switches"], m["right_identity"], m["n_pairs"]


def _multiclass_model_row(gt_by_idx):
    """Identity from SLEAP's bottom-up multi-class model run by sleapish on clip.mp4
    (identity by class, no tracker); frames/s is end-to-end prediction."""
    import sleapish
    from sleapish.nn.data.providers import VideoReader

    predictor = sleapish.load_model(
        str(SHARED / "models" / "min_tracks_2node.UNet.bottomup_multiclass"),
        progress_reporting="none")
    video = sleapish.load_video(SHARED / "videos" / "clip.mp4")
    t0 = time.perf_counter()
    out = predictor.predict(VideoReader(video))
    elapsed = time.perf_counter() - t0
    sw, frac, n = identity_scores(out.labeled_frames, gt_by_idx)
    return ("bottom-up multi-class model predictions (sleapish, identity = class)",
            len(out), len(out.tracks), sw, frac, n, len(out) / elapsed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=None, help="first N frames only")
    args = ap.parse_args(argv)
    import sleapish
    from sleapish.nn.tracking import make_tracker_by_name, retrack

    gt = sleapish.load_file(SHARED / "labels" / "clip.2node.slp",
                            search_paths=[SHARED / "videos"])
    gt_by_idx = {lf.frame_idx: lf for lf in gt}
    own = sleapish.load_file(SHARED / "labels" / "clip.predictions.slp",
                             search_paths=[SHARED / "videos"])
    ref = identity_scores(sorted(own.labeled_frames, key=lambda lf: lf.frame_idx), gt_by_idx)
    rows = []
    for name, opts in TRACKERS:
        labels = sleapish.load_file(SHARED / "labels" / "clip.predictions.slp",
                                    search_paths=[SHARED / "videos"])
        if args.frames:
            labels.labeled_frames = sorted(labels.labeled_frames,
                                           key=lambda lf: lf.frame_idx)[:args.frames]
        tracker = make_tracker_by_name(**opts)
        t0 = time.perf_counter()
        out = retrack(labels, tracker)
        elapsed = time.perf_counter() - t0
        sw, frac, n = identity_scores(out.labeled_frames, gt_by_idx)
        rows.append((name, len(out), len(out.tracks), sw, frac, n, len(out) / elapsed))
        print(rows[-1], flush=True)
    if not args.frames:
        rows.append(_multiclass_model_row(gt_by_idx))
        print(rows[-1], flush=True)
    lines = ["# Tracking benchmark", "",
             "SLEAP's `clip.predictions.slp` retracked, compared to `clip.2node.slp` ground "
             "truth (2 flies). Frames/s include decoding the 1024x1024 video for flow. "
             f"Reference: the file's own multi-class identities score {ref[0]} switches, "
             f"{ref[1]:.3f} right.", "",
             "| tracker | frames | tracks | identity switches | right identity | paired "
             "instances | frames/s |", "|---|---|---|---|---|---|---|"]
    for name, nf, nt, sw, frac, n, fps in rows:
        lines.append(f"| {name} | {nf} | {nt} | {sw} | {frac:.3f} | {n} | {fps:.0f} |")
    from sleapish.io.files import atomic_write_text

    out_path = REPO / "benchmarks" / "reports" / "tracking.md"
    atomic_write_text(out_path, "\n".join(lines) + "\n")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How well tracks follow the true identities (against ground-truth tracks).

Predicted instances are paired with ground-truth instances frame by frame (Hungarian
matching on centroid distance); each predicted track is then assigned the true
identity it covers most often. Reported: identity switches (a true animal's
predicted track changes from one paired frame to the next) and the fraction of
pairs whose predicted track carries the right identity.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict

import numpy as np


def _centroids(lf) -> np.ndarray:
    pts = [inst.numpy() for inst in lf.instances]
    out = np.full((len(pts), 2), np.nan)
    for i, p in enumerate(pts):
        if np.isfinite(p).any():
            out[i] = np.nanmedian(p, axis=0)
    return out


def track_identity_metrics(labels_gt, labels_pr, max_dist: float = 50.0) -> Dict[str, float]:
    """Identity switches and correct-identity fraction of predicted tracks.

    Args:
        labels_gt: `sleap_io.Labels` with ground-truth tracks.
        labels_pr: `sleap_io.Labels` with predicted tracks (same video frames).
        max_dist: Pairs farther apart than this (pixels, centroid to centroid) are
            not paired.

    Returns:
        Dict with `"identity_switches"` (int), `"right_identity"` (fraction in
        [0, 1], NaN without pairs), `"n_pairs"` (int) and `"n_tracks"` (number of
        predicted tracks).
    """
    from scipy.optimize import linear_sum_assignment

    gt_by_frame = {(lf.video.filename, lf.frame_idx): lf for lf in labels_gt}
    gt_by_idx = {lf.frame_idx: lf for lf in labels_gt}
    pairs = []  # (frame_idx, true identity, predicted track id)
    for lf in labels_pr:
        gt = gt_by_frame.get((lf.video.filename, lf.frame_idx)) or gt_by_idx.get(
            lf.frame_idx)
        if gt is None or not lf.instances or not gt.instances:
            continue
        d = np.linalg.norm(_centroids(lf)[:, None] - _centroids(gt)[None], axis=-1)
        d = np.where(np.isfinite(d), d, 1e9)
        for r, c in zip(*linear_sum_assignment(d)):
            track, truth = lf.instances[r].track, gt.instances[c].track
            if d[r, c] < max_dist and track is not None and truth is not None:
                pairs.append((lf.frame_idx, truth.name, id(track)))
    votes: Dict[int, Counter] = {}
    for _, truth, track in pairs:
        votes.setdefault(track, Counter())[truth] += 1
    mapping = {t: c.most_common(1)[0][0] for t, c in votes.items()}
    correct = sum(mapping[t] == truth for _, truth, t in pairs)
    switches, last = 0, {}
    for _, truth, track in sorted(pairs, key=lambda p: p[0]):
        if truth in last and last[truth] != track:
            switches += 1
        last[truth] = track
    n_tracks = len({id(i.track) for lf in labels_pr for i in lf.instances
                    if i.track is not None})
    return {"identity_switches": switches,
            "right_identity": correct / len(pairs) if pairs else float("nan"),
            "n_pairs": len(pairs), "n_tracks": n_tracks}


__all__ = ["track_identity_metrics"]

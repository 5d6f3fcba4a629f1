"""Pose estimation accuracy metrics, matching SLEAP 1.4.1's `sleap.nn.evals`.

Ground truth and predictions are sleap-io `Labels`. Frames are paired by video and
frame index, instances are matched greedily by object keypoint similarity (OKS), and
the matched pairs are summarized as distances, PCK, visibility counts and VOC-style
precision/recall over OKS and PCK thresholds:

    >>> from sleapish.io import load_file
    >>> metrics = evaluate(load_file("labels_gt.val.slp"), load_file("labels_pr.val.slp"))
    >>> metrics["oks_voc.mAP"], metrics["dist.p95"]

Keys and values are those of SLEAP's `evaluate`; see `docs/evaluation.md`.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn.evals_io import (  # noqa: F401  (re-exported)
    RestrictedUnpickler,
    SleapObject,
    UnsafePickleError,
    load_metrics,
    save_metrics,
)

logger = logging.getLogger(__name__)

__all__ = [
    "PositivePair", "compute_dist_metrics", "compute_dists",
    "compute_generalized_voc_metrics", "compute_instance_area", "compute_oks",
    "compute_oks_metrics", "compute_pck_metrics", "compute_visibility_conf", "evaluate",
    "evaluate_model", "find_frame_pairs", "load_metrics", "match_frame_pairs",
    "match_instances", "save_metrics",
]

# Backend attributes SLEAP's `Video.matches` compares besides the file name.
_VIDEO_MATCH_KEYS = ("grayscale", "bgr", "dataset", "input_format", "convert_range")


class PositivePair(tuple):
    """A matched `(instance_gt, instance_pr, oks)` 3-tuple that remembers its frame.

    Unpacks like SLEAP's positive pairs; `frame_gt` (a `LabeledFrame` or `None`)
    gives the frame index and video that sleap-io instances do not store.
    """

    def __new__(cls, instance_gt, instance_pr, oks: float, frame_gt=None):
        self = super().__new__(cls, (instance_gt, instance_pr, oks))
        self.frame_gt = frame_gt
        return self


# ------------------------------------------------------------------ frame pairing
def _video_key(video) -> Any:
    name = video.filename
    return tuple(name) if isinstance(name, list) else str(name)


def _videos_match(video_gt, video_pr) -> bool:
    """SLEAP's `Video.matches`: same file and the same stored backend settings."""
    if _video_key(video_gt) != _video_key(video_pr):
        return False
    b_gt, b_pr = getattr(video_gt, "backend", None), getattr(video_pr, "backend", None)
    if b_gt is not None and b_pr is not None and type(b_gt) is not type(b_pr):
        return False
    m_gt = getattr(video_gt, "backend_metadata", None) or {}
    m_pr = getattr(video_pr, "backend_metadata", None) or {}
    return all(m_gt[k] == m_pr[k] for k in _VIDEO_MATCH_KEYS if k in m_gt and k in m_pr)


def find_frame_pairs(labels_gt, labels_pr, user_labels_only: bool = True) -> List[Tuple]:
    """Pair the labeled frames of ground truth and predictions.

    Each ground-truth video is matched to the first prediction video with the same
    file name (and backend settings, as SLEAP's `Video.matches`); frames are then
    paired by `frame_idx`. Ground-truth frames without a prediction frame are skipped.

    Args:
        labels_gt: `sleap_io.Labels` with the ground truth.
        labels_pr: `sleap_io.Labels` with the predictions.
        user_labels_only: If `True`, only ground-truth frames with user instances are
            paired.

    Returns:
        List of `(frame_gt, frame_pr)` `LabeledFrame` pairs, in ground-truth video
        order, then ground-truth frame order.

    Raises:
        ValueError: If a prediction video has two frames with the same index.
    """
    by_video: Dict[int, List] = {}
    for lf in labels_pr.labeled_frames:
        by_video.setdefault(id(lf.video), []).append(lf)

    pairs = []
    for video_gt in labels_gt.videos:
        video_pr = next((v for v in labels_pr.videos if _videos_match(video_gt, v)), None)
        if video_pr is None:
            continue
        frames_pr: Dict[int, List] = {}
        for lf in by_video.get(id(video_pr), []):
            frames_pr.setdefault(int(lf.frame_idx), []).append(lf)
        for lf_gt in labels_gt.labeled_frames:
            if lf_gt.video is not video_gt:
                continue
            if user_labels_only and not lf_gt.has_user_instances:
                continue
            found = frames_pr.get(int(lf_gt.frame_idx), [])
            if len(found) > 1:
                raise InvalidValueError("More than one labeled frame found in predictions. "
                                        f"Received: {len(found)} frames for frame_idx "
                                        f"{lf_gt.frame_idx} of {_video_key(video_pr)}")
            if found:
                pairs.append((lf_gt, found[0]))
    return pairs


# ---------------------------------------------------------------------------- OKS
def compute_instance_area(points: np.ndarray) -> np.ndarray:
    """Area of the bounding box of each instance's visible points.

    Args:
        points: `(n_nodes, n_ed)` or `(n_instances, n_nodes, n_ed)` float array, NaN
            for missing points.

    Returns:
        `(n_instances,)` float64 array of box areas (`(1,)` for a single instance);
        NaN for instances without visible points.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim == 2:
        points = points[None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        extent = np.nanmax(points, axis=-2) - np.nanmin(points, axis=-2)
    return np.prod(extent, axis=-1)


def compute_oks(points_gt: np.ndarray, points_pr: np.ndarray,
                scale: Optional[Union[float, np.ndarray]] = None,
                stddev: Union[float, np.ndarray] = 0.025,
                use_cocoeval: bool = True) -> np.ndarray:
    """Object keypoint similarity between every ground-truth/predicted instance pair.

    Per node, `ks = exp(-d² / norm)` with `d` the Euclidean distance and

    * COCO (`use_cocoeval=True`): `norm = (2 σ)² · 2 (s + ε)`,
    * paper (Ronchi & Perona, ICCV 2017): `norm = σ² · 2 (s + ε)²`,

    where `s` is the scale and `ε = np.spacing(1)`. Predicted nodes that are missing
    score 0; OKS is the sum of `ks` over visible ground-truth nodes divided by their
    number (NaN for a ground truth with no visible node).

    Args:
        points_gt: `(n_gt, n_nodes, n_ed)` (or `(n_nodes, n_ed)`) float array, NaN for
            missing points.
        points_pr: `(n_pr, n_nodes, n_ed)` (or `(n_nodes, n_ed)`) float array.
        scale: Scalar or `(n_gt,)` scales; `None` uses the ground-truth bounding box
            areas (`compute_instance_area`).
        stddev: Scalar or `(n_nodes,)` per-node spread `σ`.
        use_cocoeval: COCO normalization if `True`, the paper's if `False`.

    Returns:
        `(n_gt, n_pr)` float64 array of OKS values in `[0, 1]`.
    """
    points_gt = np.asarray(points_gt, dtype=np.float64)
    points_pr = np.asarray(points_pr, dtype=np.float64)
    if points_gt.ndim == 2:
        points_gt = points_gt[None]
    if points_pr.ndim == 2:
        points_pr = points_pr[None]
    n_gt, n_nodes, _ = points_gt.shape
    if scale is None:
        scale = compute_instance_area(points_gt)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (n_gt,))
    stddev = np.broadcast_to(np.asarray(stddev, dtype=np.float64), (n_nodes,))

    # Squared distances (n_gt, n_pr, n_nodes).
    sq_dist = ((points_gt[:, None] - points_pr[None]) ** 2).sum(axis=-1)
    eps = np.spacing(1)
    if use_cocoeval:
        spread, scale_term = (2 * stddev) ** 2, 2 * (scale + eps)
    else:
        spread, scale_term = stddev ** 2, 2 * ((scale + eps) ** 2)
    norm = spread[None, None, :] * scale_term[:, None, None]  # (n_gt, 1, n_nodes)

    missing_pr = np.isnan(points_pr).any(axis=-1)  # (n_pr, n_nodes)
    missing_gt = np.isnan(points_gt).any(axis=-1)  # (n_gt, n_nodes)
    sq_dist[:, missing_pr] = np.inf
    with np.errstate(invalid="ignore", divide="ignore"):
        ks = np.exp(-(sq_dist / norm))
        ks[np.broadcast_to(missing_gt[:, None], ks.shape)] = 0
        n_visible = (~missing_gt).sum(axis=-1, keepdims=True).astype(np.float64)
        return ks.sum(axis=-1) / n_visible


# ----------------------------------------------------------------------- matching
def _scored_predictions(frame_pr) -> List:
    return [inst for inst in frame_pr.instances
            if getattr(inst, "score", None) is not None]


def match_instances(frame_gt, frame_pr, stddev: float = 0.025,
                    scale: Optional[float] = None, threshold: float = 0,
                    user_labels_only: bool = True) -> Tuple[List[PositivePair], List]:
    """Greedily match predicted to ground-truth instances in one frame (PASCAL VOC).

    Predictions (instances with a `score`) are visited by descending score (stable);
    each takes the still-unmatched ground truth with the highest OKS above
    `threshold` (first one on ties). Ground truths left over are false negatives.

    Args:
        frame_gt: `LabeledFrame` with the ground truth.
        frame_pr: `LabeledFrame` with the predictions.
        stddev: OKS spread `σ` (scalar or `(n_nodes,)`).
        scale: OKS scale; `None` uses each ground truth's bounding box area.
        threshold: Pairs with OKS `<= threshold` are never matched.
        user_labels_only: If `True`, only user instances of `frame_gt` are ground
            truth; otherwise all its instances (including predicted ones).

    Returns:
        `(positive_pairs, false_negatives)`: a list of `PositivePair`
        `(instance_gt, instance_pr, oks)` with `oks` a float64, and the list of
        unmatched ground-truth instances.

    Notes:
        SLEAP indexes `frame_pr.instances` with positions among the scored instances,
        which mixes up instances when a prediction frame also holds user instances;
        here user instances of `frame_pr` are simply ignored.
    """
    gt = list(frame_gt.user_instances if user_labels_only else frame_gt.instances)
    preds = _scored_predictions(frame_pr)
    if not gt or not preds:
        return [], gt
    scores = np.array([float(p.score) for p in preds])
    order = np.argsort(-scores, kind="mergesort")
    points_gt = np.stack([inst.numpy() for inst in gt])
    points_pr = np.stack([preds[i].numpy() for i in order])
    available = np.ones(len(gt), dtype=bool)
    positive_pairs = []
    for j, idx_pr in enumerate(order):
        cand = np.flatnonzero(available)
        oks = compute_oks(points_gt[cand], points_pr[j], stddev=stddev, scale=scale)[:, 0]
        oks[oks <= threshold] = np.nan
        if np.all(np.isnan(oks)):
            continue
        best = cand[int(np.nanargmax(oks))]
        available[best] = False
        positive_pairs.append(PositivePair(gt[best], preds[idx_pr], np.nanmax(oks),
                                           frame_gt))
        if not available.any():
            break
    return positive_pairs, [gt[i] for i in np.flatnonzero(available)]


def match_frame_pairs(frame_pairs: Sequence[Tuple], stddev: float = 0.025,
                      scale: Optional[float] = None, threshold: float = 0,
                      user_labels_only: bool = True) -> Tuple[List[PositivePair], List]:
    """Run `match_instances` on each `(frame_gt, frame_pr)` pair and concatenate.

    Args:
        frame_pairs: Pairs from `find_frame_pairs`.
        stddev: OKS spread `σ`.
        scale: OKS scale (`None`: ground-truth bounding box areas).
        threshold: Minimum OKS (exclusive) for a match.
        user_labels_only: See `match_instances`.

    Returns:
        `(positive_pairs, false_negatives)` over all frames, in frame order.
    """
    positive_pairs, false_negatives = [], []
    for frame_gt, frame_pr in frame_pairs:
        pos, neg = match_instances(frame_gt, frame_pr, stddev=stddev, scale=scale,
                                   threshold=threshold, user_labels_only=user_labels_only)
        positive_pairs.extend(pos)
        false_negatives.extend(neg)
    return positive_pairs, false_negatives


# ----------------------------------------------------------- distances, PCK, vis
def compute_dists(positive_pairs: Sequence[Tuple]) -> Dict[str, Any]:
    """Per-node Euclidean distances between matched instances.

    Args:
        positive_pairs: `(instance_gt, instance_pr, oks)` tuples (`PositivePair`s).

    Returns:
        `{"dists": (n_pairs, n_nodes) float64 array (NaN where either point is
        missing), "frame_idxs": list of int, "video_paths": list of str}`, the frame
        from `PositivePair.frame_gt` or the ground-truth instance's `frame`
        attribute; frame index and path are `None` when neither is known.
    """
    if not positive_pairs:
        return {"dists": np.zeros((0, 0)), "frame_idxs": [], "video_paths": []}
    gt = np.stack([pair[0].numpy() for pair in positive_pairs])
    pr = np.stack([pair[1].numpy() for pair in positive_pairs])
    frames = [_pair_frame(pair) for pair in positive_pairs]
    return {
        "dists": np.linalg.norm(pr - gt, axis=-1),
        "frame_idxs": [None if f is None else int(f.frame_idx) for f in frames],
        "video_paths": [None if f is None else _video_path(f.video) for f in frames],
    }


def _pair_frame(pair):
    """The ground-truth frame of a pair: `PositivePair.frame_gt`, else the ground-truth
    instance's own `frame` (SLEAP instances know theirs), else `None`."""
    frame = getattr(pair, "frame_gt", None)
    return frame if frame is not None else getattr(pair[0], "frame", None)


def _video_path(video) -> str:
    name = getattr(video, "filename", None)
    if name is None:  # SLEAP's Video keeps it on its backend
        name = video.backend.filename
    return str(name[0] if isinstance(name, list) and name else name)


def compute_dist_metrics(dists_dict: Dict[str, Any]) -> Dict[str, Any]:
    """Summarize distances: mean and percentiles (50, 75, 90, 95, 99) of non-NaN values.

    Args:
        dists_dict: Output of `compute_dists`.

    Returns:
        `dist.frame_idxs`, `dist.video_paths`, `dist.dists` (passed through),
        `dist.avg` (float64, `nanmean`) and `dist.p50` ... `dist.p99` (float64, linear
        interpolation; NaN when no distance is finite).
    """
    dists = np.asarray(dists_dict["dists"], dtype=np.float64)
    valid = dists[~np.isnan(dists)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        avg = np.nanmean(dists)
    ptiles = (50, 75, 90, 95, 99)
    values = np.percentile(valid, ptiles) if valid.size else [np.nan] * len(ptiles)
    out = {"dist.frame_idxs": dists_dict["frame_idxs"],
           "dist.video_paths": dists_dict["video_paths"],
           "dist.dists": dists_dict["dists"], "dist.avg": avg}
    out.update({f"dist.p{p}": np.float64(v) for p, v in zip(ptiles, values)})
    return out


def compute_pck_metrics(dists: np.ndarray,
                        thresholds: np.ndarray = np.linspace(1, 10, 10),  # noqa: B008 (SLEAP's)
                        ) -> Dict[str, Any]:
    """Percentage of correct keypoints (distance `<` threshold) at each threshold.

    Args:
        dists: `(n_pairs, n_nodes)` distances; NaN counts as incorrect.
        thresholds: `(n_thresholds,)` pixel thresholds (default 1, 2, ..., 10).

    Returns:
        `pck.thresholds`, `pck.pcks` (`(n_pairs, n_nodes, n_thresholds)` bool),
        `pck.mPCK_parts` (`(n_nodes,)` float64, mean over pairs and thresholds) and
        `pck.mPCK` (float64 overall mean).
    """
    dists = np.where(np.isnan(dists), np.inf, dists)
    pcks = dists[..., None] < np.reshape(thresholds, (1, 1, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        parts = pcks.mean(axis=0).mean(axis=-1)  # NaN (quietly) without pairs
        mpck = parts.mean()
    return {"pck.thresholds": thresholds, "pck.pcks": pcks, "pck.mPCK_parts": parts,
            "pck.mPCK": mpck}


def compute_visibility_conf(positive_pairs: Sequence[Tuple]) -> Dict[str, Any]:
    """Confusion counts of node visibility (present vs. NaN) over matched pairs.

    Args:
        positive_pairs: `(instance_gt, instance_pr, oks)` tuples.

    Returns:
        `vis.tp`, `vis.fp`, `vis.tn`, `vis.fn` (int64 counts; positive = visible,
        truth = ground truth) and `vis.precision`, `vis.recall` (float64, NaN when
        undefined).
    """
    if positive_pairs:
        vis_gt = ~np.isnan(np.stack([p[0].numpy() for p in positive_pairs])).any(-1)
        vis_pr = ~np.isnan(np.stack([p[1].numpy() for p in positive_pairs])).any(-1)
    else:
        vis_gt = vis_pr = np.zeros((0,), dtype=bool)
    tp, fp = np.sum(vis_gt & vis_pr), np.sum(~vis_gt & vis_pr)
    tn, fn = np.sum(~vis_gt & ~vis_pr), np.sum(vis_gt & ~vis_pr)
    return {"vis.tp": tp, "vis.fp": fp, "vis.tn": tn, "vis.fn": fn,
            "vis.precision": tp / (tp + fp) if tp + fp else np.nan,
            "vis.recall": tp / (tp + fn) if tp + fn else np.nan}


# ---------------------------------------------------------------------- VOC metrics
def compute_generalized_voc_metrics(
        positive_pairs: Sequence[Tuple], false_negatives: Sequence,
        match_scores: np.ndarray,
        match_score_thresholds: np.ndarray = np.linspace(0.5, 0.95, 10),  # noqa: B008
        recall_thresholds: np.ndarray = np.linspace(0, 1, 101),  # noqa: B008
        name: str = "gvoc") -> Dict[str, Any]:
    """VOC-style precision/recall of matched pairs at several match-score thresholds.

    Pairs are ranked by the prediction's instance score (descending, stable). At
    each match threshold `t`, a pair is a true positive if its match score is `>= t`,
    else a false positive; recall is over all ground truths (pairs + false
    negatives). Precision is made monotonically non-increasing and sampled at the
    `recall_thresholds` (101-point interpolated AP, zero beyond the reached recall).

    Args:
        positive_pairs: `(instance_gt, instance_pr, _)` tuples; `instance_pr.score`
            ranks them.
        false_negatives: Unmatched ground-truth instances.
        match_scores: `(n_pairs,)` score per pair (OKS, or mean PCK).
        match_score_thresholds: `(n_t,)` thresholds (default 0.5:0.05:0.95).
        recall_thresholds: `(n_r,)` recall levels (default 0:0.01:1).
        name: Key prefix (`"oks_voc"`, `"pck_voc"`).

    Returns:
        `{name}.match_score_thresholds`, `.recall_thresholds`, `.match_scores`
        (sorted by detection score), `.precisions` (`(n_t, n_r)`), `.recalls`
        (`(n_t,)`), `.AP` (`(n_t,)`), `.AR` (`(n_t,)`), `.mAP` and `.mAR` (float64).
    """
    det_scores = np.array([float(p[1].score) for p in positive_pairs])
    order = np.argsort(-det_scores, kind="mergesort")
    match_scores = np.asarray(match_scores, dtype=np.float64)[order]
    thresholds = np.asarray(match_score_thresholds)
    n_gt = len(positive_pairs) + len(false_negatives)

    is_tp = match_scores[None, :] >= thresholds[:, None]  # (n_t, n_pairs)
    tp = np.cumsum(is_tp, axis=1)
    fp = np.cumsum(~is_tp, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rc = tp / n_gt
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.flip(np.maximum.accumulate(np.flip(pr, axis=1), axis=1), axis=1)

    n_pairs = match_scores.shape[0]
    precisions = np.zeros((len(thresholds), len(recall_thresholds)))
    for i in range(len(thresholds)):
        idx = np.searchsorted(rc[i], recall_thresholds, side="left")
        ok = idx < n_pairs
        precisions[i, ok] = pr[i, idx[ok]]
    recalls = rc[:, -1] if n_pairs else np.zeros(len(thresholds))

    return {
        name + ".match_score_thresholds": match_score_thresholds,
        name + ".recall_thresholds": recall_thresholds,
        name + ".match_scores": match_scores,
        name + ".precisions": precisions,
        name + ".recalls": recalls,
        name + ".AP": precisions.mean(axis=1),
        name + ".AR": recalls,
        name + ".mAP": precisions.mean(),
        name + ".mAR": recalls.mean(),
    }


def compute_oks_metrics(positive_pairs: Sequence[Tuple], false_negatives: Sequence,
                        **kwargs) -> Dict[str, Any]:
    """`oks.mOKS` and the `oks_voc.*` metrics of matched pairs.

    Args:
        positive_pairs: `(instance_gt, instance_pr, oks)` tuples.
        false_negatives: Unmatched ground-truth instances.
        **kwargs: Passed to `compute_generalized_voc_metrics` (thresholds).

    Returns:
        `{"oks.mOKS": float64 mean OKS of the pairs, "oks_voc.*": ...}`.
    """
    pair_oks = np.array([p[2] for p in positive_pairs], dtype=np.float64)
    out = {"oks.mOKS": pair_oks.mean() if pair_oks.size else np.nan}
    out.update(compute_generalized_voc_metrics(positive_pairs, false_negatives,
                                               match_scores=pair_oks, name="oks_voc",
                                               **kwargs))
    return out


# ------------------------------------------------------------------------ evaluate
def evaluate(labels_gt, labels_pr, oks_stddev: float = 0.025,
             oks_scale: Optional[float] = None, match_threshold: float = 0,
             user_labels_only: bool = True) -> Dict[str, Any]:
    """Compute all of SLEAP's metrics between ground truth and predictions.

    Args:
        labels_gt: `sleap_io.Labels` with the ground truth.
        labels_pr: `sleap_io.Labels` with the predictions (same video files).
        oks_stddev: OKS spread `σ` (see `compute_oks`).
        oks_scale: OKS scale (`None`: ground-truth bounding box areas).
        match_threshold: Minimum OKS (exclusive) to match two instances.
        user_labels_only: If `False`, predicted instances in `labels_gt` also count as
            ground truth.

    Returns:
        Flat `dict` with SLEAP's keys: `vis.*`, `dist.*`, `pck.*`, `oks.mOKS`,
        `oks_voc.*` and `pck_voc.*` (floats or arrays). Empty when no frame pairs.
    """
    frame_pairs = find_frame_pairs(labels_gt, labels_pr, user_labels_only=user_labels_only)
    if not frame_pairs:
        return {}
    positive_pairs, false_negatives = match_frame_pairs(
        frame_pairs, stddev=oks_stddev, scale=oks_scale, threshold=match_threshold,
        user_labels_only=user_labels_only)
    dists_dict = compute_dists(positive_pairs)
    metrics: Dict[str, Any] = {}
    metrics.update(compute_visibility_conf(positive_pairs))
    metrics.update(compute_dist_metrics(dists_dict))
    metrics.update(compute_pck_metrics(dists_dict["dists"]))
    metrics.update(compute_oks_metrics(positive_pairs, false_negatives))
    pcks = metrics["pck.pcks"]
    pair_pck = pcks.mean(axis=-1).mean(axis=-1) if pcks.size else np.zeros(len(pcks))
    metrics.update(compute_generalized_voc_metrics(
        positive_pairs, false_negatives, match_scores=pair_pck, name="pck_voc"))
    return metrics


def _keras_model(model):
    """The `tf_keras.Model` of a `sleapish.nn.model.Model` (or the model itself)."""
    km = getattr(model, "keras_model", model)
    if km is None or not hasattr(km, "inputs"):
        raise InvalidValueError("evaluate_model needs a model with a built Keras model "
                                "(`Model.keras_model`). Received: "
                                f"{type(model).__name__}")
    return km


def evaluate_model(cfg, labels_gt, model=None, save: bool = True,
                   split_name: str = "test", *, labels_pr=None):
    """Predict with a trained model, evaluate, and save predictions and metrics.

    As SLEAP's: the predictor is chosen from the config's head (centroid or
    centered-instance models make a top-down predictor whose other half comes from
    the ground truth; multi-instance, single-instance and the multi-class heads their
    own), with SLEAP's predictor defaults (integral refinement, peak threshold 0.2,
    batches of 4), and run on the ground-truth frames.

    Args:
        cfg: The model's `TrainingJobConfig`; `cfg.outputs.run_path` is the output
            folder (created if missing, as SLEAP's `Labels.save_file` does).
        labels_gt: A `LabelsReader` over the ground truth or a `sleap_io.Labels`.
        model: The trained `sleapish.nn.model.Model` (its `keras_model` is used) or a
            `tf_keras.Model`. Not needed when `labels_pr` is given.
        save: If `True`, write `labels_pr.{split_name}.slp` and
            `metrics.{split_name}.npz` (each atomically) to the run folder.
        split_name: Split name used in the file names.
        labels_pr: sleapish extension: predictions made elsewhere (`sleap_io.Labels`);
            the model is then not run.

    Returns:
        `(labels_pr, metrics)`: the predictions (`sleap_io.Labels`) and the metrics
        dict of :func:`evaluate`, or `None` if they could not be computed.

    Raises:
        ValueError: If neither a model nor `labels_pr` is given, or for a config
            whose head makes no predictor.
    """
    if labels_pr is None:
        from sleapish.nn.inference.loading import reset_input_layer
        from sleapish.nn.inference.loading_api import predictor_from_models

        if model is None:
            raise InvalidValueError("evaluate_model needs a model (or labels_pr). Received: "
                                    "model=None")
        predictor = predictor_from_models([(cfg, reset_input_layer(_keras_model(model)))],
                                          progress_reporting="none")
        labels_pr = predictor.predict(labels_gt, make_labels=True)

    from sleapish.nn.data.providers import LabelsReader

    gt = labels_gt.labels if isinstance(labels_gt, LabelsReader) else labels_gt
    try:
        metrics = evaluate(gt, labels_pr)
    except Exception:  # SLEAP also carries on without metrics.
        logger.warning("Failed to compute metrics.", exc_info=True)
        metrics = None

    if save:
        from sleapish.io import save_file

        folder = cfg.outputs.run_path
        os.makedirs(folder, exist_ok=True)
        labels_path = os.path.join(folder, f"labels_pr.{split_name}.slp")
        save_file(labels_pr, labels_path)
        logger.info("Saved predictions: %s", labels_path)
        if metrics is not None:
            metrics_path = os.path.join(folder, f"metrics.{split_name}.npz")
            save_metrics(metrics_path, metrics)
            logger.info("Saved metrics: %s", metrics_path)
    if metrics:
        logger.info("OKS mAP: %f", metrics["oks_voc.mAP"])
    return labels_pr, metrics

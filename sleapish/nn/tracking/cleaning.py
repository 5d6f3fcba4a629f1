"""Culling instances to a target count and connecting single track breaks.

As SLEAP 1.4.1 (`sleap.nn.tracker.components`): culling first suppresses overlapping
instances (greedy NMS on bounding boxes, highest score first), then keeps the
highest-scoring instances; track breaks are joined when exactly one track disappears
and exactly one appears in a frame.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import attrs
import numpy as np

from sleapish.nn.tracking.similarity import bounding_boxes, instance_points
from sleapish.nn.tracking.sorting import sleap_argsort


def nms_fast(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
             target_count: Optional[int] = None) -> List[int]:
    """Greedy non-maximum suppression, SLEAP's variant.

    The overlap of a remaining box with the picked one is the intersection over the
    *remaining* box's area (pixel-inclusive `+1` sides), not the IoU. When fewer than
    `target_count` boxes survive, SLEAP's add-back step computes a negative count
    (`picked - target`); it is reproduced, so suppressed boxes come back only as that
    slice selects them. Equal scores are visited in SLEAP's `np.argsort` order
    (`sorting.sleap_argsort`).

    Args:
        boxes: `(n, 4)` float boxes `[y1, x1, y2, x2]`.
        scores: `(n,)` float scores.
        iou_threshold: Boxes overlapping the picked one by more than this go.
        target_count: Return every box when there are fewer than this.

    Returns:
        Indices of the kept boxes, best first.
    """
    boxes = np.asarray(boxes, np.float64)
    scores = np.asarray(scores, np.float64)
    if len(boxes) == 0:
        return []
    if target_count and len(boxes) < target_count:
        return list(range(len(boxes)))
    a0, a1, b0, b1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (b0 - a0 + 1) * (b1 - a1 + 1)
    idxs = sleap_argsort(scores)  # SLEAP's order of equal scores (numpy 1.26 on this machine)
    picked: List[int] = []
    suppressed: List[int] = []
    while len(idxs) > 0:
        best = idxs[-1]
        picked.append(int(best))
        rest = idxs[:-1]
        w = np.maximum(0, np.minimum(b0[best], b0[rest]) - np.maximum(a0[best], a0[rest]) + 1)
        h = np.maximum(0, np.minimum(b1[best], b1[rest]) - np.maximum(a1[best], a1[rest]) + 1)
        overlap = (w * h) / area[rest]
        gone = np.where(overlap > iou_threshold)[0]
        suppressed.extend(int(i) for i in idxs[gone])
        idxs = np.delete(idxs, gone)[:-1]
    if target_count and suppressed and len(picked) < target_count:
        suppressed.sort(key=lambda i: -scores[i])
        n_back = min(len(suppressed), len(picked) - target_count)
        picked.extend(suppressed[:n_back])
    return picked


def nms_instances(instances: Sequence, iou_threshold: float,
                  target_count: Optional[int] = None) -> Tuple[list, list]:
    """Split instances into kept and suppressed by :func:`nms_fast`.

    Args:
        instances: Predicted instances (with `score`).
        iou_threshold: Overlap threshold.
        target_count: See :func:`nms_fast`.

    Returns:
        `(to_keep, to_remove)`, each in input order.
    """
    if not instances:
        return [], []
    boxes = bounding_boxes(np.stack([instance_points(i) for i in instances]))
    scores = np.array([float(getattr(i, "score", 0.0)) for i in instances])
    picks = set(nms_fast(boxes, scores, iou_threshold, target_count))
    keep = [inst for k, inst in enumerate(instances) if k in picks]
    drop = [inst for k, inst in enumerate(instances) if k not in picks]
    return keep, drop


def _remove_by_identity(items: list, to_remove: Sequence) -> None:
    ids = {id(x) for x in to_remove}
    items[:] = [x for x in items if id(x) not in ids]


def cull_frame_instances(instances_list: list, instance_count: int,
                         iou_threshold: Optional[float] = None) -> list:
    """Cut one frame's instances down to `instance_count`, in place.

    Args:
        instances_list: The frame's instances (modified in place).
        instance_count: Number to keep.
        iou_threshold: If set, first suppress overlapping instances (NMS).

    Returns:
        The same list.
    """
    if not instances_list or len(instances_list) <= instance_count:
        return instances_list
    keep = list(instances_list)
    if iou_threshold:
        keep, extra = nms_instances(keep, iou_threshold, target_count=instance_count)
        _remove_by_identity(instances_list, extra)
    if len(keep) > instance_count:
        extra = sorted(keep, key=lambda i: float(getattr(i, "score", 0.0)))[:-instance_count]
        _remove_by_identity(instances_list, extra)
    return instances_list


def cull_instances(frames: list, instance_count: int,
                   iou_threshold: Optional[float] = None) -> None:
    """Cut every frame's predicted instances down to `instance_count`, in place.

    Sorts `frames` by frame index (as SLEAP). User instances are kept.

    Args:
        frames: `sleap_io.LabeledFrame`s (modified in place).
        instance_count: Maximum instances per frame.
        iou_threshold: If set, first suppress overlapping instances (NMS).
    """
    if not frames:
        return
    frames.sort(key=lambda lf: lf.frame_idx)
    for lf in frames:
        preds = list(lf.predicted_instances)
        if len(preds) <= instance_count:
            continue
        kept = cull_frame_instances(list(preds), instance_count, iou_threshold)
        kept_ids = {id(i) for i in kept}
        _remove_by_identity(lf.instances, [i for i in preds if id(i) not in kept_ids])


def connect_single_track_breaks(frames: list, instance_count: int) -> list:
    """Join a track that disappears to the one track that appears instead.

    Frame by frame: where exactly one track of the last "good" frame (one with
    `instance_count` tracks) is missing and exactly one new track is present, the
    new track's instances (in this and later frames) move to the missing track.

    Args:
        frames: `sleap_io.LabeledFrame`s in time order (modified in place).
        instance_count: Instances per frame of a good frame.

    Returns:
        The same frames.
    """
    if not frames:
        return frames
    fix_map = {}
    last_good = {inst.track for inst in frames[0].instances}
    for lf in frames:
        frame_tracks = {inst.track for inst in lf.instances}
        if frame_tracks.intersection(fix_map):
            for inst in lf.instances:
                if inst.track in fix_map and fix_map[inst.track] not in frame_tracks:
                    inst.track = fix_map[inst.track]
                    frame_tracks = {i.track for i in lf.instances}
        extra = frame_tracks - last_good
        missing = last_good - frame_tracks
        if len(extra) == 1 and len(missing) == 1:
            for inst in lf.instances:
                if inst.track in extra:
                    new_track = missing.pop()
                    fix_map[inst.track] = new_track
                    inst.track = new_track
                    break
        elif len(frame_tracks) == instance_count:
            last_good = frame_tracks
    return frames


@attrs.define
class TrackCleaner:
    """Post-tracking cleaning (SLEAP's deprecated `--clean_instance_count`).

    Attributes:
        instance_count: Maximum instances per frame.
        iou_threshold: Overlap threshold for NMS before culling by score, or None.
    """

    instance_count: int
    iou_threshold: Optional[float] = None

    def run(self, frames: list) -> None:
        """Cull then connect single breaks, in place."""
        cull_instances(frames, self.instance_count, self.iou_threshold)
        connect_single_track_breaks(frames, self.instance_count)


__all__ = ["TrackCleaner", "connect_single_track_breaks", "cull_frame_instances",
           "cull_instances", "nms_fast", "nms_instances"]

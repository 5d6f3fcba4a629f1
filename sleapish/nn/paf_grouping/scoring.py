"""Scoring PAF candidates: every (source, destination) peak pair of each skeleton
edge within a sample, its line through the PAFs and its score.

As SLEAP 1.4.1, batch-wide: a line is sampled at `n_points` evenly spaced points
(inclusive), divided by the PAF stride, rounded half-to-even and clipped to the PAF
grid (SLEAP gathers unclipped; lines inside the grid score exactly as in SLEAP). Score
= mean over the points of PAF . unit vector of the line, plus the distance penalty
`min(max_edge_length / length - 1, 0) * dist_penalty_weight` with `max_edge_length =
max_edge_length_ratio * max(H, W, C) * pafs_stride`. A zero-length line scores NaN.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from sleapish.nn._backend import tf
from sleapish.nn.paf_grouping.edges import _as_ragged


# ------------------------------------------------------------------------ candidates
def _candidates(sample_inds, channel_inds, n_samples, skeleton_edges, n_nodes):
    """All connection candidates of a batch.

    Returns int32 `(n_candidates,)` sample, edge, global source peak and global
    destination peak indices, ordered by sample, edge, source peak, destination peak
    (peaks of a node in their input order).
    """
    sample_inds = tf.cast(tf.reshape(sample_inds, [-1]), tf.int32)
    channel_inds = tf.cast(tf.reshape(channel_inds, [-1]), tf.int32)
    edges = tf.reshape(tf.cast(skeleton_edges, tf.int32), [-1, 2])
    n_samples = tf.cast(n_samples, tf.int32)
    n_nodes = tf.cast(n_nodes, tf.int32)
    tf.debugging.assert_less(channel_inds, n_nodes,
                             message="peak_channel_inds must be < n_nodes")
    n_groups = n_samples * n_nodes
    key = sample_inds * n_nodes + channel_inds
    grouped = tf.argsort(key, stable=True)
    counts = tf.math.bincount(key, minlength=n_groups, maxlength=n_groups,
                              dtype=tf.int32)
    starts = tf.reshape(tf.cumsum(counts, exclusive=True), [n_samples, n_nodes])
    counts = tf.reshape(counts, [n_samples, n_nodes])
    n_edges = tf.shape(edges)[0]
    n_src = tf.reshape(tf.gather(counts, edges[:, 0], axis=1), [-1])  # (S * E,)
    n_dst = tf.reshape(tf.gather(counts, edges[:, 1], axis=1), [-1])
    src_start = tf.reshape(tf.gather(starts, edges[:, 0], axis=1), [-1])
    dst_start = tf.reshape(tf.gather(starts, edges[:, 1], axis=1), [-1])
    n_pairs = n_src * n_dst
    block = tf.repeat(tf.range(tf.size(n_pairs)), n_pairs)
    pair = tf.range(tf.size(block)) - tf.gather(tf.cumsum(n_pairs, exclusive=True),
                                                block)
    block_dst = tf.gather(n_dst, block)
    src = tf.gather(grouped, tf.gather(src_start, block) + pair // block_dst)
    dst = tf.gather(grouped, tf.gather(dst_start, block) + pair % block_dst)
    return block // n_edges, block % n_edges, src, dst


def get_connection_candidates(peak_channel_inds_sample, skeleton_edges, n_nodes: int):
    """All possible connections formed by the peaks of one sample.

    Args:
        peak_channel_inds_sample: int32 `(n_peaks,)` node (channel) of each peak.
        skeleton_edges: int32 `(n_edges, 2)` `(source, destination)` node indices.
        n_nodes: Number of nodes in the skeleton.

    Returns:
        `(edge_inds, edge_peak_inds)`: int32 `(n_candidates,)` edge of each candidate
        and int32 `(n_candidates, 2)` `[source, destination]` indices into the sample's
        peaks; all pairs of each edge, edge by edge, source-major.

    Example:
        >>> get_connection_candidates([0, 0, 1], [[0, 1]], 2)[1].numpy().tolist()
        [[0, 2], [1, 2]]
    """
    ch = tf.cast(tf.reshape(peak_channel_inds_sample, [-1]), tf.int32)
    _, edge, src, dst = _candidates(tf.zeros_like(ch), ch, 1, skeleton_edges, n_nodes)
    return edge, tf.stack([src, dst], axis=1)


# ------------------------------------------------------------------------- line scores
def _linspace(start, stop, num):
    """`tf.linspace(start, stop, num, axis=2)` for `(n, 2)` ends, with the same
    arithmetic (`start + k * delta` inside, the ends exact), in ops every converter
    holds (TensorFlow's own uses BroadcastArgs, which ONNX lacks)."""
    if not isinstance(num, (int, np.integer)):
        return tf.linspace(start, stop, num, axis=2)
    num = int(num)
    start, stop = start[:, :, None], stop[:, :, None]
    delta = (stop - start) / tf.cast(max(num - 1, 1), start.dtype)
    inner = tf.range(1, max(num - 1, 1), dtype=start.dtype)[None, None, :]
    return tf.concat([start, start + inner * delta, stop], axis=2)[:, :, :num]


def _line_subs(src_xy, dst_xy, edge_inds, n_line_points, pafs_stride, pafs_hw):
    """`(n, n_line_points, 2, 3)` `[row, col, channel]` PAF subscripts of lines."""
    xy = _linspace(src_xy, dst_xy, n_line_points)  # (n, 2, points): x, y
    xy = tf.cast(tf.round(xy / tf.cast(pafs_stride, tf.float32)), tf.int32)
    rows, cols = xy[:, 1], xy[:, 0]
    if pafs_hw is not None:
        rows = tf.clip_by_value(rows, 0, tf.cast(pafs_hw[0], tf.int32) - 1)
        cols = tf.clip_by_value(cols, 0, tf.cast(pafs_hw[1], tf.int32) - 1)
    rc = tf.stack([rows, cols], axis=-1)  # (n, points, 2)
    rc = tf.repeat(rc[:, :, None, :], 2, axis=2)  # (n, points, [x, y] channel, 2)
    channels = 2 * tf.cast(edge_inds, tf.int32)[:, None] + tf.constant([0, 1])
    channels = tf.broadcast_to(channels[:, None, :, None], tf.shape(rc[..., :1]))
    return tf.concat([rc, channels], axis=-1)


def make_line_subs(peaks_sample, edge_peak_inds, edge_inds, n_line_points: int,
                   pafs_stride: int, pafs_hw: Optional[Sequence[int]] = None):
    """PAF subscripts of the lines between candidate peaks of one sample.

    Args:
        peaks_sample: float32 `(n_peaks, 2)` `(x, y)` peaks in image pixels.
        edge_peak_inds: int32 `(n_candidates, 2)` `[src, dst]` peak indices.
        edge_inds: int32 `(n_candidates,)` edge of each candidate.
        n_line_points: Points per line, evenly spaced from source to destination
            inclusive.
        pafs_stride: Stride of the PAFs; coordinates are divided by it and rounded
            half-to-even.
        pafs_hw: `(height, width)` of the PAF grid to clip subscripts to; no clipping
            when `None`.

    Returns:
        int32 `(n_candidates, n_line_points, 2, 3)`: `[row, col, channel]` of each
        point, for the edge's x channel (`2 * edge`) and y channel (`2 * edge + 1`);
        usable with `tf.gather_nd` on `(height, width, 2 * n_edges)` PAFs.
    """
    peaks_sample = tf.cast(peaks_sample, tf.float32)
    edge_peak_inds = tf.cast(tf.reshape(edge_peak_inds, [-1, 2]), tf.int32)
    return _line_subs(tf.gather(peaks_sample, edge_peak_inds[:, 0]),
                      tf.gather(peaks_sample, edge_peak_inds[:, 1]), edge_inds,
                      n_line_points, pafs_stride, pafs_hw)


def get_paf_lines(pafs_sample, peaks_sample, edge_peak_inds, edge_inds,
                  n_line_points: int, pafs_stride: int):
    """PAF vectors along the lines between candidate peaks of one sample.

    Args:
        pafs_sample: float32 `(height, width, 2 * n_edges)` PAFs.
        peaks_sample: float32 `(n_peaks, 2)` `(x, y)` peaks in image pixels.
        edge_peak_inds: int32 `(n_candidates, 2)` `[src, dst]` peak indices.
        edge_inds: int32 `(n_candidates,)` edge of each candidate.
        n_line_points: Points per line.
        pafs_stride: Stride of the PAFs relative to the image.

    Returns:
        float32 `(n_candidates, n_line_points, 2)` `(x, y)` PAF vectors at the line
        points (subscripts clipped to the grid).
    """
    pafs_sample = tf.cast(pafs_sample, tf.float32)
    subs = make_line_subs(peaks_sample, edge_peak_inds, edge_inds, n_line_points,
                          pafs_stride, tf.shape(pafs_sample)[:2])
    return tf.gather_nd(pafs_sample, subs)


def compute_distance_penalty(spatial_vec_lengths, max_edge_length,
                             dist_penalty_weight: float = 1.0):
    """Distance penalty of PAF line scores.

    Args:
        spatial_vec_lengths: float32 tensor (any shape) of line lengths in pixels.
        max_edge_length: Length (pixels) above which lines are penalized.
        dist_penalty_weight: Scale of the penalty.

    Returns:
        float32, shape of `spatial_vec_lengths`:
        `min(max_edge_length / length - 1, 0) * dist_penalty_weight`, i.e. 0 up to the
        maximum length, approaching `-dist_penalty_weight` for very long lines.

    Example:
        >>> float(compute_distance_penalty(tf.constant(20.0), 10.0))
        -0.5
    """
    lengths = tf.cast(spatial_vec_lengths, tf.float32)
    return tf.math.minimum((max_edge_length / lengths) - 1, 0) * dist_penalty_weight


def score_paf_lines(paf_lines_sample, peaks_sample, edge_peak_inds_sample,
                    max_edge_length, dist_penalty_weight: float = 1.0):
    """Connectivity score of each candidate line of one sample.

    Args:
        paf_lines_sample: float32 `(n_candidates, n_line_points, 2)` PAF vectors along
            the lines (:func:`get_paf_lines`).
        peaks_sample: float32 `(n_peaks, 2)` `(x, y)` peaks in image pixels.
        edge_peak_inds_sample: int32 `(n_candidates, 2)` `[src, dst]` peak indices.
        max_edge_length: Length (pixels) above which lines are penalized.
        dist_penalty_weight: Scale of the distance penalty.

    Returns:
        float32 `(n_candidates,)`: mean over the line points of PAF . unit vector from
        source to destination, plus :func:`compute_distance_penalty`. NaN for
        zero-length lines.
    """
    peaks_sample = tf.cast(peaks_sample, tf.float32)
    inds = tf.cast(tf.reshape(edge_peak_inds_sample, [-1, 2]), tf.int32)
    return _score(tf.cast(paf_lines_sample, tf.float32),
                  tf.gather(peaks_sample, inds[:, 0]),
                  tf.gather(peaks_sample, inds[:, 1]),
                  max_edge_length, dist_penalty_weight)


def _score(paf_lines, src_xy, dst_xy, max_edge_length, dist_penalty_weight):
    vecs = dst_xy - src_xy
    lengths = tf.norm(vecs, axis=1, keepdims=True)  # (n, 1)
    unit = vecs / lengths
    # PAF . unit as two products and a sum, not a batched matmul: with oneDNN, every
    # distinct candidate count would build and cache a new matmul primitive (memory
    # grew ~50 MiB per 1000 frames of a bottom-up video; see docs/long_runs.md).
    dots = paf_lines[..., 0] * unit[:, None, 0] + paf_lines[..., 1] * unit[:, None, 1]
    penalty = tf.squeeze(compute_distance_penalty(lengths, max_edge_length,
                                                  dist_penalty_weight), axis=1)
    return tf.reduce_mean(dots, axis=1) + penalty


def score_paf_lines_batch(pafs, peaks, peak_channel_inds, skeleton_edges,
                          n_line_points: int, pafs_stride: int,
                          max_edge_length_ratio: float, dist_penalty_weight: float,
                          n_nodes: int, peak_sample_inds=None):
    """Create and score the candidate connections of a batch.

    Args:
        pafs: float32 `(n_samples, height, width, 2 * n_edges)` PAFs.
        peaks: float32 `tf.RaggedTensor` `(n_samples, (n_peaks), 2)` `(x, y)` peaks in
            image pixels (a dense `(n_samples, n_peaks, 2)` tensor also works); or flat
            `(n_peaks, 2)` with `peak_sample_inds`.
        peak_channel_inds: int32 node of each peak, grouped like `peaks`.
        skeleton_edges: int32 `(n_edges, 2)` `(source, destination)` node indices.
        n_line_points: Points sampled per line.
        pafs_stride: Stride of the PAFs relative to the image.
        max_edge_length_ratio: Lines longer than `ratio * max(height, width, 2 *
            n_edges) * pafs_stride` pixels are penalized.
        dist_penalty_weight: Scale of the distance penalty.
        n_nodes: Number of nodes in the skeleton.
        peak_sample_inds: int32 `(n_peaks,)` non-decreasing sample of each peak when
            `peaks` and `peak_channel_inds` are flat.

    Returns:
        `(edge_inds, edge_peak_inds, line_scores)` as `tf.RaggedTensor`s: int32
        `(n_samples, (n_candidates))`, int32 `(n_samples, (n_candidates), 2)` `[src,
        dst]` indices into the sample's peaks, float32 `(n_samples, (n_candidates))`.
    """
    pafs = tf.cast(pafs, tf.float32)
    n_samples = tf.shape(pafs)[0]
    peaks = _as_ragged(peaks, peak_sample_inds, n_samples, rank=3)
    channels = _as_ragged(peak_channel_inds, peak_sample_inds, n_samples)
    max_edge_length = (tf.constant(max_edge_length_ratio, tf.float32)
                       * tf.cast(tf.reduce_max(tf.shape(pafs)[1:]), tf.float32)
                       * tf.cast(pafs_stride, tf.float32))
    points = tf.cast(peaks.flat_values, tf.float32)
    row_starts = tf.cast(peaks.row_starts(), tf.int32)
    sample, edge, src, dst = _candidates(peaks.value_rowids(), channels.flat_values,
                                         n_samples, skeleton_edges, n_nodes)
    src_xy, dst_xy = tf.gather(points, src), tf.gather(points, dst)
    subs = _line_subs(src_xy, dst_xy, edge, n_line_points, pafs_stride,
                      tf.shape(pafs)[1:3])
    sample_subs = tf.broadcast_to(sample[:, None, None, None],
                                  tf.concat([tf.shape(subs)[:3], [1]], 0))
    lines = tf.gather_nd(pafs, tf.concat([sample_subs, subs], axis=-1))
    scores = _score(lines, src_xy, dst_xy, max_edge_length, dist_penalty_weight)
    local = tf.stack([src, dst], axis=1) - tf.gather(row_starts, sample)[:, None]
    rowids = tf.cast(sample, tf.int64)
    nrows = tf.cast(n_samples, tf.int64)
    return tuple(tf.RaggedTensor.from_value_rowids(v, rowids, nrows=nrows,
                                                   validate=False)
                 for v in (edge, local, scores))

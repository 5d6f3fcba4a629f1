"""Peak finding + PAF grouping time vs. the bottom-up model's forward pass.

1. SLEAP's bottom-up test model on frames of `centered_pair_low_quality.mp4`: per-frame
   forward pass vs. per-frame post-processing (local peaks with offset refinement +
   `PAFScorer.predict`), both as `tf.function`s on batches of 4.
2. Scaling: synthetic confidence maps and PAFs (20-node chain skeleton, 512x512 input,
   stride 2 maps / stride 4 PAFs) with 2, 10 and 50 instances per frame.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def _time(fn, *args, repeats=5):
    fn(*args)  # trace / warm up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(*args)
        _ = [o.numpy() if hasattr(o, "numpy") else o for o in
             (out if isinstance(out, (list, tuple)) else [out])]
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _postproc_fn(scorer, cm_stride, paf_ind, cm_ind, off_ind):
    from sleapish.nn._backend import tf
    from sleapish.nn.peak_finding import find_local_peaks, refine_peaks_with_offsets

    @tf.function
    def post(outputs):
        cms = outputs[cm_ind]
        pts, vals, s, c = find_local_peaks(cms, threshold=0.2)
        if off_ind is not None:
            pts = refine_peaks_with_offsets(pts, s, c, outputs[off_ind])
        pts = pts * cm_stride
        return scorer.predict(outputs[paf_ind], pts, vals, c, peak_sample_inds=s)[:3]

    return post


def bench_grouping(rows):
    """Append the forward-vs-post-processing and the scaling rows."""
    from sleapish.nn._backend import keras, tf
    from sleapish.nn.data.confidence_maps import make_multi_confmaps
    from sleapish.nn.data.edge_maps import make_multi_pafs
    from sleapish.nn.data.utils import make_grid_vectors
    from sleapish.nn.paf_grouping import PAFScorer

    if SHARED.is_dir():
        import sleapish
        from sleapish.nn.config import load_config

        folder = SHARED / "models" / "minimal_instance.UNet.bottomup"
        cfg = load_config(folder)
        km = keras.models.load_model(folder / "best_model.h5", compile=False)
        video = sleapish.load_video(SHARED / "videos" / "centered_pair_low_quality.mp4")
        frames = sleapish.read_frames(video, list(range(0, 200, 25)))[:4]
        x = tf.constant(frames.astype(np.float32) / 255.0)
        fwd = tf.function(lambda t: km(t, training=False))
        t_fwd = _time(fwd, x)
        outputs = fwd(x)
        scorer = PAFScorer.from_config(cfg.model.heads.multi_instance)
        cm_stride = cfg.model.heads.multi_instance.confmaps.output_stride
        post = _postproc_fn(scorer, cm_stride, 1, 0, 2)
        t_post = _time(post, outputs)
        n_inst = [len(i) for i in post(outputs)[0].to_list()]
        rows.append(("bottom-up post-processing (peaks + offsets + PAF grouping), "
                     "SLEAP's model on centered_pair 384², batch 4",
                     f"{1000 * t_post / 4:.1f} ms/frame vs forward {1000 * t_fwd / 4:.1f} "
                     f"ms/frame", f"{100 * t_post / t_fwd:.1f}% of forward "
                     f"({n_inst} instances)"))
    else:
        rows.append(("bottom-up post-processing vs forward", "skipped", "no ../shared/data"))

    n_nodes, h, w = 20, 512, 512
    names = [f"n{i}" for i in range(n_nodes)]
    edges = [(names[i], names[i + 1]) for i in range(n_nodes - 1)]
    scorer = PAFScorer(part_names=names, edges=edges, pafs_stride=4)
    rng = np.random.default_rng(0)
    for n_inst in (2, 10, 50):
        starts = rng.uniform(130, 382, (n_inst, 2))
        angles = rng.uniform(0, 2 * np.pi, n_inst)
        steps = np.arange(n_nodes)[None, :, None] * 6.0 * np.stack(
            [np.cos(angles), np.sin(angles)], -1)[:, None, :]
        inst = (starts[:, None] + steps).astype(np.float32)
        xv, yv = make_grid_vectors(h, w, 2)
        cms = make_multi_confmaps(inst, xv, yv, sigma=2.0)[None]
        pxv, pyv = make_grid_vectors(h, w, 4)
        src = inst[:, :-1]
        dst = inst[:, 1:]
        pafs = make_multi_pafs(pxv, pyv, src, dst, sigma=3.0)
        pafs = tf.reshape(pafs, [1, h // 4, w // 4, 2 * (n_nodes - 1)])
        outputs = [tf.tile(cms, [4, 1, 1, 1]), tf.tile(pafs, [4, 1, 1, 1])]
        post = _postproc_fn(scorer, 2, 1, 0, None)
        t = _time(post, outputs, repeats=5)
        found = [len(i) for i in post(outputs)[0].to_list()]
        graph_scorer = PAFScorer(part_names=names, edges=edges, pafs_stride=4,
                                 in_graph=True)  # what exported models run
        t_graph = _time(_postproc_fn(graph_scorer, 2, 1, 0, None), outputs, repeats=5)
        rows.append((f"grouping scaling: {n_inst} instances x 20 nodes per frame (512²)",
                     f"{1000 * t / 4:.1f} ms/frame (graph ops: {1000 * t_graph / 4:.1f})",
                     f"found {found[0]} instances; graph/NumPy {t_graph / t:.2f}x"))


if __name__ == "__main__":
    out = []
    bench_grouping(out)
    for r in out:
        print(" | ".join(r))

"""End-to-end prediction speed vs. forward-only speed, and memory, per model type.

For each SLEAP test model on the shared videos: end-to-end frames/s (video file ->
predictions .slp written), forward-only frames/s (the Keras model on preprocessed
batches already in memory), the post-processing share, and peak RSS growth when
predicting 1,000 frames instead of 100 (bottom-up).
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"

CASES = [
    ("single instance", ["minimal_robot.UNet.single_instance"], "small_robot.mp4"),
    ("top-down", ["minimal_instance.UNet.centroid", "minimal_instance.UNet.centered_instance"],
     "centered_pair_low_quality.mp4"),
    ("bottom-up", ["minimal_instance.UNet.bottomup"], "centered_pair_low_quality.mp4"),
    ("bottom-up multi-class", ["min_tracks_2node.UNet.bottomup_multiclass"], "clip.mp4"),
    ("top-down multi-class", ["minimal_instance.UNet.centroid",
                              "min_tracks_2node.UNet.topdown_multiclass"],
     "centered_pair_low_quality.mp4"),
]


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _forward_time(km, cfg, frames):
    """Seconds per forward pass of `km` on `frames` (preprocessed as in inference)."""
    from sleapish.nn._backend import tf
    from sleapish.nn.inference.layers import InferenceLayer
    from sleapish.nn.inference.predictors import keras_model_of

    km = keras_model_of(km)  # predictors hold Model wrappers
    pre = cfg.data.preprocessing
    layer = InferenceLayer(km, input_scale=pre.input_scaling,
                           pad_to_stride=pre.pad_to_stride or 1)
    x = layer.preprocess(tf.constant(frames))
    fwd = tf.function(lambda t: km(t, training=False))
    fwd(x)
    t = time.perf_counter()
    for _ in range(5):
        out = fwd(x)
        _ = [o.numpy() for o in (out if isinstance(out, (list, tuple)) else [out])]
    return (time.perf_counter() - t) / 5


def _forward_fps(predictor, frames, instances_per_frame, batch_size=4):
    """Frames/s of the Keras forward passes alone: the frame model on batches of
    frames, plus for top-down the instance model on the crops those frames yield."""
    batch = frames[:batch_size]
    if hasattr(predictor, "centroid_model") and predictor.confmap_model is not None:
        t = _forward_time(predictor.centroid_model, predictor.centroid_config, batch)
        crop = predictor.confmap_config.data.instance_cropping.crop_size
        scale = predictor.confmap_config.data.preprocessing.input_scaling
        size = int(round(crop / scale))
        n_crops = max(int(round(instances_per_frame * batch_size)), 1)
        crops = np.zeros((n_crops, size, size, frames.shape[-1]), np.uint8)
        t += _forward_time(predictor.confmap_model, predictor.confmap_config, crops)
        return batch_size / t
    km = getattr(predictor, "bottomup_model", None) or getattr(predictor, "model", None) \
        or predictor.confmap_model
    cfg = getattr(predictor, "bottomup_config", None) or getattr(predictor, "config", None) \
        or predictor.confmap_config
    return batch_size / _forward_time(km, cfg, batch)


def bench_inference(rows, n_frames: int = 100):
    """Append per-model rows and a memory row."""
    if not SHARED.is_dir():
        rows.append(("inference benchmarks", "skipped", "no ../shared/data"))
        return
    import sleapish
    from sleapish.nn.data.providers import VideoReader

    tmp = Path(tempfile.mkdtemp())
    for name, models, video_name in CASES:
        predictor = sleapish.load_model([str(SHARED / "models" / m) for m in models],
                                        progress_reporting="none")
        video = sleapish.load_video(SHARED / "videos" / video_name)
        n = min(n_frames, len(video))
        predictor.predict(VideoReader(video, list(range(8))))  # trace, warm up
        t = time.perf_counter()
        labels = predictor.predict(VideoReader(video, list(range(n))))
        sleapish.save_file(labels, tmp / f"{name}.slp")
        e2e = n / (time.perf_counter() - t)
        frames = sleapish.read_frames(video, list(range(16)))
        per_frame = sum(len(lf.instances) for lf in labels) / max(len(labels), 1)
        fwd = _forward_fps(predictor, frames, per_frame)
        rows.append((f"predict {name} ({video_name}, {n} frames, video -> .slp)",
                     f"{e2e:.1f} frames/s end-to-end vs {fwd:.1f} forward-only",
                     f"{100 * e2e / fwd:.0f}% of forward-only"))
    predictor = sleapish.load_model(str(SHARED / "models" / "minimal_instance.UNet.bottomup"),
                                    progress_reporting="none")
    video = sleapish.load_video(SHARED / "videos" / "centered_pair_low_quality.mp4")
    predictor.predict(VideoReader(video, list(range(100))))
    rss_100 = _rss_mb()
    predictor.predict(VideoReader(video, list(range(1000))))
    rss_1000 = _rss_mb()
    rows.append(("memory: bottom-up predict 100 then 1,000 frames (RSS after each)",
                 f"{rss_100:.0f} MB -> {rss_1000:.0f} MB",
                 f"growth {100 * (rss_1000 - rss_100) / rss_100:+.1f}% "
                 f"(peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"))


if __name__ == "__main__":
    out = []
    bench_inference(out, n_frames=int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    for r in out:
        print(" | ".join(r))

"""TensorFlow against ONNX Runtime and OpenVINO for SLEAP's UNets (`--backend`).

Two measurements, in one process per runtime configuration as prediction runs them:

1. Network alone: each of SLEAP's test models (`../shared/data/models`) at batch 1,
   4 and 16 on inputs of the size its job feeds it (frames after input scaling,
   crops for centered-instance models), frames/s per runtime and the largest
   difference of every output (confidence maps, PAFs, offsets, class maps) from
   TensorFlow's. TensorFlow runs the Keras model in a `tf.function`; ONNX Runtime
   and OpenVINO run the ONNX conversion (tf2onnx, opset 17) with the settings of
   :mod:`sleapish.nn.inference.backends` (OpenVINO compiled for the input size,
   float32).
2. End to end: `load_model(..., backend=...)` predicting the same frames of the
   job's video (decode included, batch 16), frames/s and whether the instances
   agree with TensorFlow's.

Usage:
    python benchmarks/bench_backends.py            # writes reports/backends.md
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
from bench_inference import CASES

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
REPORT = REPO / "benchmarks" / "reports" / "backends.md"
RUNTIMES = ("tensorflow", "onnxruntime", "openvino")

#: model -> input (height, width) its job feeds it.
NETWORKS = {
    "minimal_instance.UNet.bottomup": (384, 384),
    "minimal_instance.UNet.centroid": (384, 384),
    "minimal_instance.UNet.centered_instance": (96, 96),
    "minimal_robot.UNet.single_instance": (160, 288),
    "min_tracks_2node.UNet.bottomup_multiclass": (512, 512),
    "min_tracks_2node.UNet.topdown_multiclass": (128, 128),
}

#: job -> (models, video): the end-to-end cases of `bench_inference.py`.
JOBS = {name: (models, video) for name, models, video in CASES}


def _rate(fn, batch: int, seconds: float = 1.5) -> float:
    """Frames/s of `fn()` on a batch of `batch`, after one warm-up call."""
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 3:
        fn()
        n += 1
    return batch * n / (time.perf_counter() - t0)


def network_rows():
    """Network-alone rows: (model, batch, {runtime: fps}, {runtime: max diff})."""
    from sleapish.nn._backend import tf
    from sleapish.nn.inference.backends import BackendNetwork
    from sleapish.nn.inference.loading import load_model_folder

    rows = []
    for name, (h, w) in NETWORKS.items():
        _, km = load_model_folder(DATA / "models" / name)
        channels = int(km.inputs[0].shape[-1])
        tf_fn = tf.function(lambda x, km=km: km(x, training=False), reduce_retracing=True)
        nets = {r: BackendNetwork(km, r) for r in RUNTIMES[1:]}
        for batch in (1, 4, 16):
            x = np.random.default_rng(0).random((batch, h, w, channels), dtype=np.float32)
            want = [o.numpy() for o in tf.nest.flatten(tf_fn(x))]
            fps = {"tensorflow": _rate(lambda f=tf_fn, x=x: [o.numpy() for o in
                                                            tf.nest.flatten(f(x))], batch)}
            diff = {}
            for r, net in nets.items():
                got = net._run(x)
                diff[r] = max(float(np.abs(g - wnt).max()) for g, wnt in zip(got, want))
                fps[r] = _rate(lambda net=net, x=x: net._run(x), batch)
            rows.append((name, (h, w), batch, fps, diff))
            print(name, batch, {k: round(v, 1) for k, v in fps.items()}, diff, flush=True)
    return rows


def job_rows(n_frames: int = 96):
    """End-to-end rows: (job, {runtime: fps}, {runtime: agreement})."""
    import sleapish
    from sleapish.nn.data.providers import VideoReader

    rows = []
    for job, (models, video_name) in JOBS.items():
        video = sleapish.load_video(DATA / "videos" / video_name)
        frames = list(range(min(n_frames, len(video))))
        fps, points = {}, {}
        for r in RUNTIMES:
            predictor = sleapish.load_model([str(DATA / "models" / m) for m in models],
                                            batch_size=16, progress_reporting="none",
                                            backend=r)
            predictor.predict(VideoReader(video, frames[:16]))  # trace, compile
            t0 = time.perf_counter()
            labels = predictor.predict(VideoReader(video, frames))
            fps[r] = len(frames) / (time.perf_counter() - t0)
            points[r] = [np.sort(np.stack([i.numpy() for i in lf.instances])
                                 .reshape(-1, 2), axis=0) if lf.instances else
                         np.zeros((0, 2)) for lf in labels]
        agree = {}
        for r in RUNTIMES[1:]:
            same = [a.shape == b.shape for a, b in zip(points[r], points["tensorflow"])]
            d = [np.nanmax(np.abs(a - b)) for a, b, s in
                 zip(points[r], points["tensorflow"], same) if s and a.size]
            agree[r] = (float(np.mean(same)), float(np.max(d)) if d else 0.0)
        rows.append((job, fps, agree))
        print(job, {k: round(v, 1) for k, v in fps.items()}, agree, flush=True)
    return rows


def write_report(net, jobs, seconds: float) -> None:
    import onnxruntime
    import openvino

    import sleapish
    from sleapish.nn._backend import tf

    lines = [
        "# TensorFlow, ONNX Runtime and OpenVINO on SLEAP's UNets",
        "",
        f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
        f"CPU only; sleapish {sleapish.__version__}, TensorFlow {tf.__version__}, "
        f"ONNX Runtime {onnxruntime.__version__}, OpenVINO "
        f"{openvino.__version__.split('-')[0]}. One process; benchmark time "
        f"{seconds / 60:.0f} min. Written by `benchmarks/bench_backends.py`.",
        "",
        "## Network alone (frames/s; ratio to TensorFlow; largest output difference)",
        "",
        "| model | input | batch | TensorFlow | ONNX Runtime | OpenVINO | max abs diff ORT / OV |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (h, w), batch, fps, diff in net:
        tf_fps = fps["tensorflow"]
        lines.append(
            f"| `{name}` | {h}x{w} | {batch} | {tf_fps:.1f} | "
            f"{fps['onnxruntime']:.1f} ({fps['onnxruntime'] / tf_fps:.2f}x) | "
            f"{fps['openvino']:.1f} ({fps['openvino'] / tf_fps:.2f}x) | "
            f"{diff['onnxruntime']:.1e} / {diff['openvino']:.1e} |")
    lines += ["", "## End to end (video -> instances, batch 16, 96 frames)", "",
              "| job | TensorFlow | ONNX Runtime | OpenVINO | same instance count ORT / OV "
              "| largest point difference ORT / OV |", "|---|---|---|---|---|---|"]
    for job, fps, agree in jobs:
        tf_fps = fps["tensorflow"]
        lines.append(
            f"| {job} | {tf_fps:.1f} fps | {fps['onnxruntime']:.1f} "
            f"({fps['onnxruntime'] / tf_fps:.2f}x) | {fps['openvino']:.1f} "
            f"({fps['openvino'] / tf_fps:.2f}x) | {100 * agree['onnxruntime'][0]:.0f}% / "
            f"{100 * agree['openvino'][0]:.0f}% | {agree['onnxruntime'][1]:.2g} / "
            f"{agree['openvino'][1]:.2g} px |")
    REPORT.write_text("\n".join(lines) + "\n")
    REPORT.with_suffix(".json").write_text(json.dumps(
        {"network": [dict(model=n, input=list(s), batch=b, fps=f, max_abs_diff=d)
                     for n, s, b, f, d in net],
         "jobs": [dict(job=j, fps=f, agreement=a) for j, f, a in jobs]}, indent=1))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    if not DATA.is_dir():
        raise SystemExit(f"needs SLEAP's test data at {DATA}")
    t0 = time.perf_counter()
    net = network_rows()
    jobs = job_rows()
    write_report(net, jobs, time.perf_counter() - t0)

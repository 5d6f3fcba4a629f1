"""Training speed of the packaged baseline profiles, and the data pipeline's share.

For each of the six model types, the packaged baseline profile (real model size, batch
size 4, rotation augmentation) is set up by `Trainer.from_config` on a synthetic
512x512 dataset (40 frames; 3 animals, 1 for single-instance) with outputs off, then:

(a) training steps/s: `keras_model.fit(train_dataset, epochs=1, steps_per_epoch=N)`
    after a warm-up fit of a few steps (graph tracing); only the measured fit is
    timed (it includes starting a fresh pipeline iterator, so the median per-batch
    time from a callback is reported as well). N is ~20 s of steps (10..100);
(b) the data pipeline alone: `train_dataset` iterated for whole passes over the
    training set after a one-pass warm-up;
(c) pipeline share = pipeline s/batch / training s/step. tf.data prefetches, so the
    pipeline runs concurrently with the model step: a share well under 1 means data
    loading hides behind the step; note that both compete for the same CPU cores.

Run alone: `python benchmarks/bench_training.py [--quick]` (writes
`benchmarks/reports/training.md`), or via `benchmarks/run_all.py` / `make bench`.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_training_reference import _batch_timer  # one batch timer for both

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "benchmarks" / "reports" / "training.md"

#: (model type, packaged profile, animals in the synthetic dataset)
PROFILES = [
    ("centroid", "baseline.centroid", 3),
    ("centered instance (top-down)", "baseline_medium_rf.topdown", 3),
    ("bottom-up", "baseline_medium_rf.bottomup", 3),
    ("single instance", "baseline_medium_rf.single", 1),
    ("multi-class bottom-up", "baseline_medium_rf.multi_class_bottomup", 3),
    ("multi-class top-down", "baseline_medium_rf.multi_class_topdown", 3),
]
IMAGE_SIZE = (512, 512)
N_FRAMES = 40


def _machine_info() -> list:
    import sleapish
    from sleapish.nn._backend import keras, tf

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpus = tf.config.list_physical_devices("GPU")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"- sleapish {sleapish.__version__}, Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, tf-keras {getattr(keras, '__version__', '?')}",
        f"- {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
        f"{len(gpus)} GPUs; load average at start {load[0]:.2f}",
    ]


def _pipeline_s_per_batch(ds, n_warmup: int, n: int) -> float:
    """Seconds per batch of iterating `ds` alone, after `n_warmup` batches."""
    it = iter(ds)
    for _ in range(n_warmup):
        next(it)
    t = time.perf_counter()
    for _ in range(n):
        next(it)
    dt = (time.perf_counter() - t) / n
    del it
    gc.collect()
    return dt


def _bench_one(kind, profile, labels_path, n_steps, n_warmup, pipe_passes,
               step_budget_s=20.0):
    from sleapish.nn.config import TrainingJobConfig
    from sleapish.nn.training import Trainer
    from sleapish.nn.training.profiles import find_profile

    cfg = TrainingJobConfig.load_json(find_profile(profile))
    cfg.outputs.save_outputs = False
    t0 = time.perf_counter()
    trainer = Trainer.from_config(cfg, training_labels=str(labels_path), seed=0,
                                  verbosity="none")
    trainer.setup()
    setup_s = time.perf_counter() - t0
    km = trainer.keras_model
    bs = trainer.config.optimization.batch_size
    shape = tuple(int(d) for d in km.input_shape[1:])
    params = km.count_params()

    # (b) the pipeline alone (first, so no fit iterator runs in the background). The
    # pipeline shuffles a whole pass of the training set before batching and
    # repeating, so warm up one pass and time whole passes.
    labels = trainer.data_readers.training_labels
    n_examples = (sum(len(lf.user_instances) for lf in labels)
                  if trainer.input_key == "instance_image" else len(labels))
    per_pass = -(-n_examples // bs)
    n_pipe = pipe_passes * per_pass
    pipe_s = _pipeline_s_per_batch(trainer.train_dataset, n_warmup=per_pass, n=n_pipe)
    # (a) training steps: warm-up fit (graph tracing), then the measured fit.
    timer = _batch_timer()
    t = time.perf_counter()
    km.fit(trainer.train_dataset, epochs=1, steps_per_epoch=n_warmup, verbose=0,
           callbacks=[timer])
    warmup_s = time.perf_counter() - t
    if n_steps is None:  # about `step_budget_s` of measured steps, 10..100 steps
        n_steps = int(min(100, max(10, step_budget_s / max(timer.times[-1][1], 1e-3))))
    timer = _batch_timer()
    t = time.perf_counter()
    km.fit(trainer.train_dataset, epochs=1, steps_per_epoch=n_steps, verbose=0,
           callbacks=[timer])
    step_s = (time.perf_counter() - t) / n_steps
    batch_s = [dt for _, dt in timer.times]
    median_batch = statistics.median(batch_s[1:] or batch_s)
    row = dict(kind=kind, profile=profile, shape=shape, params=params, bs=bs,
               steps_per_s=1.0 / step_s, s_per_step=step_s, median_batch=median_batch,
               first_batch=batch_s[0],
               pipe_bps=1.0 / pipe_s, pipe_s=pipe_s, share=pipe_s / step_s,
               setup_s=setup_s, warmup_s=warmup_s, n_steps=n_steps, n_pipe=n_pipe,
               n_train=n_examples)
    del trainer, km, timer
    from sleapish.nn._backend import keras

    keras.backend.clear_session()
    gc.collect()
    return row


def _markdown(results, info, quick, elapsed) -> str:
    lines = [
        "# Training speed of the baseline profiles",
        "",
        *info,
        f"- data: synthetic {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} grayscale, {N_FRAMES} frames "
        "(3 animals; single instance: 1), 10% held out for validation; profiles as "
        "packaged (batch size 4, rotation augmentation +/-15 degrees, preloaded, "
        "shuffle buffer 128, prefetch)",
        f"- {'QUICK smoke run (tiny N, numbers are noisy)' if quick else 'full run'}; "
        f"total {elapsed / 60:.1f} min. The machine may be shared: compare rows of one "
        "report, not absolute numbers across reports.",
        "- steps/s and s/step: wall time of `keras_model.fit(train_dataset, epochs=1, "
        "steps_per_epoch=N)` after a warm-up fit (includes starting the fit's pipeline "
        "iterator); median batch: median per-batch wall time (callback) of that fit, "
        "first batch excluded",
        "- pipeline batches/s: `train_dataset` iterated alone for whole passes over the "
        "training set (it shuffles a pass, then batches and repeats) after a one-pass "
        "warm-up; pipeline "
        "share = pipeline s/batch / s/step. tf.data prefetch runs the pipeline "
        "concurrently with the step, so its cost is largely hidden when the share is "
        "small (but it competes for the same CPU cores).",
        "",
        "| model type | profile | input shape | params | N steps | steps/s | s/step | "
        "median batch (s) | pipeline batches/s | pipeline s/batch | pipeline share |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['kind']} | {r['profile']} | error: {r['error']} "
                         "| | | | | | | | |")
            continue
        lines.append(
            f"| {r['kind']} | {r['profile']} | {'x'.join(map(str, r['shape']))} | "
            f"{r['params']:,} | {r['n_steps']} | {r['steps_per_s']:.2f} | "
            f"{r['s_per_step']:.3f} | {r['median_batch']:.3f} | {r['pipe_bps']:.1f} | "
            f"{r['pipe_s']:.4f} | {100 * r['share']:.1f}% |")
    lines += ["", "Setup and warm-up (graph tracing) times:", "",
              "| model type | trainer setup (s) | warm-up fit (s) | first measured batch (s) | "
              "training examples | pipeline batches timed |",
              "|---|---|---|---|---|---|"]
    for r in results:
        if "error" not in r:
            lines.append(f"| {r['kind']} | {r['setup_s']:.1f} | {r['warmup_s']:.1f} | "
                         f"{r['first_batch']:.2f} | {r['n_train']} | {r['n_pipe']} |")
    return "\n".join(lines) + "\n"


def bench_training(rows, quick: bool = False):
    """Append one row per model type to `rows`; write `reports/training.md`."""
    from sleapish.datasets import make_synthetic_dataset
    from sleapish.io.files import atomic_write_text

    t_start = time.perf_counter()
    info = _machine_info()
    # quick: 2 measured steps; full: ~20 s of steps per model (10..100 steps)
    n_steps, n_warmup, pipe_passes = (2, 1, 1) if quick else (None, 2, 5)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        datasets = {}
        for n_animals in sorted({a for _, _, a in PROFILES}):
            datasets[n_animals] = make_synthetic_dataset(
                Path(tmp) / f"animals{n_animals}", n_frames=N_FRAMES, n_animals=n_animals,
                image_size=IMAGE_SIZE, identity_marks=True, seed=1).labels_path
        for kind, profile, n_animals in PROFILES:
            print(f"  training {kind} ({profile}) ...", flush=True)
            try:
                r = _bench_one(kind, profile, datasets[n_animals], n_steps, n_warmup,
                               pipe_passes)
            except Exception as e:  # keep benchmarking the other model types
                r = dict(kind=kind, profile=profile, error=f"{type(e).__name__}: {e}")
            results.append(r)
    elapsed = time.perf_counter() - t_start
    atomic_write_text(REPORT, _markdown(results, info, quick, elapsed))
    for r in results:
        name = (f"training {r['kind']} ({r['profile']}, synthetic "
                f"{IMAGE_SIZE[0]}², BS 4)")
        if "error" in r:
            rows.append((name, "failed", r["error"]))
            continue
        rows.append((name,
                     f"{r['steps_per_s']:.2f} steps/s ({r['s_per_step']:.3f} s/step, "
                     f"input {'x'.join(map(str, r['shape']))}, {r['params']:,} params)",
                     f"pipeline {r['pipe_bps']:.1f} batches/s = "
                     f"{100 * r['share']:.1f}% of step time"))
    rows.append(("training speed details", "see reports/training.md", ""))
    return results


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rows = []
    bench_training(rows, quick="--quick" in argv)
    print(REPORT.read_text())
    print(f"wrote {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

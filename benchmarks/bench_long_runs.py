"""Long runs: the cost of reproducible training, and memory over long videos.

(a) Determinism cost. The packaged centroid and bottom-up profiles (real model
    size, batch 4, rotation) train on a synthetic 512x512 dataset (40 frames) in
    fresh processes, with `seed=1` (TensorFlow op determinism on, seeded data
    stream) and without a seed (op determinism off); the median s/batch of 12
    batches after 3 warm-up batches is compared. The two runs alternate, twice.
(b) Memory. Tiny bottom-up and top-down models (trained 10 x 10 batches on a synthetic
    dataset) track a synthetic 128x128 video of 10,000 frames with the simple
    tracker (`-n 2`, peak threshold 1e-4 so that the barely trained models find instances on
    every frame), for the first 1k, 5k and 10k frames, each in a fresh
    `sleapish-track` process whose resident memory is sampled every 0.2 s; the
    peak RSS per length and its growth from 1k to 10k are reported (flat means
    < 10%).

Run alone: `python benchmarks/bench_long_runs.py [--quick]` (writes
`benchmarks/reports/long_runs.md`), or via `make bench`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import write_report

REPO = Path(__file__).resolve().parents[1]

TRAIN_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[4])
from bench_training_reference import _batch_timer
from sleapish.nn.config import TrainingJobConfig
from sleapish.nn.training import Trainer
from sleapish.nn.training.profiles import find_profile
cfg = TrainingJobConfig.load_json(find_profile(sys.argv[1]))
cfg.outputs.save_outputs = False
cfg.optimization.batch_size = 4
cfg.optimization.batches_per_epoch = 15
cfg.optimization.epochs = 1
seed = None if sys.argv[3] == "none" else int(sys.argv[3])
t = Trainer.from_config(cfg, training_labels=sys.argv[2], seed=seed, verbosity="none")
t.setup()
timer = _batch_timer()
t.keras_model.fit(t.train_dataset, epochs=1, steps_per_epoch=15, callbacks=[timer],
                  verbose=0)
times = [dt for _, dt in timer.times][3:]
print("RESULT" + json.dumps(sorted(times)[len(times) // 2]))
"""


def _train_s_per_batch(profile, labels, seed) -> float:
    r = subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, profile, str(labels),
                        str(seed), str(REPO / "benchmarks")], cwd=REPO,
                       capture_output=True, text=True, timeout=1800)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return float(json.loads(r.stdout.split("RESULT", 1)[1]))


def bench_determinism(rows, tmp: Path, quick: bool) -> None:
    from sleapish.datasets import make_synthetic_dataset

    data = make_synthetic_dataset(tmp / "det", n_frames=40, n_animals=3,
                                  image_size=(512, 512), seed=2)
    profiles = [("centroid", "baseline.centroid")]
    if not quick:
        profiles.append(("bottom-up", "baseline_medium_rf.bottomup"))
    for name, profile in profiles:
        on, off = [], []
        for _ in range(1 if quick else 2):
            on.append(_train_s_per_batch(profile, data.labels_path, 1))
            off.append(_train_s_per_batch(profile, data.labels_path, "none"))
        a, b = statistics.median(on), statistics.median(off)
        rows.append((f"training s/batch, {name} ({profile})",
                     f"{a:.3f} seeded vs {b:.3f} unseeded ({a / b:.2f}x)",
                     "seeded: op determinism + seeded stream; median of 12 batches, "
                     f"{len(on)} alternating pair(s)"))


def _peak_rss_mib(cmd) -> tuple:
    import psutil

    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.2)
    err = proc.stderr.read()
    if proc.returncode:
        raise RuntimeError(err[-2000:])
    return peak / 2**20, time.time() - t0


def _tiny_models(tmp: Path):
    sys.path.insert(0, str(REPO / "tests" / "nn" / "training"))
    from training_helpers import tiny_config

    from sleapish.datasets import make_synthetic_dataset
    from sleapish.nn.training import Trainer

    data = make_synthetic_dataset(tmp / "train", n_frames=32, n_animals=2,
                                  image_size=(128, 128), seed=7)
    runs = {}
    for kind in ("multi_instance", "centroid", "centered_instance"):
        cfg = tiny_config(kind, tmp / "runs", epochs=10, batches=10)
        cfg.optimization.initial_learning_rate = 1e-3
        t = Trainer.from_config(cfg, training_labels=str(data.labels_path), seed=1,
                                verbosity="none", eval_max_frames=1)
        t.train()
        runs[kind] = t.run_path
    return runs


def bench_memory(rows, tmp: Path, quick: bool) -> None:
    import sleap_io as sio

    from sleapish.datasets import make_synthetic_dataset

    runs = _tiny_models(tmp)
    lengths = [200, 1000] if quick else [1000, 5000, 10000]
    video = make_synthetic_dataset(tmp / "long", n_frames=lengths[-1], n_animals=2,
                                   image_size=(128, 128), seed=3).video_path
    jobs = [("bottom-up", [runs["multi_instance"]]),
            ("top-down", [runs["centroid"], runs["centered_instance"]])]
    for name, models in jobs:
        peaks = []
        for n in lengths:
            cmd = [sys.executable, "-m", "sleapish.nn.inference.cli", str(video),
                   *[a for m in models for a in ("-m", m)], "--frames", f"0-{n - 1}",
                   "--tracking.tracker", "simple", "-n", "2", "--peak_threshold", "0.0001",
                   "--verbosity", "none",
                   "-o", str(tmp / f"{name}.{n}.slp"), "--overwrite"]
            peak, wall = _peak_rss_mib(cmd)
            peaks.append(peak)
            labels = sio.load_slp(str(tmp / f"{name}.{n}.slp"))
            n_inst = sum(len(lf.instances) for lf in labels.labeled_frames)
            rows.append((f"sleapish-track peak RSS, {name} + simple tracker, {n} frames",
                         f"{peak:.0f} MiB", f"{wall:.0f} s whole process; {n_inst} "
                         f"instances, {len(labels.tracks)} tracks"))
        growth = peaks[-1] / peaks[0] - 1
        rows.append((f"RSS growth {lengths[0]} -> {lengths[-1]} frames, {name}",
                     f"{100 * growth:+.1f}%", "flat" if growth < 0.10 else "GROWS"))


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def main(argv=None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    rows = []
    with tempfile.TemporaryDirectory() as d:
        bench_memory(rows, Path(d), quick)
        bench_determinism(rows, Path(d), quick)
    text = write_report("long_runs", "Long runs: determinism cost and memory",
                        [f"machine: {_cpu()}, {os.cpu_count()} cores",
                         "quick (smoke) run: not comparable" if quick else
                         "full run; see docs/long_runs.md"], rows)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

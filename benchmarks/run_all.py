"""Run sleapish's benchmarks and write benchmarks/reports/report.md.

Each benchmark runs in this one process (or in fresh subprocesses for import times)
and reports medians. The machine may be shared and noisy: compare ratios measured
in the same run, not absolute numbers across runs.
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "benchmarks"))


def _import_time(stmt: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                             text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _timeit(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_imports(rows):
    tf = _import_time("import tensorflow")
    sl = _import_time("import sleapish")
    cfg = _import_time("import sleapish.nn.config")
    be = _import_time("import sleapish.nn._backend")
    rows.append(("import tensorflow", f"{tf:.2f} s", "reference"))
    rows.append(("import sleapish", f"{sl:.2f} s", f"{sl / tf:.2f}x TensorFlow's"))
    rows.append(("import sleapish.nn.config", f"{cfg:.2f} s", f"{cfg / tf:.2f}x"))
    rows.append(("import sleapish.nn._backend (TF + tf-keras, logs captured)",
                 f"{be:.2f} s", f"{be / tf:.2f}x"))


def bench_configs(rows):
    from sleapish.nn.config import TrainingJobConfig

    files = sorted((SHARED / "models").glob("*/*.json")) if SHARED.is_dir() else []
    if not files:
        rows.append(("config load + JSON round trip", "skipped", "no ../shared/data"))
        return

    def run():
        for f in files:
            c = TrainingJobConfig.load_json(f, load_training_config=False)
            TrainingJobConfig.from_json(c.to_json())

    t = _timeit(run)
    rows.append((f"config load + round trip ({len(files)} SLEAP files)",
                 f"{1000 * t / len(files):.2f} ms/file", ""))


def bench_labels(rows):
    import sleapish

    if not SHARED.is_dir():
        rows.append(("labels load", "skipped", "no ../shared/data"))
        return
    videos = [SHARED / "videos"]
    clip = SHARED / "labels" / "clip.slp"
    t = _timeit(lambda: sleapish.load_file(clip, search_paths=videos), repeats=3)
    rows.append(("load clip.slp (1500 frames x 2 flies) + open video", f"{t:.2f} s", ""))
    preds = SHARED / "labels" / "centered_pair_predictions.slp"
    t = _timeit(lambda: sleapish.load_file(preds, search_paths=videos), repeats=3)
    rows.append(("load centered_pair_predictions.slp (1100 frames)", f"{t:.2f} s", ""))
    labels = sleapish.load_file(clip, search_paths=videos)
    inds = list(range(200, 264))
    t = _timeit(lambda: sleapish.read_frames(labels.video, inds), repeats=3)
    rows.append(("read_frames clip.mp4 1024x1024 gray, 64 sequential",
                 f"{len(inds) / t:.0f} frames/s", "OpenCV decoder (pinned)"))
    rand = [int(i) for i in (__import__("numpy").random.default_rng(0)
                             .integers(0, 1500, 16))]
    t = _timeit(lambda: sleapish.read_frames(labels.video, rand), repeats=3)
    rows.append(("read_frames clip.mp4, 16 random frames", f"{len(rand) / t:.0f} frames/s",
                 "seeks"))


def bench_synthetic(rows):
    from sleapish.datasets import make_synthetic_dataset

    with tempfile.TemporaryDirectory() as d:
        t = _timeit(lambda: make_synthetic_dataset(d, n_frames=120,
                                                   image_size=(192, 192)), repeats=3)
    rows.append(("make_synthetic_dataset 120 frames 192x192 (render+encode+save)",
                 f"{t:.2f} s", ""))


def main() -> int:
    from bench_cluster import bench_cluster
    from bench_export import bench_export
    from bench_grouping import bench_grouping
    from bench_inference import bench_inference
    from bench_pipelines import bench_pipelines
    from bench_training import bench_training

    import sleapish
    from sleapish.io.files import atomic_write_text

    rows = []
    for bench in (bench_imports, bench_configs, bench_labels, bench_synthetic,
                  bench_pipelines, bench_grouping, bench_inference, bench_export,
                  bench_cluster, bench_training):
        print(f"running {bench.__name__} ...", flush=True)
        bench(rows)
    import bench_tracking

    print("running bench_tracking ...", flush=True)
    bench_tracking.main([])
    rows.append(("tracking identity and speed on clip.mp4", "see reports/tracking.md", ""))
    import bench_long_runs

    print("running bench_long_runs ...", flush=True)
    bench_long_runs.main([])
    rows.append(("determinism cost; RSS over 1k/5k/10k frames", "see reports/long_runs.md",
                 ""))
    lines = [
        "# sleapish benchmark report",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"- sleapish {sleapish.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {__import__('os').cpu_count()} CPUs",
        "- medians of repeated runs; compare ratios within one report",
        "",
        "| benchmark | result | note |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    report = REPO / "benchmarks" / "reports" / "report.md"
    atomic_write_text(report, "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

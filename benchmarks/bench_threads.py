"""Thread settings for prediction on a small CPU: which defaults keep the cores busy
without oversubscribing them.

A prediction process has three pools that compete for the cores: TensorFlow's
intra-op pool (inside each op: convolutions; default one thread per core), its
inter-op pool (independent ops side by side; default one per core), and the video
decoder (OpenCV's FFmpeg reader, one frame at a time in sleapish's prefetch thread;
FFmpeg's own decoder threads default to the core count). Each configuration here
runs `sleapish-track` as a whole process, alternating configurations within each
repetition so that they see the same machine load, and reports median wall time,
CPU-seconds and cores busy.

The knobs are environment variables read at start-up: `TF_NUM_INTRAOP_THREADS`,
`TF_NUM_INTEROP_THREADS` (TensorFlow) and `OPENCV_FFMPEG_CAPTURE_OPTIONS="threads;N"`
(OpenCV's FFmpeg reader).

Usage:
    python benchmarks/bench_threads.py [--reps 2]      # writes reports/threads.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
REPORT = REPO / "benchmarks" / "reports" / "threads.md"
TRACK = Path(sys.executable).parent / "sleapish-track"

JOBS = {
    "bottom-up, 300 frames": (["minimal_instance.UNet.bottomup"],
                              "centered_pair_low_quality.mp4", "0-299"),
    "top-down, 300 frames": (["minimal_instance.UNet.centroid",
                              "minimal_instance.UNet.centered_instance"],
                             "centered_pair_low_quality.mp4", "0-299"),
    "single instance, 166 frames": (["minimal_robot.UNet.single_instance"],
                                    "small_robot.mp4", None),
}

CONFIGS = {
    "defaults": {},
    "TF intra-op 1": {"TF_NUM_INTRAOP_THREADS": "1"},
    "TF inter-op 1": {"TF_NUM_INTEROP_THREADS": "1"},
    "TF intra-op 1, inter-op 1": {"TF_NUM_INTRAOP_THREADS": "1",
                                  "TF_NUM_INTEROP_THREADS": "1"},
    "TF intra-op 2x cores": {"TF_NUM_INTRAOP_THREADS": str(2 * os.cpu_count())},
    "FFmpeg decoder 1 thread": {"OPENCV_FFMPEG_CAPTURE_OPTIONS": "threads;1"},
}


def run(job, env_extra, out: Path):
    models, video, frames = JOBS[job]
    cmd = [str(TRACK), str(DATA / "videos" / video), "--batch_size", "16",
           "--verbosity", "none", "-o", str(out)]
    for m in models:
        cmd += ["-m", str(DATA / "models" / m)]
    if frames:
        cmd += ["--frames", frames]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", **env_extra)
    stats = out.with_suffix(".time")
    t0 = time.perf_counter()
    subprocess.run(["/usr/bin/time", "-f", "%e %U %S", "-o", str(stats), *cmd], env=env,
                   check=True, capture_output=True)
    wall = time.perf_counter() - t0
    _, u, s = stats.read_text().split()[-3:]
    return wall, float(u) + float(s)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args(argv)
    t_start = time.perf_counter()
    results = {(j, c): [] for j in JOBS for c in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for job in JOBS:
                order = list(CONFIGS) if rep % 2 == 0 else list(CONFIGS)[::-1]
                for conf in order:
                    wall, cpu = run(job, CONFIGS[conf], Path(tmp) / "out.slp")
                    results[(job, conf)].append((wall, cpu))
                    print(f"{job} | {conf}: {wall:.1f} s wall, {cpu:.1f} CPU-s", flush=True)
    lines = ["# Thread settings for prediction", "",
             f"{os.cpu_count()} cores, CPU only; `sleapish-track`, batch 16, whole "
             f"process; median of {args.reps} alternating repetitions; benchmark time "
             f"{(time.perf_counter() - t_start) / 60:.0f} min. Written by "
             "`benchmarks/bench_threads.py`.", "",
             "| job | settings | wall | vs defaults | CPU-s | cores busy |",
             "|---|---|---|---|---|---|"]
    for job in JOBS:
        base = statistics.median(w for w, _ in results[(job, "defaults")])
        for conf in CONFIGS:
            walls = [w for w, _ in results[(job, conf)]]
            cpus = [c for _, c in results[(job, conf)]]
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            lines.append(f"| {job} | {conf} | {wall:.1f} s | {wall / base:.2f} | "
                         f"{cpu:.0f} | {cpu / wall:.2f} |")
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()

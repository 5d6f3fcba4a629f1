"""`track_many` on a local Ray instance: 4 copies of a video, 1 vs 2 workers.

Reports total frames/s (wall time of the whole call, model loading included), the
1 -> 2 worker ratio, and the fixed cost of starting Ray. Writes
`benchmarks/reports/cluster.md` when run alone.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def bench_cluster(rows, n_frames: int = 96, copies: int = 4):
    """Append the rows (skipped without Ray or the shared data)."""
    try:
        import ray
    except ImportError:
        rows.append(("track_many on Ray", "skipped", "Ray not installed"))
        return
    if not SHARED.is_dir():
        rows.append(("track_many on Ray", "skipped", "no ../shared/data"))
        return
    import cv2

    import sleapish
    from sleapish.nn.inference.cluster import track_many

    model = str(SHARED / "models" / "minimal_instance.UNet.bottomup")
    source = sleapish.load_video(SHARED / "videos" / "centered_pair_low_quality.mp4")
    frames = sleapish.read_frames(source, list(range(n_frames)))
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        first = d / "v0.avi"
        writer = cv2.VideoWriter(str(first), cv2.VideoWriter_fourcc(*"MJPG"), 25,
                                 (frames.shape[2], frames.shape[1]), isColor=False)
        for f in frames:
            writer.write(f[..., 0])
        writer.release()
        videos = [first] + [shutil.copy(first, d / f"v{k}.avi") for k in range(1, copies)]
        t = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        t_start = time.perf_counter() - t
        fps = {}
        for workers in (1, 2):
            t = time.perf_counter()
            res = track_many(videos, model, workers=workers, output_dir=d / f"o{workers}",
                             **{"tracking.tracker": "simple"})
            wall = time.perf_counter() - t
            assert all(r.status == "done" for r in res), res
            fps[workers] = copies * n_frames / wall
        ray.shutdown()
    rows.append(("Ray local instance start (ray.init)", f"{t_start:.1f} s", "fixed cost"))
    rows.append((f"track_many, {copies} videos x {n_frames} frames (bottom-up + simple "
                 "tracker), 1 worker", f"{fps[1]:.1f} frames/s", "whole call, model load "
                 "included"))
    rows.append(("same, 2 workers", f"{fps[2]:.1f} frames/s",
                 f"{fps[2] / fps[1]:.2f}x 1 worker"))


def main() -> int:
    from report import write_report

    rows = []
    bench_cluster(rows)
    print(write_report("cluster", "track_many on a local Ray instance",
                       ["this machine is shared: compare within one report"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

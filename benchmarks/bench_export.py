"""Exported end-to-end models vs the Python predictor (frames/s and batch-1 latency).

For SLEAP's bottom-up, top-down and single-instance test models: the same frames go
through (a) the Python predictor's inference model (`predict_on_batch`, grouping in
NumPy/scipy callbacks) and (b) the exported SavedModel's signature (grouping as graph
ops), in alternating rounds; throughput at batch 4 and the latency of one frame.
Writes `benchmarks/reports/export.md` when run alone.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"

CASES = {
    "bottom-up": (["minimal_instance.UNet.bottomup"], "centered_pair_low_quality.mp4"),
    "top-down": (["minimal_instance.UNet.centroid",
                  "minimal_instance.UNet.centered_instance"],
                 "centered_pair_low_quality.mp4"),
    "single instance": (["minimal_robot.UNet.single_instance"], "small_robot.mp4"),
}


def _seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_export(rows, n_frames: int = 32, batch: int = 4, rounds: int = 3):
    """Append one row per model type and measure."""
    import sleap_io as sio

    import sleapish
    from sleapish.nn._backend import tf
    from sleapish.nn.inference import export_model, load_model

    if not SHARED.is_dir():
        rows.append(("exported model vs predictor", "skipped", "no ../shared/data"))
        return
    for name, (models, video) in CASES.items():
        paths = [str(SHARED / "models" / m) for m in models]
        frames = sleapish.read_frames(sio.load_video(str(SHARED / "videos" / video)),
                                      list(range(n_frames)))
        predictor = load_model(paths, resize_input_layer=False, progress_reporting="none")
        model = predictor.inference_model
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            folder = export_model(paths, Path(d) / "export")
            t_export = time.perf_counter() - t
            sig = tf.saved_model.load(str(folder)).signatures["serving_default"]
            batches = [frames[i:i + batch] for i in range(0, n_frames, batch)]

            def python(batches=batches, model=model):
                for b in batches:
                    model.predict_on_batch(b, numpy=True)

            def exported(batches=batches, sig=sig):
                for b in batches:
                    {k: v.numpy() for k, v in sig(image=tf.constant(b)).items()}

            one = frames[:1]
            python()  # trace both
            exported()
            t_py, t_ex = [], []
            for _ in range(rounds):  # alternate, so both see the same machine load
                t_py.append(_seconds(python))
                t_ex.append(_seconds(exported))
            lat_py = statistics.median(
                _seconds(lambda model=model, one=one: model.predict_on_batch(one, numpy=True))
                for _ in range(15))
            lat_ex = statistics.median(
                _seconds(lambda sig=sig, one=one: {k: v.numpy() for k, v in
                                                    sig(image=tf.constant(one)).items()})
                for _ in range(15))
        fps_py, fps_ex = n_frames / statistics.median(t_py), n_frames / statistics.median(t_ex)
        rows.append((f"{name}: exported SavedModel vs Python predictor, batch {batch}",
                     f"{fps_ex:.1f} vs {fps_py:.1f} frames/s ({fps_ex / fps_py:.2f}x)",
                     f"export {t_export:.0f} s"))
        rows.append((f"{name}: latency of one frame (batch 1), exported vs Python",
                     f"{1000 * lat_ex:.0f} vs {1000 * lat_py:.0f} ms",
                     f"{lat_py / lat_ex:.2f}x"))


def main() -> int:
    from report import write_report

    rows = []
    bench_export(rows)
    print(write_report("export", "Exported models vs the Python predictor",
                       ["SLEAP's test models on their videos, 32 frames; rounds "
                        "alternate; medians; this machine is shared: compare within "
                        "one report"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reproduce SLEAP 1.4.1's two reference trainings on clip.slp with sleapish.

`../shared/reference_runs/` holds the full `training_config.json` SLEAP 1.4.1 wrote for
a centered-instance and a bottom-up training on `clip.slp` (1500 frames x 2 flies),
and a README with what SLEAP reached on a 2-core CPU machine. This script trains the
same configs with sleapish's `Trainer` (same split from `training_inds` /
`validation_inds` / `test_inds`, same epochs and batches per epoch; only the run
folder and visualizations changed), times every training batch, and compares the
test metrics the trainer writes (`metrics.test.npz`) with SLEAP's.

Outputs:

- run folders in `benchmarks/runs/reference/<run_name>/` (git-ignored), plus a
  `<run_name>.result.json` summary next to them;
- `benchmarks/reports/training_reference.md` (all runs with a summary, so runs can
  be done one at a time) and `benchmarks/reports/training_reference_<run>.png`
  (loss and val_loss per epoch).

Takes ~20 min on 2 CPU cores; not part of `run_all.py`. Usage:

    python benchmarks/bench_training_reference.py [--run {centered_instance,bottomup,all}]
        [--epochs N] [--batches N] [--eval-max-frames N]

`--epochs`, `--batches` and `--eval-max-frames` are for smoke tests only (the report
marks such runs as not comparable).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LABELS = SHARED / "data" / "labels" / "clip.slp"
VIDEOS = SHARED / "data" / "videos"
REFERENCE = SHARED / "reference_runs"
RUNS = REPO / "benchmarks" / "runs" / "reference"
REPORTS = REPO / "benchmarks" / "reports"
REPORT = REPORTS / "training_reference.md"

#: SLEAP 1.4.1's results, from ../shared/reference_runs/README.md (best epoch).
SLEAP = {
    "centered_instance": dict(
        config="clip_centered_instance.training_config.json",
        description="centered instance (UNet, crop 160, BS 8), evaluated with "
                    "ground-truth centroids",
        epochs_x_batches="15 x 50", params="1.95M", s_per_batch=0.175, mAP=0.588, mOKS=0.735,
        p50=1.54, p90=9.25),
    "bottomup": dict(
        config="clip_bottomup.training_config.json",
        description="bottom-up (UNet, input scaling 0.5 -> 512², BS 4)",
        epochs_x_batches="10 x 50", params="1.92M", s_per_batch=0.735, mAP=0.300, mOKS=0.534,
        p50=3.61, p90=20.0),
}


def _batch_timer():
    """A Keras callback recording (epoch, wall time) of every training batch."""
    from sleapish.nn._backend import keras

    class BatchTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []
            self.epoch = 0
            self._t = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            self._t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append((self.epoch, time.perf_counter() - self._t))

    return BatchTimer()


def _steady_s_per_batch(times):
    """Median batch time excluding the first epoch (or, with one epoch, the first
    batch)."""
    if not times:
        return float("nan")
    first = times[0][0]
    later = [dt for e, dt in times if e != first]
    if not later:
        later = [dt for _, dt in times[1:]] or [times[0][1]]
    return statistics.median(later)


def _read_log(run_path):
    path = Path(run_path) / "training_log.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: (float(v) if v not in ("", None) else float("nan"))
                 for k, v in row.items()} for row in csv.DictReader(f)]


def _plot(run, log, out_png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    epochs = [int(r["epoch"]) + 1 for r in log]
    for key, style in (("loss", "o-"), ("val_loss", "s--")):
        if log and key in log[0]:
            ax.plot(epochs, [r[key] for r in log], style, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (MSE)")
    ax.set_yscale("log")
    ax.set_title(f"sleapish on clip.slp: {run} (SLEAP reference config)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = out_png.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, out_png)


def train_one(run, epochs=None, batches=None, eval_max_frames=None, seed=None):
    """Train one reference config; returns the result summary (also saved as JSON)."""
    from sleapish.nn import evals
    from sleapish.nn._backend import keras
    from sleapish.nn.config import TrainingJobConfig
    from sleapish.nn.training import Trainer

    ref = SLEAP[run]
    cfg = TrainingJobConfig.load_json(REFERENCE / ref["config"])
    out = cfg.outputs
    out.runs_folder = str(RUNS)
    out.run_name = f"clip_{run}"
    out.run_name_prefix, out.run_name_suffix = "", ""
    out.save_visualizations = False
    out.save_outputs = True
    opt = cfg.optimization
    if epochs is not None:
        opt.epochs = int(epochs)
    if batches is not None:
        opt.batches_per_epoch = int(batches)
        opt.min_batches_per_epoch = min(opt.min_batches_per_epoch or 0, int(batches))
        opt.val_batches_per_epoch = min(opt.val_batches_per_epoch or int(batches),
                                        int(batches))
        opt.min_val_batches_per_epoch = min(opt.min_val_batches_per_epoch or 0,
                                            int(batches))
    smoke = epochs is not None or batches is not None or eval_max_frames is not None
    run_path = Path(out.runs_folder) / out.run_name
    if run_path.exists():  # a fresh run: no stale metrics or resume state
        shutil.rmtree(run_path)

    t0 = time.perf_counter()
    trainer = Trainer.from_config(cfg, training_labels=str(LABELS),
                                  video_search_paths=[str(VIDEOS)], seed=seed,
                                  verbosity="none", eval_max_frames=eval_max_frames)
    readers = trainer.data_readers
    split = (len(readers.training_labels), len(readers.validation_labels),
             len(readers.test_labels) if readers.test_labels_reader else 0)
    trainer.setup()
    setup_s = time.perf_counter() - t0
    km = trainer.keras_model
    timer = _batch_timer()
    trainer.callbacks.append(timer)
    print(f"  {run}: split {split[0]}/{split[1]}/{split[2]} frames, input "
          f"{tuple(km.input_shape[1:])}, {km.count_params():,} params, "
          f"{opt.epochs} epochs x {opt.batches_per_epoch} batches of "
          f"{opt.batch_size} ...", flush=True)
    t1 = time.perf_counter()
    trainer.train()  # fit, then evaluate the best model on train/val/test
    total_s = time.perf_counter() - t1
    fit_s = sum(dt for _, dt in timer.times)
    metrics = evals.load_metrics(trainer.run_path, "test")
    log = _read_log(trainer.run_path)
    png = REPORTS / f"training_reference_{run}.png"
    if log:
        _plot(run, log, png)
    result = dict(
        run=run, run_path=str(Path(trainer.run_path).relative_to(REPO)),
        smoke=smoke, epochs=opt.epochs, batches_per_epoch=opt.batches_per_epoch,
        epochs_done=len(log), batch_size=opt.batch_size,
        eval_max_frames=eval_max_frames, split=split,
        input_shape=[int(d) for d in km.input_shape[1:]], params=int(km.count_params()),
        steady_s_per_batch=_steady_s_per_batch(timer.times),
        n_batches_timed=len(timer.times), setup_s=setup_s, fit_batches_s=fit_s,
        train_and_eval_s=total_s,
        mAP=float(metrics["oks_voc.mAP"]), mOKS=float(metrics["oks.mOKS"]),
        p50=float(metrics["dist.p50"]), p90=float(metrics["dist.p90"]),
        log=[{k: r.get(k) for k in ("epoch", "loss", "val_loss", "lr")} for r in log],
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / f"clip_{run}.result.json").write_text(json.dumps(result, indent=1))
    del trainer, km
    keras.backend.clear_session()
    return result


def _fmt(v, f="{:.3f}"):
    try:
        return f.format(v) if v == v else "nan"
    except (TypeError, ValueError):
        return str(v)


def write_report():
    """Build the report from every saved `<run>.result.json`."""
    import sleapish
    from sleapish.io.files import atomic_write_text

    results = {}
    for run in SLEAP:
        path = RUNS / f"clip_{run}.result.json"
        if path.exists():
            results[run] = json.loads(path.read_text())
    lines = [
        "# SLEAP 1.4.1 reference trainings reproduced by sleapish",
        "",
        f"- written: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; sleapish "
        f"{sleapish.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs",
        "- data: `../shared/data/labels/clip.slp` (1500 frames x 2 flies x 13 nodes), "
        "split by the configs' `training_inds` / `validation_inds` / `test_inds` "
        "(1050 / 150 / 300 frames); configs from `../shared/reference_runs/` unchanged "
        "except the run folder and `save_visualizations=False`",
        "- SLEAP numbers: from `../shared/reference_runs/README.md` (best epoch; ±0.1 "
        "mAP between runs is expected). sleapish: the trainer's own evaluation of its "
        "best model (`metrics.test.npz`); steady s/batch = median training-batch wall "
        "time after the first epoch.",
        "",
        "| run | who | epochs x batches | params | steady s/batch | test oks_voc.mAP | "
        "mOKS | dist p50 (px) | dist p90 (px) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run, ref in SLEAP.items():
        lines.append(f"| {ref['description']} | SLEAP 1.4.1 | {ref['epochs_x_batches']} "
                     f"| {ref['params']} | {ref['s_per_batch']:.3f} | {ref['mAP']:.3f} | "
                     f"{ref['mOKS']:.3f} | {ref['p50']:.2f} | {ref['p90']:.2f} |")
        r = results.get(run)
        if r is None:
            lines.append("| | sleapish | not run yet | | | | | | |")
            continue
        who = "sleapish" + (" (**smoke run, not comparable**)" if r["smoke"] else "")
        lines.append(
            f"| | {who} | {r['epochs_done']} x {r['batches_per_epoch']} | "
            f"{r['params']:,} | {_fmt(r['steady_s_per_batch'])} | {_fmt(r['mAP'])} | "
            f"{_fmt(r['mOKS'])} | {_fmt(r['p50'], '{:.2f}')} | "
            f"{_fmt(r['p90'], '{:.2f}')} |")
    for run, r in results.items():
        lines += [
            "",
            f"## {run}",
            "",
            f"- run folder: `{r['run_path']}`; trained {r['date']}"
            + ("; SMOKE RUN (epochs/batches/eval frames overridden)" if r["smoke"]
               else ""),
            f"- input {'x'.join(map(str, r['input_shape']))}, {r['params']:,} "
            f"parameters, batch size {r['batch_size']}; split {r['split'][0]} / "
            f"{r['split'][1]} / {r['split'][2]} frames"
            + (f"; evaluated on at most {r['eval_max_frames']} frames per split"
               if r.get("eval_max_frames") else ""),
            f"- setup {r['setup_s']:.0f} s; {r['n_batches_timed']} training batches "
            f"took {r['fit_batches_s']:.0f} s; fit + validation + evaluation "
            f"{r['train_and_eval_s'] / 60:.1f} min",
            f"- curve: `training_reference_{run}.png`",
            "",
            "| epoch | loss | val_loss | lr |",
            "|---|---|---|---|",
        ]
        for row in r["log"]:
            lines.append(f"| {int(row['epoch']) + 1} | {_fmt(row.get('loss'), '{:.6f}')} "
                         f"| {_fmt(row.get('val_loss'), '{:.6f}')} | "
                         f"{_fmt(row.get('lr'), '{:.1e}')} |")
    atomic_write_text(REPORT, "\n".join(lines) + "\n")
    return REPORT


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", choices=["centered_instance", "bottomup", "all"],
                    default="all")
    ap.add_argument("--epochs", type=int, default=None,
                    help="override the config's epochs (smoke tests)")
    ap.add_argument("--batches", type=int, default=None,
                    help="override batches per epoch (and cap validation batches; "
                         "smoke tests)")
    ap.add_argument("--eval-max-frames", type=int, default=None,
                    help="evaluate at most N frames per split (smoke tests)")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    if not LABELS.exists():
        print(f"missing {LABELS}: the reference trainings need ../shared/data",
              file=sys.stderr)
        return 1
    runs = list(SLEAP) if args.run == "all" else [args.run]
    for run in runs:
        r = train_one(run, epochs=args.epochs, batches=args.batches,
                      eval_max_frames=args.eval_max_frames, seed=args.seed)
        print(f"  {run}: steady {r['steady_s_per_batch']:.3f} s/batch, test mAP "
              f"{r['mAP']:.3f}, mOKS {r['mOKS']:.3f}, p50 {r['p50']:.2f} px, "
              f"p90 {r['p90']:.2f} px", flush=True)
    report = write_report()
    print(report.read_text())
    print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

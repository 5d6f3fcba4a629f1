"""`sleapish-report RUN_FOLDER`: one self-contained HTML report of a training run.

The report (`<run>/report.html` by default) holds, with every image embedded as a
base64 PNG so the file can be mailed or archived alone:

- a summary of the configuration (model type, backbone, sizes, optimization,
  augmentation);
- the loss curves (`loss`, `val_loss` and any per-head losses of
  `training_log.csv`) and the learning-rate schedule;
- the evaluation metrics of every split that has a `metrics.<split>.npz` (mAP, mAR,
  mOKS, mPCK, distance percentiles, visibility precision / recall) and a chart of
  the per-node distance errors (median and 90th percentile);
- a grid of validation frames with the ground-truth (green) and predicted (magenta)
  skeletons, when `labels_gt.val.slp`, `labels_pr.val.slp` and their video are there.

The trainer writes it at the end of every run (unless told not to); the command
rewrites it for any run folder. Missing parts (no log, no metrics, a video that
moved) are left out with a note, never an error.

Example:
    sleapish-report models/flies_bu                 # -> models/flies_bu/report.html
    sleapish-report models/flies_bu -o ~/flies_bu.html
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from sleapish.errors import SleapishError

__all__ = ["write_report", "build_report", "main"]

SPLITS = ("train", "val", "test")
#: (metric key, label, format) rows of the metrics table.
METRIC_ROWS = [
    ("oks_voc.mAP", "mAP (OKS, VOC)", "{:.3f}"),
    ("oks_voc.mAR", "mAR (OKS, VOC)", "{:.3f}"),
    ("oks.mOKS", "mean OKS", "{:.3f}"),
    ("pck.mPCK", "mean PCK", "{:.3f}"),
    ("dist.avg", "mean distance (px)", "{:.2f}"),
    ("dist.p50", "distance p50 (px)", "{:.2f}"),
    ("dist.p90", "distance p90 (px)", "{:.2f}"),
    ("dist.p95", "distance p95 (px)", "{:.2f}"),
    ("dist.p99", "distance p99 (px)", "{:.2f}"),
    ("vis.precision", "visibility precision", "{:.3f}"),
    ("vis.recall", "visibility recall", "{:.3f}"),
]


class ReportError(SleapishError, ValueError):
    """The folder is not a training run folder."""


# ---------------------------------------------------------------------- pieces
def _figure(ncols: int = 1, nrows: int = 1, figsize=(6.4, 3.6)):
    """A matplotlib figure and its axes array, outside pyplot: the caller's backend
    (e.g. a notebook's inline one) is left alone."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _png(fig) -> str:
    """A matplotlib figure as an `<img>` with an embedded PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def _read_log(run: Path) -> List[Dict[str, float]]:
    path = run / "training_log.csv"
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append({k: _float(v) for k, v in r.items()})
    return rows


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _loss_charts(rows: List[Dict[str, float]]) -> Tuple[str, str]:
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = _figure(figsize=(6.4, 3.6))
    ax = axes[0, 0]
    for key in sorted(k for k in rows[0] if k.endswith("loss") and
                      not k.split("loss")[0].count(".")):
        ax.plot(epochs, [r[key] for r in rows], marker="o", ms=3, label=key,
                lw=2 if key in ("loss", "val_loss") else 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if all(r.get("loss", 1) > 0 for r in rows):
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    losses = _png(fig)
    fig, axes = _figure(figsize=(6.4, 2.6))
    ax = axes[0, 0]
    ax.step(epochs, [r.get("lr", float("nan")) for r in rows], where="post")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return losses, _png(fig)


def _load_metrics(run: Path) -> Dict[str, Dict[str, Any]]:
    from sleapish.nn.evals_io import load_metrics

    out = {}
    for split in SPLITS:
        if (run / f"metrics.{split}.npz").exists():
            out[split] = load_metrics(run / f"metrics.{split}.npz")
    return out


def _metrics_table(metrics: Dict[str, Dict[str, Any]]) -> str:
    splits = list(metrics)
    head = "".join(f"<th>{s}</th>" for s in splits)
    body = []
    for key, label, fmt in METRIC_ROWS:
        cells = []
        for s in splits:
            v = metrics[s].get(key)
            cells.append("<td>-</td>" if v is None or not np.isfinite(np.float64(v))
                         else f"<td>{fmt.format(float(v))}</td>")
        body.append(f'<tr><td class="k">{label}</td>{"".join(cells)}</tr>')
    return (f'<table class="metrics"><tr><th>metric</th>{head}</tr>'
            + "".join(body) + "</table>")


def _node_error_chart(metrics: Dict[str, Dict[str, Any]], node_names) -> Optional[str]:
    split = "val" if "val" in metrics else next(iter(metrics), None)
    dists = None if split is None else metrics[split].get("dist.dists")
    if dists is None or np.asarray(dists).size == 0:
        return None
    d = np.asarray(dists, np.float64)
    names = list(node_names or [f"node {i}" for i in range(d.shape[1])])[:d.shape[1]]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p50 = np.nanpercentile(d, 50, axis=0)
            p90 = np.nanpercentile(d, 90, axis=0)
    x = np.arange(len(names))
    fig, axes = _figure(figsize=(max(4.0, 0.6 * len(names) + 2), 3.2))
    ax = axes[0, 0]
    ax.bar(x - 0.2, p50, 0.4, label="median")
    ax.bar(x + 0.2, p90, 0.4, label="90th percentile")
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"error (px), {split}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def _frame_grid(run: Path, max_frames: int = 6) -> Tuple[Optional[str], str]:
    """The validation frames figure, or `(None, why not)`."""
    gt_path, pr_path = run / "labels_gt.val.slp", run / "labels_pr.val.slp"
    if not (gt_path.exists() and pr_path.exists()):
        return None, "no validation predictions in the run folder"
    from sleapish.io.labels import load_file

    try:
        gt = load_file(gt_path)
        pr = load_file(pr_path, open_videos=False)
    except (OSError, ValueError) as e:  # e.g. the video moved
        return None, f"validation frames not shown: {e}"
    by_key = {(lf.video.filename, lf.frame_idx): lf for lf in pr.labeled_frames}
    frames = [lf for lf in gt.labeled_frames if lf.user_instances][:max_frames]
    if not frames:
        return None, "no labeled validation frames"
    cols = min(3, len(frames))
    rows = (len(frames) + cols - 1) // cols
    fig, axes = _figure(cols, rows, figsize=(3.2 * cols, 3.2 * rows))
    skeleton = gt.skeletons[0]
    edges = [(skeleton.node_names.index(e.source.name),
              skeleton.node_names.index(e.destination.name)) for e in skeleton.edges]
    for ax in axes.ravel():
        ax.axis("off")
    for ax, lf in zip(axes.ravel(), frames):
        try:
            img = np.asarray(lf.image)
        except Exception as e:
            ax.set_title(f"frame {lf.frame_idx}: {type(e).__name__}", fontsize=7)
            continue
        ax.imshow(img.squeeze(), cmap="gray" if img.ndim == 2 or img.shape[-1] == 1
                  else None)
        pred = by_key.get((lf.video.filename, lf.frame_idx))
        for insts, color in ((lf.user_instances, "#2ca02c"),
                             (pred.instances if pred is not None else [], "#d62ad6")):
            for inst in insts:
                pts = inst.numpy()
                for a, b in edges:
                    ax.plot(pts[[a, b], 0], pts[[a, b], 1], color=color, lw=1)
                ax.scatter(pts[:, 0], pts[:, 1], s=8, color=color)
        ax.set_title(f"frame {lf.frame_idx}", fontsize=8)
    fig.suptitle("validation: ground truth (green), predictions (magenta)", fontsize=9)
    return _png(fig), ""


def _config_rows(cfg) -> List[Tuple[str, str]]:
    model, opt = cfg.model, cfg.optimization
    head = model.heads.which_oneof_attrib_name()
    backbone = model.backbone.which_oneof_attrib_name()
    bb = getattr(model.backbone, backbone)
    aug = opt.augmentation_config
    on = [n for n in ("rotate", "translate", "scale", "uniform_noise", "gaussian_noise",
                      "contrast", "brightness", "random_crop", "random_flip")
          if getattr(aug, n, False)]
    rows = [("model type", head), ("backbone", backbone)]
    for name in ("filters", "filters_rate", "max_stride", "output_stride"):
        if hasattr(bb, name):
            rows.append((f"backbone {name}", str(getattr(bb, name))))
    pre = cfg.data.preprocessing
    rows += [("input scaling", str(pre.input_scaling)),
             ("batch size", str(opt.batch_size)),
             ("epochs x batches", f"{opt.epochs} x {opt.batches_per_epoch}"),
             ("initial learning rate", str(opt.initial_learning_rate)),
             ("augmentation", ", ".join(on) or "none")]
    crop = cfg.data.instance_cropping.crop_size
    if crop:
        rows.append(("crop size", str(crop)))
    return rows


# ---------------------------------------------------------------------- report
_CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;
color:#222}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px
solid #ddd}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;
padding:.25em .6em;font-size:.9em}td.k{color:#555}img{max-width:100%}
.note{color:#777;font-style:italic}"""


def build_report(run_folder) -> str:
    """The report's HTML text for a run folder.

    Args:
        run_folder: A training run folder (holding `training_config.json`).

    Returns:
        A complete, self-contained HTML document (str).

    Raises:
        ReportError: If the folder has no `training_config.json`.
    """
    from sleapish.nn.config import TrainingJobConfig

    run = Path(run_folder)
    if not (run / "training_config.json").is_file():
        raise ReportError(f"{run} is not a training run folder: training_config.json "
                          "is missing")
    cfg = TrainingJobConfig.load_json(run / "training_config.json")
    parts = [f"<h1>Training report: {html.escape(run.name)}</h1>",
             f'<p class="note">{html.escape(str(run.resolve()))}</p>',
             "<h2>Configuration</h2><table>"]
    parts += [f'<tr><td class="k">{html.escape(k)}</td><td>{html.escape(v)}</td></tr>'
              for k, v in _config_rows(cfg)]
    parts.append("</table>")
    rows = _read_log(run)
    parts.append("<h2>Training</h2>")
    if rows:
        losses, lr = _loss_charts(rows)
        last = rows[-1]
        parts.append(f"<p>{len(rows)} epochs; last loss {last.get('loss', float('nan')):.4g}"
                     f", val_loss {last.get('val_loss', float('nan')):.4g}.</p>")
        parts += ["<h3>Losses</h3>", losses, "<h3>Learning rate</h3>", lr]
    else:
        parts.append('<p class="note">no training_log.csv in the run folder</p>')
    metrics = _load_metrics(run)
    parts.append("<h2>Evaluation</h2>")
    if metrics:
        parts.append(_metrics_table(metrics))
        skel = cfg.data.labels.skeletons[0] if cfg.data.labels.skeletons else None
        chart = _node_error_chart(metrics, skel.node_names if skel else None)
        parts += ["<h3>Errors per node</h3>", chart or
                  '<p class="note">no matched instances to measure errors on</p>']
    else:
        parts.append('<p class="note">no metrics.*.npz in the run folder</p>')
    grid, why = _frame_grid(run)
    parts.append("<h2>Validation frames</h2>")
    parts.append(grid if grid else f'<p class="note">{html.escape(why)}</p>')
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(run.name)}: training report</title>"
            f"<style>{_CSS}</style></head><body>" + "\n".join(parts)
            + "</body></html>\n")


def write_report(run_folder, output: Optional[os.PathLike] = None) -> Path:
    """Write the report atomically; returns its path (`<run>/report.html` default).

    Raises:
        ReportError: If the folder is not a run folder.
    """
    from sleapish.io.files import atomic_write_text

    out = Path(output) if output is not None else Path(run_folder) / "report.html"
    atomic_write_text(out, build_report(run_folder))
    return out


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of `sleapish-report`."""
    from sleapish.cli_errors import add_debug_flag
    from sleapish.cli_help import state_defaults

    p = argparse.ArgumentParser(
        prog="sleapish-report",
        description="Write a self-contained HTML report of a training run folder: "
                    "config, loss curves, learning rate, metrics per split, errors "
                    "per node and validation frames.")
    p.add_argument("run_folder", help="the training run folder")
    p.add_argument("-o", "--output", default=None,
                   help="output .html (default: <run_folder>/report.html)")
    return state_defaults(add_debug_flag(p))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `sleapish-report`; returns an exit code (errors print one line)."""
    from sleapish.cli_errors import run_command

    args = make_parser().parse_args(argv)
    return run_command("sleapish-report", lambda: _write(args), debug=args.debug)


def _write(args) -> int:
    print(f"Wrote {write_report(args.run_folder, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

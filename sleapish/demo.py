"""`make demo`: the main job, end to end, on an embedded synthetic dataset.

Generates a video of moving animals with ground-truth poses and tracks, trains a
bottom-up model on its first 70% of frames (CPU, a few minutes, with a progress
bar), predicts and tracks the whole video, evaluates the predictions against the
ground truth (held-out frames for pose accuracy, the whole video for identity), and
writes figures and a rendered video. No downloads.

Usage:
    python -m sleapish.demo --out demo_output [--quick]

Outputs (in `--out`):
    data/synthetic.{mp4,slp}      the dataset
    models/synthetic.bottomup/    the SLEAP-format run folder (best_model.h5, ...)
    predictions.slp               predictions with tracks for every frame
    metrics.json                  the metrics printed at the end
    predictions.png               predictions over a held-out frame
    training_curve.png            loss and val_loss per epoch
    predictions.mp4               the video with the tracked skeletons drawn
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

#: Fractions of the video used for training and validation; the rest is held out.
TRAIN_FRACTION, VAL_FRACTION = 0.7, 0.1


def build_config_for(labels, n_frames: int, epochs: int = 20,
                     batches_per_epoch: int = 30, filters: int = 16):
    """The demo's bottom-up training config, filled in from the labels.

    Args:
        labels: `sleap_io.Labels` with one skeleton.
        n_frames: Number of labeled frames (consecutive), split in time: the first
            70% train, the next 10% validate, the last 20% are held out (test).
        epochs: Training epochs.
        batches_per_epoch: Batches per epoch.
        filters: Filters of the UNet's first block.

    Returns:
        A :class:`~sleapish.nn.config.TrainingJobConfig`: UNet (max stride 16) with
        multi-instance confidence maps (stride 2) and part affinity fields (stride 4).
    """
    from sleapish.nn.config import (
        BackboneConfig,
        HeadsConfig,
        ModelConfig,
        MultiInstanceConfig,
        MultiInstanceConfmapsHeadConfig,
        PartAffinityFieldsHeadConfig,
        TrainingJobConfig,
        UNetConfig,
    )

    skeleton = labels.skeleton
    cfg = TrainingJobConfig(
        model=ModelConfig(
            backbone=BackboneConfig(unet=UNetConfig(max_stride=16, output_stride=2,
                                                    filters=filters, filters_rate=2)),
            heads=HeadsConfig(multi_instance=MultiInstanceConfig(
                confmaps=MultiInstanceConfmapsHeadConfig(
                    part_names=list(skeleton.node_names), sigma=2.5, output_stride=2),
                pafs=PartAffinityFieldsHeadConfig(
                    edges=[(e.source.name, e.destination.name) for e in skeleton.edges],
                    sigma=5.0, output_stride=4),
            )),
        ),
        name="synthetic bottom-up demo",
    )
    cfg.data.labels.skeletons = [skeleton]
    n_train, n_val = int(n_frames * TRAIN_FRACTION), int(n_frames * VAL_FRACTION)
    lab = cfg.data.labels
    lab.split_by_inds = True
    lab.training_inds = list(range(n_train))
    lab.validation_inds = list(range(n_train, n_train + n_val))
    lab.test_inds = list(range(n_train + n_val, n_frames))
    opt = cfg.optimization
    opt.batch_size, opt.epochs = 4, epochs
    opt.batches_per_epoch, opt.val_batches_per_epoch = batches_per_epoch, 4
    opt.initial_learning_rate = 1e-3
    opt.augmentation_config.rotate = True
    opt.augmentation_config.rotation_min_angle = -180.0
    opt.augmentation_config.rotation_max_angle = 180.0
    sched = opt.learning_rate_schedule
    sched.reduce_on_plateau, sched.plateau_patience, sched.reduction_factor = True, 3, 0.5
    cfg.outputs.run_name = "synthetic.bottomup"
    cfg.outputs.run_name_suffix = ""
    cfg.outputs.save_visualizations = False
    return cfg


def _training_curve(run_path: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sleapish.io.files import atomic_output

    with open(run_path / "training_log.csv") as f:
        rows = list(csv.DictReader(f))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    ax.plot(epochs, [float(r["loss"]) for r in rows], "o-", ms=3, label="loss")
    ax.plot(epochs, [float(r["val_loss"]) for r in rows], "o-", ms=3, label="val_loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (confidence maps + PAFs)")
    ax.set_title("Training curve")
    ax.legend()
    fig.tight_layout()
    with atomic_output(png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _predictions_png(labels_pr, frame_idx: int, png: Path) -> None:
    import imageio.v3 as iio

    from sleapish.io.files import atomic_output
    from sleapish.render import render_frame

    lf = next(lf for lf in labels_pr if lf.frame_idx == frame_idx)
    image = render_frame(labels_pr, lf, scale=3.0, marker_size=2.5, line_width=1.5)
    with atomic_output(png) as tmp:
        iio.imwrite(tmp, image, extension=".png")


def evaluate_demo(labels_gt, labels_pr, test_frames) -> Dict[str, float]:
    """Pose accuracy on held-out frames and identity over the whole video.

    Args:
        labels_gt: Ground truth (`sleap_io.Labels`).
        labels_pr: Predictions with tracks.
        test_frames: Frame indices held out from training.

    Returns:
        A flat dict of the metrics the demo prints.
    """
    import sleap_io as sio

    from sleapish.nn import evals
    from sleapish.nn.tracking.metrics import track_identity_metrics

    keep = set(int(i) for i in test_frames)
    gt_test = sio.Labels(labeled_frames=[lf for lf in labels_gt if lf.frame_idx in keep],
                         videos=labels_gt.videos, skeletons=labels_gt.skeletons,
                         tracks=labels_gt.tracks)
    m = evals.evaluate(gt_test, labels_pr)
    ident = track_identity_metrics(labels_gt, labels_pr)
    n_pred = sum(len(lf.instances) for lf in labels_pr)
    n_true = sum(len(lf.instances) for lf in labels_gt)
    return {
        "held-out frames": len(gt_test),
        "OKS mAP (held-out)": float(m["oks_voc.mAP"]),
        "mean OKS (held-out)": float(m["oks.mOKS"]),
        "mean PCK (held-out)": float(m["pck.mPCK"]),
        "distance p50 (px)": float(m["dist.p50"]),
        "distance p90 (px)": float(m["dist.p90"]),
        "instances found / true": f"{n_pred} / {n_true}",
        "tracks": ident["n_tracks"],
        "identity switches": ident["identity_switches"],
        "right identity": float(ident["right_identity"]),
    }


def _table(metrics: Dict[str, float]) -> str:
    width = max(len(k) for k in metrics)
    lines = []
    for k, v in metrics.items():
        text = f"{v:.3f}" if isinstance(v, float) else str(v)
        lines.append(f"  {k:<{width}}  {text}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; returns a process exit code."""
    parser = argparse.ArgumentParser(prog="sleapish-demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo_output", help="output folder")
    parser.add_argument("--frames", type=int, default=300, help="frames to generate")
    parser.add_argument("--animals", type=int, default=2, help="animals to simulate")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs")
    parser.add_argument("--batches", type=int, default=30, help="batches per epoch")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (60 frames, 2 epochs) to check the plumbing")
    from sleapish.cli_errors import add_debug_flag, run_command

    args = add_debug_flag(parser).parse_args(argv)
    if args.quick:
        args.frames, args.epochs, args.batches = 60, 2, 3
    return run_command("sleapish-demo", lambda: _run(args), debug=args.debug)


def _run(args) -> int:
    import sleapish
    from sleapish.datasets import make_synthetic_dataset
    from sleapish.nn.training import Trainer

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    print(f"[1/6] Generating a synthetic video: {args.frames} frames, {args.animals} "
          f"animals, ground-truth poses and tracks -> {out / 'data'}")
    ds = make_synthetic_dataset(out / "data", n_frames=args.frames,
                                n_animals=args.animals, image_size=(192, 192),
                                seed=args.seed)
    labels = sleapish.load_file(ds.labels_path)
    print(f"      skeleton {labels.skeleton.node_names}, {len(labels.tracks)} tracks")

    print(f"[2/6] Training a bottom-up model (UNet, confidence maps + part affinity "
          f"fields) on the first {TRAIN_FRACTION:.0%} of frames")
    cfg = build_config_for(labels, len(labels), epochs=args.epochs,
                           batches_per_epoch=args.batches,
                           filters=8 if args.quick else 16)
    cfg.outputs.runs_folder = str(out / "models")
    cfg.save_json(out / "training_config.json")
    import shutil

    shutil.rmtree(out / "models" / cfg.outputs.run_name, ignore_errors=True)  # rerun
    t0 = time.perf_counter()
    trainer = Trainer.from_config(cfg, training_labels=str(ds.labels_path),
                                  seed=args.seed, verbosity="rich")
    trainer.train()
    run = Path(trainer.run_path)
    t_train = time.perf_counter() - t0
    print(f"      {trainer.keras_model.count_params():,} parameters, trained in "
          f"{t_train:.0f} s -> {run}")

    print("[3/6] Predicting and tracking every frame of the video")
    t0 = time.perf_counter()
    predictor = sleapish.load_model(str(run), tracker="flow",
                                    tracker_max_instances=args.animals,
                                    max_instances=args.animals,
                                    progress_reporting="none")
    labels_pr = predictor.predict(labels.video)
    pred_path = out / "predictions.slp"
    sleapish.save_file(labels_pr, pred_path)
    t_pred = time.perf_counter() - t0
    print(f"      {len(labels_pr)} frames in {t_pred:.1f} s "
          f"({len(labels_pr) / t_pred:.0f} frames/s) -> {pred_path}")

    print("[4/6] Evaluating against the ground truth")
    metrics = evaluate_demo(labels, labels_pr, cfg.data.labels.test_inds)
    metrics["training time (s)"] = round(t_train, 1)
    metrics["prediction speed (frames/s)"] = round(len(labels_pr) / t_pred, 1)
    from sleapish.io.files import atomic_write_text

    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))

    print("[5/6] Figures: predictions over a held-out frame, training curve")
    frame = int(cfg.data.labels.test_inds[len(cfg.data.labels.test_inds) // 2])
    _predictions_png(labels_pr, frame, out / "predictions.png")
    _training_curve(run, out / "training_curve.png")

    print("[6/6] Rendering the tracked skeletons on the video")
    from sleapish.render import render

    render(labels_pr, out / "predictions.mp4", scale=2.0)
    print(f"\nMetrics (also in {out / 'metrics.json'}):\n{_table(metrics)}")
    print("  (OKS is SLEAP's COCO-style score, strict for these small animals; PCK is "
          "the fraction of points within 1..10 px, averaged.)")
    print(f"\nOutputs in {out}/: predictions.slp, predictions.png, training_curve.png, "
          f"predictions.mp4, metrics.json, models/{run.name}/")
    print(f"Done in {time.perf_counter() - t_start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

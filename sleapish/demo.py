"""`make demo`: the main job on the embedded synthetic dataset.

What runs today: generate a synthetic two-animal video with ground-truth labels,
load it back through the data layer (video path resolution, SLEAP-faithful frame
reading), build the SLEAP-format training config for it, round-trip that config
through JSON, build the network it describes, and draw the labels over a frame. Later issues
extend this to train -> predict -> track -> evaluate.

Usage:
    python -m sleapish.demo --out demo_output
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence


def build_config_for(labels):
    """A bottom-up training config filled in from a labels file's skeleton.

    Args:
        labels: `sleap_io.Labels` with one skeleton.

    Returns:
        A :class:`~sleapish.nn.config.TrainingJobConfig` for a small UNet with
        multi-instance confidence maps and part affinity fields.
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
                                                    filters=16, filters_rate=2)),
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
    cfg.data.preprocessing.pad_to_stride = 16
    cfg.outputs.run_name = "synthetic.bottomup"
    return cfg


def _plot_frame(frame, labels, frame_idx: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sleapish.io.files import atomic_output

    lf = labels.find(labels.video, frame_idx)[0]
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.imshow(frame[..., 0], cmap="gray", vmin=0, vmax=255)
    colors = ["tab:orange", "tab:cyan", "tab:pink", "tab:olive"]
    edges = labels.skeleton.edge_inds
    for k, inst in enumerate(lf.instances):
        pts = inst.numpy()
        c = colors[k % len(colors)]
        for i, j in edges:
            ax.plot(pts[[i, j], 0], pts[[i, j], 1], "-", color=c, lw=1.5)
        ax.plot(pts[:, 0], pts[:, 1], "o", color=c, ms=3,
                label=inst.track.name if inst.track else f"instance {k}")
    ax.set_title(f"Ground truth, frame {frame_idx}")
    ax.legend(loc="lower right", fontsize=7)
    ax.axis("off")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; returns a process exit code."""
    parser = argparse.ArgumentParser(prog="sleapish-demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo_output", help="output folder")
    parser.add_argument("--frames", type=int, default=120, help="frames to generate")
    parser.add_argument("--animals", type=int, default=2, help="animals to simulate")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)

    import sleapish
    from sleapish.datasets import make_synthetic_dataset
    from sleapish.nn.config import load_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"[1/5] Generating synthetic dataset ({args.frames} frames, {args.animals} "
          f"animals) in {out / 'data'}")
    ds = make_synthetic_dataset(out / "data", n_frames=args.frames,
                                n_animals=args.animals, image_size=(192, 192),
                                seed=args.seed)

    print(f"[2/5] Loading {ds.labels_path.name} with sleapish.load_file")
    labels = sleapish.load_file(ds.labels_path)
    n_inst = sum(len(lf.instances) for lf in labels)
    print(f"      {len(labels)} labeled frames, {n_inst} instances, "
          f"{len(labels.tracks)} tracks, video {labels.video.shape}, skeleton "
          f"{labels.skeleton.node_names} with edges {labels.skeleton.edge_inds}")

    print("[3/5] Writing the SLEAP-format training config and reading it back")
    cfg = build_config_for(labels)
    cfg_path = out / "training_config.json"
    cfg.save_json(cfg_path)
    again = load_config(cfg_path)
    again.filename = cfg.filename
    if again != cfg:
        print("      ERROR: config changed in the JSON round trip", file=sys.stderr)
        return 1
    print(f"      {cfg_path} ({cfg.model.heads.which_oneof_attrib_name()} heads, "
          f"{cfg.model.backbone.which_oneof_attrib_name()} backbone): round trip OK")

    print("[4/5] Building the model the config describes (SLEAP's network)")
    from sleapish.nn.model import Model

    model = Model.from_config(cfg.model, skeleton=labels.skeleton)
    h, w, c = labels.video.shape[1:]
    keras_model = model.make_model((h, w, c))
    shapes = ", ".join(f"{n} {tuple(o.shape[1:])}" for n, o in
                       zip(keras_model.output_names, keras_model.outputs))
    print(f"      {type(model.backbone).__name__}: {keras_model.count_params():,} "
          f"parameters; outputs {shapes}")

    print("[5/5] Drawing ground truth over frame 0")
    frame = sleapish.read_frames(labels.video, [0])[0]
    png = out / "frame0_ground_truth.png"
    _plot_frame(frame, labels, 0, png)
    print(f"      {png}")
    print(f"Done in {time.perf_counter() - t0:.1f} s. Training, prediction and tracking "
          "join this demo as their issues land.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

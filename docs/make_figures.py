"""Render the figures of docs/pipelines.md from one real example.

Uses frame 950 of SLEAP's `clip.slp` (two flies, 1024x1024) when ../shared/data is
present, otherwise the synthetic dataset. Run: `python docs/make_figures.py`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "docs" / "images"


def _labels():
    import sleapish

    if (SHARED / "labels" / "clip.slp").exists():
        labels = sleapish.load_file(SHARED / "labels" / "clip.slp",
                                    search_paths=[SHARED / "videos"])
        lfs = [labels[950]]
        return sleapish.Labels(labeled_frames=lfs, videos=labels.videos,
                               skeletons=labels.skeletons, tracks=labels.tracks), "clip.slp frame 950"
    from sleapish.datasets import make_synthetic_dataset

    ds = make_synthetic_dataset(tempfile.mkdtemp(), n_frames=4, image_size=(256, 256))
    return sleapish.load_file(ds.labels_path), "synthetic frame 0"


def main() -> int:
    from sleapish.nn.data.confidence_maps import MultiConfidenceMapGenerator
    from sleapish.nn.data.edge_maps import PartAffinityFieldsGenerator
    from sleapish.nn.data.identity import ClassMapGenerator
    from sleapish.nn.data.normalization import Normalizer
    from sleapish.nn.data.pipelines import Pipeline
    from sleapish.nn.data.providers import LabelsReader
    from sleapish.nn.data.resizing import Resizer

    labels, source = _labels()
    skel = labels.skeleton
    p = (Pipeline(LabelsReader(labels)) | Normalizer() | Resizer(scale=0.5)
         | MultiConfidenceMapGenerator(sigma=2.5, output_stride=2)
         | PartAffinityFieldsGenerator(sigma=15, output_stride=4, skeletons=[skel])
         | ClassMapGenerator(sigma=4.0, output_stride=2))
    ex = p.peek()
    img = ex["image"][..., 0]
    h, w = img.shape
    OUT.mkdir(parents=True, exist_ok=True)
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)

    fig, ax = plt.subplots(1, 3, figsize=(13, 4.6), dpi=90)
    ax[0].imshow(img, cmap="gray")
    for inst in ex["instances"]:
        ax[0].plot(inst[:, 0], inst[:, 1], ".", ms=4)
    ax[0].set_title(f"input ({source}, scaled 0.5)")
    ax[1].imshow(img, cmap="gray")
    ax[1].imshow(ex["confidence_maps"].max(axis=-1), cmap="magma", alpha=0.6,
                 extent=extent)
    ax[1].set_title("confidence maps (max over parts), stride 2")
    ax[2].imshow(img, cmap="gray")
    colors = plt.cm.tab10(np.arange(ex["class_maps"].shape[-1]) % 10)
    overlay = np.zeros(ex["class_maps"].shape[:2] + (4,))
    for c in range(ex["class_maps"].shape[-1]):
        overlay[ex["class_maps"][..., c] > 0] = colors[c]
    overlay[..., 3] *= 0.6
    ax[2].imshow(overlay, extent=extent)
    names = [t.name for t in labels.tracks]
    ax[2].set_title(f"class maps (colour = track: {', '.join(names)})")
    pts = ex["instances"].reshape(-1, 2)
    lo, hi = np.nanmin(pts, axis=0) - 30, np.nanmax(pts, axis=0) + 30
    for a in ax[1:]:
        a.set_xlim(lo[0], hi[0])
        a.set_ylim(hi[1], lo[1])
    for a in ax:
        a.axis("off")
    fig.tight_layout()
    fig.savefig(OUT / "targets_confmaps_classmaps.png")
    plt.close(fig)

    pafs = ex["part_affinity_fields"]
    gh, gw = pafs.shape[:2]
    fig, ax = plt.subplots(figsize=(6, 6), dpi=90)
    ax.imshow(img, cmap="gray")
    mag = np.linalg.norm(pafs.reshape(gh, gw, -1, 2), axis=-1).max(axis=-1)
    ax.imshow(mag, cmap="viridis", alpha=0.5, extent=extent)
    yy, xx = np.mgrid[0:gh, 0:gw] * 4
    vec = pafs.reshape(gh, gw, -1, 2).sum(axis=2)
    keep = np.linalg.norm(vec, axis=-1) > 0.3
    ax.quiver(xx[keep], yy[keep], vec[..., 0][keep], vec[..., 1][keep], color="w",
              angles="xy", scale=25, width=0.004)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(hi[1], lo[1])
    ax.set_title("part affinity fields (stride 4, summed over edges)")
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(OUT / "targets_pafs.png")
    plt.close(fig)
    print(f"wrote {OUT}/targets_confmaps_classmaps.png, targets_pafs.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

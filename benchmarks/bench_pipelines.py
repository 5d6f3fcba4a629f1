"""Training-pipeline throughput vs. model training-step rate, and memory over epochs.

For each model type, the full training pipeline (preload, all augmentations, targets,
shuffle, batch) is timed in examples/s after a warm-up epoch, and the matching model's
`train_on_batch` is timed on the same machine; the ratio says whether data loading
keeps up (goal: >= 3x). Memory (RSS) is read at the end of each of 10 epochs.

Run alone: `python benchmarks/bench_pipelines.py` (or via `make bench`).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _config(kind, batch_size=4, crop=64):
    from sleapish.nn.config import (
        BackboneConfig,
        CenteredInstanceConfmapsHeadConfig,
        CentroidsHeadConfig,
        ClassMapsHeadConfig,
        ClassVectorsHeadConfig,
        HeadsConfig,
        ModelConfig,
        MultiClassBottomUpConfig,
        MultiClassTopDownConfig,
        MultiInstanceConfig,
        MultiInstanceConfmapsHeadConfig,
        PartAffinityFieldsHeadConfig,
        SingleInstanceConfmapsHeadConfig,
        TrainingJobConfig,
        UNetConfig,
    )

    heads = {
        "single_instance": HeadsConfig(single_instance=SingleInstanceConfmapsHeadConfig(
            sigma=2.5, output_stride=2)),
        "centroid": HeadsConfig(centroid=CentroidsHeadConfig(anchor_part="thorax",
                                                             sigma=2.5, output_stride=2)),
        "centered_instance": HeadsConfig(
            centered_instance=CenteredInstanceConfmapsHeadConfig(
                anchor_part="thorax", sigma=2.5, output_stride=2)),
        "bottomup": HeadsConfig(multi_instance=MultiInstanceConfig(
            confmaps=MultiInstanceConfmapsHeadConfig(sigma=2.5, output_stride=2),
            pafs=PartAffinityFieldsHeadConfig(sigma=15, output_stride=4))),
        "bottomup_multiclass": HeadsConfig(multi_class_bottomup=MultiClassBottomUpConfig(
            confmaps=MultiInstanceConfmapsHeadConfig(sigma=2.5, output_stride=2),
            class_maps=ClassMapsHeadConfig(sigma=2.5, output_stride=2))),
        "topdown_multiclass": HeadsConfig(multi_class_topdown=MultiClassTopDownConfig(
            confmaps=CenteredInstanceConfmapsHeadConfig(anchor_part="thorax", sigma=2.5,
                                                        output_stride=2),
            class_vectors=ClassVectorsHeadConfig(output_stride=16))),
    }
    cfg = TrainingJobConfig()
    cfg.model = ModelConfig(backbone=BackboneConfig(unet=UNetConfig(
        max_stride=16, output_stride=2, filters=16, filters_rate=2)), heads=heads[kind])
    cfg.data.preprocessing.pad_to_stride = 16
    cfg.data.instance_cropping.crop_size = crop
    cfg.data.instance_cropping.center_on_part = "thorax"
    cfg.optimization.batch_size = batch_size
    aug = cfg.optimization.augmentation_config
    for k in ("rotate", "translate", "scale", "uniform_noise", "gaussian_noise",
              "contrast", "brightness", "random_flip"):
        setattr(aug, k, True)
    return cfg


def _pipeline_rate(ds, n_batches, batch_size):
    """Steady-state examples/s: warm up (preload cache, shuffle buffer, autotune), then
    time many batches so prefetched batches do not dominate."""
    it = iter(ds)
    for _ in range(n_batches):
        next(it)
    t = time.perf_counter()
    for _ in range(4 * n_batches):
        next(it)
    rate = 4 * n_batches * batch_size / (time.perf_counter() - t)
    del it
    return rate


def _one_batch(ds):
    """One batch as numpy, with no iterator left running in the background."""
    x, y = next(iter(ds.take(1)))
    return ({k: v.numpy() for k, v in x.items()}, {k: v.numpy() for k, v in y.items()})


def _model_rate(km, batch, batch_size, n=6):
    x, y = batch
    km.train_on_batch(x, y)
    t = time.perf_counter()
    for _ in range(n):
        km.train_on_batch(x, y)
    return n * batch_size / (time.perf_counter() - t)


def bench_pipelines(rows, quick: bool = False):
    """Append rows: pipeline ex/s, model ex/s, ratio, RSS growth over 10 epochs."""
    import sleapish
    from sleapish.datasets import make_synthetic_dataset
    from sleapish.nn._backend import keras
    from sleapish.nn.data.pipelines import pipeline_for_model
    from sleapish.nn.data.providers import LabelsReader
    from sleapish.nn.model import Model

    tmp = tempfile.mkdtemp()
    ds_info = make_synthetic_dataset(tmp, n_frames=48, n_animals=2,
                                     image_size=(384, 384), seed=3)
    labels = sleapish.load_file(ds_info.labels_path)
    kinds = ["single_instance", "centroid", "centered_instance", "bottomup",
             "bottomup_multiclass", "topdown_multiclass"]
    for kind in kinds:
        cfg = _config(kind)
        bs = cfg.optimization.batch_size
        model = Model.from_config(cfg.model, skeleton=labels.skeleton, tracks=labels.tracks)
        builder = pipeline_for_model(cfg.data, cfg.optimization, model)
        pipe = builder.make_training_pipeline(LabelsReader(labels)).make_dataset()
        n = 16 if quick else 40
        p_rate = _pipeline_rate(pipe, n, bs)
        shape = (64, 64, 1) if builder.image_key == "instance_image" else (384, 384, 1)
        km = model.make_model(shape)
        km.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
        m_rate = _model_rate(km, _one_batch(pipe), bs)
        rows.append((f"pipeline {kind} (synthetic 384², all augmentations, BS {bs})",
                     f"{p_rate:.0f} ex/s vs model {m_rate:.0f} ex/s",
                     f"ratio {p_rate / m_rate:.1f}x"))
    # Memory over 10 epochs of the heaviest pipeline (bottom-up).
    cfg = _config("bottomup")
    model = Model.from_config(cfg.model, skeleton=labels.skeleton)
    pipe = pipeline_for_model(cfg.data, cfg.optimization, model).make_training_pipeline(
        LabelsReader(labels)).make_dataset()
    per_epoch = len(labels) // cfg.optimization.batch_size
    it = iter(pipe)
    rss = []
    for _ in range(10):
        for _ in range(per_epoch):
            next(it)
        rss.append(_rss_mb())
    rows.append(("memory over 10 epochs (bottom-up pipeline, 48 frames preloaded)",
                 f"RSS {rss[0]:.0f} -> {rss[-1]:.0f} MB",
                 f"growth after epoch 1: {rss[-1] - rss[0]:+.0f} MB"))
    _bench_reference_runs(rows, quick)


def _bench_reference_runs(rows, quick):
    """The two SLEAP reference configs on clip.slp, when ../shared/data is present."""
    if not SHARED.is_dir():
        rows.append(("pipelines on clip.slp reference configs", "skipped",
                     "no ../shared/data"))
        return
    import sleapish
    from sleapish.nn._backend import keras
    from sleapish.nn.config import load_config
    from sleapish.nn.data.pipelines import pipeline_for_model
    from sleapish.nn.data.providers import LabelsReader
    from sleapish.nn.model import Model

    labels = sleapish.load_file(SHARED / "labels" / "clip.slp",
                                search_paths=[SHARED / "videos"])
    ref = REPO.parent / "shared" / "reference_runs"
    sleap_s_per_batch = {"clip_centered_instance": 0.175, "clip_bottomup": 0.735}
    for name in ("clip_centered_instance", "clip_bottomup"):
        cfg = load_config(ref / f"{name}.training_config.json")
        inds = cfg.data.labels.training_inds[:64]
        sub = sleapish.Labels(labeled_frames=[labels[i] for i in inds],
                              videos=labels.videos, skeletons=labels.skeletons,
                              tracks=labels.tracks)
        model = Model.from_config(cfg.model, skeleton=cfg.data.labels.skeletons[0])
        builder = pipeline_for_model(cfg.data, cfg.optimization, model)
        pipe = builder.make_training_pipeline(LabelsReader(sub)).make_dataset()
        bs = cfg.optimization.batch_size
        n = max(64 // bs, 8)
        p_rate = _pipeline_rate(pipe, n, bs)
        batch = _one_batch(pipe)
        km = model.make_model(tuple(batch[0]["input"].shape[1:]))
        km.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
        m_rate = _model_rate(km, batch, bs, n=3 if quick else 5)
        rows.append((f"pipeline {name} (clip.slp, SLEAP's config, BS {bs})",
                     f"{p_rate:.0f} ex/s vs model {m_rate:.1f} ex/s "
                     f"({bs / m_rate:.3f} s/batch; SLEAP 1.4.1: "
                     f"{sleap_s_per_batch[name]} s/batch)",
                     f"ratio {p_rate / m_rate:.1f}x"))


if __name__ == "__main__":
    out = []
    bench_pipelines(out, quick="--quick" in sys.argv)
    for r in out:
        print(" | ".join(r))

"""Generate the tutorial notebooks in this folder (without outputs).

The notebooks are written from the cells below, so that they stay reviewable as plain
Python and a test (`tests/test_tutorials.py`) can check that the committed `.ipynb`
files are what this script generates.

Usage:
    python examples/make_notebooks.py           # (re)write examples/*.ipynb
    python examples/make_notebooks.py --check   # exit 1 if a notebook is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent

Cell = Tuple[str, str]  # ("md" | "code", source)


def md(text: str) -> Cell:
    return ("md", text.strip("\n"))


def code(text: str) -> Cell:
    return ("code", text.strip("\n"))


# ----------------------------------------------------------------------------- 01
NB01: List[Cell] = [
    md("""
# 1. Train a model and predict

This notebook does, in Python, what you would do in SLEAP's GUI or with
`sleap-train` / `sleap-track`:

1. make a small labeled dataset (a synthetic video of moving animals, with
   ground-truth poses and tracks, so no download or labeling is needed);
2. look at the labels;
3. start from one of SLEAP's packaged training profiles
   (`baseline_medium_rf.bottomup`) and adapt it to the data;
4. train a bottom-up model (confidence maps + part affinity fields), as
   `sleap-train` would, into a SLEAP-format model folder;
5. load that folder with `sleapish.load_model` (SLEAP's `sleap.load_model`) and
   predict on the video;
6. read the accuracy metrics computed after training (SLEAP's `metrics.val.npz`).

Everything runs on a CPU. With the default sizes training takes 5-8 minutes on two
cores (install `ipywidgets` for nicer progress bars in Jupyter); the
test suite runs the same notebook in a *quick* mode (`SLEAPISH_TUTORIAL_QUICK=1`) with
tiny sizes, which checks the plumbing but does not learn much.
"""),
    code("""
import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

QUICK = os.environ.get("SLEAPISH_TUTORIAL_QUICK") == "1"

if QUICK:  # a few seconds: checks that every step runs
    N_FRAMES, N_ANIMALS, IMAGE_SIZE = 24, 2, (128, 128)
    FILTERS, EPOCHS, BATCHES_PER_EPOCH, VAL_BATCHES = 8, 2, 3, 2
else:      # a few minutes on a CPU: a model that finds the animals well
    N_FRAMES, N_ANIMALS, IMAGE_SIZE = 300, 2, (192, 192)
    FILTERS, EPOCHS, BATCHES_PER_EPOCH, VAL_BATCHES = 16, 25, 40, 4

# Everything this notebook writes goes here (a new temporary folder unless you set
# SLEAPISH_TUTORIAL_WORK to a folder of your choice).
WORK = Path(os.environ.get("SLEAPISH_TUTORIAL_WORK") or tempfile.mkdtemp(prefix="sleapish_01_"))
WORK.mkdir(parents=True, exist_ok=True)
print(f"quick mode: {QUICK}; working folder: {WORK}")
"""),
    md("""
## The data

`sleapish.datasets.make_synthetic_dataset` writes a video (`.mp4`) and its labels
(`.slp`, SLEAP's format) with every frame labeled. Each animal has four body parts
(`head`, `thorax`, `abdomen`, `tail`) joined by three edges, and its own track
(`animal_0`, `animal_1`, ...). With `identity_marks=True` each animal also carries a
spot pattern of its own (useful for identity models; harmless here).

`sleapish.load_file` returns a `sleap_io.Labels` — the same data model as SLEAP's
`sleap.Labels` (labeled frames, instances, skeleton, tracks, videos).
"""),
    code("""
import sleapish
from sleapish.datasets import make_synthetic_dataset

ds = make_synthetic_dataset(WORK / "data", n_frames=N_FRAMES, n_animals=N_ANIMALS,
                            image_size=IMAGE_SIZE, identity_marks=True, seed=0)
labels = sleapish.load_file(ds.labels_path)
print(labels)
print("video:", ds.video_path, labels.video.shape)
print("skeleton nodes:", labels.skeleton.node_names)
print("skeleton edges:", [(e.source.name, e.destination.name) for e in labels.skeleton.edges])
print("tracks:", [t.name for t in labels.tracks])
print("points of the first instance (x, y):\\n", labels[0].instances[0].numpy())
"""),
    md("""
`sleapish.render.render_frame` draws the instances of a labeled frame on its video
frame (coloured by track), like SLEAP's GUI.
"""),
    code("""
from sleapish.render import render_frame

fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(render_frame(labels, 0, scale=2.0))
ax.set_title("frame 0: ground truth")
ax.axis("off")
plt.show()
"""),
    md("""
## A training profile

SLEAP ships *training profiles*: `training_config.json` files with baseline
hyperparameters. sleapish ships the same ones;
`sleapish.nn.training.profiles.find_profile` gives the path of one and
`TrainingJobConfig.load_json` reads it (SLEAP's `TrainingJobConfig.load_json`).
The config has SLEAP's sections: `data`, `model` (backbone + heads), `optimization`
and `outputs`.
"""),
    code("""
from sleapish.nn.config import TrainingJobConfig
from sleapish.nn.training.profiles import find_profile

profile = find_profile("baseline_medium_rf.bottomup")
cfg = TrainingJobConfig.load_json(profile)
unet = cfg.model.backbone.unet
mi = cfg.model.heads.multi_instance
print("profile:", profile.name)
print(f"UNet: filters={unet.filters}, filters_rate={unet.filters_rate}, "
      f"max_stride={unet.max_stride}, output_stride={unet.output_stride}")
print(f"confidence maps: sigma={mi.confmaps.sigma}, output_stride={mi.confmaps.output_stride}")
print(f"PAFs: sigma={mi.pafs.sigma}, output_stride={mi.pafs.output_stride}")
opt = cfg.optimization
print(f"optimization: batch_size={opt.batch_size}, epochs={opt.epochs}, "
      f"min_batches_per_epoch={opt.min_batches_per_epoch}, lr={opt.initial_learning_rate}")
"""),
    md("""
## Adapting the profile to the data

The profile is tuned for real videos (e.g. 1024 px frames, flies ~100 px long). Our
animals are ~30 px long in small frames, and we want a run of a few minutes, so:

- **backbone**: a smaller UNet (fewer filters, max stride 16 instead of 32, output
  stride 2) — the receptive field of a max-stride-16 UNet already covers a whole animal;
- **heads**: confidence maps at stride 2, and part affinity fields (PAFs) with
  sigma 5 px at stride 4 (the profile's 75 px would blur the two animals together);
- **split**: in time, as `sleapish.demo` does — the first 70% of the frames train, the
  next 10% validate (they choose the best epoch), the last 20% are held out (test);
  in SLEAP's GUI this is the "validation fraction", here with explicit indices
  (`data.labels.split_by_inds`);
- **schedule**: fewer epochs and batches per epoch, a higher learning rate (1e-3),
  rotation augmentation over the full circle (animals face every way);
- **outputs**: the run folder goes to our working folder, with a fixed name.

These are the ideas of `sleapish.demo.build_config_for` (the config behind `make demo`).
"""),
    code("""
unet.filters, unet.filters_rate = FILTERS, 2.0
unet.max_stride, unet.output_stride, unet.up_interpolate = 16, 2, False
mi.confmaps.sigma, mi.confmaps.output_stride = 2.5, 2
mi.pafs.sigma, mi.pafs.output_stride = 5.0, 4

n_train, n_val = int(N_FRAMES * 0.7), int(N_FRAMES * 0.1)
split = cfg.data.labels
split.split_by_inds = True
split.training_inds = list(range(n_train))
split.validation_inds = list(range(n_train, n_train + n_val))
split.test_inds = list(range(n_train + n_val, N_FRAMES))

opt.epochs, opt.batches_per_epoch, opt.val_batches_per_epoch = EPOCHS, BATCHES_PER_EPOCH, VAL_BATCHES
opt.initial_learning_rate = 1e-3
opt.augmentation_config.rotation_min_angle = -180.0
opt.augmentation_config.rotation_max_angle = 180.0
opt.learning_rate_schedule.plateau_patience = 3

cfg.outputs.runs_folder = str(WORK / "models")
cfg.outputs.run_name = "synthetic.bottomup"
cfg.outputs.run_name_suffix = ""
cfg.outputs.save_visualizations = False
cfg.save_json(WORK / "my_training_config.json")   # the same file `sleapish-train` takes
print(f"{len(split.training_inds)} training, {len(split.validation_inds)} validation, "
      f"{len(split.test_inds)} test frames; {EPOCHS} epochs x {BATCHES_PER_EPOCH} batches")
"""),
    md("""
## Training

`Trainer.from_config` checks the config against the labels (part names, edges),
fills in what the config leaves open (part names and edges from the skeleton, padding)
and builds the data pipelines and the model. `trainer.train()` fits, keeps the best
epoch (lowest validation loss) as `best_model.h5`, and then evaluates the best model on
each split. The run folder is laid out as SLEAP lays it out, so SLEAP 1.4 can load it
too. From a shell this is `sleapish-train my_training_config.json data/synthetic.slp`.
"""),
    code("""
from sleapish.nn.training import Trainer

t0 = time.perf_counter()
trainer = Trainer.from_config(cfg, training_labels=str(ds.labels_path), seed=0,
                              verbosity="none" if QUICK else "rich")
trainer.train()
run_path = Path(trainer.run_path)
print(f"{trainer.keras_model.count_params():,} parameters, trained in "
      f"{time.perf_counter() - t0:.0f} s")
print("run folder:", run_path)
print("files:", sorted(p.name for p in run_path.iterdir()))
"""),
    md("""
`training_log.csv` has one row per epoch: the total loss, the loss of each head and
each part, and the same on the validation frames (`val_*`).
"""),
    code("""
import csv

with open(run_path / "training_log.csv") as f:
    log = list(csv.DictReader(f))
epochs = [int(r["epoch"]) + 1 for r in log]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(epochs, [float(r["loss"]) for r in log], "o-", ms=3, label="training loss")
ax.plot(epochs, [float(r["val_loss"]) for r in log], "o-", ms=3, label="validation loss")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("MSE (confidence maps + PAFs)")
ax.legend()
plt.show()
print(f"final loss {float(log[-1]['loss']):.4g}, best val_loss "
      f"{min(float(r['val_loss']) for r in log):.4g}")
"""),
    md("""
## Predicting

`sleapish.load_model` takes a model folder (two for top-down models) and returns a
predictor, as `sleap.load_model` does. `predict` accepts a video path, a
`sleap_io.Video`, labels, or an array of frames, and returns `sleap_io.Labels` with
one labeled frame per video frame (`PredictedInstance`s with point and instance
scores). `max_instances` keeps at most that many instances per frame.
"""),
    code("""
predictor = sleapish.load_model(str(run_path), max_instances=N_ANIMALS,
                                progress_reporting="none")
t0 = time.perf_counter()
labels_pr = predictor.predict(str(ds.video_path))
dt = time.perf_counter() - t0
n_inst = [len(lf.instances) for lf in labels_pr]
print(f"{type(predictor).__name__}: {len(labels_pr)} frames in {dt:.1f} s, "
      f"{np.mean(n_inst):.2f} instances per frame (true: {N_ANIMALS})")
"""),
    md("""
Ground truth and predictions on a held-out (test) frame, one the model never saw:
"""),
    code("""
frame = split.test_inds[len(split.test_inds) // 2]
gt_i = next(i for i, lf in enumerate(labels) if lf.frame_idx == frame)
pr_i = next(i for i, lf in enumerate(labels_pr) if lf.frame_idx == frame)
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
axes[0].imshow(render_frame(labels, gt_i, scale=2.0))
axes[0].set_title(f"ground truth, frame {frame}")
axes[1].imshow(render_frame(labels_pr, pr_i, scale=2.0, color_by="instance"))
axes[1].set_title(f"predictions, frame {frame}")
for a in axes:
    a.axis("off")
plt.show()
"""),
    md("""
## Accuracy

After training, the best model predicted each split and the predictions were compared
with the ground truth (`metrics.{train,val,test}.npz`, SLEAP's files and keys).
`sleapish.nn.evals.load_metrics` reads them (SLEAP's `sleap.load_metrics`):

- `oks_voc.mAP`: mean average precision of instances matched by object keypoint
  similarity (COCO-style, 0 to 1);
- `oks.mOKS`: mean OKS of the matched instances;
- `pck.mPCK`: fraction of points within 1..10 px of the truth (averaged);
- `dist.p50` / `dist.p90`: median and 90th percentile of the point errors in pixels.

With the default sizes, expect point errors below a pixel or two (`dist.p50`,
`dist.p90`) and a high mPCK. The OKS-based numbers stay modest even so: OKS measures
errors relative to the animal's bounding-box area, and these animals are small and thin
(notebook 3 shows this, and how these metrics are computed). In quick mode the model is
far too small and short-trained to find anything: expect 0 and NaN.
"""),
    code("""
from sleapish.nn.evals import load_metrics

for split_name in ("val", "test"):
    m = load_metrics(run_path, split_name)
    print(f"{split_name:>4}: mAP (oks_voc.mAP) = {float(m['oks_voc.mAP']):.3f}, "
          f"mOKS = {float(m['oks.mOKS']):.3f}, mPCK = {float(m['pck.mPCK']):.3f}, "
          f"distance p50 = {float(m['dist.p50']):.2f} px, p90 = {float(m['dist.p90']):.2f} px")
"""),
    md("""
## Next

- `02_inside_the_pipeline.ipynb`: what the model is trained on (confidence maps, PAFs,
  augmentation).
- `03_tracking_and_evaluation.ipynb`: tracking predictions over time and evaluating
  them.
- `04_load_a_sleap_model.ipynb`: loading a model folder trained by SLEAP itself.

To track the predictions, pass a tracker to `load_model`, e.g.
`sleapish.load_model(run_path, tracker="simple", tracker_max_instances=2)`.
"""),
]

# ----------------------------------------------------------------------------- 02
NB02: List[Cell] = [
    md("""
# 2. Inside the training pipeline

A pose model is trained on *targets* made from the labels: for a bottom-up model,
one confidence map per body part (a Gaussian at every animal's part) and part affinity
fields (PAFs: for every edge, unit vectors along the animal's body from the source
part to the destination part). sleapish builds them with the same `tf.data` blocks
and numbers as SLEAP's `sleap.nn.data`. This notebook builds the pipeline of a
bottom-up model and looks at its output. No training.
"""),
    code("""
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

QUICK = os.environ.get("SLEAPISH_TUTORIAL_QUICK") == "1"

if QUICK:
    N_FRAMES, IMAGE_SIZE, N_AUGMENTED = 4, (128, 128), 4
else:
    N_FRAMES, IMAGE_SIZE, N_AUGMENTED = 20, (192, 192), 8

WORK = Path(os.environ.get("SLEAPISH_TUTORIAL_WORK") or tempfile.mkdtemp(prefix="sleapish_02_"))
WORK.mkdir(parents=True, exist_ok=True)
print(f"quick mode: {QUICK}; working folder: {WORK}")
"""),
    code("""
import sleapish
from sleapish.datasets import make_synthetic_dataset

ds = make_synthetic_dataset(WORK / "data", n_frames=N_FRAMES, n_animals=2,
                            image_size=IMAGE_SIZE, identity_marks=True, seed=1)
labels = sleapish.load_file(ds.labels_path)
skeleton = labels.skeleton
print(labels)
"""),
    md("""
## Config and model

The pipeline depends on the model: which heads it has, their sigma and output stride.
We take the bottom-up profile and set the same heads as in notebook 1. `Model.from_config`
builds the model description (backbone + heads) from `cfg.model`; the skeleton fills
in the part names and PAF edges the profile leaves empty. `pad_to_stride` (which the
trainer infers) pads frames to a multiple of the backbone's maximum stride.
"""),
    code("""
from sleapish.nn.config import TrainingJobConfig
from sleapish.nn.model import Model
from sleapish.nn.training.profiles import find_profile

cfg = TrainingJobConfig.load_json(find_profile("baseline_medium_rf.bottomup"))
cfg.model.backbone.unet.max_stride, cfg.model.backbone.unet.output_stride = 16, 2
mi = cfg.model.heads.multi_instance
mi.confmaps.sigma, mi.confmaps.output_stride = 2.5, 2
mi.pafs.sigma, mi.pafs.output_stride = 5.0, 4

model = Model.from_config(cfg.model, skeleton=skeleton, tracks=labels.tracks)
cfg.data.preprocessing.pad_to_stride = model.maximum_stride
for head in model.heads:
    print(type(head).__name__, "->", head.name)
"""),
    md("""
## The base pipeline: frames to targets

`pipeline_for_model` picks the pipeline builder of the model type (here
`BottomUpPipeline`). `make_base_pipeline(provider)` chains: the provider (`LabelsReader`:
frames and points from the labels) → normalization → scaling and padding → target
generators. `describe()` lists the blocks and the keys, dtypes and shapes of an example;
`peek()` returns the first example as numpy arrays.
"""),
    code("""
from sleapish.nn.data.pipelines import pipeline_for_model
from sleapish.nn.data.providers import LabelsReader

builder = pipeline_for_model(cfg.data, cfg.optimization, model)
print(type(builder).__name__)
base = builder.make_base_pipeline(LabelsReader(labels))
print(base.describe())
ex = base.peek()
"""),
    md("""
### Confidence maps

One channel per body part at stride 2 (half the image size): the maximum over animals of
`exp(-d² / (2 (sigma · stride)²))`, where `d` is the distance to that animal's part.
At inference, the peaks of these maps are the candidate body parts.
"""),
    code("""
img = ex["image"][..., 0]
cms = ex["confidence_maps"]
h, w = img.shape
extent = (-0.5, w - 0.5, h - 0.5, -0.5)   # maps are drawn over the full image
names = skeleton.node_names
fig, axes = plt.subplots(1, len(names) + 1, figsize=(3.2 * (len(names) + 1), 3.4))
axes[0].imshow(img, cmap="gray")
for inst in ex["instances"]:
    axes[0].plot(inst[:, 0], inst[:, 1], ".", ms=6)
axes[0].set_title("input and labels")
for k, name in enumerate(names):
    axes[k + 1].imshow(img, cmap="gray")
    axes[k + 1].imshow(cms[..., k], cmap="magma", alpha=0.7, extent=extent, vmin=0, vmax=1)
    axes[k + 1].set_title(f"confidence map: {name}")
for a in axes:
    a.axis("off")
plt.tight_layout()
plt.show()
print("image", img.shape, "-> confidence maps", cms.shape, f"(max {cms.max():.2f})")
"""),
    md("""
### Part affinity fields

Two channels (x, y) per edge at stride 4. Near the segment joining an animal's two parts
(within about sigma pixels), the field is the unit vector from the source part to the
destination part; elsewhere it fades to 0. At inference, candidate parts are grouped into
animals by integrating the PAF along the line between them (a high *line score* means the
two parts belong to the same animal).
"""),
    code("""
pafs = ex["part_affinity_fields"]
gh, gw = pafs.shape[:2]
stride = mi.pafs.output_stride
vec = pafs.reshape(gh, gw, -1, 2)          # (grid y, grid x, edge, xy)
edges = [(e.source.name, e.destination.name) for e in skeleton.edges]
yy, xx = np.mgrid[0:gh, 0:gw] * stride
inst0 = ex["instances"][0]                  # zoom on the first animal
lo, hi = np.nanmin(inst0, axis=0) - 16, np.nanmax(inst0, axis=0) + 16
fig, axes = plt.subplots(1, len(edges) + 1, figsize=(3.6 * (len(edges) + 1), 3.8))
for k, (a, b) in enumerate(edges):
    ax = axes[k]
    mag = np.linalg.norm(vec[:, :, k], axis=-1)
    ax.imshow(img, cmap="gray")
    ax.imshow(mag, cmap="viridis", alpha=0.5, extent=extent, vmin=0, vmax=1)
    keep = mag > 0.2
    ax.quiver(xx[keep], yy[keep], vec[:, :, k, 0][keep], vec[:, :, k, 1][keep],
              color="w", angles="xy", scale=12, width=0.008)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(hi[1], lo[1])
    ax.set_title(f"PAF {a} -> {b} (one animal)")
mag_all = np.linalg.norm(vec, axis=-1).max(axis=-1)
axes[-1].imshow(mag_all, cmap="viridis", extent=extent)
axes[-1].set_title("PAF magnitude (max over edges)")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()
print("PAFs", pafs.shape, f"= {gh}x{gw} grid x ({len(edges)} edges x 2)")
"""),
    md("""
## Augmentation

During training each frame is randomly transformed every time it is used, and the
points (hence the targets) move exactly with the image. The options are SLEAP's
`optimization.augmentation_config`: rotation, translation and scale about the image
centre, noise, contrast and brightness. Here we turn several on and pass the *same*
frame through the training pipeline a few times. The training pipeline adds
shuffling, batching and repetition, and yields `(inputs, targets)` as Keras' `fit`
expects: inputs keyed `"input"`, targets keyed by head name.
"""),
    code("""
aug = cfg.optimization.augmentation_config
aug.rotate, aug.rotation_min_angle, aug.rotation_max_angle = True, -180.0, 180.0
aug.scale, aug.scale_min, aug.scale_max = True, 0.8, 1.2
aug.translate, aug.translate_min, aug.translate_max = True, -10, 10
aug.gaussian_noise, aug.gaussian_noise_mean, aug.gaussian_noise_stddev = True, 0.0, 8.0
aug.contrast, aug.contrast_min_gamma, aug.contrast_max_gamma = True, 0.6, 1.6

one_frame = LabelsReader(labels, example_indices=[0])
train = builder.make_training_pipeline(one_frame)
batches = train.peek(N_AUGMENTED)       # batches of one frame: the same frame each time
cols = 4
rows = int(np.ceil(N_AUGMENTED / cols))
fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
for ax, (inputs, targets) in zip(axes.flat, batches):
    x = np.asarray(inputs["input"])[0, ..., 0]
    cm = np.asarray(targets[model.heads[0].name])[0].max(axis=-1)
    ax.imshow(x, cmap="gray")
    ax.imshow(cm, cmap="magma", alpha=0.45, extent=(-0.5, x.shape[1] - 0.5, x.shape[0] - 0.5, -0.5))
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("frame 0, augmented; overlay: its confidence-map targets")
plt.tight_layout()
plt.show()
"""),
    md("""
What one training step receives, on the full labels (batch size from the config):
"""),
    code("""
inputs, targets = builder.make_training_pipeline(LabelsReader(labels)).peek()
print("inputs: ", {k: tuple(v.shape) for k, v in inputs.items()})
print("targets:", {k: tuple(v.shape) for k, v in targets.items()})
"""),
    md("""
See `docs/pipelines.md` for every block (`sleapish.nn.data.*`) and the order SLEAP
applies them in.
"""),
]

# ----------------------------------------------------------------------------- 03
NB03: List[Cell] = [
    md("""
# 3. Tracking and evaluation

No model here: we take the ground truth of a synthetic video, turn it into
"predictions" (tracks removed, points jittered, some points and some animals missed),
then

1. link the instances across frames with SLEAP's trackers and measure how well the
   tracks follow the true animals (identity switches);
2. evaluate the pose accuracy with SLEAP's metrics (mAP, OKS, PCK, distances).

Because we control the errors, we can see what each number responds to.
"""),
    code("""
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

QUICK = os.environ.get("SLEAPISH_TUTORIAL_QUICK") == "1"

if QUICK:
    N_FRAMES, N_ANIMALS, IMAGE_SIZE = 60, 3, (192, 192)
else:
    N_FRAMES, N_ANIMALS, IMAGE_SIZE = 600, 4, (256, 256)
NOISE_PX = 1.0        # std of the Gaussian noise added to every point
P_MISS_POINT = 0.03   # probability that a point is missing
P_MISS_ANIMAL = 0.02  # probability that an animal is not detected in a frame

WORK = Path(os.environ.get("SLEAPISH_TUTORIAL_WORK") or tempfile.mkdtemp(prefix="sleapish_03_"))
WORK.mkdir(parents=True, exist_ok=True)
print(f"quick mode: {QUICK}; working folder: {WORK}")
"""),
    code("""
import sleap_io as sio

import sleapish
from sleapish.datasets import make_synthetic_dataset

ds = make_synthetic_dataset(WORK / "data", n_frames=N_FRAMES, n_animals=N_ANIMALS,
                            image_size=IMAGE_SIZE, identity_marks=True, seed=3)
labels_gt = sleapish.load_file(ds.labels_path)
skeleton = labels_gt.skeleton
print(labels_gt)
"""),
    md("""
## Fake predictions

A model's output is a `sleap_io.PredictedInstance` per detected animal, with a score per
point and an instance score, and no track until a tracker assigns one.
`PredictedInstance.from_numpy(points, skeleton=..., point_scores=..., score=...)` makes
one from an `(n_nodes, 2)` array (NaN = missing point). We also shuffle the instances
of each frame, since a model lists them in no particular order.
"""),
    code("""
def fake_predictions(labels, noise_px, p_miss_point, p_miss_animal, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for lf in labels:
        instances = []
        for inst in lf.instances:
            if rng.random() < p_miss_animal:
                continue
            pts = inst.numpy() + rng.normal(0, noise_px, size=(len(skeleton.nodes), 2))
            pts[rng.random(len(pts)) < p_miss_point] = np.nan
            scores = np.where(np.isnan(pts[:, 0]), 0.0, rng.uniform(0.7, 1.0, len(pts)))
            instances.append(sio.PredictedInstance.from_numpy(
                pts, skeleton=skeleton, point_scores=scores, score=float(scores.sum())))
        rng.shuffle(instances)
        frames.append(sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx,
                                       instances=instances))
    return sio.Labels(labeled_frames=frames, videos=labels.videos, skeletons=labels.skeletons)


labels_pr = fake_predictions(labels_gt, NOISE_PX, P_MISS_POINT, P_MISS_ANIMAL)
n_pred = sum(len(lf.instances) for lf in labels_pr)
print(f"{len(labels_pr)} frames, {n_pred} predicted instances "
      f"(true: {N_FRAMES * N_ANIMALS}), tracks: {labels_pr.tracks}")
"""),
    md("""
## Tracking

`sleapish.nn.tracking.make_tracker_by_name` builds SLEAP's trackers with SLEAP's option
names (those of `sleap-track --tracking.*`), and `retrack(labels, tracker)` tracks every
frame in order (SLEAP's "retracking" of a predictions file). The trackers compared:

- `simple`: match each frame's instances to the last `track_window` frames' instances
  by similarity (greedy), spawning a new track for any instance left over;
- the same with Hungarian matching (best total similarity);
- `simplemaxtracks` with `max_tracks` = the number of animals: never more tracks than
  animals;
- `flow`: candidates moved into the current frame by optical flow (reads the video);
- `simple` with `target_instance_count` and `post_connect_single_breaks`: when exactly
  one track ends and one starts, join them (fixes a missed detection).

`track_identity_metrics(labels_gt, labels_tracked)` pairs predicted and true instances
frame by frame and counts *identity switches* (a true animal's predicted track changes)
and the fraction of pairs whose track carries the right identity.
"""),
    code("""
from sleapish.nn.tracking import make_tracker_by_name, retrack
from sleapish.nn.tracking.metrics import track_identity_metrics

trackers = {
    "simple": dict(tracker="simple"),
    "simple, hungarian": dict(tracker="simple", match="hungarian"),
    "simplemaxtracks": dict(tracker="simplemaxtracks", max_tracking=True, max_tracks=N_ANIMALS),
    "flow": dict(tracker="flow"),
    "simple + connect breaks": dict(tracker="simple", target_instance_count=N_ANIMALS,
                                    post_connect_single_breaks=True),
}
tracked = {}
print(f"{'tracker':<26}{'tracks':>7}{'identity switches':>19}{'right identity':>16}")
for name, options in trackers.items():
    # retrack sets tracks on the instances in place: give each tracker its own copy
    # (the same seed makes the same predictions).
    fresh = fake_predictions(labels_gt, NOISE_PX, P_MISS_POINT, P_MISS_ANIMAL)
    result = retrack(fresh, make_tracker_by_name(**options))
    tracked[name] = result
    ident = track_identity_metrics(labels_gt, result)
    print(f"{name:<26}{ident['n_tracks']:>7}{ident['identity_switches']:>19}"
          f"{ident['right_identity']:>16.3f}")
"""),
    md("""
Trajectories of the thorax over time, coloured by track: on the left the truth, in the
middle the `simple` tracker, on the right the `flow` tracker. A track that jumps from one
animal's path to another's is an identity switch (with the default sizes, `simple` makes
a couple where animals pass close to each other; `flow`, which predicts where each animal
moved, avoids them). A broken track would show as a new colour.
"""),
    code("""
def plot_tracks(ax, labels, title):
    names = sorted({i.track.name for lf in labels for i in lf.instances if i.track is not None})
    colors = {n: plt.cm.tab10(k % 10) for k, n in enumerate(names)}
    node = skeleton.node_names.index("thorax")
    for n in names:
        pts = np.array([[lf.frame_idx, *i.numpy()[node]] for lf in labels
                        for i in lf.instances if i.track is not None and i.track.name == n])
        ax.plot(pts[:, 1], pts[:, 2], ".", ms=2, color=colors[n])
    ax.set_title(f"{title}: {len(names)} tracks")
    ax.set_xlim(0, IMAGE_SIZE[1])
    ax.set_ylim(IMAGE_SIZE[0], 0)
    ax.set_aspect("equal")


fig, axes = plt.subplots(1, 3, figsize=(14, 4.8))
plot_tracks(axes[0], labels_gt, "ground truth")
plot_tracks(axes[1], tracked["simple"], "simple")
plot_tracks(axes[2], tracked["flow"], "flow")
plt.tight_layout()
plt.show()
"""),
    md("""
## Pose accuracy

`sleapish.nn.evals.evaluate(labels_gt, labels_pr)` computes SLEAP's metrics
(`sleap.nn.evals.evaluate`; the keys are SLEAP's). In each frame, predictions are matched
to ground-truth instances by object keypoint similarity (OKS), then:

- `oks_voc.mAP`: average precision over OKS thresholds 0.5..0.95 (COCO-style);
- `oks.mOKS`: mean OKS of the matched pairs. OKS uses `exp(-d² / (2 s (2 σ)²))` per point,
  with `s` the area of the true instance's bounding box: errors count relative to the
  animal's size;
- `pck.mPCK`: fraction of points within 1, 2, ..., 10 px, averaged;
- `dist.*`: point errors in pixels; `vis.*`: missing vs. present points.

Tracks play no part here.
"""),
    code("""
from sleapish.nn.evals import evaluate

m = evaluate(labels_gt, labels_pr)
print(f"mAP (oks_voc.mAP) = {m['oks_voc.mAP']:.3f}")
print(f"mOKS (oks.mOKS)   = {m['oks.mOKS']:.3f}")
print(f"mPCK (pck.mPCK)   = {m['pck.mPCK']:.3f}")
print(f"distance: mean {m['dist.avg']:.2f} px, p50 {m['dist.p50']:.2f} px, p90 {m['dist.p90']:.2f} px")
print(f"visibility: precision {m['vis.precision']:.3f}, recall {m['vis.recall']:.3f}")
print(f"matched pairs: {len(m['oks_voc.match_scores'])}")
"""),
    code("""
thresholds = m["pck.thresholds"]
pcks = m["pck.pcks"]                      # (pairs, nodes, thresholds) booleans
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for k, name in enumerate(skeleton.node_names):
    axes[0].plot(thresholds, pcks[:, k].mean(axis=0), "o-", ms=3, label=name)
axes[0].plot(thresholds, pcks.mean(axis=(0, 1)), "k--", label="all parts")
axes[0].set_xlabel("threshold (px)")
axes[0].set_ylabel("fraction of points within threshold")
axes[0].set_title("PCK")
axes[0].legend()
axes[1].hist(m["oks_voc.match_scores"], bins=30, range=(0, 1))
axes[1].axvline(m["oks.mOKS"], color="k", ls="--", label=f"mOKS {m['oks.mOKS']:.2f}")
axes[1].set_xlabel("OKS of a matched pair")
axes[1].set_ylabel("pairs")
axes[1].set_title("OKS distribution")
axes[1].legend()
plt.tight_layout()
plt.show()
"""),
    md("""
How the metrics respond to the size of the errors. The synthetic animals are small and
thin (their four parts lie on a line, so the bounding box area is small and even near 0
when an animal is aligned with an image axis), which makes the default OKS strict. A fixed
scale (`oks_scale`, in px², e.g. the squared body length) makes OKS comparable across
poses:
"""),
    code("""
print(f"{'noise (px)':>10}{'mOKS':>8}{'mOKS (oks_scale=30²)':>22}{'mAP':>8}{'mPCK':>8}{'p90 (px)':>10}")
for noise in (0.25, 0.5, 1.0, 2.0, 4.0):
    pr = fake_predictions(labels_gt, noise, 0.0, 0.0, seed=1)
    a = evaluate(labels_gt, pr)
    b = evaluate(labels_gt, pr, oks_scale=30.0 ** 2)
    print(f"{noise:>10.2f}{a['oks.mOKS']:>8.3f}{b['oks.mOKS']:>22.3f}{a['oks_voc.mAP']:>8.3f}"
          f"{a['pck.mPCK']:>8.3f}{a['dist.p90']:>10.2f}")
"""),
]

# ----------------------------------------------------------------------------- 04
NB04: List[Cell] = [
    md("""
# 4. Load a model trained by SLEAP

sleapish reads SLEAP 1.4 model folders as they are: `training_config.json` and
`best_model.h5` (plus, optionally, the training log, the splits SLEAP saved
(`labels_gt.*.slp`), its predictions on them (`labels_pr.*.slp`) and its metrics).
`sleapish.load_model(folder)` is SLEAP's `sleap.load_model(folder)`.

This notebook uses SLEAP's own test model `minimal_instance.UNet.bottomup` (a bottom-up
model of two flies, trained by SLEAP on one frame of `centered_pair_low_quality.mp4`) if
the project's shared data folder (`../shared/data` next to the repository, or
`$SLEAPISH_SHARED_DATA`) is there. Otherwise it trains a tiny sleapish model on a
synthetic video and loads that folder the same way — so the code below is what you would
run on your own SLEAP model folder.
"""),
    code("""
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import sleapish

QUICK = os.environ.get("SLEAPISH_TUTORIAL_QUICK") == "1"
N_PREDICT = 4 if QUICK else 100       # video frames to predict

WORK = Path(os.environ.get("SLEAPISH_TUTORIAL_WORK") or tempfile.mkdtemp(prefix="sleapish_04_"))
WORK.mkdir(parents=True, exist_ok=True)


def find_repo_root():
    # The folder with setup.cfg and sleapish/: above the current folder (the notebook's
    # folder when opened in Jupyter), else where the (editable) sleapish package lives.
    for start in (Path.cwd(), Path(sleapish.__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "setup.cfg").is_file() and (folder / "sleapish").is_dir():
                return folder
    return None


repo = find_repo_root()
shared = os.environ.get("SLEAPISH_SHARED_DATA")
SHARED = Path(shared) if shared else (repo.parent / "shared" / "data" if repo else None)
MODEL = SHARED / "models" / "minimal_instance.UNet.bottomup" if SHARED else None
VIDEO = SHARED / "videos" / "centered_pair_small.mp4" if SHARED else None
USE_SLEAP_MODEL = bool(MODEL and (MODEL / "best_model.h5").is_file() and VIDEO.is_file())
print(f"quick mode: {QUICK}; working folder: {WORK}")
print(f"shared data: {SHARED}")
print("path: SLEAP model" if USE_SLEAP_MODEL else "path: fallback (train a tiny model here)")
"""),
    md("""
The fallback: only runs without SLEAP's model. It trains a small bottom-up model on a
synthetic video (as in notebook 1, for a few epochs) to get a model folder.
"""),
    code("""
if not USE_SLEAP_MODEL:
    from sleapish.datasets import make_synthetic_dataset
    from sleapish.demo import build_config_for
    from sleapish.nn.training import Trainer

    n_frames = 24 if QUICK else 120
    ds = make_synthetic_dataset(WORK / "data", n_frames=n_frames, n_animals=2,
                                image_size=(128, 128), seed=0)
    cfg = build_config_for(sleapish.load_file(ds.labels_path), n_frames,
                           epochs=2 if QUICK else 10, batches_per_epoch=3 if QUICK else 30,
                           filters=8)
    cfg.outputs.runs_folder = str(WORK / "models")
    trainer = Trainer.from_config(cfg, training_labels=str(ds.labels_path), seed=0,
                                  verbosity="none")
    trainer.train()
    MODEL, VIDEO = Path(trainer.run_path), ds.video_path
print("model folder:", MODEL)
print("video:", VIDEO)
print("files:", sorted(p.name for p in MODEL.iterdir()))
"""),
    md("""
## What is in the model folder

`training_config.json` says what the model is: the head type (`single_instance`,
`centroid`, `centered_instance`, `multi_instance` = bottom-up, `multi_class_bottomup`,
`multi_class_topdown`), the backbone, the skeleton it was trained on, and the
preprocessing the frames need (input scaling, padding). sleapish reads SLEAP's file
(including its skeleton serialization) with `TrainingJobConfig.load_json`.
"""),
    code("""
import csv

from sleapish.nn.config import TrainingJobConfig

cfg = TrainingJobConfig.load_json(MODEL / "training_config.json")
kind = cfg.model.heads.which_oneof_attrib_name()
backbone = cfg.model.backbone.which_oneof_attrib_name()
bb = getattr(cfg.model.backbone, backbone)
heads = getattr(cfg.model.heads, kind)
print("model type:", kind)
print(f"backbone: {backbone} (filters={bb.filters}, max_stride={bb.max_stride}, "
      f"output_stride={bb.output_stride})")
skeleton = cfg.data.labels.skeletons[0]
print("skeleton:", skeleton.node_names, "edges:",
      [(e.source.name, e.destination.name) for e in skeleton.edges])
print("confidence maps:", f"sigma={heads.confmaps.sigma}, stride={heads.confmaps.output_stride}")
if getattr(heads, "pafs", None) is not None:
    print("PAFs:", f"sigma={heads.pafs.sigma}, stride={heads.pafs.output_stride}")
pre = cfg.data.preprocessing
print(f"preprocessing: input_scaling={pre.input_scaling}, pad_to_stride={pre.pad_to_stride}")
print("config sleap_version:", cfg.sleap_version)
if (MODEL / "training_log.csv").exists():
    with open(MODEL / "training_log.csv") as f:
        log = list(csv.DictReader(f))
    print(f"{len(log)} epochs logged, best val_loss {min(float(r['val_loss']) for r in log):.4g}")
"""),
    md("""
## Predicting on a video

`sleapish.load_model(folder)` returns the predictor of the model type (here a
`BottomUpPredictor`). `predictor.predict(video_path)` predicts every frame; to predict a
part of a video, pass a `VideoReader` with the frame indices (in a shell:
`sleapish-track VIDEO -m FOLDER --frames 0-99`).

SLEAP's `minimal_instance` test models were trained on a single labeled frame, so on
other frames of the video they find the two flies only part of the time: that is the
model, not the loading (the comparison below shows the predictions are SLEAP's).
"""),
    code("""
from sleapish.nn.data.providers import VideoReader

predictor = sleapish.load_model(str(MODEL), progress_reporting="none")
print("predictor:", type(predictor).__name__)
video = sleapish.load_video(VIDEO)
print("video:", Path(VIDEO).name, video.shape)
n = min(N_PREDICT, len(video))
labels_pr = predictor.predict(VideoReader(video, list(range(n))))
per_frame = [len(lf.instances) for lf in labels_pr]
print(f"predicted frames: {len(labels_pr)}, instances per frame: mean {np.mean(per_frame):.2f}, "
      f"max {max(per_frame)}")
"""),
    code("""
from sleapish.render import render_frame

show = [0, len(labels_pr) // 2, len(labels_pr) - 1]
fig, axes = plt.subplots(1, len(show), figsize=(4.5 * len(show), 4.8))
for ax, i in zip(axes, show):
    ax.imshow(render_frame(labels_pr, i, color_by="instance"))
    ax.set_title(f"frame {labels_pr[i].frame_idx}: {len(labels_pr[i].instances)} instances")
    ax.axis("off")
plt.tight_layout()
plt.show()
"""),
    md("""
## Same predictions as SLEAP

SLEAP saved its own predictions on the validation frames (`labels_pr.val.slp`, next to
the ground truth `labels_gt.val.slp`). Predicting the same frames with sleapish and
pairing the instances (by their mean distance) shows how close the two are. For the
fallback model, the saved predictions are the ones sleapish made after training.
"""),
    code("""
from scipy.optimize import linear_sum_assignment

if (MODEL / "labels_pr.val.slp").exists():
    search = [SHARED / "videos"] if USE_SLEAP_MODEL else [Path(VIDEO).parent]
    gt = sleapish.load_file(MODEL / "labels_gt.val.slp", search_paths=search)
    theirs = sleapish.load_file(MODEL / "labels_pr.val.slp", open_videos=False)
    ours = predictor.predict(gt)
    by_frame = {lf.frame_idx: lf for lf in theirs}
    diffs, n_inst = [], 0
    for lf in ours:
        other = by_frame[lf.frame_idx]
        a = np.stack([i.numpy() for i in lf.instances]) if lf.instances else np.zeros((0, 1, 2))
        b = np.stack([i.numpy() for i in other.instances]) if other.instances else np.zeros((0, 1, 2))
        assert len(a) == len(b), "different numbers of instances"
        if not len(a):
            continue
        cost = np.nan_to_num(np.nanmean(np.linalg.norm(a[:, None] - b[None], axis=-1), axis=-1), nan=1e9)
        rows, cols = linear_sum_assignment(cost)
        d = np.linalg.norm(a[rows] - b[cols], axis=-1)
        assert np.array_equal(np.isnan(a[rows]), np.isnan(b[cols])), "different missing points"
        diffs.append(np.nanmax(d) if np.isfinite(d).any() else 0.0)
        n_inst += len(rows)
    who = "SLEAP's" if USE_SLEAP_MODEL else "training-time"
    print(f"{len(ours)} validation frames, {n_inst} instances")
    print(f"max point difference vs {who} predictions: {max(diffs, default=0.0):.2e} px")
else:
    print("no labels_pr.val.slp in this model folder")
"""),
    md("""
The same works for the other model types: `sleapish.load_model([centroid_folder,
centered_instance_folder])` for top-down, one folder for single-instance and identity
(multi-class) models. `docs/inference.md` lists the parity with SLEAP for each.
"""),
]

NOTEBOOKS: Dict[str, List[Cell]] = {
    "01_train_and_predict.ipynb": NB01,
    "02_inside_the_pipeline.ipynb": NB02,
    "03_tracking_and_evaluation.ipynb": NB03,
    "04_load_a_sleap_model.ipynb": NB04,
}


def build_notebook(name: str, cells: List[Cell]):
    """The notebook (no outputs, deterministic cell ids) for a list of cells."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    stem = name.split("_")[0]
    for i, (kind, source) in enumerate(cells):
        cell = (nbformat.v4.new_markdown_cell(source) if kind == "md"
                else nbformat.v4.new_code_cell(source))
        cell.id = f"nb{stem}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def build_notebooks():
    """`{file name: notebook}` for every tutorial."""
    return {name: build_notebook(name, cells) for name, cells in NOTEBOOKS.items()}


def main(argv=None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a notebook differs from its cells")
    args = parser.parse_args(argv)
    stale = []
    for name, nb in build_notebooks().items():
        path = HERE / name
        text = nbformat.writes(nb) + "\n"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python examples/make_notebooks.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

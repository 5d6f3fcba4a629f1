"""Training end to end: every model type, the run folder, loading and predicting."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest
from training_helpers import PROFILES, tiny_config

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`

RUN_FILES = {"training_config.json", "initial_config.json", "best_model.h5",
             "labels_gt.train.slp", "labels_gt.val.slp", "labels_pr.train.slp",
             "labels_pr.val.slp", "metrics.train.npz", "metrics.val.npz",
             "training_log.csv"}


@pytest.mark.parametrize("kind", sorted(PROFILES))
def test_each_model_type_trains_writes_run_folder_and_predicts(
        kind, synthetic, one_animal, tmp_path):
    import sleapish
    from sleapish.io.labels import load_file
    from sleapish.nn.training import TRAINERS, Trainer

    data = one_animal if kind == "single_instance" else synthetic
    cfg = tiny_config(kind, tmp_path)
    trainer = Trainer.from_config(cfg, training_labels=str(data.labels_path), seed=0,
                                  verbosity="none", eval_max_frames=3)
    assert type(trainer) is TRAINERS[kind]
    trainer.train()
    run = tmp_path / kind
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    with open(run / "training_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert all(np.isfinite(float(r["loss"])) and np.isfinite(float(r["val_loss"]))
               for r in rows)
    # Inferred values are written back into the saved config.
    saved = json.loads((run / "training_config.json").read_text())
    assert saved["optimization"]["batches_per_epoch"] == 2
    assert saved["data"]["preprocessing"]["pad_to_stride"] is not None
    assert saved["data"]["labels"]["skeletons"], "skeleton not written back"
    if kind in ("centered_instance", "multi_class_topdown"):
        crop = saved["data"]["instance_cropping"]["crop_size"]
        assert crop is not None and crop % 16 == 0
    if kind == "multi_class_bottomup":
        assert saved["model"]["heads"][kind]["class_maps"]["classes"] == [
            "animal_0", "animal_1"]
    # The run folder loads and predicts on the video frames.
    predictor = sleapish.load_model(str(run), progress_reporting="none")
    labels = load_file(data.labels_path)
    from sleapish.nn.data.training import split_labels_by_inds

    preds = predictor.predict(split_labels_by_inds(labels, [0, 1]))
    assert len(preds) == 2
    pr = load_file(run / "labels_pr.val.slp")
    assert len(pr) >= 1


def test_run_files_get_the_umask_permissions_not_0600(trained_run):
    import stat

    from sleapish.io.files import current_umask

    want = 0o666 & ~current_umask()
    for name in sorted(RUN_FILES | {"latest_model.h5"}):
        assert stat.S_IMODE((trained_run / name).stat().st_mode) == want, name
    assert stat.S_IMODE((trained_run.parent / "cli_run.zip").stat().st_mode) == want


def test_shared_run_folder_is_complete(trained_run):
    names = {p.name for p in trained_run.iterdir()}
    assert RUN_FILES | {"latest_model.h5", "viz", "train", "validation"} <= names
    assert list((trained_run / "train").glob("events.out.tfevents.*"))  # TensorBoard
    import zipfile

    zipped = zipfile.ZipFile(trained_run.parent / "cli_run.zip").namelist()
    assert "best_model.h5" in zipped and "training_config.json" in zipped
    assert not [n for n in zipped if n.startswith("resume/")]  # state kept, not zipped
    assert (trained_run / "resume" / "state.json").exists()  # --keep-resume-state
    viz = sorted(p.name for p in (trained_run / "viz").iterdir())
    assert viz == [f"{s}.{e:04d}.png" for s in ("train", "validation") for e in range(3)]
    rows = list(csv.DictReader(open(trained_run / "training_log.csv")))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    cols = set(rows[0])
    # SLEAP's columns, plus OHKM and per-part losses.
    assert {"epoch", "loss", "lr", "val_loss", "MultiInstanceConfmapsHead_loss",
            "PartAffinityFieldsHead_loss", "MultiInstanceConfmapsHead_ohkm",
            "MultiInstanceConfmapsHead_head"} <= cols
    assert rows[0]["lr"] == "1e-04"
    cfg = json.loads((trained_run / "training_config.json").read_text())
    assert cfg["outputs"]["run_name"] == "cli_run"
    assert cfg["outputs"]["save_visualizations"] is True
    init = json.loads((trained_run / "initial_config.json").read_text())
    assert init["optimization"]["batches_per_epoch"] == 3
    assert init["data"]["preprocessing"]["pad_to_stride"] is None  # as given


def test_best_model_loads_with_plain_tf_keras(trained_run, synthetic):
    import tf_keras

    from sleapish.io.video import load_video, read_frames

    km = tf_keras.models.load_model(trained_run / "best_model.h5", compile=True)
    assert km.output_names == ["MultiInstanceConfmapsHead", "PartAffinityFieldsHead"]
    frame = read_frames(load_video(synthetic.video_path), [0]).astype("float32") / 255
    out = km.predict(frame[:, :128, :128], verbose=0)
    assert out[0].shape == (1, 32, 32, 4) and out[1].shape == (1, 16, 16, 6)


def test_best_model_config_keys_are_a_subset_of_sleap_written_files(
        trained_run, shared_data):
    """Keras 2.7-2.15 (SLEAP 1.4 users) must be able to rebuild sleapish's files."""
    def layer_keys(path):
        with h5py.File(path, "r") as f:
            mc = json.loads(f.attrs["model_config"])
        out = {}
        for layer in mc["config"]["layers"]:
            out.setdefault(layer["class_name"], set()).update(layer["config"])
            for v in layer["config"].values():
                if isinstance(v, dict) and "class_name" in v:
                    out.setdefault("<object>", set()).update(v)
        return out, set(mc["config"]), {k for layer in mc["config"]["layers"]
                                         for k in layer}

    sleap_keys, sleap_model, sleap_layer = {}, set(), set()
    for path in sorted((shared_data / "models").glob("*/best_model.h5")):
        keys, model_keys, entry_keys = layer_keys(path)
        for k, v in keys.items():
            sleap_keys.setdefault(k, set()).update(v)
        sleap_model |= model_keys
        sleap_layer |= entry_keys
    ours, model_keys, entry_keys = layer_keys(trained_run / "best_model.h5")
    assert model_keys <= sleap_model
    assert entry_keys <= sleap_layer
    for cls, keys in ours.items():
        assert cls in sleap_keys, f"{cls} never appears in SLEAP's files"
        assert keys <= sleap_keys[cls], (cls, keys - sleap_keys[cls])


def test_metrics_npz_is_plain_and_matches_labels_pr(trained_run):
    from sleapish.io.labels import load_file
    from sleapish.nn import evals

    with np.load(trained_run / "metrics.val.npz", allow_pickle=False) as f:
        assert "oks_voc.mAP" in f.files
    metrics = evals.load_metrics(trained_run, "val")
    gt = load_file(trained_run / "labels_gt.val.slp")
    pr = load_file(trained_run / "labels_pr.val.slp")
    again = evals.evaluate(gt, pr)
    assert metrics["oks_voc.mAP"] == pytest.approx(again["oks_voc.mAP"])
    assert metrics["dist.avg"] == pytest.approx(again["dist.avg"], nan_ok=True)


def test_resume_state_after_training(trained_run):
    from sleapish.nn.training.callbacks import load_resume_state

    state = load_resume_state(trained_run)
    assert state["next_epoch"] == 3
    assert state["learning_rate"] == pytest.approx(1e-4)
    assert state["seed"] == 3
    assert set(state["callbacks"]) == {"reduce_lr", "best_model", "early_stopping",
                                       "csv_log"}
    assert [r["epoch"] for r in state["callbacks"]["csv_log"]["rows"]] == [0, 1, 2]
    assert len(list((trained_run / "resume").glob("epoch_*"))) == 1


def test_base_checkpoint_initializes_weights(trained_run, synthetic, tmp_path):
    import tf_keras

    from sleapish.nn.config import TrainingJobConfig
    from sleapish.nn.training import Trainer

    cfg = TrainingJobConfig.load_json(trained_run / "initial_config.json")
    cfg.outputs.save_outputs = False
    cfg.model.base_checkpoint = str(trained_run)
    trainer = Trainer.from_config(cfg, training_labels=str(synthetic.labels_path),
                                  verbosity="none")
    trainer.setup()
    ref = tf_keras.models.load_model(trained_run / "best_model.h5", compile=False)
    for a, b in zip(ref.get_weights(), trainer.keras_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_training_writes_a_self_contained_html_report(trained_run, tmp_path, capsys):
    import base64
    import io
    import re
    import zipfile
    from html.parser import HTMLParser

    import matplotlib.image as mpimg

    from sleapish.report import METRIC_ROWS, main

    text = (trained_run / "report.html").read_text()
    assert "report.html" in zipfile.ZipFile(trained_run.parent / "cli_run.zip").namelist()

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.imgs, self.headings, self._h = [], [], False

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.imgs.append(dict(attrs)["src"])
            self._h = tag in ("h2", "h3")

        def handle_data(self, data):
            if self._h:
                self.headings.append(data.strip())
                self._h = False

    c = Collect()
    c.feed(text)
    assert c.headings == ["Configuration", "Training", "Losses", "Learning rate",
                          "Evaluation", "Errors per node", "Validation frames"]
    # losses, lr, validation frames, and per-node errors when instances matched
    has_errors = "no matched instances" not in text
    assert len(c.imgs) == 3 + has_errors
    for src in c.imgs:  # every image is embedded and decodes
        assert src.startswith("data:image/png;base64,")
        img = mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert "http" not in re.sub(r'src="data:[^"]+"', "", text)  # nothing external
    for _, label, _ in METRIC_ROWS:
        assert f">{label}</td>" in text, label
    assert "<th>train</th><th>val</th>" in text
    assert ">multi_instance</td>" in text and ">3 x 3</td>" in text

    out = tmp_path / "r.html"
    assert main([str(trained_run), "-o", str(out)]) == 0
    assert out.read_text().count("data:image/png") == 3 + has_errors
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sleapish-report: error:") and "training_config.json" in err

"""Bad input is refused before training starts, with messages naming the problem."""

from __future__ import annotations

import pytest
import sleap_io as sio
from training_helpers import tiny_config


def _from_config(cfg, labels, **kw):
    from sleapish.nn.training import Trainer

    return Trainer.from_config(cfg, training_labels=labels, verbosity="none", **kw)


def test_labels_without_user_instances_are_refused(synthetic, tmp_path):
    from sleapish.io.labels import load_file
    from sleapish.nn.training import TrainingSetupError

    labels = load_file(synthetic.labels_path)
    for lf in labels:
        lf.instances = [sio.PredictedInstance.from_numpy(
            i.numpy(), skeleton=i.skeleton, score=1.0) for i in lf.instances]
    with pytest.raises(TrainingSetupError, match="no user-labeled instances"):
        _from_config(tiny_config("centroid", tmp_path), labels)
    assert not (tmp_path / "centroid").exists()


def test_unknown_anchor_part_is_refused(synthetic, tmp_path):
    from sleapish.nn.training import TrainingSetupError

    cfg = tiny_config("centroid", tmp_path)
    cfg.model.heads.centroid.anchor_part = "wing"
    with pytest.raises(TrainingSetupError, match="'wing', which is not a node"):
        _from_config(cfg, str(synthetic.labels_path))


def test_identity_model_without_tracks_is_refused(synthetic, tmp_path):
    from sleapish.io.labels import load_file
    from sleapish.nn.training import TrainingSetupError

    labels = load_file(synthetic.labels_path)
    for lf in labels:
        for inst in lf.instances:
            inst.track = None
    labels.tracks = []
    for kind in ("multi_class_bottomup", "multi_class_topdown"):
        with pytest.raises(TrainingSetupError, match="with a track"):
            _from_config(tiny_config(kind, tmp_path), labels)


def test_classes_that_are_not_tracks_are_refused(synthetic, tmp_path):
    from sleapish.nn.training import TrainingSetupError

    cfg = tiny_config("multi_class_bottomup", tmp_path)
    cfg.model.heads.multi_class_bottomup.class_maps.classes = ["animal_0", "queen"]
    with pytest.raises(TrainingSetupError, match=r"\['queen'\] are not track names"):
        _from_config(cfg, str(synthetic.labels_path))


def test_unwritable_run_folder_fails_before_training(synthetic, tmp_path):
    from sleapish.nn.training import TrainingSetupError

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the runs folder should be")
    cfg = tiny_config("centroid", blocker)
    trainer = _from_config(cfg, str(synthetic.labels_path))
    with pytest.raises(TrainingSetupError, match="Cannot write the run folder"):
        trainer.setup()
    assert trainer.keras_model is None  # failed before the model was built


def test_missing_labels_file_and_unknown_profile(tmp_path, capsys):
    from sleapish.train import main

    assert main(["baseline.centroid", str(tmp_path / "nope.slp"),
                 "--verbosity", "none"]) == 2
    assert "nope.slp" in capsys.readouterr().err
    assert main(["baseline.nothing", "x.slp"]) == 2
    err = capsys.readouterr().err
    assert "No training profile named 'baseline.nothing'" in err
    assert "baseline.centroid.json" in err
    assert main(["--resume", str(tmp_path)]) == 2
    assert "not a sleapish run folder" in capsys.readouterr().err


def test_list_profiles(capsys):
    from sleapish.nn.training.profiles import PROFILE_DIR
    from sleapish.train import main

    assert main(["--list-profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert str(PROFILE_DIR) in lines[0]
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == 9 and ["baseline.centroid",
                               str(PROFILE_DIR / "baseline.centroid.json")] in rows


def test_set_epochs_and_batch_size_override_the_config(tmp_path):
    from sleapish.nn.config import ConfigError, TrainingJobConfig
    from sleapish.nn.config.overrides import apply_overrides
    from sleapish.train import create_trainer, make_parser

    cfg = TrainingJobConfig.load_json(
        __import__("sleapish.nn.training.profiles", fromlist=["x"]).find_profile(
            "baseline.centroid"))
    new = apply_overrides(cfg, ["model.backbone.unet.filters=32",
                                "optimization.augmentation_config.rotate=false",
                                "outputs.run_name=mine", "data.labels.search_path_hints=[\"a\"]"])
    assert new.model.backbone.unet.filters == 32
    assert new.optimization.augmentation_config.rotate is False
    assert new.outputs.run_name == "mine" and new.data.labels.search_path_hints == ["a"]
    assert cfg.model.backbone.unet.filters != 32  # the original is untouched
    for bad, words in [("model.backbone.unet.filtres=3", ["no field 'filtres'", "filters"]),
                       ("optimization.batch_size=many", ["batch_size", "many"]),
                       ("model.backbone.unet.filters=-2", ["filters"]),
                       ("nokey", ["KEY=VALUE"]),
                       ("model.backbone.unet.filters.x=1", ["not a group"])]:
        with pytest.raises(ConfigError) as e:
            apply_overrides(cfg, [bad])
        assert all(w in str(e.value) for w in words), (bad, str(e.value))

    args = make_parser().parse_args(["baseline.centroid", "x.slp", "--epochs", "3",
                                     "--batch-size", "2", "--set",
                                     "optimization.initial_learning_rate=0.01"])
    with pytest.raises(Exception) as e:  # stops at the missing labels, after the config
        create_trainer(args)
    assert "x.slp" in str(e.value)


def test_cli_set_error_is_one_line(capsys):
    from sleapish.train import main

    assert main(["baseline.centroid", "x.slp", "--set", "optimization.epochs=-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sleapish-train: error:") and "epochs" in err
    assert "\n" not in err


def test_packaged_profiles_are_current(tmp_path):
    from sleapish.nn.training.profiles import PROFILE_DIR, write_profiles

    for path in write_profiles(tmp_path):
        assert path.read_text() == (PROFILE_DIR / path.name).read_text(), path.name


def test_validation_fraction_split_is_seeded_and_written_back(synthetic, tmp_path):
    cfg1, cfg2 = tiny_config("centroid", tmp_path), tiny_config("centroid", tmp_path)
    t1 = _from_config(cfg1, str(synthetic.labels_path), seed=5)
    _from_config(cfg2, str(synthetic.labels_path), seed=5)
    inds = cfg1.data.labels.validation_inds
    assert inds == cfg2.data.labels.validation_inds and len(inds) == 3  # 10% of 32
    assert sorted(inds + cfg1.data.labels.training_inds) == list(range(32))
    assert len(t1.data_readers.validation_labels) == 3
    assert cfg1.data.labels.training_labels == str(synthetic.labels_path)


def test_explicit_split_indices(synthetic, tmp_path):
    cfg = tiny_config("centroid", tmp_path)
    lab = cfg.data.labels
    lab.split_by_inds = True
    lab.training_inds, lab.validation_inds, lab.test_inds = (
        list(range(0, 20)), list(range(20, 26)), list(range(26, 32)))
    t = _from_config(cfg, str(synthetic.labels_path))
    frames = [lf.frame_idx for lf in t.data_readers.test_labels]
    assert len(t.data_readers.training_labels) == 20
    assert frames == sorted(frames) and len(frames) == 6


def test_batches_per_epoch_inferred_from_data_size(synthetic, tmp_path):
    cfg = tiny_config("centered_instance", tmp_path)
    cfg.optimization.batches_per_epoch = None
    cfg.optimization.min_batches_per_epoch = 3
    cfg.optimization.batch_size = 4
    t = _from_config(cfg, str(synthetic.labels_path), seed=1)
    t._update_config()
    n_inst = sum(len(lf.user_instances) for lf in t.data_readers.training_labels)
    assert cfg.optimization.batches_per_epoch == max(3, n_inst // 4)


@pytest.mark.slow
def test_training_from_pkg_slp_without_video(synthetic, tmp_path):
    """Clusters train from .pkg.slp files whose frames are embedded."""
    from sleapish.io.labels import load_file
    from sleapish.nn.training import Trainer

    labels = load_file(synthetic.labels_path)
    pkg = tmp_path / "data" / "train.pkg.slp"
    pkg.parent.mkdir()
    sio.save_slp(labels, str(pkg), embed="user", verbose=False)
    moved = tmp_path / "elsewhere.mp4"
    synthetic.video_path.rename(moved)
    try:
        cfg = tiny_config("centroid", tmp_path / "runs", epochs=1)
        trainer = Trainer.from_config(cfg, training_labels=str(pkg), verbosity="none",
                                      eval_max_frames=2)
        trainer.train()
        run = tmp_path / "runs" / "centroid"
        assert (run / "best_model.h5").exists() and (run / "metrics.val.npz").exists()
    finally:
        moved.rename(synthetic.video_path)


def test_out_of_range_split_indices_are_refused(synthetic, tmp_path):
    from sleapish.nn.training import TrainingSetupError

    cfg = tiny_config("centroid", tmp_path)
    cfg.data.labels.split_by_inds = True
    cfg.data.labels.validation_inds = [30, 31, 99]
    with pytest.raises(TrainingSetupError, match=r"split indices.*\[99\]"):
        _from_config(cfg, str(synthetic.labels_path))


def test_centroid_profile_has_sleap_baseline_values():
    from sleapish.nn.config import TrainingJobConfig
    from sleapish.nn.training.profiles import find_profile

    cfg = TrainingJobConfig.load_json(find_profile("baseline.centroid"))
    assert cfg.data.preprocessing.input_scaling == 0.5
    assert cfg.model.heads.centroid.sigma == 2.5
    assert cfg.model.heads.centroid.output_stride == 2
    assert cfg.optimization.early_stopping.plateau_patience == 20
    assert cfg.optimization.learning_rate_schedule.plateau_patience == 5

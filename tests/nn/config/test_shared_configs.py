"""Every SLEAP-written config in ../shared/data loads, round-trips and carries the
skeleton of its training labels."""

from __future__ import annotations

import json

import pytest

import sleapish
from sleapish.io.skeleton_json import skeletons_match
from sleapish.nn.config import TrainingJobConfig, load_config

MODEL_LABELS = {
    "min_tracks_2node.UNet.bottomup_multiclass": "labels/clip.2node.slp",
    "min_tracks_2node.UNet.topdown_multiclass": "labels/clip.2node.slp",
    "minimal_instance.UNet.bottomup": "labels/minimal_instance.slp",
    "minimal_instance.UNet.centered_instance": "labels/minimal_instance.slp",
    "minimal_instance.UNet.centered_instance_with_scaling": "labels/minimal_instance.slp",
    "minimal_instance.UNet.centroid": "labels/minimal_instance.slp",
    "minimal_robot.UNet.single_instance": "labels/small_robot_minimal.slp",
}

EXPECTED_HEADS = {
    "min_tracks_2node.UNet.bottomup_multiclass": "multi_class_bottomup",
    "min_tracks_2node.UNet.topdown_multiclass": "multi_class_topdown",
    "minimal_instance.UNet.bottomup": "multi_instance",
    "minimal_instance.UNet.centered_instance": "centered_instance",
    "minimal_instance.UNet.centered_instance_with_scaling": "centered_instance",
    "minimal_instance.UNet.centroid": "centroid",
    "minimal_robot.UNet.single_instance": "single_instance",
}


def _json_files(shared_data):
    files = sorted((shared_data / "models").glob("*/*.json"))
    return files


def test_all_fourteen_configs_load_and_round_trip(shared_data):
    files = _json_files(shared_data)
    assert len(files) == 14
    for f in files:
        cfg = TrainingJobConfig.load_json(f, load_training_config=False)
        assert cfg.filename == str(f)
        assert cfg.model.heads.which_oneof_attrib_name() == EXPECTED_HEADS[f.parent.name]
        assert cfg.model.backbone.which_oneof_attrib_name() == "unet"
        again = TrainingJobConfig.from_json(cfg.to_json())
        assert again == cfg, f
        # Every key SLEAP wrote is written back with the same value (skeletons are
        # checked structurally below; PAF edges come back as lists).
        original = json.loads(f.read_text())
        written = json.loads(cfg.to_json())
        _assert_superset(original, written, f.name)


def _assert_superset(orig, new, path):
    if isinstance(orig, dict):
        for k, v in orig.items():
            if k in ("skeletons", "filename"):
                continue
            assert k in new, f"{path}/{k} dropped"
            _assert_superset(v, new[k], f"{path}/{k}")
    else:
        assert orig == new, f"{path}: {orig!r} != {new!r}"


def test_config_values_are_sleaps(shared_data):
    bu = load_config(shared_data / "models" / "minimal_instance.UNet.bottomup")
    mi = bu.model.heads.multi_instance
    assert mi.confmaps.part_names == ["A", "B"]
    assert mi.confmaps.sigma == 1.5 and mi.confmaps.output_stride == 2
    assert mi.confmaps.offset_refinement is True
    assert mi.pafs.edges == [("A", "B")]
    assert mi.pafs.sigma == 50 and mi.pafs.output_stride == 4
    unet = bu.model.backbone.unet
    assert (unet.max_stride, unet.output_stride, unet.filters, unet.filters_rate) == (
        8, 2, 16, 1.5)
    # Old (2020) file: keys added later take SLEAP's defaults.
    assert bu.data.preprocessing.resize_and_pad_to_target is True
    assert bu.optimization.augmentation_config.random_flip is False
    td = load_config(shared_data / "models" / "min_tracks_2node.UNet.topdown_multiclass")
    cv = td.model.heads.multi_class_topdown.class_vectors
    assert cv.classes == ["female", "male"]
    assert (cv.num_fc_layers, cv.num_fc_units, cv.output_stride, cv.loss_weight) == (
        3, 64, 16, 0.01)
    assert td.data.instance_cropping.crop_size == 128
    sc = load_config(shared_data / "models"
                     / "minimal_instance.UNet.centered_instance_with_scaling")
    assert sc.data.preprocessing.input_scaling == 0.5


def test_initial_config_prefers_sibling_training_config(shared_data):
    folder = shared_data / "models" / "minimal_instance.UNet.centroid"
    cfg = load_config(folder / "initial_config.json")
    assert cfg.filename == str(folder / "training_config.json")
    assert len(cfg.data.labels.skeletons) == 1
    initial = load_config(folder / "initial_config.json", load_training_config=False)
    assert initial.data.labels.skeletons == []
    assert load_config(folder) == cfg


@pytest.mark.parametrize("model", sorted(MODEL_LABELS))
def test_config_skeleton_equals_labels_skeleton(shared_data, model):
    cfg = load_config(shared_data / "models" / model)
    labels = sleapish.load_file(shared_data / MODEL_LABELS[model], open_videos=False)
    (cfg_skel,) = cfg.data.labels.skeletons
    assert skeletons_match(cfg_skel, labels.skeleton, check_name=True)


def test_reference_run_configs_load(shared_data):
    ref = shared_data.parent / "reference_runs"
    labels = sleapish.load_file(shared_data / "labels" / "clip.slp", open_videos=False)
    for f in sorted(ref.glob("*.json")):
        cfg = load_config(f)
        assert cfg.data.labels.split_by_inds is True
        assert len(cfg.data.labels.training_inds) == 1050
        assert skeletons_match(cfg.data.labels.skeletons[0], labels.skeleton)
        assert TrainingJobConfig.from_json(cfg.to_json()) == cfg

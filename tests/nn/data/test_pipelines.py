"""Pipelines per model type: keys and shapes match the model heads; Pipeline API."""

from __future__ import annotations

import numpy as np
import pytest

import sleapish
from sleapish.nn._backend import keras, tf
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
from sleapish.nn.data.normalization import Normalizer
from sleapish.nn.data.pipelines import Pipeline, pipeline_for_model
from sleapish.nn.data.providers import LabelsReader
from sleapish.nn.data.resizing import Resizer
from sleapish.nn.model import Model

HEADS = {
    "single_instance": HeadsConfig(single_instance=SingleInstanceConfmapsHeadConfig(
        part_names=["head", "tail"], sigma=2.0, output_stride=2, offset_refinement=True)),
    "centroid": HeadsConfig(centroid=CentroidsHeadConfig(anchor_part="thorax", sigma=2.0,
                                                         output_stride=4)),
    "centered_instance": HeadsConfig(centered_instance=CenteredInstanceConfmapsHeadConfig(
        anchor_part="thorax", sigma=1.5, output_stride=2)),
    "multi_instance": HeadsConfig(multi_instance=MultiInstanceConfig(
        confmaps=MultiInstanceConfmapsHeadConfig(sigma=1.5, output_stride=2),
        pafs=PartAffinityFieldsHeadConfig(sigma=5.0, output_stride=4))),
    "multi_class_bottomup": HeadsConfig(multi_class_bottomup=MultiClassBottomUpConfig(
        confmaps=MultiInstanceConfmapsHeadConfig(sigma=1.5, output_stride=2),
        class_maps=ClassMapsHeadConfig(sigma=2.0, output_stride=2))),
    "multi_class_topdown": HeadsConfig(multi_class_topdown=MultiClassTopDownConfig(
        confmaps=CenteredInstanceConfmapsHeadConfig(anchor_part="thorax", output_stride=2),
        class_vectors=ClassVectorsHeadConfig(output_stride=16, num_fc_units=8))),
}


def _config(kind: str) -> TrainingJobConfig:
    cfg = TrainingJobConfig()
    cfg.model = ModelConfig(backbone=BackboneConfig(unet=UNetConfig(
        max_stride=16, output_stride=2, filters=4, filters_rate=1.5)), heads=HEADS[kind])
    cfg.data.preprocessing.pad_to_stride = 16
    cfg.data.instance_cropping.crop_size = 48
    cfg.data.instance_cropping.center_on_part = "thorax"
    cfg.optimization.batch_size = 3
    aug = cfg.optimization.augmentation_config
    aug.rotate = aug.translate = aug.scale = aug.uniform_noise = True
    aug.gaussian_noise = aug.contrast = aug.brightness = aug.random_flip = True
    return cfg


@pytest.fixture(scope="module")
def labels(synthetic):
    return sleapish.load_file(synthetic.labels_path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(HEADS))
def test_training_pipeline_matches_model_outputs(labels, kind):
    cfg = _config(kind)
    model = Model.from_config(cfg.model, skeleton=labels.skeleton, tracks=labels.tracks)
    builder = pipeline_for_model(cfg.data, cfg.optimization, model)
    shape = (48, 48, 1) if "instance" in builder.image_key else (128, 128, 1)
    km = model.make_model(shape)
    ds = builder.make_training_pipeline(LabelsReader(labels)).make_dataset()
    inputs, targets = next(iter(ds))
    assert set(inputs) == {"input"} and tuple(inputs["input"].shape[1:]) == shape
    assert inputs["input"].dtype == tf.float32
    assert list(targets) == km.output_names
    for name, out in zip(km.output_names, km.outputs):
        assert tuple(targets[name].shape[1:]) == tuple(out.shape[1:]), name
        assert targets[name].shape[0] == 3
        assert np.isfinite(targets[name].numpy()).all()
    main = targets[km.output_names[0]].numpy()
    assert main.max() > 0.5  # a real peak survives augmentation


def test_base_pipeline_targets_are_exact(labels, synthetic):
    cfg = _config("multi_instance")
    cfg.data.preprocessing.pad_to_stride = 1
    model = Model.from_config(cfg.model, skeleton=labels.skeleton)
    builder = pipeline_for_model(cfg.data, cfg.optimization, model)
    ex = builder.make_base_pipeline(LabelsReader(labels)).peek()
    cm = ex["confidence_maps"]
    assert cm.shape == (64, 64, 4)
    # Each confmap peak sits at the nearest stride-2 grid point of a labeled point.
    head = synthetic.points[0, 0, 0]
    gy, gx = np.unravel_index(np.argmax(cm[..., 0]), cm.shape[:2])
    assert abs(gx * 2 - head[0]) <= 1.0 and abs(gy * 2 - head[1]) <= 1.0
    assert ex["part_affinity_fields"].shape == (32, 32, 6)
    assert ex["image"].dtype == np.float32 and ex["image"].max() <= 1.0


@pytest.mark.slow
def test_model_trains_one_step_on_the_pipeline(labels):
    cfg = _config("multi_instance")
    model = Model.from_config(cfg.model, skeleton=labels.skeleton)
    km = model.make_model((128, 128, 1))
    km.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    ds = pipeline_for_model(cfg.data, cfg.optimization, model).make_training_pipeline(
        LabelsReader(labels)).make_dataset()
    hist = km.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


def test_pipeline_api(labels):
    p = Pipeline(LabelsReader(labels)) | Normalizer() | Resizer(scale=0.5)
    assert len(p.transformers) == 2
    q = Pipeline.from_blocks([LabelsReader(labels), Normalizer()]) + Resizer(scale=0.5)
    ex = q.peek()
    assert ex["image"].shape == (64, 64, 1) and ex["image"].dtype == np.float32
    text = p.describe()
    assert "LabelsReader" in text and "Resizer" in text and "image: float32" in text
    assert "instances" in p.output_keys
    with pytest.raises(ValueError, match="one provider"):
        Pipeline.from_blocks([Normalizer(), LabelsReader(labels)])
    single = Pipeline.from_blocks(Normalizer())  # one block, as SLEAP accepts
    assert single.provider is None and len(single.transformers) == 1
    with pytest.raises(ValueError, match="no provider"):
        Pipeline(None, [Normalizer()]).make_dataset()


def test_bad_input_errors(labels):
    cfg = _config("single_instance")
    cfg.model.heads.single_instance.part_names = ["head", "wing"]
    model = Model.from_config(cfg.model, skeleton=labels.skeleton)
    with pytest.raises(ValueError, match=r"\['wing'\] are not nodes"):
        pipeline_for_model(cfg.data, cfg.optimization, model).make_base_pipeline(
            LabelsReader(labels))
    cfg = _config("centered_instance")
    cfg.data.instance_cropping.crop_size = None
    model = Model.from_config(cfg.model, skeleton=labels.skeleton)
    with pytest.raises(ValueError, match="crop_size"):
        pipeline_for_model(cfg.data, cfg.optimization, model).make_base_pipeline(
            LabelsReader(labels))
    ds = tf.data.Dataset.from_tensors({"image": np.zeros((1, 2, 8, 8, 1), np.uint8)})
    with pytest.raises(ValueError, match="rank"):
        Normalizer().transform_dataset(ds)


def test_pipelines_reexports_sleap_names():
    from sleapish.nn.data import pipelines, providers, resizing

    assert pipelines.LabelsReader is providers.LabelsReader
    assert pipelines.VideoReader is providers.VideoReader
    assert pipelines.PointsRescaler is resizing.PointsRescaler
    assert pipelines.PROVIDERS == (providers.LabelsReader, providers.VideoReader)


def _mixed_labels(synthetic):
    """Frame 0: 2 user instances; frame 1: 1 prediction only; frame 2: no instance."""
    import sleap_io as sio

    src = sleapish.load_file(synthetic.labels_path)
    video, skel = src.videos[0], src.skeletons[0]
    user = [sio.Instance.from_numpy(inst.numpy(), skeleton=skel)
            for inst in src[0].user_instances]
    pred = sio.PredictedInstance.from_numpy(src[1].user_instances[0].numpy(),
                                            skeleton=skel)
    return sio.Labels([sio.LabeledFrame(video=video, frame_idx=0, instances=user),
                       sio.LabeledFrame(video=video, frame_idx=1, instances=[pred]),
                       sio.LabeledFrame(video=video, frame_idx=2, instances=[])],
                      videos=[video], skeletons=[skel])


def test_labels_to_pipeline(synthetic):
    from sleapish.nn.data.dataset_ops import Batcher, Prefetcher
    from sleapish.nn.data.pipelines import labels_to_pipeline

    labels = _mixed_labels(synthetic)
    p = labels_to_pipeline(labels)
    assert isinstance(p.provider, LabelsReader) and len(p.provider) == 1
    assert [type(t) for t in p.transformers] == [Prefetcher]
    ex = p.peek()
    assert ex["image"].shape == (128, 128, 1) and ex["instances"].shape == (2, 4, 2)
    # All labeled frames with all their instances (including the empty frame).
    p = labels_to_pipeline(labels, batch_size=2, user_labeled_only=False, prefetch=False)
    assert len(p.provider) == 3 and [type(t) for t in p.transformers] == [Batcher]
    first, second = list(p.make_dataset())
    assert first["image"].shape == (2, 128, 128, 1)
    assert isinstance(first["instances"], tf.RaggedTensor)  # batched, not unragged
    assert first["instances"].row_lengths().numpy().tolist() == [2, 1]
    assert second["instances"].row_lengths().numpy().tolist() == [0]
    p = labels_to_pipeline(labels, frame_indices=[1, 2], user_labeled_only=False)
    assert p.provider.make_dataset().cardinality().numpy() == 2
    with pytest.raises(ValueError, match="user instances"):
        labels_to_pipeline(labels, frame_indices=[1, 2])

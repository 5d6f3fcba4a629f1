"""Model builder: heads per model type, output order and names, errors."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

from sleapish.datasets import synthetic_skeleton
from sleapish.nn import heads as H
from sleapish.nn._backend import keras
from sleapish.nn.config import (
    BackboneConfig,
    CenteredInstanceConfmapsHeadConfig,
    CentroidsHeadConfig,
    ClassMapsHeadConfig,
    ClassVectorsHeadConfig,
    HeadsConfig,
    HourglassConfig,
    ModelConfig,
    MultiClassBottomUpConfig,
    MultiClassTopDownConfig,
    MultiInstanceConfig,
    MultiInstanceConfmapsHeadConfig,
    PartAffinityFieldsHeadConfig,
    SingleInstanceConfmapsHeadConfig,
    UNetConfig,
)
from sleapish.nn.inference.loading import get_model_output_stride
from sleapish.nn.model import Model, transfer_weights

SKEL = synthetic_skeleton()
UNET = BackboneConfig(unet=UNetConfig(max_stride=16, output_stride=2, filters=8,
                                      filters_rate=1.5))


def _build(heads, shape=(64, 64, 1), tracks=None, backbone=UNET, update=False):
    cfg = ModelConfig(backbone=backbone, heads=heads)
    model = Model.from_config(cfg, skeleton=SKEL, tracks=tracks, update_config=update)
    return cfg, model, model.make_model(shape)


def test_bottomup_outputs_in_sleap_order():
    heads = HeadsConfig(multi_instance=MultiInstanceConfig(
        confmaps=MultiInstanceConfmapsHeadConfig(output_stride=2, offset_refinement=True),
        pafs=PartAffinityFieldsHeadConfig(output_stride=4)))
    cfg, model, km = _build(heads, update=True)
    assert km.input.name.startswith("input")
    assert km.output_names == ["MultiInstanceConfmapsHead", "PartAffinityFieldsHead",
                               "OffsetRefinementHead"]
    assert [tuple(o.shape) for o in km.outputs] == [(None, 32, 32, 4), (None, 16, 16, 6),
                                                    (None, 32, 32, 8)]
    # Inferred names are written back to the config, as SLEAP's trainer does.
    assert cfg.heads.multi_instance.confmaps.part_names == SKEL.node_names
    assert cfg.heads.multi_instance.pafs.edges == [("thorax", "head"),
                                                   ("thorax", "abdomen"),
                                                   ("abdomen", "tail")]
    assert isinstance(model.heads[1], H.PartAffinityFieldsHead)
    assert model.heads[1].sigma == 15.0 and model.heads[0].loss_weight == 1.0


def test_single_centroid_centered_heads():
    _, _, km = _build(HeadsConfig(single_instance=SingleInstanceConfmapsHeadConfig(
        part_names=["head", "tail"], output_stride=2)))
    assert km.output_names == ["SingleInstanceConfmapsHead"]
    assert tuple(km.outputs[0].shape) == (None, 32, 32, 2)
    _, model, km = _build(HeadsConfig(centroid=CentroidsHeadConfig(
        anchor_part="thorax", output_stride=2, offset_refinement=True)))
    assert km.output_names == ["CentroidConfmapsHead", "OffsetRefinementHead"]
    assert [o.shape[-1] for o in km.outputs] == [1, 2]
    assert model.heads[1].part_names == ["thorax"]
    _, _, km = _build(HeadsConfig(centered_instance=CenteredInstanceConfmapsHeadConfig(
        output_stride=2, loss_weight=2.0)))
    assert km.output_names == ["CenteredInstanceConfmapsHead"]
    assert km.outputs[0].shape[-1] == 4


def test_identity_heads():
    _, _, km = _build(HeadsConfig(multi_class_bottomup=MultiClassBottomUpConfig(
        confmaps=MultiInstanceConfmapsHeadConfig(output_stride=2),
        class_maps=ClassMapsHeadConfig(output_stride=2))), tracks=["f", "m", "x"])
    assert km.output_names == ["MultiInstanceConfmapsHead", "ClassMapsHead"]
    assert km.get_layer("ClassMapsHead").activation.__name__ == "sigmoid"
    assert km.outputs[1].shape[-1] == 3
    _, _, km = _build(HeadsConfig(multi_class_topdown=MultiClassTopDownConfig(
        confmaps=CenteredInstanceConfmapsHeadConfig(output_stride=2),
        class_vectors=ClassVectorsHeadConfig(classes=["f", "m"], num_fc_layers=2,
                                             num_fc_units=16, output_stride=16))))
    assert km.output_names == ["CenteredInstanceConfmapsHead", "ClassVectorsHead"]
    assert tuple(km.outputs[1].shape) == (None, 2)
    names = {layer.name for layer in km.layers}
    assert {"pre_classification_global_pool", "pre_classification_flatten",
            "pre_classification0_fc", "pre_classification1_relu"} <= names
    probs = km.predict(np.random.default_rng(0).random((2, 64, 64, 1), np.float32),
                       verbose=0)[1]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_stacked_backbone_gets_heads_per_stack():
    hg = BackboneConfig(hourglass=HourglassConfig(stem_stride=4, max_stride=16,
                                                  output_stride=4, stem_filters=8,
                                                  filters=8, filter_increase=4, stacks=2))
    _, _, km = _build(HeadsConfig(centroid=CentroidsHeadConfig(output_stride=4)),
                      backbone=hg)
    assert km.output_names == ["CentroidConfmapsHead_0", "CentroidConfmapsHead"]


def test_errors_name_the_values():
    heads = HeadsConfig(multi_instance=MultiInstanceConfig(
        confmaps=MultiInstanceConfmapsHeadConfig(output_stride=2),
        pafs=PartAffinityFieldsHeadConfig(output_stride=1)))
    with pytest.raises(ValueError,
                       match=r"PartAffinityFieldsHead.*output_stride=1.*\[2, 4, 8, 16\]"):
        _build(heads)
    centroid = HeadsConfig(centroid=CentroidsHeadConfig(output_stride=2))
    with pytest.raises(ValueError, match=r"multiple of 16.*\(40, 64, 1\)"):
        _build(centroid, shape=(40, 64, 1))
    with pytest.raises(ValueError, match=r"multiple of 16.*\(8, 8, 1\)"):
        _build(centroid, shape=(8, 8, 1))
    bad = attrs.evolve(UNET.unet)
    object.__setattr__(bad, "max_stride", 12)  # bypass config validation
    with pytest.raises(ValueError, match="max_stride must be a positive power of 2.*12"):
        _build(centroid, backbone=BackboneConfig(unet=bad))
    with pytest.raises(ValueError, match="no head set"):
        _build(HeadsConfig())
    with pytest.raises(ValueError, match="ClassMapsHead needs at least one name"):
        _build(HeadsConfig(multi_class_bottomup=MultiClassBottomUpConfig()))


def test_backbone_ends_at_the_main_head_stride():
    # As SLEAP, the backbone config's output_stride (1) is replaced by the head's (2),
    # so the decoder stops at stride 2 instead of feeding the head a middle feature.
    cfg = ModelConfig(backbone=BackboneConfig(unet=UNetConfig(
        max_stride=8, output_stride=1, filters=2, filters_rate=2)),
        heads=HeadsConfig(single_instance=SingleInstanceConfmapsHeadConfig(
            output_stride=2)))
    model = Model.from_config(cfg, skeleton=SKEL)
    assert cfg.backbone.unet.output_stride == 2
    assert (model.backbone.up_blocks, model.output_stride) == (2, 2)
    km = model.make_model((16, 16, 1))
    assert tuple(km.outputs[0].shape) == (None, 8, 8, 4)
    # UNet 2 filters, 3 down / 2 up blocks: encoder 58 + 224 + 880, middle 1168 +
    # 2320, decoder 2904 + 732 (8286); head 4*4 + 4.
    assert km.count_params() == 8286 + 20


def test_offsets_follow_sleap_loss_weight_and_centroid_names():
    _, model, km = _build(HeadsConfig(centroid=CentroidsHeadConfig(
        anchor_part=None, output_stride=2, loss_weight=3.0, offset_refinement=True)))
    offsets = model.heads[1]
    assert isinstance(offsets, H.OffsetRefinementHead)
    assert offsets.part_names == [None] and offsets.channels == 2
    assert (model.heads[0].loss_weight, offsets.loss_weight) == (3.0, 1.0)
    assert km.outputs[1].shape[-1] == 2
    assert Model(backbone=model.backbone, heads=model.heads[0]).heads == [model.heads[0]]


def test_transfer_weights_reads_nested_source_models():
    inner_in = keras.Input((4, 4, 1))
    inner = keras.Model(inner_in, keras.layers.Conv2D(2, 3, name="c1")(inner_in))
    src_in = keras.Input((4, 4, 1))
    src = keras.Model(src_in, keras.layers.Conv2D(1, 1, name="head")(inner(src_in)))
    dst_in = keras.Input((4, 4, 1))
    y = keras.layers.Conv2D(2, 3, name="c1")(dst_in)
    dst = keras.Model(dst_in, keras.layers.Conv2D(1, 1, name="head")(y))
    assert transfer_weights(src, dst) == 2
    np.testing.assert_array_equal(dst.get_layer("c1").get_weights()[0],
                                  inner.get_layer("c1").get_weights()[0])
    # And back into the nested layout.
    assert transfer_weights(dst, src) == 2
    np.testing.assert_array_equal(src.get_layer("head").get_weights()[0],
                                  dst.get_layer("head").get_weights()[0])


def test_get_model_output_stride_warns_on_uneven_ratio():
    x_in = keras.Input((5, 5, 1))
    model = keras.Model(x_in, keras.layers.MaxPool2D(strides=2, padding="same")(x_in))
    with pytest.warns(UserWarning, match="does not divide evenly"):
        assert get_model_output_stride(model) == 1  # 5 // 3
    x_in = [keras.Input((8, 8, 1)), keras.Input((16, 16, 1))]
    outs = [keras.layers.MaxPool2D(pool_size=4, strides=4)(x) for x in x_in]
    model = keras.Model(x_in, outs)
    assert get_model_output_stride(model, input_ind=1, output_ind=0) == 8
    assert get_model_output_stride(model) == 2  # input 0 (8) vs last output (4)

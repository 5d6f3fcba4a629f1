"""Model builder: heads per model type, output order and names, errors."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

from sleapish.datasets import synthetic_skeleton
from sleapish.nn import heads as H
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
from sleapish.nn.model import Model

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
    with pytest.raises(ValueError, match=r"PartAffinityFieldsHead.*output_stride=1.*\[2, 4, 8, 16\]"):
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

"""Output heads: SLEAP's fields, defaults, layer names, activations and configs."""

from __future__ import annotations

import pytest

from sleapish.nn import heads as H
from sleapish.nn._backend import keras
from sleapish.nn.config import (
    CenteredInstanceConfmapsHeadConfig,
    CentroidsHeadConfig,
    ClassVectorsHeadConfig,
    MultiInstanceConfmapsHeadConfig,
    PartAffinityFieldsHeadConfig,
    SingleInstanceConfmapsHeadConfig,
)


def test_positional_fields_in_sleaps_order():
    head = H.SingleInstanceConfmapsHead(["a", "b"], 2.5, 4, 0.5)
    assert (head.part_names, head.sigma, head.output_stride, head.loss_weight) == (
        ["a", "b"], 2.5, 4, 0.5)
    head = H.CenteredInstanceConfmapsHead(["a"], "a", 1.0, 2)
    assert (head.anchor_part, head.sigma, head.output_stride) == ("a", 1.0, 2)
    head = H.OffsetRefinementHead(["a", "b", "c"], 2, 0.3)
    assert (head.output_stride, head.sigma_threshold, head.loss_weight) == (2, 0.3, 1.0)
    assert H.PartAffinityFieldsHead([("a", "b")]).sigma == 15.0
    vec = H.ClassVectorsHead(["m", "f"])
    assert (vec.num_fc_layers, vec.num_fc_units, vec.global_pool, vec.output_stride) == (
        1, 64, True, 1)
    assert H.CentroidConfmapsHead().channels == 1
    with pytest.raises(TypeError):
        H.Head()  # abstract: no channels
    assert not isinstance(H.MultiInstanceConfmapsHead(["a"]), H.SingleInstanceConfmapsHead)


def test_layers_activations_and_losses():
    x_in = keras.Input((4, 4, 3))
    cases = [(H.SingleInstanceConfmapsHead(["a", "b"]), 2, "linear", "mse"),
             (H.PartAffinityFieldsHead([["a", "b"], ["b", "c"]]), 4, "linear", "mse"),
             (H.ClassMapsHead(["1", "2", "3"]), 3, "sigmoid", "mse"),
             (H.OffsetRefinementHead(["a", "b"]), 4, "linear", "mse")]
    for head, channels, activation, loss in cases:
        y = head.make_head(x_in)
        layer = keras.Model(x_in, y).layers[-1]
        assert (layer.name, layer.activation.__name__) == (type(head).__name__, activation)
        assert (tuple(y.shape), head.loss_function) == ((None, 4, 4, channels), loss)
        assert layer.kernel_size == (1, 1)
    y = H.ClassVectorsHead(["m", "f"], num_fc_layers=2, num_fc_units=8).make_head(x_in)
    model = keras.Model(x_in, y)
    assert tuple(y.shape) == (None, 2)
    assert [layer.name for layer in model.layers[1:]] == [
        "pre_classification_global_pool", "pre_classification_flatten",
        "pre_classification0_fc", "pre_classification0_relu", "pre_classification1_fc",
        "pre_classification1_relu", "ClassVectorsHead"]
    # Dense 3*8+8, 8*8+8, 8*2+2.
    assert model.count_params() == 32 + 72 + 18
    assert H.ClassVectorsHead(["m"]).loss_function == "categorical_crossentropy"
    assert H.PartAffinityFieldsHead([["a", "b"]]).edges == [("a", "b")]


def test_from_config_names_and_weights():
    cfg = SingleInstanceConfmapsHeadConfig(part_names=None, sigma=1.5, output_stride=2,
                                           loss_weight=2.0)
    head = H.SingleInstanceConfmapsHead.from_config(cfg, part_names=["c", "b"])
    assert (head.part_names, head.sigma, head.output_stride, head.loss_weight) == (
        ["c", "b"], 1.5, 2, 2.0)
    cfg = MultiInstanceConfmapsHeadConfig(part_names=["x"], loss_weight=3.0)
    head = H.MultiInstanceConfmapsHead.from_config(cfg, part_names=["y"])
    assert (head.part_names, head.loss_weight) == (["x"], 3.0)
    with pytest.raises(ValueError, match="CenteredInstanceConfmapsHead needs"):
        H.CenteredInstanceConfmapsHead.from_config(CenteredInstanceConfmapsHeadConfig())
    pafs = H.PartAffinityFieldsHead.from_config(PartAffinityFieldsHeadConfig(sigma=5.0),
                                                edges=[("a", "b")])
    assert (pafs.edges, pafs.sigma) == ([("a", "b")], 5.0)
    vec = H.ClassVectorsHead.from_config(ClassVectorsHeadConfig(num_fc_units=8),
                                         classes=["m", "f"])
    assert (vec.classes, vec.num_fc_units, vec.output_stride) == (["m", "f"], 8, 1)


def test_offsets_from_config():
    # Names from a config with part names; the loss weight is the argument's.
    head = H.OffsetRefinementHead.from_config(
        MultiInstanceConfmapsHeadConfig(part_names=["a", "b"], output_stride=4,
                                        loss_weight=5.0), sigma_threshold=0.4)
    assert (head.part_names, head.output_stride, head.sigma_threshold,
            head.loss_weight) == (["a", "b"], 4, 0.4, 1.0)
    head = H.OffsetRefinementHead.from_config(MultiInstanceConfmapsHeadConfig(),
                                              part_names=["p", "q", "r"], loss_weight=0.5)
    assert (head.part_names, head.channels, head.loss_weight) == (["p", "q", "r"], 6, 0.5)
    # Centroid configs have no part names: the anchor part, even when None.
    head = H.OffsetRefinementHead.from_config(CentroidsHeadConfig(anchor_part="thorax"),
                                              part_names=["ignored"])
    assert head.part_names == ["thorax"]
    head = H.OffsetRefinementHead.from_config(CentroidsHeadConfig(anchor_part=None))
    assert (head.part_names, head.channels) == ([None], 2)

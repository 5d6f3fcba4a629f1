"""sleapish.nn.head_kinds: the one table of model types."""

from __future__ import annotations

import pytest

from sleapish.nn import heads as H
from sleapish.nn.config import HeadsConfig
from sleapish.nn.head_kinds import HEAD_KINDS, head_kind, predictor_for_kinds


def test_one_kind_per_heads_config_field():
    import attrs

    assert list(HEAD_KINDS) == [f.name for f in attrs.fields(HeadsConfig)]


def test_named_classes_exist():
    import attrs

    from sleapish.nn.inference import predictors
    from sleapish.nn.training import trainer

    for kind in HEAD_KINDS.values():
        cls = trainer.TRAINERS[kind.name]
        assert cls.__name__ == kind.trainer
        assert attrs.fields(cls).head_kind.default == kind.name
        assert getattr(predictors, kind.predictor).__name__ == kind.predictor
        for spec in kind.heads:
            assert issubclass(getattr(H, spec.head), H.Head)


@pytest.mark.parametrize("kinds, predictor", [
    ({"single_instance"}, "SingleInstancePredictor"),
    ({"centroid"}, "TopDownPredictor"),
    ({"centered_instance"}, "TopDownPredictor"),
    ({"centroid", "centered_instance"}, "TopDownPredictor"),
    ({"centroid", "multi_class_topdown"}, "TopDownMultiClassPredictor"),
    ({"multi_instance"}, "BottomUpPredictor"),
    ({"multi_class_bottomup"}, "BottomUpMultiClassPredictor"),
])
def test_predictor_for_kinds(kinds, predictor):
    assert predictor_for_kinds(kinds) == predictor


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="No model type 'movenet'"):
        head_kind("movenet")
    with pytest.raises(ValueError, match="No model given"):
        predictor_for_kinds([])
    from sleapish.nn.inference.predictor_base import Predictor

    with pytest.raises(ValueError, match="No predictor for models of types"):
        Predictor.class_for_heads({"movenet"})

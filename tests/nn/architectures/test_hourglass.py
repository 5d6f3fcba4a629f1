"""Stacked hourglass: parameter counts by hand, SLEAP's stride bookkeeping."""

from __future__ import annotations

import numpy as np

from sleapish.nn._backend import keras
from sleapish.nn.architectures import Hourglass
from sleapish.nn.config import HourglassConfig


def _tiny(**kw):
    args = dict(down_blocks=2, up_blocks=2, stem_filters=2, stem_stride=4, filters=2,
                filter_increase=2, stacks=1)
    args.update(kw)
    return Hourglass(**args)


def test_strides_count_the_stem():
    hg = _tiny()
    assert hg.stem_features_stride == 4
    assert hg.encoder_features_stride == 16  # stem 4 x two poolings
    assert hg.decoder_features_stride == 4
    assert (hg.maximum_stride, hg.output_stride) == (16, 4)
    assert _tiny(stem_stride=2).encoder_features_stride == 8


def test_parameter_count_by_hand():
    x = keras.Input((32, 32, 1))
    y, feats = _tiny().make_backbone(x)
    model = keras.Model(x, y)
    # Stem: 7x7 conv 100 + BN 8, 3x3 conv 76 + BN 16, 3x3 out conv 74 + BN 8 (282).
    # enc0 (2 f) 38 + 8, enc1 (4 f) 76 + 16.  dec0 (4 f): conv 148 + 16, skip conv of
    # enc0's output 76 + 16.  dec1 (2 f): conv 74 + 8, skip conv of the stem 38 + 8.
    assert model.count_params() == 804
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 804 - 52  # BN moving statistics: 2 x 26 channels
    assert tuple(y.shape) == (None, 8, 8, 2)
    assert [f.stride for f in feats] == [16, 8]
    assert model.get_layer("stack0_dec1_skip_add") is not None


def test_stacked_from_config_returns_every_stack():
    hg = Hourglass.from_config(HourglassConfig(stem_stride=4, max_stride=16,
                                               output_stride=4, stem_filters=2,
                                               filters=2, filter_increase=2, stacks=2))
    assert (hg.down_blocks, hg.up_blocks, hg.interp_method) == (2, 2, "nearest")
    outs, feats = hg.make_backbone(keras.Input((32, 32, 1)))
    assert [tuple(o.shape) for o in outs] == [(None, 8, 8, 2)] * 2
    assert [[f.stride for f in fs] for fs in feats] == [[16, 8], [16, 8]]

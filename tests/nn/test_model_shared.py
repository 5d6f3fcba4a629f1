"""Models built from SLEAP's configs are SLEAP's networks (all 7 shared models)."""

from __future__ import annotations

import cv2
import h5py
import numpy as np
import pytest

import sleapish
from sleapish.nn._backend import keras
from sleapish.nn.config import load_config
from sleapish.nn.model import Model, transfer_weights

MODELS = [
    "min_tracks_2node.UNet.bottomup_multiclass",
    "min_tracks_2node.UNet.topdown_multiclass",
    "minimal_instance.UNet.bottomup",
    "minimal_instance.UNet.centered_instance",
    "minimal_instance.UNet.centered_instance_with_scaling",
    "minimal_instance.UNet.centroid",
    "minimal_robot.UNet.single_instance",
]
VIDEO = {"min_tracks_2node": "clip.mp4", "minimal_instance": "centered_pair_low_quality.mp4",
         "minimal_robot": "small_robot.mp4"}


def _strip(name: str) -> str:
    return name[:-2] if name.endswith("_0") else name


def _real_input(shared_data, model_name, shape):
    """A real frame: scaled (full-frame models) or center-cropped to `shape`."""
    h, w, c = shape
    video = sleapish.load_video(shared_data / "videos" / VIDEO[model_name.split(".")[0]],
                                grayscale=(c == 1))
    frame = sleapish.read_frames(video, [10])[0]
    fh, fw = frame.shape[:2]
    if fh >= 2 * h or (fh, fw) == (2 * h, 2 * w):  # half-scale full frames
        frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
        frame = frame.reshape(h, w, -1)
    if frame.shape[0] != h or frame.shape[1] != w:
        y0, x0 = (fh - h) // 2, (fw - w) // 2
        frame = frame[y0:y0 + h, x0:x0 + w]
    assert frame.shape == (h, w, c)
    return (frame[None].astype(np.float32) / 255.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_built_model_is_sleaps_network(shared_data, name):
    folder = shared_data / "models" / name
    cfg = load_config(folder)
    ref = keras.models.load_model(folder / "best_model.h5", compile=False)
    model = Model.from_config(cfg.model, skeleton=cfg.data.labels.skeletons[0])
    km = model.make_model(ref.input_shape[1:])
    assert km.input.name.startswith("input")
    assert km.output_names == [_strip(n) for n in ref.output_names]
    assert [tuple(o.shape) for o in km.outputs] == [tuple(o.shape) for o in ref.outputs]
    assert km.count_params() == ref.count_params()
    # Same layers by name (SLEAP's naming scheme), same weight shapes.
    ref_layers = {_strip(layer.name) for layer in ref.layers}
    assert {layer.name for layer in km.layers} == ref_layers
    assert transfer_weights(ref, km) == sum(1 for layer in km.layers if layer.weights)

    x = _real_input(shared_data, name, ref.input_shape[1:])
    assert x.std() > 0.01
    want, got = ref.predict(x, verbose=0), km.predict(x, verbose=0)
    want = want if isinstance(want, list) else [want]
    got = got if isinstance(got, list) else [got]
    for a, b in zip(want, got):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)
    assert max(float(np.abs(a).max()) for a in got) > 0.05  # not a trivial output

    dummy = folder / "dummy_activations.h5"
    if dummy.exists():
        zeros = np.zeros((1,) + tuple(ref.input_shape[1:]), np.float32)
        outs = km.predict(zeros, verbose=0)
        ref_outs = ref.predict(zeros, verbose=0)
        outs = outs if isinstance(outs, list) else [outs]
        ref_outs = ref_outs if isinstance(ref_outs, list) else [ref_outs]
        with h5py.File(dummy, "r") as f:
            for out_name, out, ref_out in zip(km.output_names, outs, ref_outs):
                key = out_name if out_name in f else f"{out_name}_0"
                np.testing.assert_allclose(out, ref_out, atol=1e-5, rtol=0)
                # SLEAP computed these with TF 2.4 on another CPU; its own model,
                # loaded here, differs from them by up to 2.1e-5 (float32 summation
                # order), so the file is matched to 5e-5.
                np.testing.assert_allclose(out, f[key][()], atol=5e-5, rtol=0)

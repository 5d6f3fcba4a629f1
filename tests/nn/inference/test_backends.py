"""ONNX Runtime and OpenVINO as the networks' runtime (`backend=`)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import sleapish
from sleapish.errors import InvalidValueError
from sleapish.nn._backend import keras, tf
from sleapish.nn.data.providers import VideoReader
from sleapish.nn.inference.backends import (
    BackendError,
    BackendNetwork,
    check_backend,
    use_backend,
    uses_backend,
)
from sleapish.nn.inference.export_common import ExportError

SINGLE = "minimal_robot.UNet.single_instance"
CENTROID = "minimal_instance.UNet.centroid"
CENTERED = "minimal_instance.UNet.centered_instance"
RUNTIMES = ("onnxruntime", "openvino")


@pytest.fixture(scope="module")
def two_head_net():
    """A tiny fully convolutional network with two heads of stride 2 (2 and 4
    channels), fixed weights."""
    keras.utils.set_random_seed(3)
    x_in = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x_in)
    x = keras.layers.MaxPool2D(2)(x)
    a = keras.layers.Conv2D(2, 1, name="CentroidConfmapsHead")(x)
    b = keras.layers.Conv2D(4, 1, name="OffsetRefinementHead")(x)
    return keras.Model(x_in, [a, b])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_backend_network_matches_tensorflow_eager_and_traced(two_head_net, runtime):
    net = BackendNetwork(two_head_net, runtime)
    x = np.random.default_rng(0).random((3, 20, 28, 1), dtype=np.float32)
    want = [o.numpy() for o in two_head_net(x, training=False)]
    eager = net(x)
    traced = tf.function(lambda t: net(t), autograph=False)(tf.constant(x))
    for got in (eager, traced):
        assert [tuple(g.shape) for g in got] == [(3, 10, 14, 2), (3, 10, 14, 4)]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w, atol=1e-5)
    # In a graph, the channel counts are static (the layers slice them).
    spec = tf.TensorSpec((None, None, None, 1), tf.float32)
    graph_outs = tf.function(lambda t: net(t)).get_concrete_function(spec).outputs
    assert [o.shape.as_list() for o in graph_outs] == [[None, None, None, 2],
                                                       [None, None, None, 4]]
    # Another frame size (OpenVINO compiles one model per size) still matches.
    x2 = x[:1, :16, :16]
    np.testing.assert_allclose(net(x2)[0].numpy(), two_head_net(x2)[0].numpy(), atol=1e-5)
    # An empty batch (top-down frames without detections) gives empty outputs.
    empty = net(np.zeros((0, 20, 28, 1), np.float32))
    assert [tuple(e.shape) for e in empty] == [(0, 10, 14, 2), (0, 10, 14, 4)]
    assert net.output_names == two_head_net.output_names
    assert net.keras_model is two_head_net


def test_unknown_backend_and_missing_runtime_are_clear(shared_data, monkeypatch,
                                                       two_head_net):
    with pytest.raises(InvalidValueError, match="backend must be one of tensorflow, "
                                                "onnxruntime, openvino. Received: 'tpu'"):
        check_backend("tpu")
    with pytest.raises(InvalidValueError, match="Received: 'gpu'"):
        sleapish.load_model(str(shared_data / "models" / SINGLE), backend="gpu")
    monkeypatch.setitem(sys.modules, "openvino", None)  # import fails
    with pytest.raises(BackendError, match=r"needs openvino: pip install "
                                           r"'sleapish\[openvino\]'"):
        BackendNetwork(two_head_net, "openvino")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_single_instance_predictions_match_tensorflow(shared_data, runtime):
    """SLEAP's robot model on 6 frames: same confidence maps (1e-4) and points."""
    video = sleapish.load_video(shared_data / "videos" / "small_robot.mp4")
    path = str(shared_data / "models" / SINGLE)
    ref = sleapish.load_model(path, progress_reporting="none")
    other = sleapish.load_model(path, progress_reporting="none", backend=runtime,
                                backend_threads=2)
    assert other.backend == runtime and uses_backend(other.inference_model) == runtime
    assert uses_backend(ref.inference_model) is None
    frames = sleapish.read_frames(video, list(range(6)))
    for p in (ref, other):
        p.inference_model.single_instance_layer.return_confmaps = True
    want = ref.inference_model.predict(frames)
    got = other.inference_model.predict(frames)
    assert float(np.abs(got["confmaps"] - want["confmaps"]).max()) < 1e-4
    np.testing.assert_allclose(got["instance_peaks"], want["instance_peaks"], atol=1e-2)
    for p in (ref, other):
        p.inference_model.single_instance_layer.return_confmaps = False
    labels = other.predict(VideoReader(video, list(range(6))))
    assert [len(lf.instances) for lf in labels] == [1] * 6


@pytest.mark.slow
def test_top_down_on_openvino_then_export_stays_tensorflow(shared_data, tmp_path):
    """Both networks of a top-down model run on OpenVINO with TensorFlow's instances;
    exporting writes a TensorFlow graph and leaves the predictor on OpenVINO."""
    video = sleapish.load_video(shared_data / "videos" / "centered_pair_low_quality.mp4")
    paths = [str(shared_data / "models" / m) for m in (CENTROID, CENTERED)]
    ref = sleapish.load_model(paths, progress_reporting="none").predict(
        VideoReader(video, list(range(8))))
    predictor = sleapish.load_model(paths, progress_reporting="none", backend="openvino")
    got = predictor.predict(VideoReader(video, list(range(8))))
    assert [len(lf.instances) for lf in got] == [len(lf.instances) for lf in ref]
    assert sum(len(lf.instances) for lf in got) == 17  # as TensorFlow (one extra)
    for a, b in zip(got, ref):
        pa = np.sort(np.stack([i.numpy() for i in a.instances]).reshape(-1, 2), axis=0)
        pb = np.sort(np.stack([i.numpy() for i in b.instances]).reshape(-1, 2), axis=0)
        np.testing.assert_allclose(pa, pb, atol=0.05)
    blank = predictor.predict(np.zeros((2, 384, 384, 1), np.uint8))  # no detections
    assert [len(lf.instances) for lf in blank] == [0, 0]
    with pytest.raises(ExportError, match="networks run on openvino"):
        predictor.inference_model.export_model(str(tmp_path / "direct"))
    assert not (tmp_path / "direct").exists()
    out = predictor.export_model(str(tmp_path / "export"))
    assert (out / "info.json").is_file()
    assert uses_backend(predictor.inference_model) == "openvino"
    exported = sleapish.load_model(str(out), progress_reporting="none")
    again = exported.predict(VideoReader(video, list(range(2))))
    assert [len(lf.instances) for lf in again] == [2, 2]
    with pytest.raises(InvalidValueError, match="exported model runs in TensorFlow only"):
        sleapish.load_model(str(out), backend="onnxruntime")


def test_use_backend_converts_each_network_once(two_head_net):
    from sleapish.nn.inference.layers import InferenceLayer

    class Model(keras.Model):
        def __init__(self, a, b):
            super().__init__()
            self.a, self.b = a, b

    layer_a, layer_b = InferenceLayer(two_head_net), InferenceLayer(two_head_net)
    model = Model(layer_a, layer_b)
    cache = {}
    use_backend(model, "onnxruntime", cache=cache)
    assert layer_a.keras_model is layer_b.keras_model
    assert isinstance(layer_a.keras_model, BackendNetwork) and len(cache) == 1
    use_backend(model, "onnxruntime", cache=cache)  # already converted: no-op
    assert len(cache) == 1
    use_backend(model, "tensorflow")  # leaves it as it is
    assert uses_backend(model) == "onnxruntime"


def test_track_cli_backend_option(shared_data, tmp_path, capsys):
    from sleapish.nn.inference.cli import main as track_main

    video = str(shared_data / "videos" / "small_robot.mp4")
    model = str(shared_data / "models" / SINGLE)
    out = tmp_path / "robot.slp"
    assert track_main([video, "-m", model, "--frames", "0-3", "--backend", "onnxruntime",
                       "--backend-threads", "1", "-o", out, "--verbosity", "none"]) == 0
    pred = sleapish.load_file(out)
    assert [len(lf.instances) for lf in pred] == [1, 1, 1, 1]
    assert pred.provenance["args"]["backend"] == "onnxruntime"
    assert pred.provenance["args"]["backend_threads"] == 1
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        track_main([video, "-m", model, "--backend", "tpu"])
    assert stop.value.code == 2
    assert "argument --backend: invalid choice: 'tpu'" in capsys.readouterr().err

"""Other runtimes for the network: ONNX Runtime and OpenVINO (CPU prediction).

By default the whole inference model is one TensorFlow graph. With
`backend="onnxruntime"` or `backend="openvino"`, each inference layer's Keras network
is converted once to ONNX (tf2onnx) and run by that runtime, inside the traced step
(a `tf.numpy_function`); preprocessing, peak finding, grouping and cropping stay in
TensorFlow. This is a CPU option: on small inputs (centered-instance crops,
single-instance frames) the runtimes call the network with less overhead than
TensorFlow, see `docs/benchmarks.md`; on a GPU keep TensorFlow, which has no host
round trip inside a batch. An exported model is always TensorFlow.

This module imports TensorFlow only when a network is converted or called. Both
runtimes are optional: `pip install 'sleapish[export]'` (tf2onnx, ONNX Runtime)
and `pip install 'sleapish[openvino]'`.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from sleapish.errors import InvalidValueError, SleapishError

BACKENDS = ("tensorflow", "onnxruntime", "openvino")
_EXTRA = {"onnxruntime": "export", "openvino": "openvino"}


class BackendError(SleapishError, RuntimeError):
    """A prediction backend is not installed or cannot run the network."""


def check_backend(backend: str) -> str:
    """Return `backend` if it is one of :data:`BACKENDS`.

    Raises:
        ValueError: For any other name (`InvalidValueError`).
    """
    if backend not in BACKENDS:
        raise InvalidValueError(f"backend must be one of {', '.join(BACKENDS)}. "
                                f"Received: {backend!r}")
    return backend


def _require(module: str, backend: str):
    try:
        return __import__(module)
    except ImportError:
        raise BackendError(f"backend={backend!r} needs {module}: pip install "
                           f"'sleapish[{_EXTRA[backend]}]'") from None


def to_onnx(keras_model, opset: int = 17) -> bytes:
    """Convert a Keras network to a serialized ONNX model.

    The input is `(batch, height, width, channels)` float32 with every dimension
    but the channels dynamic; the outputs are the network's, in order.

    Raises:
        BackendError: If tf2onnx is missing or cannot convert the network.
    """
    _require("tf2onnx", "onnxruntime")
    import tf2onnx.convert

    from sleapish.nn._backend import tf

    channels = int(keras_model.inputs[0].shape[-1])
    spec = (tf.TensorSpec((None, None, None, channels), tf.float32, name="image"),)
    try:
        proto, _ = tf2onnx.convert.from_keras(keras_model, input_signature=spec,
                                              opset=opset)
    except Exception as e:  # tf2onnx raises many kinds
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise BackendError(f"tf2onnx cannot convert the network "
                           f"{keras_model.name!r}: {first}") from e
    return proto.SerializeToString()


class _OnnxRuntimeSession:
    """ONNX Runtime session on dynamic shapes."""

    def __init__(self, onnx_bytes: bytes, threads: Optional[int]):
        ort = _require("onnxruntime", "onnxruntime")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(onnx_bytes, options,
                                             providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        return self._session.run(None, {self._input: images})


class _OpenVinoSession:
    """OpenVINO compiled models, one per input height and width (the batch stays
    dynamic): OpenVINO is slower on fully dynamic shapes. float32 inference is
    requested explicitly (its CPU default is bfloat16 where the CPU has it)."""

    def __init__(self, onnx_bytes: bytes, threads: Optional[int]):
        ov = _require("openvino", "openvino")
        self._core = ov.Core()
        self._model = self._core.read_model(onnx_bytes, b"")
        self._config = {"INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            self._config["INFERENCE_NUM_THREADS"] = int(threads)
        self._compiled: Dict[Tuple[int, ...], Any] = {}
        self._lock = threading.Lock()

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        key = tuple(images.shape[1:])
        with self._lock:  # one infer request per shape: not re-entrant
            entry = self._compiled.get(key)
            if entry is None:
                model = self._model.clone()
                model.reshape([-1, *key])
                compiled = self._core.compile_model(model, "CPU", self._config)
                entry = (compiled, compiled.create_infer_request())
                self._compiled[key] = entry
            compiled, request = entry
            result = request.infer({0: images})
            return [np.array(result[o]) for o in compiled.outputs]


_SESSIONS = {"onnxruntime": _OnnxRuntimeSession, "openvino": _OpenVinoSession}


class BackendNetwork:
    """A Keras network run by ONNX Runtime or OpenVINO, called like the network.

    Calling it on a `(samples, height, width, channels)` float32 tensor (eager or in a
    `tf.function`) returns the network's outputs (a tensor, or a list for several
    heads) with the same dtypes, ranks and channel counts. Attributes other than the
    call (`inputs`, `outputs`, `output_names`, `name`, ...) are the Keras network's.

    Attributes:
        keras_model: The wrapped `tf_keras.Model` (its weights are what runs).
        backend: "onnxruntime" or "openvino".
    """

    def __init__(self, keras_model, backend: str, threads: Optional[int] = None):
        if check_backend(backend) == "tensorflow":
            raise InvalidValueError("BackendNetwork runs onnxruntime or openvino. "
                                    "Received: backend='tensorflow'")
        self.keras_model = keras_model
        self.backend = backend
        self._session = _SESSIONS[backend](to_onnx(keras_model), threads)
        self._out_shapes = [tuple(o.shape) for o in keras_model.outputs]
        self._empty: Dict[Tuple[int, ...], List[np.ndarray]] = {}

    _DELEGATED = frozenset({"inputs", "outputs", "output_names", "name", "input_shape",
                            "output_shape", "compute_output_shape", "layers", "get_layer"})

    def __getattr__(self, name):
        # Only the network's description: Keras must not take this for a layer.
        if name in BackendNetwork._DELEGATED and "keras_model" in self.__dict__:
            return getattr(self.keras_model, name)
        raise AttributeError(name)

    def _empty_outputs(self, images: np.ndarray) -> List[np.ndarray]:
        """Zero-sample outputs (a top-down batch without detections: the runtimes do
        not take an empty batch), shaped as the network's for this input size."""
        key = tuple(images.shape[1:])
        if key not in self._empty:
            shapes = self.keras_model.compute_output_shape((1, *key))
            if not isinstance(shapes, (list, tuple)) or isinstance(shapes[0], int):
                shapes = [shapes]
            self._empty[key] = [np.zeros((0, *tuple(s)[1:]), np.float32) for s in shapes]
        return self._empty[key]

    def _run(self, images: np.ndarray) -> List[np.ndarray]:
        if images.shape[0] == 0:
            return self._empty_outputs(images)
        outs = self._session.run(np.ascontiguousarray(images, np.float32))
        return [np.asarray(o, np.float32) for o in outs]

    def __call__(self, images, training: bool = False):
        from sleapish.nn._backend import tf

        images = tf.convert_to_tensor(images, tf.float32)
        outs = tf.numpy_function(self._run, [images], [tf.float32] * len(self._out_shapes),
                                 stateful=False, name=f"{self.backend}_network")
        for out, shape in zip(outs, self._out_shapes):
            out.set_shape((images.shape[0],) + (None,) * (len(shape) - 2) + (shape[-1],))
        return outs[0] if len(outs) == 1 else list(outs)


def use_backend(inference_model, backend: str, threads: Optional[int] = None,
                cache: Optional[Dict[int, BackendNetwork]] = None) -> None:
    """Run every network of `inference_model` (its inference layers' `keras_model`)
    on `backend`, in place.

    Args:
        inference_model: An :class:`~sleapish.nn.inference.models.InferenceModel`.
        backend: One of :data:`BACKENDS`; "tensorflow" leaves the model as it is.
        threads: Threads of the runtime's pool (None: the runtime's default, all
            cores).
        cache: Networks already converted, by `id` of the Keras network (a predictor
            keeps one so that rebuilding its inference model does not convert again).

    Raises:
        BackendError: If the runtime is missing or cannot take a network.
    """
    if check_backend(backend) == "tensorflow":
        return
    from sleapish.nn.inference.layers import InferenceLayer

    cache = {} if cache is None else cache
    for layer in inference_model._flatten_layers(include_self=False, recursive=True):
        if not isinstance(layer, InferenceLayer):
            continue
        network = layer.keras_model
        if isinstance(network, BackendNetwork):
            continue
        key = (id(network), backend)
        if key not in cache:
            cache[key] = BackendNetwork(network, backend, threads)
        # Plain attribute: Keras would otherwise track the wrapper as a dependency.
        object.__setattr__(layer, "keras_model", cache[key])


def uses_backend(inference_model) -> Optional[str]:
    """The backend running `inference_model`'s networks, None when TensorFlow."""
    from sleapish.nn.inference.layers import InferenceLayer

    for layer in inference_model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, InferenceLayer) and isinstance(layer.keras_model,
                                                            BackendNetwork):
            return layer.keras_model.backend
    return None


__all__ = ["BACKENDS", "BackendError", "BackendNetwork", "check_backend", "to_onnx",
           "use_backend", "uses_backend"]

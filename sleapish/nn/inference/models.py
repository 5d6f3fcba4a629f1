"""Keras inference models: one `tf.function` per batch, from uint8 frames to peaks.

An :class:`InferenceModel` chains the inference layers of one approach (single
instance, top-down, bottom-up and their identity variants) and adds SLEAP's
`predict` / `predict_on_batch`, which take numpy arrays, tensors, dicts with an
"image" key, `tf.data.Dataset`s or `sleap_io.Video`s. Each batch runs through one
traced `tf.function` (retraced only when the input structure changes); with
`numpy=True` ragged outputs come back NaN-padded along axis 1 with an `"n_valid"` key
holding the number of valid rows of each sample, as in SLEAP.

Example::

    model = TopDownInferenceModel(CentroidCrop(centroid_keras_model, crop_size=96),
                                  FindInstancePeaks(instance_keras_model))
    out = model.predict(frames)  # uint8 (n, h, w, 1)
    out["instance_peaks"].shape  # (n, max_instances, n_nodes, 2), NaN-padded
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, Union

import numpy as np

from sleapish.errors import InvalidTypeError, InvalidValueError, MissingKeyError
from sleapish.nn._backend import keras, tf
from sleapish.nn.data.utils import unrag_example
from sleapish.nn.inference.layers_topdown import (
    CentroidCrop,
    CentroidCropGroundTruth,
    FindInstancePeaks,
    FindInstancePeaksGroundTruth,
    TopDownMultiClassFindPeaks,
)
from sleapish.nn.settings import SettingsMixin

Outputs = Dict[str, Union[tf.Tensor, tf.RaggedTensor, np.ndarray]]


# ------------------------------------------------------------------ input handling
def _to_tensor(value):
    """Tensors and ragged tensors pass; numeric arrays become tensors; others pass."""
    if isinstance(value, (tf.Tensor, tf.RaggedTensor)):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return tf.convert_to_tensor(value)
    if isinstance(value, (int, float, np.number)):
        return tf.convert_to_tensor(value)
    return value


KERAS_PREDICT_OPTIONS = frozenset({"verbose", "steps", "callbacks", "max_queue_size",
                                   "workers", "use_multiprocessing"})
"""Keras `Model.predict` options that `InferenceModel.predict` accepts (and ignores)."""


def check_keras_predict_kwargs(method: str, kwargs: Dict[str, Any]) -> None:
    """Raise for keyword arguments that are not Keras `Model.predict` options.

    Raises:
        InvalidTypeError: Naming the first unknown argument, as Python does.
    """
    unknown = sorted(set(kwargs) - KERAS_PREDICT_OPTIONS)
    if unknown:
        raise InvalidTypeError(f"{method}() got an unexpected keyword argument "
                               f"{unknown[0]!r}")


def _prepare_batch(data):
    """A model input from a batch: a tensor, or a dict of tensors."""
    if isinstance(data, dict):
        if "image" not in data:
            raise MissingKeyError("Inference inputs given as a dict must hold an 'image' key. "
                                  f"Received keys: {sorted(data)}")
        return {k: _to_tensor(v) for k, v in data.items()}
    data = _to_tensor(data)
    if not isinstance(data, tf.Tensor):
        raise InvalidTypeError("Inference inputs must be images (numpy array or tensor), a "
                               "dict with 'image', a tf.data.Dataset or a sleap_io.Video. "
                               f"Received: {type(data).__name__}")
    return data


def _image_rank(x) -> int:
    image = x["image"] if isinstance(x, dict) else x
    return len(image.shape)


def _batched_images(x, batch_size: int):
    """Ensure rank-4 images: a single (h, w, c) image becomes a batch of 1."""
    if _image_rank(x) == 3:
        if isinstance(x, dict):
            return {k: (v[None] if k == "image" else v) for k, v in x.items()}
        return x[None]
    if _image_rank(x) != 4:
        raise InvalidValueError("Images must have shape (samples, height, width, channels). "
                                f"Received: shape {tuple(_image_of(x).shape)}")
    return x


def _any_batch_size_spec(batch):
    """`batch`'s type with the batch size relaxed to None: a `tf.TensorSpec`, or a
    dict of them; None when a value is not a dense tensor with a batch axis."""
    def relaxed(t):
        if not isinstance(t, tf.Tensor) or t.shape.rank is None or t.shape.rank < 1:
            return None
        return tf.TensorSpec([None, *t.shape[1:]], t.dtype)

    if isinstance(batch, dict):
        specs = {k: relaxed(v) for k, v in batch.items()}
        return None if any(v is None for v in specs.values()) else specs
    return relaxed(batch)


def _image_of(x):
    return x["image"] if isinstance(x, dict) else x


def _slice_batch(x, start: int, stop: int, n: int):
    """Rows `start:stop` of every per-sample value of a batch."""
    if not isinstance(x, dict):
        return x[start:stop]
    out = {}
    for k, v in x.items():
        per_sample = hasattr(v, "shape") and len(v.shape) > 0 and v.shape[0] == n
        if isinstance(v, tf.RaggedTensor):
            per_sample = True
        out[k] = v[start:stop] if per_sample else v
    return out


def _iter_batches(data, batch_size: int) -> Iterator[Any]:
    """Batches of model inputs from any supported data source."""
    if hasattr(data, "make_dataset"):  # a Pipeline or a provider
        data = data.make_dataset()
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        image_spec = spec["image"] if isinstance(spec, dict) else spec
        if image_spec.shape.rank == 3:
            data = data.batch(batch_size)
        for element in data:
            yield _prepare_batch(element)
        return
    if type(data).__name__ == "Video" and hasattr(data, "backend"):
        from sleapish.io import read_frames

        for start in range(0, len(data), batch_size):
            stop = min(start + batch_size, len(data))
            yield tf.convert_to_tensor(read_frames(data, range(start, stop)))
        return
    data = _batched_images(_prepare_batch(data), batch_size)
    n = int(_image_of(data).shape[0])
    for start in range(0, n, batch_size):
        yield _slice_batch(data, start, min(start + batch_size, n), n)


def _concat(values):
    """Concatenate per-batch outputs of one key along axis 0."""
    if len(values) == 1:
        return values[0]
    if all(isinstance(v, tf.RaggedTensor) for v in values):
        splits = values[0].row_splits.dtype
        return tf.concat([v.with_row_splits_dtype(splits) for v in values], axis=0)
    try:
        return tf.concat(values, axis=0)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        raise InvalidValueError("Per-batch outputs have different shapes and cannot be "
                                "concatenated (e.g. images of different sizes); predict them "
                                f"separately. Received: {[tuple(v.shape) for v in values]}"
                                ) from e


def outputs_to_numpy(outs: Outputs) -> Dict[str, np.ndarray]:
    """SLEAP's numpy conversion: NaN-padded arrays plus "n_valid".

    "n_valid" (int64 `(samples,)`) holds the row lengths of the first ragged output;
    ragged float outputs are padded with NaN (integer ones with -1) to the longest
    sample.
    """
    outs = dict(outs)
    for v in outs.values():
        if isinstance(v, tf.RaggedTensor):
            outs["n_valid"] = v.row_lengths()
            break
    return unrag_example(outs, numpy=True)


# --------------------------------------------------------------------- base model
class InferenceModel(keras.Model):
    """Base class of SLEAP's inference models.

    Subclasses implement `call(example)` on one batch (images, or a dict with
    "image"); this class adds batching over any data source, one traced
    `tf.function` per batch structure, and SLEAP's NaN-padded numpy outputs.

    Attributes:
        predicts_identities: Class attribute: the outputs' instance rows are classes
            (identity models).
    """

    predicts_identities = False

    def _settings(self) -> tuple:
        """The :attr:`~sleapish.nn.settings.SettingsMixin.settings` of every inner
        layer (frozen configs and flags, hashable).

        A traced step bakes these in, so it is rebuilt when one changes (e.g.
        `model.centroid_crop.max_instances = 2` after a first prediction, as SLEAP's
        scripts do).
        """
        return tuple(layer.settings for layer in
                     self._flatten_layers(include_self=False, recursive=True)
                     if isinstance(layer, SettingsMixin))

    def _retrace_layer_calls(self) -> None:
        """Give inner layers whose `call` is a `tf.function` (SLEAP's `CentroidCrop`)
        a fresh one, so changed settings are traced in rather than reused."""
        for layer in self._flatten_layers(include_self=False, recursive=True):
            call = getattr(type(layer), "call", None)
            python_function = getattr(call, "python_function", None)
            if python_function is not None:
                layer.call = tf.function(python_function.__get__(layer, type(layer)))

    def _step_fn(self):
        """The traced per-batch function (one per input structure and settings)."""
        key = self._settings()
        step = getattr(self, "_sleapish_predict_step", None)
        if step is None or getattr(self, "_sleapish_step_key", None) != key:
            if step is not None:
                self._retrace_layer_calls()
            # No autograph: the layers use graph ops for their control flow, and
            # converting every Keras call cost ~4 s of tracing per model (start-up of
            # a 16-frame bottom-up job: 13.5 s -> 9 s, same outputs).
            step = tf.function(lambda x: self(x, training=False), reduce_retracing=True,
                               autograph=False)
            self._sleapish_predict_step = step
            self._sleapish_step_key = key
            self._sleapish_step_relaxed = False
        return step

    def _run_step(self, batch):
        """Call the traced step on `batch`. The first call traces it for any batch
        size (the leading dimension of every dense input relaxed to None), so that a
        last, smaller batch does not trace the whole model again (~1-3 s here)."""
        step = self._step_fn()
        if not getattr(self, "_sleapish_step_relaxed", False):
            spec = _any_batch_size_spec(batch)
            if spec is not None:
                step.get_concrete_function(spec)
            self._sleapish_step_relaxed = True
        return step(batch)

    def predict_on_batch(self, data, numpy: bool = False) -> Outputs:
        """Predict one batch.

        Args:
            data: Images `(samples, height, width, channels)` (numpy or tensor, any
                dtype), or a dict with "image" (and, for ground-truth layers,
                "centroids" / "instances").
            numpy: Convert outputs to numpy arrays (NaN-padded, with "n_valid").

        Returns:
            Dict of outputs (ragged tensors on axis 1 for variable instance counts).
        """
        outs = self._run_step(_batched_images(_prepare_batch(data), 1))
        return outputs_to_numpy(outs) if numpy else dict(outs)

    def predict(self, data, numpy: bool = True, batch_size: int = 4, **kwargs) -> Outputs:
        """Predict instances in the data.

        Args:
            data: Images `(samples, height, width, channels)` as a numpy array or a
                tensor; a dict with "image" (other per-sample keys are batched along);
                a `tf.data.Dataset` of batches (or of single images, batched here) in
                either form; or a `sleap_io.Video` (read in batches of `batch_size`).
            numpy: If True (default), return numpy arrays, NaN-padded along axis 1,
                with "n_valid" the number of valid rows of each sample.
            batch_size: Frames per batch for arrays, dicts and videos.
            **kwargs: Keras's `Model.predict` options (`verbose`, `steps`, `callbacks`,
                `max_queue_size`, `workers`, `use_multiprocessing`), accepted as SLEAP
                passes them on and without effect here.

        Returns:
            Dict of outputs over all samples; with `numpy=False`, ragged tensors for
            variable instance counts.

        Raises:
            TypeError: For any other keyword argument (`InvalidTypeError`).
        """
        check_keras_predict_kwargs("predict", kwargs)
        results = [dict(self._run_step(batch))
                   for batch in _iter_batches(data, int(batch_size))]
        if not results:
            raise InvalidValueError("No data to predict on. Received: an empty data source")
        outs = {k: _concat([r[k] for r in results]) for k in results[0]}
        return outputs_to_numpy(outs) if numpy else outs


    def export_model(self, save_path: str, signatures: str = "serving_default",
                     save_traces: bool = True, model_name=None, tensors=None,
                     unrag_outputs: bool = True, **kwargs):
        """Export as a SavedModel, `frozen_graph.pb` and `info.json` (SLEAP's method).

        The whole model is exported, grouping included; see
        :func:`sleapish.nn.inference.export_writer.write_export` for the arguments and
        `kwargs` (`max_instances`, `fmt`, `overwrite`, ...).
        """
        from sleapish.nn.inference.export_writer import write_export

        return write_export(self, save_path, signatures, save_traces, model_name,
                            tensors, unrag_outputs, **kwargs)


def _as_example(example):
    if isinstance(example, dict):
        return example
    return {"image": example}


# ----------------------------------------------------------------- single instance
class SingleInstanceInferenceModel(InferenceModel):
    """Single-instance model: one instance per frame, global peak per node.

    Attributes:
        single_instance_layer: A
            :class:`~sleapish.nn.inference.SingleInstanceInferenceLayer`.
    """

    def __init__(self, single_instance_layer, **kwargs):
        super().__init__(**kwargs)
        self.single_instance_layer = single_instance_layer

    def call(self, example):
        """Predict one batch.

        Returns:
            Dict with "instance_peaks" `(samples, 1, nodes, 2)` and
            "instance_peak_vals" `(samples, 1, nodes)`.
        """
        return self.single_instance_layer(example)


# ------------------------------------------------------------------------- top-down
class CentroidInferenceModel(InferenceModel):
    """Centroid model alone: centroids (and crops) of each frame.

    Attributes:
        centroid_crop: A :class:`CentroidCrop` or :class:`CentroidCropGroundTruth`.
    """

    def __init__(self, centroid_crop, **kwargs):
        super().__init__(**kwargs)
        self.centroid_crop = centroid_crop

    def call(self, example):
        """Predict one batch: "centroids" `(samples, (n), 2)`, "centroid_vals"."""
        return self.centroid_crop(_as_example(example))


class TopDownInferenceModel(InferenceModel):
    """Top-down model: centroids, crops around them, then instance peaks per crop.

    Attributes:
        centroid_crop: A :class:`CentroidCrop`, or :class:`CentroidCropGroundTruth`
            (then examples must hold "centroids").
        instance_peaks: A :class:`FindInstancePeaks`, or
            :class:`FindInstancePeaksGroundTruth` (then examples must hold
            "instances").
    """

    def __init__(self, centroid_crop: Union[CentroidCrop, CentroidCropGroundTruth],
                 instance_peaks: Union[FindInstancePeaks, FindInstancePeaksGroundTruth],
                 **kwargs):
        super().__init__(**kwargs)
        self.centroid_crop = centroid_crop
        self.instance_peaks = instance_peaks

    def call(self, example):
        """Predict one batch.

        Returns:
            Dict of ragged tensors: "centroids" `(samples, (n), 2)`, "centroid_vals"
            `(samples, (n))`, "instance_peaks" `(samples, (n), nodes, 2)`,
            "instance_peak_vals" `(samples, (n), nodes)`.
        """
        example = _as_example(example)
        if isinstance(self.centroid_crop, CentroidCropGroundTruth) and \
                "centroids" not in example:
            raise InvalidValueError("CentroidCropGroundTruth needs ground-truth 'centroids' in "
                                    f"the example. Received keys: {sorted(example)}")
        crop_output = self.centroid_crop(example)
        if isinstance(self.instance_peaks, FindInstancePeaksGroundTruth):
            if "instances" not in example:
                raise InvalidValueError(
                    "Ground truth data was not detected: FindInstancePeaksGroundTruth "
                    "needs 'instances' in the example. Load both models to predict on "
                    f"data without ground truth. Received keys: {sorted(example)}")
            return self.instance_peaks(example, crop_output)
        return self.instance_peaks(crop_output)


class TopDownMultiClassInferenceModel(InferenceModel):
    """Top-down identity model: centroids, crops, peaks and classes per crop.

    Attributes:
        centroid_crop: A :class:`CentroidCrop` or :class:`CentroidCropGroundTruth`.
        instance_peaks: A :class:`TopDownMultiClassFindPeaks`.
    """

    predicts_identities = True

    def __init__(self, centroid_crop: Union[CentroidCrop, CentroidCropGroundTruth],
                 instance_peaks: TopDownMultiClassFindPeaks, **kwargs):
        super().__init__(**kwargs)
        self.centroid_crop = centroid_crop
        self.instance_peaks = instance_peaks

    def call(self, example):
        """Predict one batch.

        Returns:
            Dict with "instance_peaks" `(samples, n_classes, nodes, 2)`,
            "instance_peak_vals" `(samples, n_classes, nodes)`, "instance_scores"
            `(samples, n_classes)`, and the ragged "centroids" / "centroid_vals".
        """
        return self.instance_peaks(self.centroid_crop(_as_example(example)))


# ------------------------------------------------------------------------ bottom-up
class BottomUpInferenceModel(InferenceModel):
    """Bottom-up model: local peaks grouped into instances by PAFs.

    Attributes:
        bottomup_layer: A :class:`~sleapish.nn.inference.BottomUpInferenceLayer`.
    """

    def __init__(self, bottomup_layer, **kwargs):
        super().__init__(**kwargs)
        self.bottomup_layer = bottomup_layer

    @property
    def inference_layer(self):
        """The bottom-up layer (SLEAP's alias)."""
        return self.bottomup_layer

    def call(self, example):
        """Predict one batch.

        Returns:
            Dict of ragged tensors: "instance_peaks" `(samples, (n), nodes, 2)`,
            "instance_peak_vals" `(samples, (n), nodes)`, "instance_scores"
            `(samples, (n))`.
        """
        return self.bottomup_layer(_as_example(example))


class BottomUpMultiClassInferenceModel(InferenceModel):
    """Bottom-up identity model: local peaks grouped by class maps.

    Attributes:
        inference_layer: A
            :class:`~sleapish.nn.inference.BottomUpMultiClassInferenceLayer`.
    """

    predicts_identities = True

    def __init__(self, inference_layer, **kwargs):
        super().__init__(**kwargs)
        self.inference_layer = inference_layer

    def call(self, example):
        """Predict one batch.

        Returns:
            Dict with "instance_peaks" `(samples, n_classes, nodes, 2)`,
            "instance_peak_vals" and "instance_scores" `(samples, n_classes, nodes)`.
        """
        return self.inference_layer(_as_example(example))


__all__ = [
    "InferenceModel",
    "SingleInstanceInferenceModel",
    "CentroidInferenceModel",
    "TopDownInferenceModel",
    "TopDownMultiClassInferenceModel",
    "BottomUpInferenceModel",
    "BottomUpMultiClassInferenceModel",
    "outputs_to_numpy",
]

"""Keras inference layers: preprocessing, forward pass and peak finding in one graph.

SLEAP's `sleap.nn.inference` layers, rebuilt on `tf_keras` with the same names,
attributes, defaults and numbers. Every layer works on a batch of images (uint8 or
float, any channel count) and returns a dict of tensors with SLEAP's keys; variable
instance counts are `tf.RaggedTensor`s ragged on axis 1. The code is graph-friendly and
batched (no Python loop per instance or per peak), so an `InferenceModel` runs a whole
batch, from uint8 frames to peaks, in one `tf.function`.

This module holds the base :class:`InferenceLayer`, the model helpers and
:class:`SingleInstanceInferenceLayer`; the tensor operations are in `ops.py`, the
top-down layers in `layers_topdown.py` and the bottom-up ones in `layers_bottomup.py`.

Coordinate rules (SLEAP's, which its trained models depend on):

- peaks found on a map of stride `output_stride` map to the (scaled) image as
  `x * output_stride`;
- when the images were resized by `input_scale != 1`, points map back to the full image
  as `x / input_scale + 0.5` (SLEAP's correction for TensorFlow's half-pixel resizing);
- an offset regression head, when the model has one, replaces `refinement`.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from sleapish.errors import InvalidTypeError, InvalidValueError
from sleapish.nn._backend import keras, tf
from sleapish.nn.data.normalization import ensure_float as _ensure_float
from sleapish.nn.data.resizing import pad_image_to_stride as _pad_to_stride
from sleapish.nn.data.resizing import resize_image
from sleapish.nn.inference.loading import find_head, get_model_output_stride
from sleapish.nn.inference.ops import (
    convert_channels,
    get_images,
    global_peaks,
    group_by_sample,
    local_peaks,
    to_image_coords,
)
from sleapish.nn.settings import (
    PeakFindingConfig,
    PeakFindingMixin,
    SettingsMixin,
    check_refinement,
)

#: Probe size used to infer output strides of models whose input size is unknown.
_STRIDE_PROBE_SIZE = 1024


# ----------------------------------------------------------------------- helpers
def infer_output_stride(keras_model, output_ind: int) -> int:
    """Stride of a model output relative to its input.

    Uses the static shapes (:func:`get_model_output_stride`); for models with unknown
    input sizes (e.g. after resetting the input layer), the stride is found by static
    shape inference on a probe input of 1024 x 1024.

    Raises:
        ValueError: If the stride cannot be determined.
    """
    in_shape = keras_model.inputs[0].shape
    out_shape = keras_model.outputs[output_ind].shape
    if in_shape[1] is not None and out_shape[1] is not None:
        return get_model_output_stride(keras_model, 0, output_ind)
    probe = (1, _STRIDE_PROBE_SIZE, _STRIDE_PROBE_SIZE, in_shape[-1])
    shapes = keras_model.compute_output_shape(probe)
    if not isinstance(shapes, (list, tuple)) or (shapes and isinstance(shapes[0], int)):
        shapes = [shapes]
    out_h = tf.TensorShape(shapes[output_ind])[1]
    if not out_h or _STRIDE_PROBE_SIZE % out_h:
        raise InvalidValueError("Cannot infer the output stride of the model; pass it "
                                f"explicitly. Received: output shape {shapes[output_ind]} for "
                                f"a {probe} input")
    return _STRIDE_PROBE_SIZE // out_h


def require_head(keras_model, index: Optional[int], name: str) -> int:
    """`index`, or the output whose name contains `name` (SLEAP head class names)."""
    if index is None:
        index = find_head(keras_model, name)
    if index is None:
        raise InvalidValueError(f"Index of the {name} output tensor must be specified if no "
                                f"model output is named '{name}'. Received: outputs "
                                f"{list(keras_model.output_names)}")
    return int(index)


def model_outputs(keras_model, imgs) -> List[tf.Tensor]:
    """Call a Keras model and return its outputs as a list (one per head)."""
    out = keras_model(imgs, training=False)
    if isinstance(out, dict):
        return [out[k] for k in keras_model.output_names]
    if isinstance(out, (list, tuple)):
        return [o[-1] if isinstance(o, (list, tuple)) else o for o in out]
    return [out]
















# ------------------------------------------------------------------- base layer
class InferenceLayer(SettingsMixin, keras.layers.Layer):
    """Base layer wrapping a Keras model with its input preprocessing.

    The layer takes the model's input (rank-4 images) in any dtype and channel count
    and converts it as SLEAP does before calling the model: grayscale (luma,
    `tf.image.rgb_to_grayscale`, on the input dtype) or RGB (tiled), then float32 in
    [0, 1] (uint8 / 255), then resized by `input_scale`, then padded to a multiple of
    `pad_to_stride`. Running inference directly on uint8 frames keeps decoding cheap.

    Attributes:
        keras_model: The `tf_keras.Model` called on the preprocessed images.
        input_scale: If not 1.0, images are resized by this factor.
        pad_to_stride: If not 1, images are zero-padded (bottom, right) to a multiple of
            this (after scaling).
        ensure_grayscale: True: convert to 1 channel; False: convert to RGB; None
            (default): from the model's input channels.
        ensure_float: Convert to float32 in [0, 1].
        settings: These values as one hashable tuple (see
            :class:`~sleapish.nn.settings.SettingsMixin`).

    Example::

        layer = InferenceLayer(keras_model, input_scale=0.5, pad_to_stride=16)
        outputs = layer(uint8_frames)  # the model's outputs
    """

    _setting_names = ("input_scale", "pad_to_stride", "ensure_grayscale", "ensure_float")

    def __init__(self, keras_model, input_scale: float = 1.0, pad_to_stride: int = 1,
                 ensure_grayscale: Optional[bool] = None, ensure_float: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        self.keras_model = keras_model
        self.input_scale = float(input_scale)
        self.pad_to_stride = int(pad_to_stride or 1)
        if ensure_grayscale is None:
            ensure_grayscale = keras_model.inputs[0].shape[-1] == 1
        self.ensure_grayscale = bool(ensure_grayscale)
        self.ensure_float = bool(ensure_float)

    def _init_peak_finding(self, head: str, confmaps_ind, offsets_ind, output_stride,
                           peak_finding: Optional[PeakFindingConfig], peak_threshold,
                           refinement, integral_patch_size, return_confmaps) -> int:
        """Set the peak-finding attributes shared by the layers; returns the output
        stride of the `head` confidence maps (inferred from the model if None).

        `peak_finding`, when given, replaces the three SLEAP-named arguments."""
        self.confmaps_ind = require_head(self.keras_model, confmaps_ind, head)
        self.offsets_ind = (offsets_ind if offsets_ind is not None
                            else find_head(self.keras_model, "OffsetRefinementHead"))
        if output_stride is None:
            output_stride = infer_output_stride(self.keras_model, self.confmaps_ind)
        if peak_finding is None:
            peak_finding = PeakFindingConfig(peak_threshold=peak_threshold,
                                             refinement=refinement,
                                             integral_patch_size=integral_patch_size)
        elif not isinstance(peak_finding, PeakFindingConfig):
            raise InvalidTypeError("peak_finding must be a PeakFindingConfig. Received: "
                                   f"{type(peak_finding).__name__}")
        self.peak_finding = peak_finding
        self.return_confmaps = bool(return_confmaps)
        return int(output_stride)

    def preprocess(self, imgs, resize: bool = True):
        """Apply the configured preprocessing to a batch.

        Args:
            imgs: `(samples, height, width, channels)` images, uint8 or float.
            resize: Apply `input_scale` (top-down crops arrive already scaled).

        Returns:
            float32 images in [0, 1] (when `ensure_float`), converted to the model's
            channels, resized and padded.
        """
        imgs = convert_channels(imgs, grayscale=self.ensure_grayscale)
        if self.ensure_float:
            imgs = _ensure_float(imgs)
        if resize and self.input_scale != 1.0:
            imgs = resize_image(imgs, self.input_scale)
        if self.pad_to_stride > 1:
            imgs = _pad_to_stride(imgs, self.pad_to_stride)
        return imgs

    def call(self, data):
        """Call the model on preprocessed `data` (a batch or a dict with "image")."""
        return self.keras_model(self.preprocess(get_images(data)), training=False)


# ------------------------------------------------------------- single instance
class SingleInstanceInferenceLayer(PeakFindingMixin, InferenceLayer):
    """Single-instance models: preprocessing, forward pass, global peaks, mapping.

    Attributes:
        keras_model: Model predicting single-instance confidence maps.
        input_scale: Resize factor applied to the images before the model.
        pad_to_stride: Pad images to a multiple of this (the model's max stride).
        output_stride: Stride of the confidence maps relative to the scaled image;
            inferred from the model shapes when None.
        peak_threshold: Minimum confidence map value for a valid peak.
        refinement: None, "integral" or "local" (SLEAP's layer default); no effect
            when the model has an offset regression head.
        integral_patch_size: Patch size for integral refinement.
        return_confmaps: Also return the confidence maps under "confmaps".
        confmaps_ind: Output index of the confidence maps (found by the name
            "SingleInstanceConfmapsHead" when None).
        offsets_ind: Output index of the offsets (found by "OffsetRefinementHead").
        peak_finding: The frozen :class:`PeakFindingConfig` behind
            `peak_threshold`, `refinement` and `integral_patch_size`; when passed, it
            replaces those three arguments.
    """

    _setting_names = InferenceLayer._setting_names + (
        "output_stride", "peak_finding", "return_confmaps", "confmaps_ind", "offsets_ind")

    def __init__(self, keras_model, input_scale: float = 1.0, pad_to_stride: int = 1,
                 output_stride: Optional[int] = None, peak_threshold: float = 0.2,
                 refinement: Optional[str] = "local", integral_patch_size: int = 5,
                 return_confmaps: bool = False, confmaps_ind: Optional[int] = None,
                 offsets_ind: Optional[int] = None,
                 peak_finding: Optional[PeakFindingConfig] = None, **kwargs):
        super().__init__(keras_model=keras_model, input_scale=input_scale,
                         pad_to_stride=pad_to_stride, **kwargs)
        self.output_stride = self._init_peak_finding(
            "SingleInstanceConfmapsHead", confmaps_ind, offsets_ind, output_stride,
            peak_finding, peak_threshold, refinement, integral_patch_size,
            return_confmaps)

    def call(self, data) -> Dict[str, tf.Tensor]:
        """Predict the instance of each image.

        Args:
            data: `(samples, height, width, channels)` images, or a dict with "image".

        Returns:
            Dict with "instance_peaks" float32 `(samples, 1, nodes, 2)` (NaN below the
            threshold), "instance_peak_vals" float32 `(samples, 1, nodes)`, and
            "confmaps" `(samples, out_height, out_width, nodes)` if `return_confmaps`.
        """
        outs = model_outputs(self.keras_model, self.preprocess(get_images(data)))
        cms = outs[self.confmaps_ind]
        offsets = outs[self.offsets_ind] if self.offsets_ind is not None else None
        peaks, vals = global_peaks(cms, offsets, self.peak_threshold, self.refinement,
                                   self.integral_patch_size)
        peaks = to_image_coords(peaks, self.output_stride, self.input_scale)
        out = {"instance_peaks": peaks[:, None], "instance_peak_vals": vals[:, None]}
        if self.return_confmaps:
            out["confmaps"] = cms
        return out


__all__ = [
    "InferenceLayer",
    "SingleInstanceInferenceLayer",
    "check_refinement",
    "infer_output_stride",
    "to_image_coords",
    "global_peaks",
    "local_peaks",
    "group_by_sample",
]

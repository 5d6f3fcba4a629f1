"""Top-down inference layers: centroids and crops, then peaks within each crop.

:class:`CentroidCrop` (or :class:`CentroidCropGroundTruth`) finds one anchor point per
instance and crops a `crop_size` square around it; :class:`FindInstancePeaks` (or
:class:`FindInstancePeaksGroundTruth`, or :class:`TopDownMultiClassFindPeaks` for
identity models) finds the instance's nodes in each crop and maps them back to the full
image. Crops travel as `tf.RaggedTensor` `(samples, (n_crops), S, S, channels)`.

SLEAP's numbers, kept exactly:

- crop boxes are centred on the centroid: they start at `c - (S - 1) / 2`;
- but peaks are mapped back with `crop_offsets = c - S / 2`, so top-down points sit
  0.5 px low relative to the crop's true origin (SLEAP's trained outputs do; we match);
- crops are cast back to the input dtype (uint8 crops of fractional boxes are
  truncated, as SLEAP's `crop_bboxes` does).

Centered-instance models trained with `input_scaling = s != 1` (SLEAP 1.4.1 with the
input-scaling fix #2054): SLEAP trains them on `crop_size` crops of the *scaled* image,
so `crop_size` is in scaled pixels. At inference the full image is resized by `s` first
(`precrop_resize = s` on the cropping layer), a `crop_size` box is cropped around
`s * c`, and the instance layer does not resize again; its peaks map back as
`x / s + 0.5 + crop_offsets` with `crop_offsets = c - S / (2 s)` (the `c - S / 2` rule
applied in scaled pixels).
"""

from __future__ import annotations

from typing import Dict, Optional

from sleapish.nn._backend import keras, tf
from sleapish.nn.identity import classify_peaks_from_vectors
from sleapish.nn.inference.layers import InferenceLayer, model_outputs, require_head
from sleapish.nn.inference.ops import (
    _as_ragged_points,
    crop_around_centroids,
    get_images,
    global_peaks,
    group_by_sample,
    limit_instances,
    local_peaks,
    to_image_coords,
)
from sleapish.nn.settings import (
    PeakFindingConfig,
    PeakFindingMixin,
    SettingsMixin,
)

# ----------------------------------------------------------------------- helpers




def _flat_crops(inputs):
    """Flatten a crop input into `(crops, crop_sample_inds, n_samples, inputs_dict)`."""
    if isinstance(inputs, dict):
        crops = inputs["crops"]
    else:
        crops, inputs = inputs, {}
    if isinstance(crops, tf.RaggedTensor):
        return crops.values, crops.value_rowids(), crops.nrows(), inputs
    crops = tf.convert_to_tensor(crops)
    if "crop_sample_inds" in inputs:
        return crops, inputs["crop_sample_inds"], inputs["samples"], inputs
    n = tf.shape(crops, out_type=tf.int64)[0]
    return crops, tf.range(n), n, inputs


def _run_on_crops(layer: InferenceLayer, crops):
    """Model outputs for `(n, S, S, C)` crops, including n == 0.

    Crops are resized by `layer.input_scale` first when `layer.resize_input_image`
    (crops cut from the full-size image); top-down predictors cut them from the
    already-resized image and turn that off, as SLEAP (#2054) does.

    Keras convolutions fail on empty batches, so an empty input is replaced by one
    blank crop whose outputs are then dropped.
    """
    n = tf.shape(crops)[0]
    x = layer.preprocess(crops, resize=getattr(layer, "resize_input_image", False))
    x = tf.cond(n > 0, lambda: x, lambda: tf.pad(x, [[0, 1], [0, 0], [0, 0], [0, 0]]))
    return [o[:n] for o in model_outputs(layer.keras_model, x)]


def _crop_peaks(layer, inputs):
    """Shared forward pass of the crop peak layers.

    Returns:
        `(outs, peaks, vals, crop_sample_inds, n_samples, inputs)` with `peaks` float32
        `(n_crops, nodes, 2)` in full-image pixels.
    """
    crops, crop_sample_inds, n_samples, inputs = _flat_crops(inputs)
    outs = _run_on_crops(layer, crops)
    cms = outs[layer.confmaps_ind]
    offsets = outs[layer.offsets_ind] if layer.offsets_ind is not None else None
    peaks, vals = global_peaks(cms, offsets, layer.peak_threshold, layer.refinement,
                               layer.integral_patch_size)
    peaks = to_image_coords(peaks, layer.output_stride, layer.input_scale)
    if "crop_offsets" in inputs:
        crop_offsets = inputs["crop_offsets"]
        if isinstance(crop_offsets, tf.RaggedTensor):
            crop_offsets = crop_offsets.values
        peaks = peaks + tf.cast(crop_offsets, tf.float32)[:, None, :]
    return outs, peaks, vals, crop_sample_inds, n_samples, inputs




# ------------------------------------------------------------------ centroid layers
class CentroidCrop(PeakFindingMixin, InferenceLayer):
    """Centroid model inference and cropping around the detected centroids.

    Attributes:
        keras_model: Model predicting centroid (anchor) confidence maps.
        crop_size: Side of the square crops (in pixels of the image resized by
            `precrop_resize`).
        input_scale: Resize factor applied to the images before the centroid model.
        pad_to_stride: Pad images to a multiple of this (the model's max stride).
        output_stride: Stride of the confidence maps relative to the scaled image;
            inferred from the model shapes when None.
        peak_threshold: Minimum confidence map value for a valid local peak.
        refinement: None, "integral" or "local" (SLEAP's layer default); no effect
            when the model has an offset regression head.
        integral_patch_size: Patch size for integral refinement.
        return_confmaps: Also return the centroid confidence maps under
            "centroid_confmaps" (dense, `(samples, out_height, out_width, 1)`).
        confmaps_ind: Output index of the maps (found by "CentroidConfmapsHead").
        offsets_ind: Output index of the offsets (found by "OffsetRefinementHead").
        return_crops: Return "crops" and "crop_offsets" (False: centroids only).
        max_instances: If set, keep at most this many centroids per image (the
            highest-valued ones).
        precrop_resize: Resize factor of the centered-instance model (SLEAP #2054):
            the full image is resized by it before cropping.
        peak_finding: The frozen :class:`PeakFindingConfig` behind
            `peak_threshold`, `refinement` and `integral_patch_size`; when passed, it
            replaces those three arguments.
    """

    _setting_names = InferenceLayer._setting_names + (
        "crop_size", "output_stride", "peak_finding", "return_confmaps", "confmaps_ind",
        "offsets_ind", "return_crops", "max_instances", "precrop_resize")

    def __init__(self, keras_model, crop_size: int, input_scale: float = 1.0,
                 pad_to_stride: int = 1, output_stride: Optional[int] = None,
                 peak_threshold: float = 0.2, refinement: Optional[str] = "local",
                 integral_patch_size: int = 5, return_confmaps: bool = False,
                 confmaps_ind: Optional[int] = None, offsets_ind: Optional[int] = None,
                 return_crops: bool = True, max_instances: Optional[int] = None,
                 precrop_resize: float = 1.0,
                 peak_finding: Optional[PeakFindingConfig] = None, **kwargs):
        super().__init__(keras_model=keras_model, input_scale=input_scale,
                         pad_to_stride=pad_to_stride, **kwargs)
        self.crop_size = int(crop_size)
        self.output_stride = self._init_peak_finding(
            "CentroidConfmapsHead", confmaps_ind, offsets_ind, output_stride,
            peak_finding, peak_threshold, refinement, integral_patch_size,
            return_confmaps)
        self.return_crops = bool(return_crops)
        self.max_instances = None if max_instances is None else int(max_instances)
        self.precrop_resize = float(precrop_resize)

    @tf.function
    def call(self, inputs) -> Dict[str, tf.Tensor]:
        """Find centroids and crop around them.

        Args:
            inputs: `(samples, height, width, channels)` full images, or a dict with
                "image".

        Returns:
            Dict of `tf.RaggedTensor`s ragged on axis 1: "centroids" float32
            `(samples, (n), 2)`, "centroid_vals" float32 `(samples, (n))`, and with
            `return_crops` "crops" `(samples, (n), crop_size, crop_size, channels)` in
            the input dtype and "crop_offsets" float32 `(samples, (n), 2)`;
            "centroid_confmaps" if `return_confmaps`.
        """
        full_imgs = tf.convert_to_tensor(get_images(inputs))
        n_samples = tf.shape(full_imgs)[0]
        outs = model_outputs(self.keras_model, self.preprocess(full_imgs))
        cms = outs[self.confmaps_ind]
        offsets = outs[self.offsets_ind] if self.offsets_ind is not None else None
        points, vals, sample_inds, _ = local_peaks(
            cms, offsets, self.peak_threshold, self.refinement, self.integral_patch_size)
        points = to_image_coords(points, self.output_stride, self.input_scale)
        if self.max_instances is not None:
            points, vals, sample_inds = limit_instances(points, vals, sample_inds,
                                                        n_samples, self.max_instances)
        outputs = {"centroids": group_by_sample(points, sample_inds, n_samples),
                   "centroid_vals": group_by_sample(vals, sample_inds, n_samples)}
        if self.return_confmaps:
            outputs["centroid_confmaps"] = cms
        if self.return_crops:
            crops, crop_offsets = crop_around_centroids(
                full_imgs, points, sample_inds, self.crop_size, self.precrop_resize)
            outputs["crops"] = group_by_sample(crops, sample_inds, n_samples)
            outputs["crop_offsets"] = group_by_sample(crop_offsets, sample_inds,
                                                      n_samples)
        return outputs


class CentroidCropGroundTruth(SettingsMixin, keras.layers.Layer):
    """Crops around given (ground truth) centroids, in place of a centroid model.

    Attributes:
        crop_size: Side of the square crops.
        precrop_resize: Resize factor of the centered-instance model (SLEAP #2054).
    """

    _setting_names = ("crop_size", "precrop_resize")

    def __init__(self, crop_size: int, precrop_resize: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.crop_size = int(crop_size)
        self.precrop_resize = float(precrop_resize)

    def call(self, example_gt) -> Dict[str, tf.Tensor]:
        """Crop around the example's centroids.

        Args:
            example_gt: Dict with "image" `(samples, height, width, channels)` and
                "centroids" float32 `(samples, (n), 2)` (ragged, or dense with NaN
                rows as padding).

        Returns:
            Dict of ragged tensors: "crops" `(samples, (n), crop_size, crop_size,
            channels)`, "crop_offsets" `(samples, (n), 2)` (top-left `c - S / 2`),
            "centroids" `(samples, (n), 2)` and "centroid_vals" `(samples, (n))` (ones).
        """
        images = tf.convert_to_tensor(example_gt["image"])
        centroids = _as_ragged_points(example_gt["centroids"], 3)
        n_samples = tf.shape(images, out_type=tf.int64)[0]
        sample_inds = centroids.value_rowids()
        points = tf.cast(centroids.values, tf.float32)
        crops, crop_offsets = crop_around_centroids(images, points, sample_inds,
                                                    self.crop_size, self.precrop_resize)
        return {"crops": group_by_sample(crops, sample_inds, n_samples),
                "crop_offsets": group_by_sample(crop_offsets, sample_inds, n_samples),
                "centroids": group_by_sample(points, sample_inds, n_samples),
                "centroid_vals": group_by_sample(tf.ones_like(points[:, 0]), sample_inds,
                                                 n_samples)}


# ---------------------------------------------------------------- instance layers
class FindInstancePeaks(PeakFindingMixin, InferenceLayer):
    """Centered-instance model inference on crops: global peaks per crop.

    With `resize_input_image` (the default, as in SLEAP), crops are full-size and
    resized by `input_scale` before the model. Top-down predictors crop the image
    already resized by the cropping layer (`precrop_resize = input_scale`, SLEAP
    #2054) and pass `resize_input_image=False`; either way `input_scale` maps the
    peaks back to the full image.

    Attributes:
        keras_model: Model predicting centered-instance confidence maps.
        input_scale: Scale of the model's input relative to the full image.
        resize_input_image: Resize the crops by `input_scale` before the model
            (False when they are cut from an image resized already).
        output_stride: Stride of the confidence maps relative to the crops; inferred
            when None.
        peak_threshold: Minimum confidence map value for a valid peak.
        refinement: None, "integral" or "local" (SLEAP's layer default); no effect
            when the model has an offset regression head.
        integral_patch_size: Patch size for integral refinement.
        return_confmaps: Also return "instance_confmaps" (ragged by sample).
        confmaps_ind: Output index of the maps (found by
            "CenteredInstanceConfmapsHead").
        offsets_ind: Output index of the offsets (found by "OffsetRefinementHead").
        peak_finding: The frozen :class:`PeakFindingConfig` behind
            `peak_threshold`, `refinement` and `integral_patch_size`; when passed, it
            replaces those three arguments.
    """

    _setting_names = InferenceLayer._setting_names + (
        "resize_input_image", "output_stride", "peak_finding", "return_confmaps",
        "confmaps_ind", "offsets_ind")

    def __init__(self, keras_model, input_scale: float = 1.0,
                 resize_input_image: bool = True,
                 output_stride: Optional[int] = None, peak_threshold: float = 0.2,
                 refinement: Optional[str] = "local", integral_patch_size: int = 5,
                 return_confmaps: bool = False, confmaps_ind: Optional[int] = None,
                 offsets_ind: Optional[int] = None,
                 peak_finding: Optional[PeakFindingConfig] = None, **kwargs):
        super().__init__(keras_model=keras_model, input_scale=input_scale,
                         pad_to_stride=1, **kwargs)
        self.resize_input_image = bool(resize_input_image)
        self.output_stride = self._init_peak_finding(
            "CenteredInstanceConfmapsHead", confmaps_ind, offsets_ind, output_stride,
            peak_finding, peak_threshold, refinement, integral_patch_size,
            return_confmaps)

    def call(self, inputs) -> Dict[str, tf.Tensor]:
        """Find the nodes of the instance centred in each crop.

        Args:
            inputs: Crops `(samples, (n), S, S, channels)` (ragged) or `(n, S, S,
                channels)`, or a dict with "crops" and optionally "crop_offsets"
                `(samples, (n), 2)` (added to the peaks), "centroids", "centroid_vals"
                and "centroid_confmaps" (passed through).

        Returns:
            Dict with ragged "instance_peaks" float32 `(samples, (n), nodes, 2)` and
            "instance_peak_vals" float32 `(samples, (n), nodes)`, the passed-through
            keys, and "instance_confmaps" `(samples, (n), h, w, nodes)` if
            `return_confmaps`.
        """
        outs, peaks, vals, sample_inds, n_samples, inputs = _crop_peaks(self, inputs)
        outputs = {"instance_peaks": group_by_sample(peaks, sample_inds, n_samples),
                   "instance_peak_vals": group_by_sample(vals, sample_inds, n_samples)}
        for key in ("centroids", "centroid_vals", "centroid_confmaps"):
            if key in inputs:
                outputs[key] = inputs[key]
        if self.return_confmaps:
            outputs["instance_confmaps"] = group_by_sample(outs[self.confmaps_ind],
                                                           sample_inds, n_samples)
        return outputs


class FindInstancePeaksGroundTruth(keras.layers.Layer):
    """Ground-truth instances matched to centroids, in place of an instance model.

    Each centroid takes the ground-truth instance of its sample with the node closest
    to it (greedy, not exclusive); centroids of samples without instances are dropped.
    """

    def call(self, example_gt, crop_output) -> Dict[str, tf.Tensor]:
        """Match ground-truth instances to the centroids.

        Args:
            example_gt: Dict with "instances" float32 `(samples, (n_gt), nodes, 2)`
                (ragged, or dense with NaN padding).
            crop_output: Dict with "centroids" `(samples, (n), 2)` and
                "centroid_vals" `(samples, (n))` (ragged).

        Returns:
            Dict with "centroids" and "centroid_vals" (passed through),
            "instance_peaks" `(samples, (n), nodes, 2)` (the matched instances) and
            "instance_peak_vals" `(samples, (n), nodes)` (ones).
        """
        gt = _as_ragged_points(example_gt["instances"], 4)
        gt_dense = gt.to_tensor(default_value=float("nan"))  # (S, I, N, 2)
        # One all-NaN instance more, so that samples without instances still work.
        gt_dense = tf.pad(gt_dense, [[0, 0], [0, 1], [0, 0], [0, 0]],
                          constant_values=float("nan"))
        centroids = crop_output["centroids"]
        sample_inds = centroids.value_rowids()
        points = tf.cast(centroids.values, tf.float32)
        inst = tf.gather(gt_dense, sample_inds)  # (n, I, N, 2)
        d = tf.sqrt(tf.reduce_sum(tf.square(inst - points[:, None, None, :]), axis=-1))
        inf = tf.constant(float("inf"))
        d = tf.reduce_min(tf.where(tf.math.is_nan(d), inf, d), axis=-1)  # (n, I)
        valid = tf.reduce_any(tf.math.is_finite(d), axis=1)
        match = tf.argmin(d, axis=1, output_type=tf.int32)
        peaks = tf.gather(inst, match, axis=1, batch_dims=1)
        peaks = tf.boolean_mask(peaks, valid)
        keep_inds = tf.boolean_mask(sample_inds, valid)
        peaks = group_by_sample(peaks, keep_inds, gt.nrows())
        return {"centroids": centroids, "centroid_vals": crop_output["centroid_vals"],
                "instance_peaks": peaks,
                "instance_peak_vals": tf.ragged.map_flat_values(
                    lambda p: tf.ones_like(p[..., 0]), peaks)}


class TopDownMultiClassFindPeaks(PeakFindingMixin, InferenceLayer):
    """Top-down identity model on crops: peaks plus class vectors, grouped by class.

    Attributes:
        keras_model: Model predicting centered-instance confidence maps and class
            vectors.
        input_scale: Scale of the model's input relative to the full image.
        resize_input_image: Resize the crops by `input_scale` before the model
            (False when they are cut from an image resized already).
        output_stride: Stride of the confidence maps relative to the crops; inferred
            when None.
        peak_threshold: Minimum confidence map value for a valid peak.
        refinement: None, "integral" or "local"; no effect with an offset head.
        integral_patch_size: Patch size for integral refinement.
        return_confmaps: Also return "instance_confmaps" (ragged by sample).
        return_class_vectors: Also return the crops' "class_vectors".
        confmaps_ind: Output index of the maps ("CenteredInstanceConfmapsHead").
        offsets_ind: Output index of the offsets ("OffsetRefinementHead").
        class_vectors_ind: Output index of the class vectors ("ClassVectorsHead").
        optimal_grouping: Assign crops to classes (Hungarian per sample); if False,
            return the per-crop peaks and class vectors ungrouped.
        in_graph: Assign crops to classes with graph ops (exportable) instead of a
            scipy callback; same results.
        peak_finding: The frozen :class:`PeakFindingConfig` behind
            `peak_threshold`, `refinement` and `integral_patch_size`; when passed, it
            replaces those three arguments.
    """

    _setting_names = FindInstancePeaks._setting_names + (
        "class_vectors_ind", "return_class_vectors", "optimal_grouping", "in_graph")

    def __init__(self, keras_model, input_scale: float = 1.0,
                 resize_input_image: bool = True,
                 output_stride: Optional[int] = None, peak_threshold: float = 0.2,
                 refinement: Optional[str] = "local", integral_patch_size: int = 5,
                 return_confmaps: bool = False, return_class_vectors: bool = False,
                 confmaps_ind: Optional[int] = None, offsets_ind: Optional[int] = None,
                 class_vectors_ind: Optional[int] = None, optimal_grouping: bool = True,
                 peak_finding: Optional[PeakFindingConfig] = None, in_graph: bool = False,
                 **kwargs):
        super().__init__(keras_model=keras_model, input_scale=input_scale,
                         pad_to_stride=1, **kwargs)
        self.resize_input_image = bool(resize_input_image)
        self.output_stride = self._init_peak_finding(
            "CenteredInstanceConfmapsHead", confmaps_ind, offsets_ind, output_stride,
            peak_finding, peak_threshold, refinement, integral_patch_size,
            return_confmaps)
        self.class_vectors_ind = require_head(keras_model, class_vectors_ind,
                                              "ClassVectorsHead")
        self.return_class_vectors = bool(return_class_vectors)
        self.optimal_grouping = bool(optimal_grouping)
        self.in_graph = bool(in_graph)

    def call(self, inputs) -> Dict[str, tf.Tensor]:
        """Find each crop's nodes and assign the crops to classes.

        Args:
            inputs: As :meth:`FindInstancePeaks.call`.

        Returns:
            With `optimal_grouping`: "instance_peaks" float32 `(samples, n_classes,
            nodes, 2)`, "instance_peak_vals" `(samples, n_classes, nodes)` and
            "instance_scores" `(samples, n_classes)` (the class probability), NaN for
            classes without an instance; otherwise per crop `(n, nodes, 2)`,
            `(n, nodes)` and the class vectors `(n, n_classes)`. Plus "centroids" and
            "centroid_vals" when given, "instance_confmaps" and "class_vectors" when
            requested.
        """
        outs, peaks, vals, sample_inds, n_samples, inputs = _crop_peaks(self, inputs)
        class_probs = outs[self.class_vectors_ind]
        if self.optimal_grouping:
            points, point_vals, scores = classify_peaks_from_vectors(
                peaks, vals, class_probs, sample_inds, n_samples, self.in_graph)
            outputs = {"instance_peaks": points, "instance_peak_vals": point_vals,
                       "instance_scores": scores}
        else:
            outputs = {"instance_peaks": peaks, "instance_peak_vals": vals,
                       "instance_scores": class_probs}
        if "centroids" in inputs:
            outputs["centroids"] = inputs["centroids"]
            outputs["centroid_vals"] = inputs["centroid_vals"]
        if self.return_confmaps:
            outputs["instance_confmaps"] = group_by_sample(outs[self.confmaps_ind],
                                                           sample_inds, n_samples)
        if self.return_class_vectors and self.optimal_grouping:
            outputs["class_vectors"] = class_probs
        return outputs


__all__ = [
    "CentroidCrop",
    "CentroidCropGroundTruth",
    "FindInstancePeaks",
    "FindInstancePeaksGroundTruth",
    "TopDownMultiClassFindPeaks",
    "crop_around_centroids",
    "limit_instances",
]

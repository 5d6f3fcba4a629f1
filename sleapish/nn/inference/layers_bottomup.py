"""Bottom-up inference layers: all peaks of a frame, then grouped into instances.

:class:`BottomUpInferenceLayer` groups local peaks with part affinity fields
(:class:`~sleapish.nn.paf_grouping.PAFScorer`); :class:`BottomUpMultiClassInferenceLayer`
assigns them to identity classes with class maps
(:func:`~sleapish.nn.identity.classify_peaks_from_maps`). Peaks are found on the
confidence map grid, scaled by its output stride to the (resized) image, grouped, and
finally mapped to the full image with SLEAP's `x / input_scale + 0.5` when
`input_scale != 1`.
"""

from __future__ import annotations

from typing import Dict, Optional

from sleapish.nn._backend import tf
from sleapish.nn.identity import classify_peaks_from_maps
from sleapish.nn.inference.layers import (
    InferenceLayer,
    infer_output_stride,
    model_outputs,
    require_head,
)
from sleapish.nn.inference.ops import _unscale, get_images, group_by_sample, local_peaks
from sleapish.nn.settings import PeakFindingConfig, PeakFindingMixin


class _LocalPeaksLayer(PeakFindingMixin, InferenceLayer):
    """Shared forward pass and local peak finding of the bottom-up layers."""

    _setting_names = InferenceLayer._setting_names + (
        "cm_output_stride", "peak_finding", "return_confmaps", "confmaps_ind",
        "offsets_ind")

    def _init_peaks(self, confmaps_ind, offsets_ind, cm_output_stride, peak_finding,
                    peak_threshold, refinement, integral_patch_size, return_confmaps):
        self.cm_output_stride = self._init_peak_finding(
            "MultiInstanceConfmapsHead", confmaps_ind, offsets_ind, cm_output_stride,
            peak_finding, peak_threshold, refinement, integral_patch_size,
            return_confmaps)

    def find_peaks(self, cms, offsets):
        """Local peaks in image pixels (before undoing `input_scale`).

        Returns:
            `(peaks, peak_vals, peak_sample_inds, peak_channel_inds)`: float32
            `(n_peaks, 2)`, float32 `(n_peaks,)`, int32 `(n_peaks,)`, int32
            `(n_peaks,)`.
        """
        if self.offsets_ind is None:
            offsets = None
        peaks, vals, sample_inds, channel_inds = local_peaks(
            cms, offsets, self.peak_threshold, self.refinement, self.integral_patch_size)
        return (peaks * tf.cast(self.cm_output_stride, tf.float32), vals, sample_inds,
                channel_inds)


class BottomUpInferenceLayer(_LocalPeaksLayer):
    """Bottom-up model inference: local peaks grouped into instances with PAFs.

    Attributes:
        keras_model: Model predicting multi-instance confidence maps and PAFs.
        paf_scorer: A :class:`~sleapish.nn.paf_grouping.PAFScorer` configured for the
            model's skeleton.
        input_scale: Resize factor applied to the images before the model.
        pad_to_stride: Pad images to a multiple of this (the model's max stride).
        cm_output_stride: Stride of the confidence maps relative to the scaled image;
            inferred when None.
        paf_output_stride: Stride of the PAFs relative to the scaled image; inferred
            when None.
        peak_threshold: Minimum confidence map value for a valid local peak.
        refinement: None, "integral" or "local" (SLEAP's layer default); no effect
            when the model has an offset regression head.
        integral_patch_size: Patch size for integral refinement.
        return_confmaps: Also return "confmaps".
        return_pafs: Also return "part_affinity_fields".
        return_paf_graph: Also return the peaks and scored candidate connections
            ("peaks", "peak_vals", "peak_channel_inds", "edge_inds",
            "edge_peak_inds", "line_scores").
        confmaps_ind: Output index of the maps ("MultiInstanceConfmapsHead").
        pafs_ind: Output index of the PAFs ("PartAffinityFieldsHead").
        offsets_ind: Output index of the offsets ("OffsetRefinementHead").
        peak_finding: The frozen :class:`PeakFindingConfig` behind
            `peak_threshold`, `refinement` and `integral_patch_size`; when passed, it
            replaces those three arguments.
    """

    _setting_names = _LocalPeaksLayer._setting_names + (
        "paf_output_stride", "return_pafs", "return_paf_graph", "pafs_ind",
        "paf_scorer_settings")

    def __init__(self, keras_model, paf_scorer, input_scale: float = 1.0,
                 pad_to_stride: int = 1, cm_output_stride: Optional[int] = None,
                 paf_output_stride: Optional[int] = None, peak_threshold: float = 0.2,
                 refinement: Optional[str] = "local", integral_patch_size: int = 5,
                 return_confmaps: bool = False, return_pafs: bool = False,
                 return_paf_graph: bool = False, confmaps_ind: Optional[int] = None,
                 pafs_ind: Optional[int] = None, offsets_ind: Optional[int] = None,
                 peak_finding: Optional[PeakFindingConfig] = None, **kwargs):
        super().__init__(keras_model=keras_model, input_scale=input_scale,
                         pad_to_stride=pad_to_stride, **kwargs)
        self.paf_scorer = paf_scorer
        self._init_peaks(confmaps_ind, offsets_ind, cm_output_stride, peak_finding,
                         peak_threshold, refinement, integral_patch_size,
                         return_confmaps)
        self.pafs_ind = require_head(keras_model, pafs_ind, "PartAffinityFieldsHead")
        if paf_output_stride is None:
            paf_output_stride = infer_output_stride(keras_model, self.pafs_ind)
        self.paf_output_stride = int(paf_output_stride)
        self.return_pafs = bool(return_pafs)
        self.return_paf_graph = bool(return_paf_graph)

    @property
    def paf_scorer_settings(self) -> tuple:
        """The scorer's skeleton, stride and :class:`PAFGroupingConfig` (hashable)."""
        s = self.paf_scorer
        return (tuple(s.part_names), tuple(map(tuple, s.edges)), s.pafs_stride,
                s.grouping, s.in_graph)

    def forward_pass(self, data):
        """Preprocess and run the model.

        Returns:
            `(cms, pafs, offsets)`; `offsets` is None without an offset head.
        """
        outs = model_outputs(self.keras_model, self.preprocess(get_images(data)))
        offsets = outs[self.offsets_ind] if self.offsets_ind is not None else None
        return outs[self.confmaps_ind], outs[self.pafs_ind], offsets

    def call(self, data) -> Dict[str, tf.Tensor]:
        """Predict the instances of each image.

        Args:
            data: `(samples, height, width, channels)` images, or a dict with "image".

        Returns:
            Dict of ragged tensors: "instance_peaks" float32 `(samples, (n), nodes,
            2)` (NaN for missing nodes), "instance_peak_vals" float32 `(samples, (n),
            nodes)`, "instance_scores" float32 `(samples, (n))` (sum of the
            instance's connection scores); plus "confmaps", "part_affinity_fields" and
            the PAF graph keys when requested.
        """
        cms, pafs, offsets = self.forward_pass(data)
        peaks, vals, sample_inds, channel_inds = self.find_peaks(cms, offsets)
        n_samples = tf.shape(cms)[0]
        peaks = group_by_sample(peaks, sample_inds, n_samples)
        vals = group_by_sample(vals, sample_inds, n_samples)
        channel_inds = group_by_sample(channel_inds, sample_inds, n_samples)
        (instances, peak_scores, instance_scores, edge_inds, edge_peak_inds,
         line_scores) = self.paf_scorer.predict(pafs, peaks, vals, channel_inds)
        out = {"instance_peaks": _unscale(instances, self.input_scale),
               "instance_peak_vals": peak_scores,
               "instance_scores": instance_scores}
        if self.return_confmaps:
            out["confmaps"] = cms
        if self.return_pafs:
            out["part_affinity_fields"] = pafs
        if self.return_paf_graph:
            out.update(peaks=peaks, peak_vals=vals, peak_channel_inds=channel_inds,
                       edge_inds=edge_inds, edge_peak_inds=edge_peak_inds,
                       line_scores=line_scores)
        return out


class BottomUpMultiClassInferenceLayer(_LocalPeaksLayer):
    """Bottom-up identity model inference: local peaks grouped by class maps.

    Attributes:
        keras_model: Model predicting multi-instance confidence maps and class maps.
        input_scale: Resize factor applied to the images before the model.
        pad_to_stride: Pad images to a multiple of this (the model's max stride).
        cm_output_stride: Stride of the confidence maps; inferred when None.
        class_maps_output_stride: Stride of the class maps; inferred when None.
        peak_threshold: Minimum confidence map value for a valid local peak.
        refinement: None, "integral" or "local"; no effect with an offset head.
        integral_patch_size: Patch size for integral refinement.
        return_confmaps: Also return "confmaps".
        return_class_maps: Also return "class_maps".
        confmaps_ind: Output index of the maps ("MultiInstanceConfmapsHead").
        class_maps_ind: Output index of the class maps ("ClassMapsHead").
        offsets_ind: Output index of the offsets ("OffsetRefinementHead").
        peak_finding: The frozen :class:`PeakFindingConfig` behind
            `peak_threshold`, `refinement` and `integral_patch_size`; when passed, it
            replaces those three arguments.
        in_graph: Assign peaks to classes with graph ops (exportable) instead of a
            scipy callback; same results.
    """

    _setting_names = _LocalPeaksLayer._setting_names + (
        "class_maps_output_stride", "return_class_maps", "class_maps_ind", "in_graph")

    def __init__(self, keras_model, input_scale: float = 1.0, pad_to_stride: int = 1,
                 cm_output_stride: Optional[int] = None,
                 class_maps_output_stride: Optional[int] = None,
                 peak_threshold: float = 0.2, refinement: Optional[str] = "local",
                 integral_patch_size: int = 5, return_confmaps: bool = False,
                 return_class_maps: bool = False, confmaps_ind: Optional[int] = None,
                 class_maps_ind: Optional[int] = None, offsets_ind: Optional[int] = None,
                 peak_finding: Optional[PeakFindingConfig] = None, in_graph: bool = False,
                 **kwargs):
        super().__init__(keras_model=keras_model, input_scale=input_scale,
                         pad_to_stride=pad_to_stride, **kwargs)
        self._init_peaks(confmaps_ind, offsets_ind, cm_output_stride, peak_finding,
                         peak_threshold, refinement, integral_patch_size,
                         return_confmaps)
        self.class_maps_ind = require_head(keras_model, class_maps_ind, "ClassMapsHead")
        if class_maps_output_stride is None:
            class_maps_output_stride = infer_output_stride(keras_model,
                                                           self.class_maps_ind)
        self.class_maps_output_stride = int(class_maps_output_stride)
        self.return_class_maps = bool(return_class_maps)
        self.in_graph = bool(in_graph)

    def forward_pass(self, data):
        """Preprocess and run the model.

        Returns:
            `(cms, class_maps, offsets)`; `offsets` is None without an offset head.
        """
        outs = model_outputs(self.keras_model, self.preprocess(get_images(data)))
        offsets = outs[self.offsets_ind] if self.offsets_ind is not None else None
        return outs[self.confmaps_ind], outs[self.class_maps_ind], offsets

    def call(self, data) -> Dict[str, tf.Tensor]:
        """Predict the instances of each image, one per class.

        Args:
            data: `(samples, height, width, channels)` images, or a dict with "image".

        Returns:
            Dict with "instance_peaks" float32 `(samples, n_classes, nodes, 2)`,
            "instance_peak_vals" `(samples, n_classes, nodes)` and "instance_scores"
            `(samples, n_classes, nodes)` (class probability of each assigned peak),
            NaN where no peak was assigned; plus "confmaps" / "class_maps" when
            requested.
        """
        cms, class_maps, offsets = self.forward_pass(data)
        peaks, vals, sample_inds, channel_inds = self.find_peaks(cms, offsets)
        stride = tf.cast(self.class_maps_output_stride, tf.float32)
        points, point_vals, scores = classify_peaks_from_maps(
            class_maps, peaks / stride, vals, sample_inds, channel_inds,
            n_channels=tf.shape(cms)[3], in_graph=self.in_graph)
        out = {"instance_peaks": _unscale(points * stride, self.input_scale),
               "instance_peak_vals": point_vals, "instance_scores": scores}
        if self.return_confmaps:
            out["confmaps"] = cms
        if self.return_class_maps:
            out["class_maps"] = class_maps
        return out


__all__ = ["BottomUpInferenceLayer", "BottomUpMultiClassInferenceLayer"]

"""SLEAP's predictors: single instance, top-down and bottom-up (and, re-exported, the
identity predictors), each built from its models with `from_models` or from model
folders with `from_trained_models`.

Example:
    >>> predictor = TopDownPredictor.from_trained_models("models/centroid",
    ...                                                  "models/centered_instance")
    >>> labels = predictor.predict("video.mp4")            # sleap_io.Labels
"""

from __future__ import annotations

from typing import Any, Optional

import attrs
import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn.data.providers import ArrayReader, make_provider
from sleapish.nn.inference import layers_bottomup as LB
from sleapish.nn.inference import layers_topdown as LT
from sleapish.nn.inference import models as M
from sleapish.nn.inference.layers import SingleInstanceInferenceLayer
from sleapish.nn.inference.loading import keras_model_of
from sleapish.nn.inference.predictor_base import Predictor, _TopDownBase
from sleapish.nn.inference.predictors_identity import (
    BottomUpMultiClassPredictor,
    TopDownMultiClassPredictor,
)
from sleapish.nn.inference.results import instances_from_arrays
from sleapish.nn.paf_grouping import PAFScorer
from sleapish.nn.settings import PAFGroupingConfig


@attrs.define
class SingleInstancePredictor(Predictor):
    """One instance per frame (SLEAP's `SingleInstancePredictor`)."""


    confmap_config: Any = None
    confmap_model: Any = None

    @classmethod
    def from_trained_models(cls, model_path, peak_threshold: float = 0.2,
                            integral_refinement: bool = True, integral_patch_size: int = 5,
                            batch_size: int = 4, resize_input_layer: bool = True
                            ) -> SingleInstancePredictor:
        """Load a single-instance model folder."""
        return cls._load_trained(model_path, peak_threshold, integral_refinement,
                                 integral_patch_size, batch_size, resize_input_layer)

    @classmethod
    def _model_fields(cls, models, max_instances):
        cfg, model = models["single_instance"]
        return dict(confmap_config=cfg, confmap_model=model)

    def _build_inference_model(self):
        cfg, km = self.confmap_config, keras_model_of(self.confmap_model)
        pre = cfg.data.preprocessing
        return M.SingleInstanceInferenceModel(SingleInstanceInferenceLayer(
            km, input_scale=pre.input_scaling, pad_to_stride=pre.pad_to_stride or 1,
            output_stride=cfg.model.heads.single_instance.output_stride,
            peak_finding=self.peak_finding))

    @property
    def skeleton(self):
        """The model's skeleton."""
        return self.confmap_config.data.labels.skeletons[0]

    def _frame_instances(self, out, i):
        pts, vals = out["instance_peaks"][i], out["instance_peak_vals"][i]
        scores = np.array([np.nansum(v) for v in vals])
        return instances_from_arrays(pts, vals, scores, self.skeleton)


@attrs.define
class TopDownPredictor(_TopDownBase):
    """Centroid + centered-instance models (SLEAP's `TopDownPredictor`)."""


    @classmethod
    def from_trained_models(cls, centroid_model_path=None, confmap_model_path=None,
                            batch_size: int = 4, peak_threshold: float = 0.2,
                            integral_refinement: bool = True, integral_patch_size: int = 5,
                            resize_input_layer: bool = True,
                            max_instances: Optional[int] = None) -> TopDownPredictor:
        """Load the centroid and/or centered-instance model folders (one may be None:
        that half then comes from ground-truth labels)."""
        paths = [p for p in (centroid_model_path, confmap_model_path) if p is not None]
        return cls._load_trained(paths, peak_threshold, integral_refinement,
                                 integral_patch_size, batch_size, resize_input_layer,
                                 max_instances=max_instances)

    def _build_inference_model(self):
        if self.centroid_config is None and self.confmap_config is None:
            raise InvalidValueError("A top-down predictor needs a centroid or a "
                                    "centered-instance model. Received: neither")
        common = dict(peak_finding=self.peak_finding)
        crop_layer = self._crop_layer(common)
        if self.confmap_config is None:
            return M.TopDownInferenceModel(crop_layer, LT.FindInstancePeaksGroundTruth())
        cfg = self.confmap_config
        inst_layer = LT.FindInstancePeaks(
            keras_model_of(self.confmap_model),
            input_scale=cfg.data.preprocessing.input_scaling, resize_input_image=False,
            output_stride=cfg.model.heads.centered_instance.output_stride, **common)
        return M.TopDownInferenceModel(crop_layer, inst_layer)

    def _frame_instances(self, out, i):
        pts = self._rows(out, "instance_peaks", i)
        vals = self._rows(out, "instance_peak_vals", i)
        if "centroid_vals" in out:
            scores = self._rows(out, "centroid_vals", i)
        else:
            scores = np.ones(len(pts))
        return instances_from_arrays(pts, vals, scores, self.skeleton)


@attrs.define
class BottomUpPredictor(Predictor):
    """Bottom-up model with PAF grouping (SLEAP's `BottomUpPredictor`)."""


    bottomup_config: Any = None
    bottomup_model: Any = None
    max_edge_length_ratio: float = 0.25
    dist_penalty_weight: float = 1.0
    paf_line_points: int = 10
    min_line_scores: float = 0.25
    max_instances: Optional[int] = None

    @classmethod
    def from_trained_models(cls, model_path, batch_size: int = 4,
                            peak_threshold: float = 0.2, integral_refinement: bool = True,
                            integral_patch_size: int = 5, max_edge_length_ratio: float = 0.25,
                            dist_penalty_weight: float = 1.0, paf_line_points: int = 10,
                            min_line_scores: float = 0.25, resize_input_layer: bool = True,
                            max_instances: Optional[int] = None) -> BottomUpPredictor:
        """Load a bottom-up model folder with SLEAP 1.4.1's grouping defaults."""
        pred = cls._load_trained(model_path, peak_threshold, integral_refinement,
                                 integral_patch_size, batch_size, resize_input_layer,
                                 max_instances=max_instances)
        pred.max_edge_length_ratio = max_edge_length_ratio
        pred.dist_penalty_weight = dist_penalty_weight
        pred.paf_line_points = paf_line_points
        pred.min_line_scores = min_line_scores
        pred._initialize_inference_model()
        return pred

    @classmethod
    def _model_fields(cls, models, max_instances):
        cfg, model = models["multi_instance"]
        return dict(bottomup_config=cfg, bottomup_model=model, max_instances=max_instances)

    def _build_inference_model(self):
        cfg, km = self.bottomup_config, keras_model_of(self.bottomup_model)
        head = cfg.model.heads.multi_instance
        pre = cfg.data.preprocessing
        scorer = PAFScorer.from_config(head, grouping=self.paf_grouping)
        return M.BottomUpInferenceModel(LB.BottomUpInferenceLayer(
            km, scorer, input_scale=pre.input_scaling, pad_to_stride=pre.pad_to_stride or 1,
            cm_output_stride=head.confmaps.output_stride,
            paf_output_stride=head.pafs.output_stride, peak_finding=self.peak_finding))

    @property
    def paf_grouping(self) -> PAFGroupingConfig:
        """The frozen PAF grouping settings given to the scorer (SLEAP's predictor
        fields; instances are not filtered by their number of peaks)."""
        return PAFGroupingConfig(max_edge_length_ratio=self.max_edge_length_ratio,
                                 dist_penalty_weight=self.dist_penalty_weight,
                                 n_points=self.paf_line_points, min_instance_peaks=0,
                                 min_line_scores=self.min_line_scores)

    @property
    def skeleton(self):
        """The model's skeleton."""
        return self.bottomup_config.data.labels.skeletons[0]

    def _frame_instances(self, out, i):
        insts = instances_from_arrays(self._rows(out, "instance_peaks", i),
                                      self._rows(out, "instance_peak_vals", i),
                                      self._rows(out, "instance_scores", i), self.skeleton)
        if self.max_instances is not None:  # as SLEAP: the highest scores (stable)
            insts = sorted(insts, key=lambda inst: inst.score, reverse=True)
            insts = insts[:self.max_instances]
        return insts


__all__ = [
    "ArrayReader",
    "make_provider",
    "keras_model_of",
    "Predictor",
    "SingleInstancePredictor",
    "TopDownPredictor",
    "BottomUpPredictor",
    "BottomUpMultiClassPredictor",
    "TopDownMultiClassPredictor",
]

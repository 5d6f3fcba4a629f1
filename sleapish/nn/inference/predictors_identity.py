"""Identity predictors (SLEAP's `BottomUpMultiClassPredictor` and
`TopDownMultiClassPredictor`): instances are the model's classes, named as its tracks."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import attrs
import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn.inference import layers_bottomup as LB
from sleapish.nn.inference import layers_topdown as LT
from sleapish.nn.inference import models as M
from sleapish.nn.inference.loading import keras_model_of
from sleapish.nn.inference.predictor_base import Predictor, _TopDownBase
from sleapish.nn.inference.results import instances_from_arrays


def _class_instances(out, i, skeleton, tracks, instance_scores) -> list:
    """Instances of frame `i` of an identity model, as SLEAP 1.4.1 builds them.

    Row k of the outputs is class k (track k). The tracking score is the class
    probability (the mean over nodes for bottom-up class maps). The instance score is
    given per class row by `instance_scores` (float `(n_classes,)`, NaN where absent).
    """
    pts, vals = out["instance_peaks"][i], out["instance_peak_vals"][i]
    keep = [k for k in range(len(pts)) if not np.isnan(pts[k]).all()]
    probs = np.reshape(out["instance_scores"][i], (len(pts), -1))
    tracking = _row_nanmean(probs)[keep]
    inst = instances_from_arrays(pts[keep], vals[keep],
                                 np.asarray(instance_scores, np.float64)[keep], skeleton,
                                 tracks=[tracks[k] for k in keep])
    for p, score in zip(inst, tracking):
        p.tracking_score = float(score)
    return inst


def _row_nanmean(rows: np.ndarray) -> np.ndarray:
    """float64 `(n,)` mean of each row of `(n, m)`, ignoring NaN (NaN for an all-NaN
    row)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.asarray(rows, np.float64), axis=-1)


def _positional_centroid_scores(out, i, n_classes: int) -> np.ndarray:
    """SLEAP 1.4.1's top-down identity instance scores: class row k takes the
    centroid value of the k-th centroid of the frame (not of the crop assigned to
    class k), NaN-padded across the batch; NaN when there is no k-th centroid."""
    cvals = np.asarray(out["centroid_vals"][i], np.float64).reshape(-1)
    scores = np.full(n_classes, np.nan)
    n = min(n_classes, len(cvals))
    scores[:n] = cvals[:n]
    return scores


def _class_tracks(names):
    import sleap_io as sio

    return [sio.Track(name) for name in names]


@attrs.define
class BottomUpMultiClassPredictor(Predictor):
    """Bottom-up identity model: instances are the model's classes (tracks)."""


    config: Any = None
    model: Any = None
    _tracks: Optional[list] = None

    @classmethod
    def from_trained_models(cls, model_path, batch_size: int = 4,
                            peak_threshold: float = 0.2, integral_refinement: bool = True,
                            integral_patch_size: int = 5, resize_input_layer: bool = True
                            ) -> BottomUpMultiClassPredictor:
        """Load a bottom-up identity model folder."""
        return cls._load_trained(model_path, peak_threshold, integral_refinement,
                                 integral_patch_size, batch_size, resize_input_layer)

    @classmethod
    def _model_fields(cls, models, max_instances):
        cfg, model = models["multi_class_bottomup"]
        return dict(config=cfg, model=model)

    def _build_inference_model(self):
        cfg, km = self.config, keras_model_of(self.model)
        head = cfg.model.heads.multi_class_bottomup
        pre = cfg.data.preprocessing
        return M.BottomUpMultiClassInferenceModel(LB.BottomUpMultiClassInferenceLayer(
            km, input_scale=pre.input_scaling, pad_to_stride=pre.pad_to_stride or 1,
            cm_output_stride=head.confmaps.output_stride,
            class_maps_output_stride=head.class_maps.output_stride,
            peak_finding=self.peak_finding))

    @property
    def skeleton(self):
        """The model's skeleton."""
        return self.config.data.labels.skeletons[0]

    @property
    def tracks(self):
        """One track per class, named as in the config."""
        if self._tracks is None:
            self._tracks = _class_tracks(
                self.config.model.heads.multi_class_bottomup.class_maps.classes)
        return self._tracks

    def _frame_instances(self, out, i):
        scores = _row_nanmean(out["instance_peak_vals"][i])
        return _class_instances(out, i, self.skeleton, self.tracks, scores)


@attrs.define
class TopDownMultiClassPredictor(_TopDownBase):
    """Top-down identity model: each class gets at most one instance per frame."""


    _tracks: Optional[list] = None

    @classmethod
    def from_trained_models(cls, centroid_model_path=None, confmap_model_path=None,
                            batch_size: int = 4, peak_threshold: float = 0.2,
                            integral_refinement: bool = True, integral_patch_size: int = 5,
                            resize_input_layer: bool = True
                            ) -> TopDownMultiClassPredictor:
        """Load the centroid and the top-down identity model folders."""
        paths = [p for p in (centroid_model_path, confmap_model_path) if p is not None]
        return cls._load_trained(paths, peak_threshold, integral_refinement,
                                 integral_patch_size, batch_size, resize_input_layer)

    def _build_inference_model(self):
        if self.confmap_config is None:
            raise InvalidValueError("A multi-class top-down predictor needs its "
                                    "centered-instance (class vectors) model. Received: "
                                    "centroid model only")
        common = dict(peak_finding=self.peak_finding)
        cfg = self.confmap_config
        inst_layer = LT.TopDownMultiClassFindPeaks(
            keras_model_of(self.confmap_model),
            input_scale=cfg.data.preprocessing.input_scaling, resize_input_image=False,
            output_stride=cfg.model.heads.multi_class_topdown.confmaps.output_stride,
            **common)
        return M.TopDownMultiClassInferenceModel(self._crop_layer(common), inst_layer)

    @property
    def tracks(self):
        """One track per class, named as in the config."""
        if self._tracks is None:
            self._tracks = _class_tracks(
                self.confmap_config.model.heads.multi_class_topdown.class_vectors.classes)
        return self._tracks

    def _frame_instances(self, out, i):
        n_classes = len(out["instance_peaks"][i])
        if "centroid_vals" in out:
            scores = _positional_centroid_scores(out, i, n_classes)
        else:
            scores = np.ones(n_classes)
        return _class_instances(out, i, self.skeleton, self.tracks, scores)


__all__ = ["BottomUpMultiClassPredictor", "TopDownMultiClassPredictor"]

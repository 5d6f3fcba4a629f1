"""`load_model`: model folder(s) -> the matching predictor (SLEAP's `sleap.load_model`)."""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

from sleapish.nn.config import load_config
from sleapish.nn.inference import layers_bottomup as LB
from sleapish.nn.inference import layers_topdown as LT
from sleapish.nn.inference import models as M
from sleapish.nn.inference import predictors as P
from sleapish.nn.inference import predictors_identity as PI
from sleapish.nn.inference.export_common import is_export_folder
from sleapish.nn.inference.exported import load_exported
from sleapish.nn.inference.predictors import keras_model_of
from sleapish.nn.inference.layers import SingleInstanceInferenceLayer
from sleapish.nn.inference.loading import (
    ModelFolderError,
    load_keras_model,
    reset_input_layer,
    resolve_model_folder,
)
from sleapish.nn.paf_grouping import PAFScorer

PathLike = Union[str, os.PathLike]


def _load(path: PathLike, resize_input_layer: bool):
    path = resolve_model_folder(path)
    try:
        cfg = load_config(path)
    except FileNotFoundError as e:
        raise ModelFolderError(f"Model folder {path} is missing its config: {e}") from None
    km = load_keras_model(path)
    if resize_input_layer:
        km = reset_input_layer(km)
    return cfg, km


def load_model(model_path: Union[PathLike, Sequence[PathLike]], batch_size: int = 4,
               peak_threshold: float = 0.2, refinement: str = "integral",
               tracker: Optional[str] = None, tracker_window: int = 5,
               tracker_max_instances: Optional[int] = None,
               disable_gpu_preallocation: bool = True, progress_reporting: str = "rich",
               resize_input_layer: bool = True, max_instances: Optional[int] = None,
               integral_patch_size: int = 5):
    """Load trained model folder(s) and return a ready predictor.

    Args:
        model_path: One folder (single instance, bottom-up, multi-class, or one half of
            top-down) or two folders (centroid + centered instance, in any order); a
            folder may also be given by its `training_config.json` or as a `.zip`.
            An export folder (from `export_model` / `sleapish-export`) loads alone: the
            predictor runs its SavedModel, with the settings it was exported with
            (the peak-finding arguments here are then not used).
        batch_size: Frames per batch.
        peak_threshold: Minimum confidence map value of a peak.
        refinement: "integral" (default), "local" or None; an offset head overrides it.
        tracker: Name of a tracker (see the tracking module), or None.
        tracker_window: Frames the tracker looks back.
        tracker_max_instances: Maximum number of tracks.
        disable_gpu_preallocation: Let TensorFlow grow GPU memory as needed.
        progress_reporting: "rich", "json" or "none".
        resize_input_layer: Accept frames of any size (multiples of the max stride);
            if False, the models keep the input shape they were trained with.
        max_instances: Keep at most this many instances per frame (top-down, bottom-up).
        integral_patch_size: Patch size of integral refinement.

    Returns:
        A :class:`~sleapish.nn.inference.predictors.Predictor` subclass.

    Raises:
        ModelFolderError: For a missing or incomplete model folder.
        ValueError: For a combination of models that makes no predictor.
    """
    if disable_gpu_preallocation:
        from sleapish.nn._backend import tf

        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:
                pass
    paths = [model_path] if isinstance(model_path, (str, os.PathLike)) else list(model_path)
    if not paths:
        raise ValueError("load_model needs at least one model folder. Received: []")
    exported = [p for p in paths if is_export_folder(p)]
    if exported:
        if len(paths) > 1:
            raise ValueError("An exported model folder holds the whole model: pass it "
                             f"alone. Received: {[str(p) for p in paths]}")
        predictor = load_exported(exported[0], batch_size=batch_size,
                                  progress_reporting=progress_reporting)
    else:
        loaded = [_load(p, resize_input_layer) for p in paths]
        predictor = predictor_from_models(
            loaded, batch_size=batch_size, peak_threshold=peak_threshold,
            refinement=refinement, max_instances=max_instances,
            integral_patch_size=integral_patch_size,
            progress_reporting=progress_reporting, names=[str(p) for p in paths])
    if tracker is not None:
        from sleapish.nn.tracking import make_tracker_by_name

        use_max = tracker_max_instances is not None  # as SLEAP: a cap picks the
        if use_max and not tracker.endswith("maxtracks"):  # max-tracks variants
            tracker += "maxtracks"
        predictor.tracker = make_tracker_by_name(
            tracker=tracker, track_window=tracker_window, post_connect_single_breaks=True,
            max_tracking=use_max, max_tracks=tracker_max_instances)
    return predictor


def _wrap(cfg, keras_model):
    """A :class:`sleapish.nn.model.Model` (SLEAP's model wrapper) around a loaded
    Keras model: backbone and heads from the config, `keras_model` set."""
    from sleapish.nn.model import Model

    skeletons = cfg.data.labels.skeletons
    try:
        model = Model.from_config(cfg.model, skeleton=skeletons[0] if skeletons else None)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        model = Model(backbone=None, heads=[])  # config without names: network only
    model.keras_model = keras_model
    return model


def predictor_from_models(models, batch_size: int = 4, peak_threshold: float = 0.2,
                          refinement: str = "integral",
                          max_instances: Optional[int] = None,
                          integral_patch_size: int = 5,
                          progress_reporting: str = "rich", names=None):
    """The predictor for in-memory `(config, keras_model)` pairs.

    What :func:`load_model` does after loading the folders; the trainer uses it to
    evaluate a model it has just trained.

    Args:
        models: Sequence of `(TrainingJobConfig, tf_keras.Model)` pairs.
        batch_size: Frames per batch.
        peak_threshold: Minimum confidence map value of a peak.
        refinement: "integral", "local" or None.
        max_instances: Keep at most this many instances per frame.
        integral_patch_size: Patch size of integral refinement.
        progress_reporting: "rich", "json" or "none".
        names: Names of the models for error messages.

    Raises:
        ValueError: For a combination of models that makes no predictor.
    """
    if refinement not in ("integral", "local", None):
        raise ValueError("refinement must be 'integral', 'local' or None. "
                         f"Received: {refinement!r}")
    kinds = {cfg.model.heads.which_oneof_attrib_name(): (cfg, _wrap(cfg, km))
             for cfg, km in models}
    settings = dict(peak_threshold=peak_threshold, integral_patch_size=integral_patch_size,
                    integral_refinement=None if refinement is None
                    else refinement == "integral")
    topdown = ("centroid", "centered_instance", "multi_class_topdown")
    if "single_instance" in kinds:
        cfg, model = kinds["single_instance"]
        predictor = P.SingleInstancePredictor(confmap_config=cfg, confmap_model=model,
                                              **settings)
    elif any(k in kinds for k in topdown):
        centroid = kinds.get("centroid")
        instance = kinds.get("centered_instance") or kinds.get("multi_class_topdown")
        cls = (PI.TopDownMultiClassPredictor if "multi_class_topdown" in kinds
               else P.TopDownPredictor)
        predictor = cls(centroid_config=centroid[0] if centroid else None,
                        centroid_model=centroid[1] if centroid else None,
                        confmap_config=instance[0] if instance else None,
                        confmap_model=instance[1] if instance else None,
                        max_instances=max_instances, **settings)
    elif "multi_instance" in kinds:
        cfg, model = kinds["multi_instance"]
        predictor = P.BottomUpPredictor(bottomup_config=cfg, bottomup_model=model,
                                        max_instances=max_instances, **settings)
    elif "multi_class_bottomup" in kinds:
        cfg, model = kinds["multi_class_bottomup"]
        predictor = PI.BottomUpMultiClassPredictor(config=cfg, model=model, **settings)
    else:
        raise ValueError(f"No predictor for models of types {sorted(kinds)}. "
                         f"Received: {names or sorted(kinds)}")
    predictor.batch_size = batch_size
    predictor.verbosity = progress_reporting
    predictor._initialize_inference_model()
    return predictor


def build_inference_model(predictor):
    """The inference model for a predictor's configs, models and settings (what each
    predictor's `_initialize_inference_model` builds, as SLEAP's do).

    Args:
        predictor: A :class:`~sleapish.nn.inference.predictors.Predictor`.

    Returns:
        An :class:`~sleapish.nn.inference.models.InferenceModel`.

    Raises:
        ValueError: If a top-down predictor has neither model, or a multi-class
            top-down one lacks its centered-instance model.
    """
    common = dict(peak_finding=predictor.peak_finding)
    if isinstance(predictor, P.SingleInstancePredictor):
        cfg, km = predictor.confmap_config, keras_model_of(predictor.confmap_model)
        pre = cfg.data.preprocessing
        return M.SingleInstanceInferenceModel(SingleInstanceInferenceLayer(
            km, input_scale=pre.input_scaling, pad_to_stride=pre.pad_to_stride or 1,
            output_stride=cfg.model.heads.single_instance.output_stride, **common))
    if isinstance(predictor, P.BottomUpPredictor):
        cfg, km = predictor.bottomup_config, keras_model_of(predictor.bottomup_model)
        head = cfg.model.heads.multi_instance
        pre = cfg.data.preprocessing
        scorer = PAFScorer.from_config(head, grouping=predictor.paf_grouping)
        return M.BottomUpInferenceModel(LB.BottomUpInferenceLayer(
            km, scorer, input_scale=pre.input_scaling, pad_to_stride=pre.pad_to_stride or 1,
            cm_output_stride=head.confmaps.output_stride,
            paf_output_stride=head.pafs.output_stride, **common))
    if isinstance(predictor, PI.BottomUpMultiClassPredictor):
        cfg, km = predictor.config, keras_model_of(predictor.model)
        head = cfg.model.heads.multi_class_bottomup
        pre = cfg.data.preprocessing
        return M.BottomUpMultiClassInferenceModel(LB.BottomUpMultiClassInferenceLayer(
            km, input_scale=pre.input_scaling, pad_to_stride=pre.pad_to_stride or 1,
            cm_output_stride=head.confmaps.output_stride,
            class_maps_output_stride=head.class_maps.output_stride, **common))
    return _topdown(predictor, common)


def _topdown(predictor, common):
    multiclass = isinstance(predictor, PI.TopDownMultiClassPredictor)
    crop_cfg = predictor.confmap_config
    if predictor.centroid_config is None and crop_cfg is None:
        raise ValueError("A top-down predictor needs a centroid or a centered-instance "
                         "model. Received: neither")
    if multiclass and crop_cfg is None:
        raise ValueError("A multi-class top-down predictor needs its centered-instance "
                         "(class vectors) model. Received: centroid model only")
    crop_size = crop_cfg.data.instance_cropping.crop_size if crop_cfg else None
    precrop = crop_cfg.data.preprocessing.input_scaling if crop_cfg else 1.0
    if predictor.centroid_config is not None:
        cfg, km = predictor.centroid_config, keras_model_of(predictor.centroid_model)
        pre = cfg.data.preprocessing
        crop_layer = LT.CentroidCrop(
            km, crop_size=crop_size or 1, input_scale=pre.input_scaling,
            pad_to_stride=pre.pad_to_stride or 1,
            output_stride=cfg.model.heads.centroid.output_stride,
            return_crops=crop_cfg is not None, max_instances=predictor.max_instances,
            precrop_resize=precrop, **common)
    else:
        crop_layer = LT.CentroidCropGroundTruth(crop_size, precrop_resize=precrop)
    if crop_cfg is None:
        return M.TopDownInferenceModel(crop_layer, LT.FindInstancePeaksGroundTruth())
    heads, km = crop_cfg.model.heads, keras_model_of(predictor.confmap_model)
    if multiclass:
        inst_layer = LT.TopDownMultiClassFindPeaks(
            km, input_scale=precrop, resize_input_image=False,
            output_stride=heads.multi_class_topdown.confmaps.output_stride, **common)
        return M.TopDownMultiClassInferenceModel(crop_layer, inst_layer)
    inst_layer = LT.FindInstancePeaks(
        km, input_scale=precrop, resize_input_image=False,
        output_stride=heads.centered_instance.output_stride, **common)
    return M.TopDownInferenceModel(crop_layer, inst_layer)


__all__ = ["load_model", "predictor_from_models", "build_inference_model"]

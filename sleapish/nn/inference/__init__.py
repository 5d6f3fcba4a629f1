"""Inference: SLEAP's `sleap.nn.inference`, with the same public names.

Low level (this package's `layers*` and `models` modules): Keras layers that wrap a
trained model with its preprocessing and peak finding, and `InferenceModel`s that chain
them and predict on arrays, tensors, dicts, datasets and videos. High level: predictors
(`load_model`), the `sleapish-track` and `sleapish-export` command lines under SLEAP's
names (`main`, `export_cli`, ...).

Every public name is importable as `sleapish.nn.inference.X`; each is imported from its
module on first use, so `sleapish-track --help` and argument errors do not import
TensorFlow.
"""

import importlib as _importlib

#: Public name -> the module defining it.
_ORIGINS = {
    "InferenceLayer": "sleapish.nn.inference.layers",
    "SingleInstanceInferenceLayer": "sleapish.nn.inference.layers",
    "check_refinement": "sleapish.nn.inference.layers",
    "global_peaks": "sleapish.nn.inference.layers",
    "group_by_sample": "sleapish.nn.inference.layers",
    "infer_output_stride": "sleapish.nn.inference.layers",
    "local_peaks": "sleapish.nn.inference.layers",
    "resize_images": "sleapish.nn.inference.layers",
    "to_image_coords": "sleapish.nn.inference.layers",
    "PAFGroupingConfig": "sleapish.nn.settings",
    "PeakFindingConfig": "sleapish.nn.settings",
    "BottomUpInferenceLayer": "sleapish.nn.inference.layers_bottomup",
    "BottomUpMultiClassInferenceLayer": "sleapish.nn.inference.layers_bottomup",
    "CentroidCrop": "sleapish.nn.inference.layers_topdown",
    "CentroidCropGroundTruth": "sleapish.nn.inference.layers_topdown",
    "FindInstancePeaks": "sleapish.nn.inference.layers_topdown",
    "FindInstancePeaksGroundTruth": "sleapish.nn.inference.layers_topdown",
    "TopDownMultiClassFindPeaks": "sleapish.nn.inference.layers_topdown",
    "crop_around_centroids": "sleapish.nn.inference.layers_topdown",
    "limit_instances": "sleapish.nn.inference.layers_topdown",
    "KERAS_MODEL_NAMES": "sleapish.nn.inference.loading",
    "ModelFolderError": "sleapish.nn.inference.loading",
    "find_head": "sleapish.nn.inference.loading",
    "get_keras_model_path": "sleapish.nn.inference.loading",
    "get_model_output_stride": "sleapish.nn.inference.loading",
    "load_keras_model": "sleapish.nn.inference.loading",
    "reset_input_layer": "sleapish.nn.inference.loading",
    "BottomUpInferenceModel": "sleapish.nn.inference.models",
    "BottomUpMultiClassInferenceModel": "sleapish.nn.inference.models",
    "CentroidInferenceModel": "sleapish.nn.inference.models",
    "InferenceModel": "sleapish.nn.inference.models",
    "SingleInstanceInferenceModel": "sleapish.nn.inference.models",
    "TopDownInferenceModel": "sleapish.nn.inference.models",
    "TopDownMultiClassInferenceModel": "sleapish.nn.inference.models",
    "outputs_to_numpy": "sleapish.nn.inference.models",
    "load_model": "sleapish.nn.inference.loading_api",
    "ArrayReader": "sleapish.nn.inference.predictors",
    "BottomUpPredictor": "sleapish.nn.inference.predictors",
    "Predictor": "sleapish.nn.inference.predictors",
    "SingleInstancePredictor": "sleapish.nn.inference.predictors",
    "TopDownPredictor": "sleapish.nn.inference.predictors",
    "make_provider": "sleapish.nn.inference.predictors",
    "BottomUpMultiClassPredictor": "sleapish.nn.inference.predictors_identity",
    "TopDownMultiClassPredictor": "sleapish.nn.inference.predictors_identity",
    "VisualPredictor": "sleapish.nn.inference.visual",
    "CLIInputError": "sleapish.nn.inference.cli",
    "_make_cli_parser": "sleapish.nn.inference.cli",
    "_make_predictor_from_cli": "sleapish.nn.inference.cli",
    "_make_provider_from_cli": "sleapish.nn.inference.cli",
    "_make_tracker_from_cli": "sleapish.nn.inference.cli",
    "main": "sleapish.nn.inference.cli",
    "ExportError": "sleapish.nn.inference.export",
    "export_model": "sleapish.nn.inference.export",
    "_make_export_cli_parser": "sleapish.nn.inference.export_cli",
    "export_cli": "sleapish.nn.inference.export_cli",
    "ExportedInferenceModel": "sleapish.nn.inference.exported",
    "load_exported": "sleapish.nn.inference.exported",
}

__all__ = [
    "InferenceLayer",
    "SingleInstanceInferenceLayer",
    "PeakFindingConfig",
    "PAFGroupingConfig",
    "CentroidCrop",
    "CentroidCropGroundTruth",
    "FindInstancePeaks",
    "FindInstancePeaksGroundTruth",
    "TopDownMultiClassFindPeaks",
    "BottomUpInferenceLayer",
    "BottomUpMultiClassInferenceLayer",
    "InferenceModel",
    "SingleInstanceInferenceModel",
    "CentroidInferenceModel",
    "TopDownInferenceModel",
    "TopDownMultiClassInferenceModel",
    "BottomUpInferenceModel",
    "BottomUpMultiClassInferenceModel",
    "find_head",
    "get_model_output_stride",
    "get_keras_model_path",
    "load_keras_model",
    "ModelFolderError",
    "KERAS_MODEL_NAMES",
    "check_refinement",
    "infer_output_stride",
    "resize_images",
    "to_image_coords",
    "global_peaks",
    "local_peaks",
    "group_by_sample",
    "crop_around_centroids",
    "limit_instances",
    "outputs_to_numpy",
    "reset_input_layer",
    "load_model",
    "ArrayReader",
    "make_provider",
    "Predictor",
    "SingleInstancePredictor",
    "TopDownPredictor",
    "BottomUpPredictor",
    "BottomUpMultiClassPredictor",
    "TopDownMultiClassPredictor",
    "VisualPredictor",
    "main",
    "CLIInputError",
    "export_model",
    "export_cli",
    "_make_export_cli_parser",
    "ExportError",
    "ExportedInferenceModel",
    "load_exported",
]


def __getattr__(name):
    """Import a public name from its module on first access (PEP 562)."""
    module = _ORIGINS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_ORIGINS))

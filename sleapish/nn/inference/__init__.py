"""Inference: SLEAP's `sleap.nn.inference`, with the same public names.

Low level (this package's `layers*` and `models` modules): Keras layers that wrap a
trained model with its preprocessing and peak finding, and `InferenceModel`s that chain
them and predict on arrays, tensors, dicts, datasets and videos. Every public name is
importable as `sleapish.nn.inference.X`.
"""

from sleapish.nn.inference.layers import (
    InferenceLayer,
    SingleInstanceInferenceLayer,
    check_refinement,
    global_peaks,
    group_by_sample,
    infer_output_stride,
    local_peaks,
    resize_images,
    to_image_coords,
)
from sleapish.nn.settings import PAFGroupingConfig, PeakFindingConfig
from sleapish.nn.inference.layers_bottomup import (
    BottomUpInferenceLayer,
    BottomUpMultiClassInferenceLayer,
)
from sleapish.nn.inference.layers_topdown import (
    CentroidCrop,
    CentroidCropGroundTruth,
    FindInstancePeaks,
    FindInstancePeaksGroundTruth,
    TopDownMultiClassFindPeaks,
    crop_around_centroids,
    limit_instances,
)
from sleapish.nn.inference.loading import (
    KERAS_MODEL_NAMES,
    ModelFolderError,
    find_head,
    get_keras_model_path,
    get_model_output_stride,
    load_keras_model,
)
from sleapish.nn.inference.models import (
    BottomUpInferenceModel,
    BottomUpMultiClassInferenceModel,
    CentroidInferenceModel,
    InferenceModel,
    SingleInstanceInferenceModel,
    TopDownInferenceModel,
    TopDownMultiClassInferenceModel,
    outputs_to_numpy,
)

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
]

from sleapish.nn.inference.loading import reset_input_layer  # noqa: E402
from sleapish.nn.inference.loading_api import load_model  # noqa: E402
from sleapish.nn.inference.predictors import (  # noqa: E402
    ArrayReader,
    BottomUpPredictor,
    Predictor,
    SingleInstancePredictor,
    TopDownPredictor,
    make_provider,
)
from sleapish.nn.inference.predictors_identity import (  # noqa: E402
    BottomUpMultiClassPredictor,
    TopDownMultiClassPredictor,
)
from sleapish.nn.inference.visual import VisualPredictor  # noqa: E402

__all__ += [
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
]

# `sleapish-track` under SLEAP's names (`sleap.nn.inference.main` etc.).
from sleapish.nn.inference.cli import (  # noqa: E402
    CLIInputError,
    _make_cli_parser,
    _make_predictor_from_cli,
    _make_provider_from_cli,
    _make_tracker_from_cli,
    main,
)

__all__ += ["main", "CLIInputError"]

# `sleapish-export` under SLEAP's names (`sleap.nn.inference.export_model` etc.).
from sleapish.nn.inference.export import ExportError, export_model  # noqa: E402
from sleapish.nn.inference.export_cli import (  # noqa: E402
    _make_export_cli_parser,
    export_cli,
)
from sleapish.nn.inference.exported import (  # noqa: E402
    ExportedInferenceModel,
    load_exported,
)

__all__ += ["export_model", "export_cli", "_make_export_cli_parser", "ExportError",
            "ExportedInferenceModel", "load_exported"]

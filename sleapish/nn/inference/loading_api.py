"""`load_model`: model folder(s) -> the matching predictor (SLEAP's `sleap.load_model`)."""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

from sleapish.errors import InvalidValueError
from sleapish.nn.inference import predictors  # noqa: F401 - registers the predictors
from sleapish.nn.inference.backends import check_backend
from sleapish.nn.inference.export_common import is_export_folder
from sleapish.nn.inference.exported import load_exported
from sleapish.nn.inference.loading import load_model_folder
from sleapish.nn.inference.predictor_base import Predictor

PathLike = Union[str, os.PathLike]


def load_model(model_path: Union[PathLike, Sequence[PathLike]], batch_size: int = 4,
               peak_threshold: float = 0.2, refinement: str = "integral",
               tracker: Optional[str] = None, tracker_window: int = 5,
               tracker_max_instances: Optional[int] = None,
               disable_gpu_preallocation: bool = True, progress_reporting: str = "rich",
               resize_input_layer: bool = True, max_instances: Optional[int] = None,
               integral_patch_size: int = 5, backend: str = "tensorflow",
               backend_threads: Optional[int] = None):
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
        backend: Runtime of the networks: "tensorflow" (default; the whole model is
            one graph), "onnxruntime" or "openvino" (CPU; the networks are converted
            to ONNX once, the rest stays TensorFlow; see
            :mod:`sleapish.nn.inference.backends`). Model folders only.
        backend_threads: Threads of the ONNX Runtime / OpenVINO pool (None: all
            cores).

    Returns:
        A :class:`~sleapish.nn.inference.predictors.Predictor` subclass.

    Raises:
        ModelFolderError: For a missing or incomplete model folder.
        ValueError: For a combination of models that makes no predictor, an unknown
            backend, or a backend other than "tensorflow" with an export folder.
        BackendError: If the backend's runtime is not installed.
    """
    check_backend(backend)
    if disable_gpu_preallocation:
        from sleapish.nn._backend import enable_memory_growth

        enable_memory_growth()
    paths = [model_path] if isinstance(model_path, (str, os.PathLike)) else list(model_path)
    if not paths:
        raise InvalidValueError("load_model needs at least one model folder. Received: []")
    exported = [p for p in paths if is_export_folder(p)]
    if exported:
        if len(paths) > 1:
            raise InvalidValueError("An exported model folder holds the whole model: pass it "
                                    f"alone. Received: {[str(p) for p in paths]}")
        if backend != "tensorflow":
            raise InvalidValueError(f"An exported model runs in TensorFlow only: "
                                    f"backend={backend!r} applies to model folders. "
                                    f"Received: {exported[0]}")
        predictor = load_exported(exported[0], batch_size=batch_size,
                                  progress_reporting=progress_reporting)
    else:
        loaded = [load_model_folder(p, resize_input_layer) for p in paths]
        predictor = predictor_from_models(
            loaded, batch_size=batch_size, peak_threshold=peak_threshold,
            refinement=refinement, max_instances=max_instances,
            integral_patch_size=integral_patch_size,
            progress_reporting=progress_reporting, names=[str(p) for p in paths],
            backend=backend, backend_threads=backend_threads)
    if tracker is not None:
        from sleapish.nn.tracking import make_tracker_by_name

        use_max = tracker_max_instances is not None  # as SLEAP: a cap picks the
        if use_max and not tracker.endswith("maxtracks"):  # max-tracks variants
            tracker += "maxtracks"
        predictor.tracker = make_tracker_by_name(
            tracker=tracker, track_window=tracker_window, post_connect_single_breaks=True,
            max_tracking=use_max, max_tracks=tracker_max_instances)
    return predictor


def predictor_from_models(models, batch_size: int = 4, peak_threshold: float = 0.2,
                          refinement: Optional[str] = "integral",
                          max_instances: Optional[int] = None,
                          integral_patch_size: int = 5,
                          progress_reporting: str = "rich", names=None,
                          backend: str = "tensorflow",
                          backend_threads: Optional[int] = None) -> Predictor:
    """The predictor for in-memory `(config, keras_model)` pairs.

    What :func:`load_model` does after loading the folders; the trainer uses it to
    evaluate a model it has just trained. See
    :meth:`~sleapish.nn.inference.predictor_base.Predictor.from_loaded_models`.

    Raises:
        ValueError: For a combination of models that makes no predictor.
    """
    return Predictor.from_loaded_models(
        models, batch_size=batch_size, peak_threshold=peak_threshold,
        refinement=refinement, max_instances=max_instances,
        integral_patch_size=integral_patch_size, progress_reporting=progress_reporting,
        names=names, backend=backend, backend_threads=backend_threads)


__all__ = ["load_model", "predictor_from_models"]

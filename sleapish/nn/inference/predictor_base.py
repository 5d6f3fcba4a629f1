"""The base of SLEAP's predictors: data in, `sleap_io.Labels` out.

A predictor owns the trained model(s) and configs, builds the data pipeline (frames
stay uint8 until the model's layers normalize them), runs one `tf.function` per
batch, and turns the outputs into `PredictedInstance`s, with optional tracking.
The concrete predictors (:mod:`sleapish.nn.inference.predictors`,
:mod:`sleapish.nn.inference.predictors_identity`) register themselves by name;
:meth:`Predictor.from_loaded_models` picks the one the loaded models call for
as :data:`sleapish.nn.head_kinds.HEAD_KINDS` says.

Example:
    >>> predictor = load_model(["models/centroid", "models/centered_instance"])
    >>> labels = predictor.predict("video.mp4")            # sleap_io.Labels
    >>> arrays = predictor.predict(frames, make_labels=False)  # list of dicts
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import attrs
import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn.data.dataset_ops import Batcher, Prefetcher
from sleapish.nn.data.instance_centroids import InstanceCentroidFinder
from sleapish.nn.data.pipelines import Pipeline
from sleapish.nn.data.providers import ArrayReader, LabelsReader, VideoReader, make_provider
from sleapish.nn.head_kinds import HEAD_KINDS, predictor_for_kinds
from sleapish.nn.inference import layers_topdown as LT
from sleapish.nn.inference.backends import check_backend, use_backend
from sleapish.nn.inference.export_common import is_export_folder
from sleapish.nn.inference.loading import keras_model_of, load_model_folder, wrap_model
from sleapish.nn.inference.prefetch import ordered_map, prefetched
from sleapish.nn.inference.results import (
    ProgressReporter,
    drop_outside_points,
)
from sleapish.nn.settings import PeakFindingConfig

logger = logging.getLogger("sleapish")

_PREDICTOR_CLASSES: Dict[str, type] = {}
"""Predictor classes by name, filled as they are defined (the names
:data:`~sleapish.nn.head_kinds.HEAD_KINDS` gives)."""


@attrs.define
class Predictor:
    """Base class: pipelines, batching, conversion to labels, progress.

    As in SLEAP, a predictor holds its configs and models (`*_config`,
    `*_model`: :class:`sleapish.nn.model.Model` wrappers whose `keras_model` is the
    loaded network) and the inference settings; :meth:`_initialize_inference_model`
    builds `inference_model` from them (again after a setting is changed), and
    predicting builds it when it is `None`.

    Attributes:
        inference_model: The :class:`~sleapish.nn.inference.InferenceModel`.
        batch_size: Frames per batch.
        tracker: Optional tracker applied to the predicted frames in order.
        verbosity: "rich" (progress bar), "json" (JSON lines) or "none".
        report_period: Seconds between JSON progress lines.
        peak_threshold: Minimum confidence map value of a peak.
        integral_refinement: True for integral refinement, False for SLEAP's local
            quarter-pixel refinement, None for none (an offset head overrides all).
        integral_patch_size: Patch size of integral refinement.
        progress_callback: Optional `callable(n_frames)` called after each batch.
        strict_frames: A video frame that does not decode is an error (default: it
            is skipped with a warning and listed in `skipped_frames`).
        skipped_frames: Frame indices skipped so far (reset by each `predict`).
        keep_outside_points: Keep points that refinement moved outside the image
            (SLEAP's raw behaviour); by default they become invisible (NaN).
        backend: Runtime of the networks: "tensorflow" (default: the whole model is
            one graph), "onnxruntime" or "openvino" (CPU; see
            :mod:`sleapish.nn.inference.backends`).
        backend_threads: Threads of the ONNX Runtime / OpenVINO pool (None: all cores).
        concurrent_batches: Batches predicted at once, each by its own thread (2:
            while one batch is in single-threaded ops such as peak finding or
            grouping, the other keeps the cores busy; 1: one batch at a time in the
            calling thread). Results are in order either way.
    """

    inference_model: Any = None
    batch_size: int = 4
    tracker: Any = None
    verbosity: str = "rich"
    report_period: float = 2.0
    pipeline: Any = None
    peak_threshold: float = 0.2
    integral_refinement: Optional[bool] = True
    integral_patch_size: int = 5
    progress_callback: Any = attrs.field(default=None, repr=False)
    strict_frames: bool = False
    keep_outside_points: bool = False
    backend: str = attrs.field(default="tensorflow", validator=lambda _, __, v:
                               check_backend(v))
    backend_threads: Optional[int] = None
    concurrent_batches: int = 2
    _backend_cache: Dict[Any, Any] = attrs.field(factory=dict, init=False, repr=False)
    skipped_frames: List[int] = attrs.field(factory=list, init=False, repr=False)
    _model_channels: Optional[int] = attrs.field(default=None, init=False, repr=False)
    _noted: bool = attrs.field(default=False, init=False, repr=False)

    # -------------------------------------------------------------- construction
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # attrs rebuilds slotted classes: last wins
            _PREDICTOR_CLASSES[cls.__name__] = cls

    @classmethod
    def class_for_heads(cls, kinds: Iterable[str], names=None) -> type:
        """The predictor class for models with these head kinds.

        Args:
            kinds: Head kinds of the loaded models (e.g. `{"centroid",
                "centered_instance"}`).
            names: Names of the models, for the error message.

        Raises:
            ValueError: If no predictor takes this combination (`InvalidValueError`).
        """
        kinds = set(kinds)
        name = (predictor_for_kinds(kinds) if kinds and kinds <= set(HEAD_KINDS)
                else None)
        if name not in _PREDICTOR_CLASSES:
            raise InvalidValueError(f"No predictor for models of types {sorted(kinds)}. "
                                    f"Received: {names or sorted(kinds)}")
        return _PREDICTOR_CLASSES[name]

    @classmethod
    def from_loaded_models(cls, models: Sequence[Tuple[Any, Any]], batch_size: int = 4,
                           peak_threshold: float = 0.2, refinement: Optional[str] = "integral",
                           max_instances: Optional[int] = None, integral_patch_size: int = 5,
                           progress_reporting: str = "rich", names=None,
                           backend: str = "tensorflow",
                           backend_threads: Optional[int] = None) -> Predictor:
        """The predictor for in-memory `(config, keras_model)` pairs, of the class their
        head kinds call for (what `load_model` does after loading the folders).

        Args:
            models: Sequence of `(TrainingJobConfig, tf_keras.Model)` pairs.
            batch_size: Frames per batch.
            peak_threshold: Minimum confidence map value of a peak.
            refinement: "integral", "local" or None.
            max_instances: Keep at most this many instances per frame.
            integral_patch_size: Patch size of integral refinement.
            progress_reporting: "rich", "json" or "none".
            names: Names of the models for error messages.
            backend: "tensorflow", "onnxruntime" or "openvino" (see `Predictor`).
            backend_threads: Threads of the ONNX Runtime / OpenVINO pool.

        Raises:
            ValueError: For an unknown refinement or a combination of models that
                makes no predictor (`InvalidValueError`).
        """
        if refinement not in ("integral", "local", None):
            raise InvalidValueError("refinement must be 'integral', 'local' or None. "
                                    f"Received: {refinement!r}")
        kinds = {cfg.model.heads.which_oneof_attrib_name(): (cfg, wrap_model(cfg, km))
                 for cfg, km in models}
        target = Predictor.class_for_heads(kinds, names=names)
        return target.from_models(kinds, batch_size=batch_size,
                                  peak_threshold=peak_threshold, refinement=refinement,
                                  max_instances=max_instances,
                                  integral_patch_size=integral_patch_size,
                                  progress_reporting=progress_reporting,
                                  backend=backend, backend_threads=backend_threads)

    @classmethod
    def from_models(cls, models: Dict[str, Tuple[Any, Any]], batch_size: int = 4,
                    peak_threshold: float = 0.2, refinement: Optional[str] = "integral",
                    max_instances: Optional[int] = None, integral_patch_size: int = 5,
                    progress_reporting: str = "rich", backend: str = "tensorflow",
                    backend_threads: Optional[int] = None) -> Predictor:
        """Build this predictor from its configs and model wrappers.

        Args:
            models: Head kind -> `(TrainingJobConfig, sleapish.nn.model.Model)`.
            batch_size: Frames per batch.
            peak_threshold: Minimum confidence map value of a peak.
            refinement: "integral", "local" or None.
            max_instances: Keep at most this many instances per frame (where the
                predictor has that setting).
            integral_patch_size: Patch size of integral refinement.
            progress_reporting: "rich", "json" or "none".
            backend: "tensorflow", "onnxruntime" or "openvino" (see `Predictor`).
            backend_threads: Threads of the ONNX Runtime / OpenVINO pool.

        Returns:
            The predictor, its inference model built.
        """
        predictor = cls(**cls._model_fields(models, max_instances),
                        peak_threshold=peak_threshold,
                        integral_patch_size=integral_patch_size,
                        integral_refinement=None if refinement is None
                        else refinement == "integral",
                        backend=backend, backend_threads=backend_threads)
        predictor.batch_size = batch_size
        predictor.verbosity = progress_reporting
        predictor._initialize_inference_model()
        return predictor

    @classmethod
    def _model_fields(cls, models: Dict[str, Tuple[Any, Any]],
                      max_instances: Optional[int]) -> Dict[str, Any]:
        """Constructor arguments (`*_config`, `*_model`, ...) from the models."""
        raise NotImplementedError

    @classmethod
    def from_model_paths(cls, model_paths, peak_threshold: float = 0.2,
                         integral_refinement: bool = True, integral_patch_size: int = 5,
                         batch_size: int = 4, resize_input_layer: bool = True,
                         max_instances: Optional[int] = None) -> Predictor:
        """Choose and build the predictor for the given model folder(s) (SLEAP's
        `Predictor.from_model_paths`; :func:`sleapish.load_model` also loads export
        folders and attaches a tracker)."""
        return cls._load_trained(model_paths, peak_threshold, integral_refinement,
                                 integral_patch_size, batch_size, resize_input_layer,
                                 max_instances=max_instances)

    @staticmethod
    def _load_trained(paths, peak_threshold, integral_refinement, integral_patch_size,
                      batch_size, resize_input_layer, max_instances=None) -> Predictor:
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        if not paths:
            raise InvalidValueError("Give at least one model folder. Received: []")
        for p in paths:
            if is_export_folder(p):
                raise InvalidValueError(f"{p} is an exported model: load it with "
                                        "sleapish.load_model")
        return Predictor.from_loaded_models(
            [load_model_folder(p, resize_input_layer) for p in paths],
            batch_size=batch_size, peak_threshold=peak_threshold,
            refinement="integral" if integral_refinement else "local",
            integral_patch_size=integral_patch_size, max_instances=max_instances,
            progress_reporting="none", names=[str(p) for p in paths])

    @property
    def refinement(self) -> Optional[str]:
        """The peak refinement the layers use: "integral", "local" or None."""
        if self.integral_refinement is None:
            return None
        return "integral" if self.integral_refinement else "local"

    @property
    def peak_finding(self) -> PeakFindingConfig:
        """The frozen peak-finding settings passed to the layers (from
        `peak_threshold`, `integral_refinement` and `integral_patch_size`)."""
        return PeakFindingConfig(peak_threshold=self.peak_threshold,
                                 refinement=self.refinement,
                                 integral_patch_size=self.integral_patch_size)

    def _initialize_inference_model(self, backend: Optional[str] = None) -> None:
        """(Re)build `inference_model` from the configs, models and settings, its
        networks run by `backend` (default: the predictor's `backend`)."""
        model = self._build_inference_model()
        use_backend(model, check_backend(backend or self.backend), self.backend_threads,
                    cache=self._backend_cache)
        self.inference_model = model

    def _build_inference_model(self):
        """The :class:`~sleapish.nn.inference.models.InferenceModel` of this
        predictor's configs, models and settings (each subclass builds its own)."""
        raise NotImplementedError

    def _models(self) -> list:
        """The predictor's model wrappers, first one first (centroid before
        centered instance), absent ones skipped."""
        names = ("centroid_model", "confmap_model", "bottomup_model", "model")
        return [m for m in (getattr(self, n, None) for n in names) if m is not None]

    @property
    def is_grayscale(self) -> bool:
        """Whether the (first) model takes 1-channel images."""
        models = self._models()
        return bool(models) and keras_model_of(models[0]).inputs[0].shape[-1] == 1

    # ----------------------------------------------------------------- pipeline
    def _extra_transformers(self, provider) -> list:
        return []

    @property
    def needs_ground_truth(self) -> bool:
        """Whether the model reads ground-truth instances from the data."""
        return False

    def make_pipeline(self, data_provider=None) -> Pipeline:
        """Provider -> [centroids] -> batch -> prefetch (frames stay uint8)."""
        p = Pipeline(data_provider)
        for t in self._extra_transformers(data_provider):
            p += t
        p += Batcher(batch_size=self.batch_size, drop_remainder=False, unrag=True)
        p += Prefetcher()
        self.pipeline = p
        return p

    # ---------------------------------------------------------------- predicting
    def _batches(self, provider) -> Iterator[Dict[str, Any]]:
        """Batches of frames: decoded directly for videos and arrays (a few ms per
        batch, no tf.data thread competing with the model for the CPU), through the
        tf.data pipeline for labels (which carry ground truth)."""
        bs = self.batch_size
        if isinstance(provider, (VideoReader, ArrayReader)):
            inds = (provider.example_indices if isinstance(provider, VideoReader)
                    else np.arange(len(provider)))
            for start in range(0, len(inds), bs):
                chunk = np.asarray(inds[start:start + bs], np.int64)
                if isinstance(provider, VideoReader):
                    chunk, images = self._read_decodable(provider.video, chunk)
                    if not len(chunk):
                        continue
                else:
                    images = provider.images[chunk]
                yield {"image": images, "frame_ind": chunk,
                       "video_ind": np.zeros(len(chunk), np.int32)}
            return
        yield from self.make_pipeline(provider).make_dataset()

    def _read_decodable(self, video, chunk):
        """`(frame_inds, images)` of the frames of `chunk` that decode.

        A frame that does not decode is skipped with a warning naming it and listed in
        `skipped_frames` (the tracker carries on with the next frame); with
        `strict_frames` it is an error instead.
        """
        from sleapish.io.video import VideoReadError, read_frames

        try:
            return chunk, read_frames(video, chunk)
        except VideoReadError:
            if self.strict_frames:
                raise
        good, images = [], []
        for i in chunk:
            try:
                images.append(read_frames(video, [int(i)])[0])
                good.append(int(i))
            except VideoReadError as e:
                logger.warning("Skipping frame %d of %s: it does not decode (%s).",
                               int(i), getattr(video, "filename", video), e)
                self.skipped_frames.append(int(i))
        if not images:
            return np.zeros(0, np.int64), None
        return np.asarray(good, np.int64), np.stack(images)

    def _note_channels(self, images) -> None:
        """Log once when frames are converted to the model's channel count."""
        want = self._model_channels
        if want is None:
            models = self._models()
            want = self._model_channels = (keras_model_of(models[0]).inputs[0].shape[-1]
                                           if models else 0)
        have = np.shape(images)[-1]
        if want and have != want and not self._noted:
            self._noted = True
            logger.warning("Frames have %d channel(s) but the model takes %d: converting "
                           "(%s).", have, want,
                           "luma grayscale" if want == 1 else "gray tiled to RGB")

    def _predict_generator(self, provider) -> Iterator[Dict[str, np.ndarray]]:
        if self.inference_model is None:
            self._initialize_inference_model()
        reporter = ProgressReporter(len(provider), self.verbosity, self.report_period)
        model = self.inference_model
        uses_image = getattr(self.tracker, "uses_image", False)  # flow tracking

        def step(batch):
            out = model.predict_on_batch(batch, numpy=True)
            if not self.keep_outside_points:
                drop_outside_points(out, np.shape(batch["image"])[1:3])
            out["frame_ind"] = np.asarray(batch["frame_ind"])
            out["video_ind"] = np.asarray(batch["video_ind"])
            if uses_image:
                out.setdefault("image", np.asarray(batch["image"]))
            return out

        batches = prefetched(self._batches(provider), depth=2)
        try:
            for out in ordered_map(step, self._noting_channels(batches),
                                   self.concurrent_batches):
                reporter.update(len(out["frame_ind"]))
                if self.progress_callback is not None:  # e.g. a cluster driver's bar
                    self.progress_callback(len(out["frame_ind"]))
                yield out
        finally:
            batches.close()  # stops the decoding thread
            reporter.close()

    def _noting_channels(self, batches):
        for batch in batches:
            self._note_channels(batch["image"])
            yield batch

    def predict(self, data, make_labels: bool = True, checkpoint=None):
        """Predict on videos, labels, arrays or providers.

        Args:
            data: See :func:`make_provider`.
            make_labels: Return `sleap_io.Labels` (True) or a list of per-batch
                dicts of numpy arrays.
            checkpoint: Optional
                :class:`~sleapish.nn.inference.checkpoint.PredictionCheckpoint` (videos
                only): resumed from if it exists, saved periodically while predicting.

        Returns:
            `sleap_io.Labels` with one `LabeledFrame` per frame, or the raw outputs.

        Raises:
            CheckpointError: For a checkpoint of another job.
        """
        provider = make_provider(data, user_instances_only=True)
        self._check_provider(provider)
        self.skipped_frames.clear()
        if checkpoint is None or not make_labels:
            gen = self._predict_generator(provider)
            return self._make_labels(gen, provider) if make_labels else list(gen)
        if not isinstance(provider, VideoReader):
            raise InvalidValueError("Resumable prediction takes a video. Received: "
                                    f"{type(provider).__name__}")
        from sleapish.nn.inference.checkpoint import restore_frames

        indices = np.asarray(provider.example_indices, np.int64)
        start, done = 0, []
        if checkpoint.exists():
            frames, tracker, start = checkpoint.load()
            done = restore_frames(frames, provider.video)
            self.tracker = tracker
        rest = VideoReader(provider.video, example_indices=indices[start:])
        gen = self._predict_generator(rest) if len(indices) > start else iter(())
        return self._make_labels(gen, provider, done=done, checkpoint=checkpoint,
                                 positions={int(f): k + 1 for k, f in enumerate(indices)})

    def _check_provider(self, provider) -> None:
        """Raise if the predictor cannot predict on `provider` (subclass hook)."""

    def export_model(self, save_path: str, signatures: str = "serving_default",
                     save_traces: bool = True, model_name=None, tensors=None,
                     unrag_outputs: bool = True, max_instances=None, **kwargs):
        """Export the whole model as one graph (SLEAP's `Predictor.export_model`).

        See :func:`sleapish.nn.inference.export_writer.export_predictor`.
        """
        from sleapish.nn.inference.export_writer import export_predictor

        return export_predictor(self, save_path, signatures, save_traces, model_name,
                                tensors, unrag_outputs, max_instances, **kwargs)

    # ------------------------------------------------------------ to sleap-io
    @property
    def skeleton(self):
        """The skeleton predicted instances use."""
        raise NotImplementedError

    @property
    def tracks(self) -> Optional[list]:
        """Fixed tracks of identity models (None otherwise)."""
        return None

    def _frame_instances(self, out: Dict[str, np.ndarray], i: int) -> list:
        raise NotImplementedError

    def _make_labels(self, gen, provider, done=(), checkpoint=None, positions=None):
        """Frames (after `done`, restored ones) from the batches, tracked in order;
        with a `checkpoint`, snapshots are saved as frames accumulate."""
        import sleap_io as sio

        videos = list(provider.videos)
        frames = list(done)
        tracker = self.tracker
        for out in gen:
            for i, (v, f) in enumerate(zip(out["video_ind"], out["frame_ind"])):
                lf = sio.LabeledFrame(video=videos[int(v)], frame_idx=int(f),
                                      instances=self._frame_instances(out, i))
                if tracker is not None:  # frame by frame, with the batch's image
                    tracker.track_labeled_frame(
                        lf, out["image"][i] if "image" in out else None)
                frames.append(lf)
            if checkpoint is not None and len(out["frame_ind"]):
                checkpoint.maybe_save(frames, tracker,
                                      positions[int(out["frame_ind"][-1])])
        tracks = list(self.tracks or [])
        if tracker is not None:
            frames = tracker.finish(frames)
            tracks = list(getattr(tracker, "tracks", tracks))
        return sio.Labels(labeled_frames=frames, videos=videos, skeletons=[self.skeleton],
                          tracks=tracks)

    @staticmethod
    def _rows(out, key, i):
        arr = out[key][i]
        n = int(out["n_valid"][i]) if "n_valid" in out else len(arr)
        return arr[:n]


@attrs.define
class _TopDownBase(Predictor):
    """Shared by the top-down predictors: either model may be missing, in which case
    that half comes from the ground truth of the labels predicted on (as in SLEAP)."""

    centroid_config: Any = None
    centroid_model: Any = None
    confmap_config: Any = None
    confmap_model: Any = None
    max_instances: Optional[int] = None

    @classmethod
    def _model_fields(cls, models, max_instances):
        centroid = models.get("centroid")
        instance = models.get("centered_instance") or models.get("multi_class_topdown")
        return dict(centroid_config=centroid[0] if centroid else None,
                    centroid_model=centroid[1] if centroid else None,
                    confmap_config=instance[0] if instance else None,
                    confmap_model=instance[1] if instance else None,
                    max_instances=max_instances)

    def _crop_layer(self, common: Dict[str, Any]):
        """The first half: the centroid model's crop layer, or ground-truth centroids."""
        crop_cfg = self.confmap_config
        crop_size = crop_cfg.data.instance_cropping.crop_size if crop_cfg else None
        precrop = crop_cfg.data.preprocessing.input_scaling if crop_cfg else 1.0
        if self.centroid_config is None:
            return LT.CentroidCropGroundTruth(crop_size, precrop_resize=precrop)
        cfg, km = self.centroid_config, keras_model_of(self.centroid_model)
        pre = cfg.data.preprocessing
        return LT.CentroidCrop(
            km, crop_size=crop_size or 1, input_scale=pre.input_scaling,
            pad_to_stride=pre.pad_to_stride or 1,
            output_stride=cfg.model.heads.centroid.output_stride,
            return_crops=crop_cfg is not None, max_instances=self.max_instances,
            precrop_resize=precrop, **common)

    @property
    def needs_ground_truth(self) -> bool:
        """True when one of the two models is missing."""
        return self.centroid_config is None or self.confmap_config is None

    @property
    def skeleton(self):
        """Skeleton of the centered-instance model (or the centroid model's)."""
        cfg = self.confmap_config or self.centroid_config
        return cfg.data.labels.skeletons[0]

    def _anchor_part(self) -> Optional[str]:
        heads = self.confmap_config.model.heads
        head = heads.centered_instance or heads.multi_class_topdown.confmaps
        return (getattr(head, "anchor_part", None)
                or self.confmap_config.data.instance_cropping.center_on_part)

    def _extra_transformers(self, provider):
        if self.centroid_config is not None:
            return []
        anchor = self._anchor_part()
        return [InstanceCentroidFinder(center_on_anchor_part=anchor is not None,
                                       anchor_part_names=anchor,
                                       skeletons=provider.skeletons)]

    def _check_provider(self, provider) -> None:
        """Without one of the two models, `data` must be labels.

        Raises:
            ValueError: If a model is missing and `data` has no ground truth.
        """
        if self.needs_ground_truth and not isinstance(provider, LabelsReader):
            raise InvalidValueError("This top-down predictor lacks a model and takes that half "
                                    "from ground-truth labels. Received: "
                                    + type(provider).__name__)


def predictor_classes() -> Dict[str, type]:
    """The predictor classes defined so far, by name (all of them once
    :mod:`sleapish.nn.inference.predictors` is imported)."""
    return dict(_PREDICTOR_CLASSES)


__all__ = ["Predictor", "keras_model_of", "predictor_classes"]

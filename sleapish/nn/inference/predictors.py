"""High-level predictors (SLEAP's `Predictor`s): data in, `sleap_io.Labels` out.

A predictor owns the trained model(s) and configs, builds the data pipeline (frames
stay uint8 until the model's layers normalize them), runs one `tf.function` per
batch, and turns the outputs into `PredictedInstance`s, with optional tracking.

Example:
    >>> predictor = load_model(["models/centroid", "models/centered_instance"])
    >>> labels = predictor.predict("video.mp4")            # sleap_io.Labels
    >>> arrays = predictor.predict(frames, make_labels=False)  # list of dicts
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import attrs
import numpy as np

from sleapish.nn.data.dataset_ops import Batcher, Prefetcher
from sleapish.nn.data.instance_centroids import InstanceCentroidFinder
from sleapish.nn.data.pipelines import Pipeline
from sleapish.nn.data.providers import LabelsReader, VideoReader
from sleapish.nn.inference.results import (
    ProgressReporter,
    drop_outside_points,
    instances_from_arrays,
)
from sleapish.nn.settings import PAFGroupingConfig, PeakFindingConfig

logger = logging.getLogger("sleapish")


@attrs.define
class ArrayReader:
    """Provider over an in-memory uint8 array of frames `(n, height, width, c)`."""

    images: np.ndarray

    def __attrs_post_init__(self):
        arr = np.asarray(self.images)
        if arr.ndim == 3:
            arr = arr[..., None]
        if arr.ndim != 4:
            raise ValueError("Frames must be (n_frames, height, width[, channels]). "
                             f"Received: shape {np.shape(self.images)}")
        self.images = arr

    def __len__(self) -> int:
        """Number of frames."""
        return len(self.images)

    @property
    def videos(self) -> list:
        """A single in-memory video."""
        import sleap_io as sio

        return [sio.Video(filename="array", backend=None, open_backend=False)]

    def make_dataset(self):
        """Dataset of `{"image", "frame_ind", "video_ind"}`."""
        from sleapish.nn._backend import tf

        n = len(self.images)
        return tf.data.Dataset.from_tensor_slices({
            "image": self.images, "frame_ind": np.arange(n, dtype=np.int64),
            "video_ind": np.zeros(n, np.int32)})


def make_provider(data, user_instances_only: bool = False):
    """A provider for any supported input.

    Args:
        data: A video path, a labels path (`.slp`), a `sleap_io.Video`, a
            `sleap_io.Labels`, a uint8 array `(n, h, w[, c])`, or a provider.
        user_instances_only: For labels: which instances to carry (ground truth).

    Raises:
        FileNotFoundError: For a path that does not exist.
        TypeError: For anything else.
    """
    import sleap_io as sio

    import sleapish

    if hasattr(data, "make_dataset"):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise FileNotFoundError(f"Input not found. Received: {str(data)!r}")
        if path.suffix.lower() == ".slp":
            data = sleapish.load_file(path)
        else:
            return VideoReader(sleapish.load_video(path))
    if isinstance(data, sio.Labels):
        return LabelsReader(data, user_instances_only=user_instances_only,
                            include_empty=True)
    if isinstance(data, sio.Video):
        return VideoReader(data)
    if isinstance(data, np.ndarray):
        return ArrayReader(data)
    raise TypeError("predict() takes a video or labels path, a Video, Labels, a uint8 "
                    f"array or a provider. Received: {type(data).__name__}")


def keras_model_of(model):
    """The Keras model of a :class:`sleapish.nn.model.Model` wrapper (or itself)."""
    return getattr(model, "keras_model", None) or model


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
    skipped_frames: List[int] = attrs.field(factory=list, init=False, repr=False)
    _model_channels: Optional[int] = attrs.field(default=None, init=False, repr=False)
    _noted: bool = attrs.field(default=False, init=False, repr=False)

    # -------------------------------------------------------------- construction
    @classmethod
    def from_model_paths(cls, model_paths, peak_threshold: float = 0.2,
                         integral_refinement: bool = True, integral_patch_size: int = 5,
                         batch_size: int = 4, resize_input_layer: bool = True,
                         max_instances: Optional[int] = None) -> "Predictor":
        """Choose and build the predictor for the given model folder(s).

        See :func:`sleapish.nn.inference.loading_api.load_model`.
        """
        from sleapish.nn.inference.loading_api import load_model

        return load_model(model_paths, batch_size=batch_size, peak_threshold=peak_threshold,
                          refinement="integral" if integral_refinement else "local",
                          integral_patch_size=integral_patch_size,
                          resize_input_layer=resize_input_layer, max_instances=max_instances,
                          progress_reporting="none")

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

    def _initialize_inference_model(self) -> None:
        """(Re)build `inference_model` from the configs, models and settings."""
        from sleapish.nn.inference.loading_api import build_inference_model

        self.inference_model = build_inference_model(self)

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
        for batch in self.make_pipeline(provider).make_dataset():
            yield batch

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
        try:
            for batch in _prefetched(self._batches(provider), depth=2):
                self._note_channels(batch["image"])
                out = self.inference_model.predict_on_batch(batch, numpy=True)
                if not self.keep_outside_points:
                    drop_outside_points(out, np.shape(batch["image"])[1:3])
                out["frame_ind"] = np.asarray(batch["frame_ind"])
                out["video_ind"] = np.asarray(batch["video_ind"])
                if getattr(self.tracker, "uses_image", False):  # flow tracking
                    out.setdefault("image", np.asarray(batch["image"]))
                reporter.update(len(out["frame_ind"]))
                if self.progress_callback is not None:  # e.g. a cluster driver's bar
                    self.progress_callback(len(out["frame_ind"]))
                yield out
        finally:
            reporter.close()

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
            raise ValueError("Resumable prediction takes a video. Received: "
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

        See :func:`sleapish.nn.inference.export.export_predictor`.
        """
        from sleapish.nn.inference.export import export_predictor

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
class SingleInstancePredictor(Predictor):
    """One instance per frame (SLEAP's `SingleInstancePredictor`)."""

    confmap_config: Any = None
    confmap_model: Any = None

    @classmethod
    def from_trained_models(cls, model_path, peak_threshold: float = 0.2,
                            integral_refinement: bool = True, integral_patch_size: int = 5,
                            batch_size: int = 4, resize_input_layer: bool = True
                            ) -> "SingleInstancePredictor":
        """Load a single-instance model folder."""
        return _load(model_path, peak_threshold, integral_refinement, integral_patch_size,
                     batch_size, resize_input_layer)

    @property
    def skeleton(self):
        """The model's skeleton."""
        return self.confmap_config.data.labels.skeletons[0]

    def _frame_instances(self, out, i):
        pts, vals = out["instance_peaks"][i], out["instance_peak_vals"][i]
        scores = np.array([np.nansum(v) for v in vals])
        return instances_from_arrays(pts, vals, scores, self.skeleton)


@attrs.define
class _TopDownBase(Predictor):
    """Shared by the top-down predictors: either model may be missing, in which case
    that half comes from the ground truth of the labels predicted on (as in SLEAP)."""

    centroid_config: Any = None
    centroid_model: Any = None
    confmap_config: Any = None
    confmap_model: Any = None
    max_instances: Optional[int] = None

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
            raise ValueError("This top-down predictor lacks a model and takes that half "
                             "from ground-truth labels. Received: "
                             + type(provider).__name__)


@attrs.define
class TopDownPredictor(_TopDownBase):
    """Centroid + centered-instance models (SLEAP's `TopDownPredictor`)."""

    @classmethod
    def from_trained_models(cls, centroid_model_path=None, confmap_model_path=None,
                            batch_size: int = 4, peak_threshold: float = 0.2,
                            integral_refinement: bool = True, integral_patch_size: int = 5,
                            resize_input_layer: bool = True,
                            max_instances: Optional[int] = None) -> "TopDownPredictor":
        """Load the centroid and/or centered-instance model folders (one may be None:
        that half then comes from ground-truth labels)."""
        paths = [p for p in (centroid_model_path, confmap_model_path) if p is not None]
        return _load(paths, peak_threshold, integral_refinement, integral_patch_size,
                     batch_size, resize_input_layer, max_instances=max_instances)

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
                            max_instances: Optional[int] = None) -> "BottomUpPredictor":
        """Load a bottom-up model folder with SLEAP 1.4.1's grouping defaults."""
        pred = _load(model_path, peak_threshold, integral_refinement, integral_patch_size,
                     batch_size, resize_input_layer, max_instances=max_instances)
        pred.max_edge_length_ratio = max_edge_length_ratio
        pred.dist_penalty_weight = dist_penalty_weight
        pred.paf_line_points = paf_line_points
        pred.min_line_scores = min_line_scores
        pred._initialize_inference_model()
        return pred

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


def _prefetched(iterator, depth: int = 2):
    """Run `iterator` in a background thread, `depth` items ahead (decoding overlaps
    the model: OpenCV and TensorFlow release the GIL). Errors are re-raised here."""
    import queue
    import threading

    q: "queue.Queue" = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work():
        try:
            for item in iterator:
                if stop.is_set():
                    return
                q.put(item)
            q.put(done)
        except BaseException as e:  # forwarded to the consumer
            q.put(e)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _load(paths, peak_threshold, integral_refinement, integral_patch_size, batch_size,
          resize_input_layer, **kwargs):
    from sleapish.nn.inference.loading_api import load_model

    return load_model(paths, batch_size=batch_size, peak_threshold=peak_threshold,
                      refinement="integral" if integral_refinement else "local",
                      integral_patch_size=integral_patch_size,
                      resize_input_layer=resize_input_layer, progress_reporting="none",
                      **kwargs)


__all__ = [
    "ArrayReader",
    "make_provider",
    "Predictor",
    "SingleInstancePredictor",
    "TopDownPredictor",
    "BottomUpPredictor",
]

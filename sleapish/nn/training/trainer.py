"""The trainer: SLEAP's `sleap.nn.training.Trainer` for all six model types.

`Trainer.from_config(config, training_labels, validation_labels, test_labels)`
returns the trainer for the config's head type; `trainer.train()` sets up the data
pipelines, model, optimizer, callbacks and run folder, fits, and evaluates the
best model on every split (writing `labels_pr.*.slp` and `metrics.*.npz`).
"""

from __future__ import annotations

import copy
import logging
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import attrs
import numpy as np

from sleapish.errors import InputNotFoundError
from sleapish.nn import heads as H
from sleapish.nn._backend import keras, tf
from sleapish.nn.data import pipelines as P
from sleapish.nn.data.instance_cropping import find_instance_crop_size
from sleapish.nn.head_kinds import HEAD_KINDS, HeadKind, head_kind
from sleapish.nn.model import Model
from sleapish.nn.training import callbacks as C
from sleapish.nn.training.data_readers import (
    DataReaders,
    TrainingSetupError,
    check_config_fits_labels,
    count_user_instances,
)
from sleapish.nn.training.distribute import is_chief, make_strategy
from sleapish.nn.training.losses import make_loss_fn, make_metrics, make_optimizer
from sleapish.nn.training.outputs import (
    check_writable,
    evaluate_splits,
    new_run_path,
    package_run,
    remove_visualizations,
    save_run_inputs,
)
from sleapish.version import SLEAP_COMPAT_VERSION

logger = logging.getLogger(__name__)



@attrs.define(eq=False)
class Trainer:
    """Trains one model type; use :meth:`from_config` to get the right subclass.

    Attributes:
        config: The :class:`~sleapish.nn.config.TrainingJobConfig`; inferred values
            (pad_to_stride, crop size, part names, edges, classes, batches per
            epoch, split indices, skeleton) are written into it during setup.
        initial_config: A copy of the config as given.
        data_readers: Training / validation / test providers.
        model: The :class:`~sleapish.nn.model.Model` (backbone + heads).
        strategy: A `tf.distribute.Strategy` (default: the default strategy).
        seed: Seed for the weights, the split and the data stream (None: random).
            A seed also turns on TensorFlow's op determinism, so a run is
            reproducible (see docs/long_runs.md for its cost).
        verbosity: "rich" (progress bar), "json"/"none" (no bar).
        eval_max_frames: Evaluate on at most this many frames per split (None: all).
        resume_from: Run folder whose last checkpoint training continues from.
        keep_resume_state: Keep `resume/` after the run finishes (default: removed).
        write_report: Write `report.html` (see :mod:`sleapish.report`) at the end.
        run_path: The run folder (after setup), or None when outputs are off.
        data_seed: Seed of the training data stream (after setup): `seed`, or a
            random one recorded in the resume state.
    """

    config: Any
    initial_config: Any
    data_readers: DataReaders
    model: Model
    strategy: Any = None
    seed: Optional[int] = None
    verbosity: str = "rich"
    eval_max_frames: Optional[int] = None
    resume_from: Optional[str] = None
    keep_resume_state: bool = False
    write_report: bool = True
    # Set up by `setup()` and `train()`, not constructor arguments.
    run_path: Optional[str] = attrs.field(default=None, init=False)
    data_seed: Optional[int] = attrs.field(default=None, init=False)
    pipeline_builder: Any = attrs.field(default=None, init=False)
    training_pipeline: Any = attrs.field(default=None, init=False)
    validation_pipeline: Any = attrs.field(default=None, init=False)
    callbacks: List[Any] = attrs.field(factory=list, init=False)
    history: Any = attrs.field(default=None, init=False)
    train_dataset: Any = attrs.field(default=None, init=False)
    val_dataset: Any = attrs.field(default=None, init=False)
    initial_epoch: int = attrs.field(default=0, init=False)
    _resume_state: Optional[Dict[str, Any]] = attrs.field(default=None, init=False)

    head_kind: str = ""

    # ------------------------------------------------------------------ build
    @classmethod
    def from_config(cls, config, training_labels=None, validation_labels=None,
                    test_labels=None, video_search_paths: Optional[Sequence[str]] = None,
                    strategy="default", seed: Optional[int] = None,
                    verbosity: str = "rich", eval_max_frames: Optional[int] = None,
                    resume_from: Optional[str] = None,
                    keep_resume_state: bool = False) -> Trainer:
        """The trainer for `config`'s head type, with data loaded and checked.

        Args:
            config: A `TrainingJobConfig` (modified in place with inferred values).
            training_labels: `sleap_io.Labels` or path (else the config's).
            validation_labels: Labels, path or a fraction (else the config's).
            test_labels: Labels or path (else the config's, if any).
            video_search_paths: Folders searched for missing videos.
            strategy: "default", "mirrored", "multiworker" or a
                `tf.distribute.Strategy`.
            seed: Seed of weights, split and data stream; turns on op determinism.
            verbosity: "rich", "json" or "none".
            eval_max_frames: Cap on frames evaluated per split after training.
            resume_from: A run folder to resume (see :func:`resume`).
            keep_resume_state: Keep the run's `resume/` state after it finishes.

        Raises:
            TrainingSetupError: For labels without user instances, a head that does
                not fit the labels (unknown anchor part, identity model without
                tracks), or no head set.
        """
        initial_config = copy.deepcopy(config)
        kind = config.model.heads.which_oneof_attrib_name()
        if kind not in TRAINERS:
            raise TrainingSetupError("config.model.heads has no head set. Received: "
                                     f"{kind!r}")
        if seed is not None:
            keras.utils.set_random_seed(int(seed))
            tf.config.experimental.enable_op_determinism()
        strategy = make_strategy(strategy)
        config.sleap_version = SLEAP_COMPAT_VERSION
        readers = DataReaders.from_config(
            config.data.labels, training=training_labels, validation=validation_labels,
            test=test_labels, video_search_paths=video_search_paths, update_config=True,
            with_track_only=HEAD_KINDS[kind].identity, seed=seed)
        labels = readers.training_labels
        check_config_fits_labels(config, labels)
        config.data.labels.skeletons = list(labels.skeletons)
        model = Model.from_config(config.model, skeleton=labels.skeletons[0],
                                  tracks=readers.training_labels_reader.tracks,
                                  update_config=True)
        return TRAINERS[kind](config=config, initial_config=initial_config,
                              data_readers=readers, model=model, strategy=strategy,
                              seed=seed, verbosity=verbosity,
                              eval_max_frames=eval_max_frames, resume_from=resume_from,
                              keep_resume_state=keep_resume_state)

    @property
    def keras_model(self):
        """The `tf_keras.Model` (after setup)."""
        return self.model.keras_model

    @property
    def kind(self) -> HeadKind:
        """The model type's :class:`~sleapish.nn.head_kinds.HeadKind`."""
        return head_kind(self.head_kind)

    @property
    def input_key(self) -> str:
        """The example key the model takes: "instance_image" (crops) or "image"."""
        return "instance_image" if self.kind.on_crops else "image"

    @property
    def count_instances(self) -> bool:
        """Batches per epoch count instances (not frames)."""
        return self.kind.count_instances

    @property
    def has_offsets(self) -> bool:
        """Whether the model has an offset refinement head."""
        return any(isinstance(h, H.OffsetRefinementHead) for h in self.model.heads)

    @property
    def is_chief(self) -> bool:
        """Whether this process writes files (always, except non-chief workers)."""
        return is_chief(self.strategy)

    def _update_config(self) -> None:
        """Infer pad_to_stride, crop size and batches per epoch (as SLEAP)."""
        cfg = self.config
        pre, opt = cfg.data.preprocessing, cfg.optimization
        if pre.pad_to_stride is None:
            pre.pad_to_stride = self._default_pad_to_stride()
        if self.input_key == "instance_image":
            crop = cfg.data.instance_cropping
            stride = self.model.maximum_stride
            if crop.crop_size is None or crop.crop_size % stride:
                crop.crop_size = find_instance_crop_size(
                    self.data_readers.training_labels,
                    padding=crop.crop_size_detection_padding, maximum_stride=stride,
                    input_scaling=pre.input_scaling, min_crop_size=crop.crop_size)

        def n_examples(labels):
            return count_user_instances(labels) if self.count_instances else len(labels)

        if opt.batches_per_epoch is None:
            n = n_examples(self.data_readers.training_labels) // opt.batch_size
            opt.batches_per_epoch = max(opt.min_batches_per_epoch, n)
        if opt.val_batches_per_epoch is None:
            n = n_examples(self.data_readers.validation_labels) // opt.batch_size
            opt.val_batches_per_epoch = max(opt.min_val_batches_per_epoch, n)

    def _default_pad_to_stride(self) -> int:
        return 1 if self.kind.on_crops else self.model.maximum_stride

    def _part_names(self) -> Optional[List[str]]:
        """Part names of the per-part loss metrics (main confidence-map head; none
        for the one-channel centroid maps)."""
        if self.kind.heads[0].names != "part_names":
            return None
        return list(getattr(self.model.heads[0], "part_names", None) or []) or None

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        """Build pipelines, model, optimizer, run folder and callbacks.

        Raises:
            TrainingSetupError: If the run folder cannot be written.
        """
        t0 = time.perf_counter()
        if self.resume_from is not None:
            self._resume_state = C.load_resume_state(self.resume_from)
            self.initial_epoch = int(self._resume_state["next_epoch"])
            self.data_seed = self._resume_state.get("data_seed", self.seed)
        if self.data_seed is None:
            self.data_seed = self.seed if self.seed is not None else \
                int(np.random.default_rng().integers(2**62))
        self._update_config()
        self.pipeline_builder = P.pipeline_for_model(
            self.config.data, self.config.optimization, self.model)
        self._setup_outputs_path()
        with self.strategy.scope():
            self._setup_model()
            self._compile()
            if self._resume_state is not None:  # optimizer slots must be distributed
                C.restore_checkpoint(self.keras_model, self.resume_from,
                                     self._resume_state)
                logger.info("Resumed from %s at epoch %d", self.resume_from,
                            self.initial_epoch)
        self._setup_pipelines()
        self._write_run_inputs()
        self.callbacks = self._make_callbacks()
        logger.info("Trainer set up in %.1f s", time.perf_counter() - t0)

    def _setup_outputs_path(self) -> None:
        out = self.config.outputs
        if self.resume_from is not None:
            self.run_path = str(self.resume_from)
        elif out.save_outputs:
            model_type = self.head_kind
            n = len(self.data_readers.training_labels_reader) + len(
                self.data_readers.validation_labels_reader)
            self.run_path = new_run_path(out, base_run_name=f"{model_type}.n={n}")
        if self.run_path is not None and self.is_chief:
            check_writable(self.run_path)

    def _setup_model(self) -> None:
        base = self.pipeline_builder.make_base_pipeline(
            self.data_readers.training_labels_reader)
        example = next(iter(base.make_dataset()))
        shape = tuple(int(d) for d in example[self.input_key].shape)
        self.model.make_model(shape)
        logger.info("Model: %s, input %s, %s parameters", type(self.model.backbone).__name__,
                    shape, f"{self.keras_model.count_params():,}")
        ckpt = self.config.model.base_checkpoint
        if ckpt and not (self._resume_state or {}).get("checkpoint"):
            from sleapish.nn.inference.loading import load_keras_model
            from sleapish.nn.model import transfer_weights

            n = transfer_weights(load_keras_model(ckpt), self.keras_model)
            logger.info("Initialized %d layers from %s", n, ckpt)

    def _losses(self) -> Dict[str, Any]:
        mse = make_loss_fn(self.config.optimization)
        return {name: ("categorical_crossentropy" if name.startswith("ClassVectorsHead")
                       else mse) for name in self.keras_model.output_names}

    def _compile(self) -> None:
        km = self.keras_model
        by_name = {h.name: h for h in self.model.heads}
        weights = {n: by_name[n.rsplit("_", 1)[0] if n not in by_name else n].loss_weight
                   for n in km.output_names}
        metrics: Dict[str, list] = {}
        main = self.model.heads[0].name
        part_metrics = make_metrics(self.config.optimization, self._part_names())
        if part_metrics:
            metrics[main] = part_metrics
        for n in km.output_names:
            if n.startswith("ClassVectorsHead"):
                metrics[n] = ["accuracy"]
        km.compile(optimizer=make_optimizer(self.config.optimization),
                   loss=self._losses(), loss_weights=weights, metrics=metrics or None)

    def _make_dataset(self, reader, augment: bool, steps: Optional[int] = None):
        """Training stream (seeded epochs) or, without `augment`, a validation set
        of the first `steps` batches, the same every epoch (see docs/training.md)."""
        builder = self.pipeline_builder
        if augment:
            pipeline = builder.make_training_pipeline(
                reader, seed=self.data_seed, first_epoch=self.initial_epoch)
        else:
            opt = copy.deepcopy(self.config.optimization)
            opt.augmentation_config = type(opt.augmentation_config)()
            opt.online_shuffling = False
            pipeline = attrs.evolve(builder, optimization_config=opt) \
                .make_training_pipeline(reader)
        names = list(self.keras_model.output_names)

        def to_outputs(x, y):
            return x, {n: y[n if n in y else n.rsplit("_", 1)[0]] for n in names}

        ds = pipeline.make_dataset().map(to_outputs)
        if steps is not None:
            ds = ds.take(steps)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = \
            tf.data.experimental.AutoShardPolicy.DATA
        return pipeline, ds.with_options(options)

    def _setup_pipelines(self) -> None:
        self.training_pipeline, self.train_dataset = self._make_dataset(
            self.data_readers.training_labels_reader, augment=True)
        self.validation_pipeline, self.val_dataset = self._make_dataset(
            self.data_readers.validation_labels_reader, augment=False,
            steps=self.config.optimization.val_batches_per_epoch)

    def _write_run_inputs(self) -> None:
        if self.run_path is None or not self.is_chief or self._resume_state is not None:
            return
        save_run_inputs(self.run_path, self.config, self.initial_config,
                        self.data_readers)

    def _viz_examples(self) -> Dict[str, tuple]:
        out = {}
        for name, reader in (("train", self.data_readers.training_labels_reader),
                             ("validation", self.data_readers.validation_labels_reader)):
            _, ds = self._make_dataset(reader, augment=False, steps=1)
            x, y = next(iter(ds.take(1)))
            out[name] = ({k: v[:1].numpy() for k, v in x.items()},
                         {k: v[:1].numpy() for k, v in y.items()})
        return out

    def _make_callbacks(self) -> List[Any]:
        return C.make_callbacks(
            self.config, self.run_path if self.is_chief else None,
            resume_state=self._resume_state, initial_epoch=self.initial_epoch,
            verbosity=self.verbosity, seed=self.seed, data_seed=self.data_seed,
            viz=lambda: (self._viz_examples(), self.model.heads))

    # ------------------------------------------------------------------ train
    def train(self):
        """Set up (if needed), fit, then evaluate and package the outputs.

        Returns:
            The Keras `History` of this call's epochs.
        """
        if self.keras_model is None:
            self.setup()
        opt = self.config.optimization
        if self._resume_state and self._resume_state.get("checkpoint"):
            C.recommit(self.callbacks, self.keras_model, self._resume_state)
        stopped = bool(self._resume_state and self._resume_state.get("stop_training"))
        if stopped or self.initial_epoch >= opt.epochs:
            if stopped:
                logger.info("The resumed run had already stopped early; nothing to train.")
            C.finish_without_fit(self.callbacks, self.keras_model, self.initial_epoch)
        else:
            t0 = time.perf_counter()
            self.history = self.keras_model.fit(
                self.train_dataset, epochs=opt.epochs, initial_epoch=self.initial_epoch,
                steps_per_epoch=opt.batches_per_epoch, validation_data=self.val_dataset,
                validation_steps=opt.val_batches_per_epoch, callbacks=self.callbacks,
                verbose=0)
            logger.info("Finished training in %.1f min", (time.perf_counter() - t0) / 60)
        if self.run_path is not None and self.is_chief:
            out = self.config.outputs
            if out.save_visualizations and not out.keep_viz_images:
                self.cleanup()
            self.evaluate()
            if self.write_report:
                self.report()
            if out.zip_outputs:
                self.package()
            if not self.keep_resume_state:
                import shutil

                shutil.rmtree(os.path.join(self.run_path, C.RESUME_DIR),
                              ignore_errors=True)
        return self.history

    def _predictor(self):
        from sleapish.nn.inference.loading import load_keras_model, reset_input_layer
        from sleapish.nn.inference.loading_api import predictor_from_models

        best = Path(self.run_path or "") / "best_model.h5"
        km = load_keras_model(best) if self.run_path and best.exists() else self.keras_model
        return predictor_from_models([(self.config, reset_input_layer(km))],
                                     batch_size=max(1, min(self.config.optimization.batch_size, 8)),
                                     progress_reporting="none")

    def evaluate(self) -> Dict[str, Dict[str, Any]]:
        """Predict every split with the best model; save labels_pr and metrics.

        Returns:
            Split name -> metrics dict (see :func:`sleapish.nn.evals.evaluate`).
        """
        C.fault_point("eval")
        return evaluate_splits(self._predictor(), self.data_readers, self.run_path,
                               identity=self.kind.identity,
                               max_frames=self.eval_max_frames)

    def report(self) -> Optional[str]:
        """Write `<run>/report.html` (:func:`sleapish.report.write_report`); a failure
        is logged, not raised (the run's results are already saved)."""
        from sleapish.report import write_report

        try:
            path = str(write_report(self.run_path))
        except Exception as e:
            logger.warning("Could not write the training report: %s", e)
            return None
        logger.info("Report: %s", path)
        return path

    def cleanup(self) -> None:
        """Delete the `viz` folder."""
        remove_visualizations(self.run_path)

    def package(self) -> str:
        """Zip the run folder next to it (atomically), without its `resume/` state;
        returns the zip path."""
        return package_run(self.run_path)


@attrs.define(eq=False)
class SingleInstanceModelTrainer(Trainer):
    """Single-instance confidence maps."""

    head_kind: str = "single_instance"


@attrs.define(eq=False)
class CentroidConfmapsModelTrainer(Trainer):
    """Centroid confidence maps (first half of top-down)."""

    head_kind: str = "centroid"


@attrs.define(eq=False)
class TopdownConfmapsModelTrainer(Trainer):
    """Centered-instance confidence maps on crops (second half of top-down)."""

    head_kind: str = "centered_instance"


@attrs.define(eq=False)
class BottomUpModelTrainer(Trainer):
    """Multi-instance confidence maps and part affinity fields."""

    head_kind: str = "multi_instance"


@attrs.define(eq=False)
class BottomUpMultiClassModelTrainer(Trainer):
    """Multi-instance confidence maps and class maps (identity)."""

    head_kind: str = "multi_class_bottomup"


@attrs.define(eq=False)
class TopDownMultiClassModelTrainer(Trainer):
    """Centered-instance confidence maps and class vectors (identity) on crops."""

    head_kind: str = "multi_class_topdown"


#: Head type (`HeadsConfig` field name) -> trainer class (as :data:`HEAD_KINDS` names it).
TRAINERS = {name: globals()[kind.trainer] for name, kind in HEAD_KINDS.items()}


def resume(run_folder, strategy="default", verbosity: str = "rich",
           eval_max_frames: Optional[int] = None,
           video_search_paths: Optional[Sequence[str]] = None,
           keep_resume_state: bool = False) -> Trainer:
    """A trainer that continues an interrupted run from its last checkpoint.

    The run's own `training_config.json` and `labels_gt.{train,val,test}.slp` are
    used, so the split, inferred values and run folder are the same, and so are
    the seed and the data stream: epoch `e`'s batches depend only on the data seed
    and `e`, so a seeded run resumed after any kill ends with the weights of an
    uninterrupted one.

    Args:
        run_folder: The run folder to continue.
        strategy: Distribution strategy (see :meth:`Trainer.from_config`).
        verbosity: "rich", "json" or "none".
        eval_max_frames: Cap on frames evaluated per split.
        video_search_paths: Folders searched for missing videos.
        keep_resume_state: Keep `resume/` once the run finishes.

    Raises:
        FileNotFoundError: If the folder has no config or no resume state.
    """
    from sleapish.nn.config import TrainingJobConfig

    run = Path(run_folder)
    cfg_path = run / "training_config.json"
    if not cfg_path.exists():
        raise InputNotFoundError(f"{run} is not a sleapish run folder: "
                                 f"{cfg_path.name} is missing. Received: {run}")
    state = C.load_resume_state(run)  # fail early with a clear message
    seed = state.get("seed")
    cfg = TrainingJobConfig.load_json(cfg_path)
    cfg.data.labels.split_by_inds = False
    test = run / "labels_gt.test.slp"
    search = list(video_search_paths or []) + list(cfg.data.labels.search_path_hints)
    trainer = Trainer.from_config(
        cfg, training_labels=str(run / "labels_gt.train.slp"),
        validation_labels=str(run / "labels_gt.val.slp"),
        test_labels=str(test) if test.exists() else None,
        video_search_paths=search, strategy=strategy, verbosity=verbosity,
        eval_max_frames=eval_max_frames, resume_from=str(run),
        seed=None if seed is None else int(seed), keep_resume_state=keep_resume_state)
    return trainer


__all__ = ["Trainer", "SingleInstanceModelTrainer", "CentroidConfmapsModelTrainer",
           "TopdownConfmapsModelTrainer", "BottomUpModelTrainer",
           "BottomUpMultiClassModelTrainer", "TopDownMultiClassModelTrainer",
           "TRAINERS", "resume"]

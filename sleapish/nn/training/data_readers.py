"""Training data: load labels, split them, and check they fit the model config.

As SLEAP's `DataReaders`: training labels come from the arguments or the config;
validation from a file, explicit indices, or a seeded random `validation_fraction`
split of the user-labeled frames; test labels optionally. Only user instances are
used (and, for identity models, only instances with a track).
"""

from __future__ import annotations

import logging
import os
from typing import List, Optional, Sequence, Union

import attrs

from sleapish.errors import InvalidValueError, SleapishError
from sleapish.nn.data.providers import LabelsReader
from sleapish.nn.data.training import split_labels_by_inds, split_labels_train_val
from sleapish.nn.head_kinds import HEAD_KINDS

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]


class TrainingSetupError(SleapishError, ValueError):
    """The labels, config or run folder do not allow training (raised before any
    training step)."""


def user_labeled(labels, with_track_only: bool = False):
    """A copy of `labels` keeping only frames with user instances (with tracks)."""
    import sleap_io as sio

    lfs = []
    for lf in labels:
        insts = [i for i in lf.user_instances
                 if not with_track_only or i.track is not None]
        if insts:
            lfs.append(sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx,
                                        instances=insts))
    return sio.Labels(labeled_frames=lfs, videos=list(labels.videos),
                      skeletons=list(labels.skeletons), tracks=list(labels.tracks),
                      provenance=dict(labels.provenance))


def _load(labels, search_paths, what: str):
    if labels is None or not isinstance(labels, (str, os.PathLike)):
        return labels
    from sleapish.io.labels import load_file

    logger.info("Loading %s labels from %s", what, labels)
    return load_file(labels, search_paths=search_paths)


def _reader(labels, with_track_only: bool, what: str) -> LabelsReader:
    try:
        return LabelsReader(labels, user_instances_only=True,
                            with_track_only=with_track_only)
    except ValueError as e:
        if "no labeled frames" not in str(e):
            raise TrainingSetupError(f"The {what} labels cannot be read for training: "
                                     f"{e}") from None
        extra = " with a track" if with_track_only else ""
        raise TrainingSetupError(
            f"The {what} labels have no user-labeled instances{extra} to train on "
            f"({len(labels)} labeled frames; predictions are not used for "
            f"training). Received: {e}") from None


@attrs.define
class DataReaders:
    """Training, validation and (optional) test data providers.

    Attributes:
        training_labels_reader: Provider of the training examples.
        validation_labels_reader: Provider of the validation examples.
        test_labels_reader: Provider of the test examples, or `None`.
        training_inds: Labeled-frame indices of the training split (when split
            here), else `None`.
        validation_inds: Same for validation.
    """

    training_labels_reader: LabelsReader
    validation_labels_reader: LabelsReader
    test_labels_reader: Optional[LabelsReader] = None
    training_inds: Optional[List[int]] = None
    validation_inds: Optional[List[int]] = None

    @classmethod
    def from_config(cls, labels_config, training=None, validation=None, test=None,
                    video_search_paths: Optional[Sequence[PathLike]] = None,
                    update_config: bool = False, with_track_only: bool = False,
                    seed: Optional[int] = None) -> DataReaders:
        """Resolve the splits from arguments and a `LabelsConfig`.

        Args:
            labels_config: :class:`~sleapish.nn.config.LabelsConfig`.
            training: `sleap_io.Labels` or path; default `labels_config.training_labels`.
            validation: Labels, path or fraction; default the config's
                `validation_labels`, else its `validation_fraction`.
            test: Labels or path; default the config's `test_labels`.
            video_search_paths: Extra folders searched for videos.
            update_config: Write paths and split indices back into `labels_config`.
            with_track_only: Use only instances with a track (identity models).
            seed: Seed of the random validation split.

        Raises:
            TrainingSetupError: Without training labels, or when a split has no
                user instances.
            FileNotFoundError: If a labels file or its video is missing.
        """
        cfg = labels_config
        training = cfg.training_labels if training is None else training
        if validation is None:
            validation = (cfg.validation_labels if cfg.validation_labels is not None
                          else cfg.validation_fraction)
        test = cfg.test_labels if test is None else test
        if training is None:
            raise TrainingSetupError(
                "No training labels: give a labels file (sleapish-train CONFIG LABELS) "
                "or set data.labels.training_labels. Received: None")
        search = [str(p) for p in (video_search_paths or []) if str(p)]
        search += [p for p in (cfg.search_path_hints or []) if p not in search]
        if update_config:
            if isinstance(training, (str, os.PathLike)):
                cfg.training_labels = str(training)
            if isinstance(validation, (str, os.PathLike)):
                cfg.validation_labels = str(validation)
            elif isinstance(validation, float):
                cfg.validation_fraction = validation
            if isinstance(test, (str, os.PathLike)):
                cfg.test_labels = str(test)
            cfg.search_path_hints = search
        training = _load(training, search, "training")
        if cfg.split_by_inds:
            try:
                if cfg.validation_inds:
                    validation = split_labels_by_inds(training, cfg.validation_inds)
                if cfg.test_inds:
                    test = split_labels_by_inds(training, cfg.test_inds)
                if cfg.training_inds:
                    training = split_labels_by_inds(training, cfg.training_inds)
            except IndexError as e:
                raise TrainingSetupError(f"data.labels split indices: {e}") from None
        validation = _load(validation, search, "validation")
        train_inds = val_inds = None
        if isinstance(validation, (int, float)) and not isinstance(validation, bool):
            user = user_labeled(training, with_track_only)
            if len(user) == 0:
                raise TrainingSetupError(
                    "The training labels have no user-labeled instances"
                    + (" with a track" if with_track_only else "")
                    + f" to train on ({len(training)} labeled frames; predictions are "
                    "not used for training). Received: 0 user-labeled frames")
            training, train_inds, validation, val_inds = split_labels_train_val(
                user, float(validation), seed=seed)
            train_inds, val_inds = [int(i) for i in train_inds], [int(i) for i in val_inds]
            logger.info("Split: %d training / %d validation frames", len(train_inds),
                        len(val_inds))
            if update_config:
                cfg.training_inds, cfg.validation_inds = train_inds, val_inds
        test = _load(test, search, "test")
        return cls(
            training_labels_reader=_reader(training, with_track_only, "training"),
            validation_labels_reader=_reader(validation, with_track_only, "validation"),
            test_labels_reader=(None if test is None
                                else _reader(test, with_track_only, "test")),
            training_inds=train_inds, validation_inds=val_inds)

    @property
    def training_labels(self):
        """`sleap_io.Labels` of the training split."""
        return self.training_labels_reader.labels

    @property
    def validation_labels(self):
        """`sleap_io.Labels` of the validation split."""
        return self.validation_labels_reader.labels

    @property
    def test_labels(self):
        """`sleap_io.Labels` of the test split.

        Raises:
            ValueError: If there is no test split.
        """
        if self.test_labels_reader is None:
            raise InvalidValueError("No test labels were given. Received: None")
        return self.test_labels_reader.labels


def count_user_instances(labels) -> int:
    """Number of user-labeled instances in `labels`."""
    return sum(len(lf.user_instances) for lf in labels)


def check_config_fits_labels(config, labels) -> None:
    """Check the model config against the labels' skeleton and tracks.

    Raises:
        TrainingSetupError: For an anchor part or part name that is not a node, PAF
            edges between unknown nodes, or an identity model on labels without
            tracks (or with classes that are not track names).
    """
    skel = labels.skeletons[0]
    nodes = list(skel.node_names)
    heads = config.model.heads
    kind = heads.which_oneof_attrib_name()
    if kind is None:
        raise TrainingSetupError("config.model.heads has no head set. Received: "
                                 "all heads None")
    head = heads.which_oneof()

    def _node(name, where):
        if name is not None and name not in nodes:
            raise TrainingSetupError(
                f"{where} is {name!r}, which is not a node of the skeleton {nodes}. "
                f"Received: {name!r}")

    _node(config.data.instance_cropping.center_on_part,
          "data.instance_cropping.center_on_part")
    confmaps = getattr(head, "confmaps", head)
    _node(getattr(confmaps, "anchor_part", None), f"model.heads.{kind}.anchor_part")
    for name in getattr(confmaps, "part_names", None) or []:
        _node(name, f"model.heads.{kind}.part_names entry")
    pafs = getattr(head, "pafs", None)
    for edge in (getattr(pafs, "edges", None) or []):
        for name in edge:
            _node(name, f"model.heads.{kind}.pafs.edges entry {list(edge)}")
    if HEAD_KINDS[kind].identity:
        cls_cfg = head.class_maps if kind == "multi_class_bottomup" else head.class_vectors
        track_names = [t.name for t in labels.tracks]
        n_tracked = sum(1 for lf in labels for i in lf.user_instances
                        if i.track is not None)
        if not track_names or n_tracked == 0:
            raise TrainingSetupError(
                f"An identity model ({kind}) learns one class per track, but the "
                f"labels have {len(track_names)} tracks and {n_tracked} user instances "
                "with a track. Assign tracks to the labeled instances. Received: "
                f"tracks={track_names}")
        unknown = [c for c in (cls_cfg.classes or []) if c not in track_names]
        if unknown:
            raise TrainingSetupError(
                f"model.heads.{kind} classes {unknown} are not track names of the "
                f"labels {track_names}. Received: {cls_cfg.classes}")


__all__ = ["DataReaders", "TrainingSetupError", "check_config_fits_labels",
           "count_user_instances", "user_labeled"]

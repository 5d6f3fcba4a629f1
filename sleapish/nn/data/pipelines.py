"""Pipelines: a provider composed with transformers, and one builder per model type.

Example:
    >>> p = Pipeline(LabelsReader(labels)) | Normalizer() | Resizer(scale=0.5)
    >>> print(p.describe())
    >>> batch = p.peek()

The builders (`SingleInstanceConfmapsPipeline`, `CentroidConfmapsPipeline`,
`TopdownConfmapsPipeline`, `BottomUpPipeline`, `BottomUpMultiClassPipeline`,
`TopDownMultiClassPipeline`) make the training pipeline of each model type from the
configs and the model's heads: SLEAP's order of operations (cache raw frames,
augment, size-match, normalize, scale and pad, [find centroids and crop], make
targets, shuffle, batch, repeat, prefetch) and exactly the target keys the heads
need, mapped to `(inputs, targets)` for Keras.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn import heads as H
from sleapish.nn._backend import tf
from sleapish.nn.data.confidence_maps import (
    InstanceConfidenceMapGenerator,
    MultiConfidenceMapGenerator,
    SingleInstanceConfidenceMapGenerator,
)
from sleapish.nn.data.dataset_ops import (
    Batcher,
    LambdaFilter,
    Prefetcher,
    Preloader,
    Repeater,
    SeededEpochs,
    Shuffler,
    Unbatcher,
)
from sleapish.nn.data.edge_maps import PartAffinityFieldsGenerator
from sleapish.nn.data.general import KeyFilter, KeyMapper, KeyRenamer, LambdaMap
from sleapish.nn.data.identity import ClassMapGenerator, ClassVectorGenerator
from sleapish.nn.data.instance_centroids import InstanceCentroidFinder
from sleapish.nn.data.instance_cropping import InstanceCropper, PredictedInstanceCropper
from sleapish.nn.data.normalization import Normalizer
from sleapish.nn.data.providers import LabelsReader, VideoReader
from sleapish.nn.data.resizing import PointsRescaler, Resizer, SizeMatcher
from sleapish.nn.data.utils import check_keys, describe_tensors, unrag_example

#: Data providers (SLEAP's `PROVIDERS`).
PROVIDERS = (LabelsReader, VideoReader)


def _is_provider(block) -> bool:
    return hasattr(block, "make_dataset")


@attrs.define
class Pipeline:
    """A data provider followed by transformers.

    Attributes:
        providers: The provider (or a one-element list), e.g. a `LabelsReader`.
        transformers: Transformers applied in order.
    """

    providers: Any = None
    transformers: List[Any] = attrs.field(factory=list)

    @classmethod
    def from_blocks(cls, blocks: Union[Any, Sequence[Any]]) -> Pipeline:
        """Build from a list whose first block may be a provider (or one block)."""
        blocks = list(blocks) if isinstance(blocks, (list, tuple)) else [blocks]
        provider = blocks.pop(0) if blocks and _is_provider(blocks[0]) else None
        if any(_is_provider(b) for b in blocks):
            raise InvalidValueError("A pipeline has one provider, first. Received: "
                                    f"{[type(b).__name__ for b in blocks]}")
        return cls(providers=provider, transformers=blocks)

    @property
    def provider(self):
        """The data provider."""
        p = self.providers
        return p[0] if isinstance(p, (list, tuple)) else p

    def append(self, other) -> Pipeline:
        """Append a transformer or every transformer of another pipeline (in place)."""
        if isinstance(other, Pipeline):
            if other.provider is not None:
                if self.provider is not None:
                    raise InvalidValueError("Cannot join two pipelines that both have "
                                            "providers. Received: 2 providers")
                self.providers = other.providers
            self.transformers.extend(other.transformers)
        elif _is_provider(other):
            if self.provider is not None:
                raise InvalidValueError(f"Pipeline already has a provider. Received: "
                                        f"{type(other).__name__}")
            self.providers = other
        else:
            self.transformers.append(other)
        return self

    def __add__(self, other) -> Pipeline:
        """A new pipeline with `other` appended."""
        return Pipeline(self.providers, list(self.transformers)).append(other)

    __or__ = __add__

    def make_dataset(self):
        """Build the `tf.data.Dataset`.

        Raises:
            ValueError: Without a provider.
            KeyError: If a transformer needs a key the examples do not have (naming
                the transformer and the keys present).
        """
        if self.provider is None:
            raise InvalidValueError("Pipeline has no provider. Received: None")
        ds = self.provider.make_dataset()
        for t in self.transformers:
            if isinstance(ds.element_spec, dict):
                check_keys(list(ds.element_spec), t.input_keys, type(t).__name__)
            ds = t.transform_dataset(ds)
        return ds

    def peek(self, n: int = 1, numpy: bool = True):
        """The first example (or first `n` as a list).

        Dict examples are NaN-unragged and converted to numpy; `(inputs, targets)`
        examples of training pipelines are returned as they are (tensors).
        """
        out = []
        for ex in self.make_dataset().take(n):
            if isinstance(ex, dict):
                ex = unrag_example(ex, numpy=numpy)
            out.append(ex)
        return out[0] if n == 1 else out

    @property
    def output_keys(self) -> List[str]:
        """Keys of the examples the pipeline yields (from its dataset's spec)."""
        spec = self.make_dataset().element_spec
        return sorted(spec) if isinstance(spec, dict) else []

    def describe(self, return_description: bool = True) -> str:
        """Blocks in order, then the keys, dtypes and shapes of the output."""
        lines = [f"provider: {type(self.provider).__name__}"]
        lines += [f"  {i}: {type(t).__name__}" for i, t in enumerate(self.transformers)]
        spec = self.make_dataset().element_spec
        if isinstance(spec, dict):
            lines.append("output:")
            lines += ["  " + line for line in describe_tensors(
                {k: _SpecView(v) for k, v in spec.items()}).splitlines()]
        text = "\n".join(lines)
        if not return_description:
            print(text)
        return text


@attrs.define
class _SpecView:
    spec: Any

    @property
    def dtype(self):
        return self.spec.dtype

    @property
    def shape(self):
        return self.spec.shape


#: Head class -> example key of its training target.
TARGET_KEYS: Dict[type, str] = {
    H.SingleInstanceConfmapsHead: "confidence_maps",
    H.CentroidConfmapsHead: "centroid_confidence_maps",
    H.CenteredInstanceConfmapsHead: "instance_confidence_maps",
    H.MultiInstanceConfmapsHead: "confidence_maps",
    H.PartAffinityFieldsHead: "part_affinity_fields",
    H.ClassMapsHead: "class_maps",
    H.ClassVectorsHead: "class_vectors",
    H.OffsetRefinementHead: "offsets",
}


def _check_part_names(names, skeletons, who: str) -> None:
    skel = skeletons[0] if skeletons else None
    if skel is None:
        return
    missing = [n for n in names if n not in skel.node_names]
    if missing:
        raise InvalidValueError(f"{who}: part names {missing} are not nodes of the labels' "
                                f"skeleton {skel.node_names}. Received: {list(names)}")


@attrs.define
class _ModelPipeline:
    """Shared steps of the per-model-type training pipelines."""

    data_config: Any
    optimization_config: Any
    offsets_head: Optional[H.OffsetRefinementHead] = None

    image_key = "image"

    @property
    def heads(self) -> List[H.Head]:
        """The heads whose targets the pipeline makes, in model output order."""
        raise NotImplementedError

    def _targets(self, provider) -> List[Any]:
        raise NotImplementedError

    def _augmenters(self, provider) -> List[Any]:
        """The random augmentation blocks (flip, imgaug-style, crop) in SLEAP's order."""
        aug = self.optimization_config.augmentation_config
        from sleapish.nn.data import augmentation as A

        blocks: List[Any] = []
        if aug.random_flip:
            blocks.append(A.RandomFlipper.from_skeleton(provider.skeletons[0],
                                                        horizontal=aug.flip_horizontal))
        blocks.append(A.ImgaugAugmenter.from_config(aug))
        if aug.random_crop:
            blocks.append(A.RandomCropper(crop_height=aug.random_crop_height,
                                          crop_width=aug.random_crop_width))
        return blocks

    def _sizing(self, provider, augment: bool) -> List[Any]:
        """Size matching, normalization and resizing after augmentation."""
        pre = self.data_config.preprocessing
        aug = self.optimization_config.augmentation_config
        blocks: List[Any] = []
        if pre.resize_and_pad_to_target and not (augment and aug.random_crop):
            h, w = provider.max_height_and_width
            blocks.append(SizeMatcher(max_image_height=pre.target_height or h,
                                      max_image_width=pre.target_width or w))
        return blocks + [Normalizer.from_config(pre), Resizer.from_config(pre)]

    def _preprocess(self, provider, augment: bool) -> Pipeline:
        p = Pipeline(provider)
        if augment and self.optimization_config.preload_data:
            p += Preloader()
        for block in (self._augmenters(provider) if augment else []):
            p += block
        for block in self._sizing(provider, augment):
            p += block
        return p

    def make_base_pipeline(self, data_provider) -> Pipeline:
        """Provider -> preprocessing -> targets (no augmentation, no batching)."""
        for head in self.heads:
            if getattr(head, "part_names", None) and not isinstance(
                    head, H.OffsetRefinementHead):
                _check_part_names(head.part_names, data_provider.skeletons,
                                  type(head).__name__)
        p = self._preprocess(data_provider, augment=False)
        for t in self._targets(data_provider):
            p += t
        return p

    def make_training_pipeline(self, data_provider, shuffle: bool = True,
                               repeat: bool = True, seed: Optional[int] = None,
                               first_epoch: int = 0) -> Pipeline:
        """Augmented, batched `(inputs, targets)` pipeline for `keras.Model.fit`.

        Targets are keyed by head name (`"CentroidConfmapsHead"`, ...), the input by
        `"input"`.

        Args:
            data_provider: The labels provider.
            shuffle: Shuffle examples (with `online_shuffling`).
            repeat: Repeat forever (SLEAP's stream). Ignored with a seed.
            seed: With a seed, the stream is a :class:`SeededEpochs`: epoch `e`
                holds `batches_per_epoch` batches that depend only on `(seed, e)`
                (reproducible, and identical after a resume). Without one, SLEAP's
                stateful shuffle -> batch -> repeat stream.
            first_epoch: With a seed, the epoch the stream starts at.

        Returns:
            The :class:`Pipeline`.
        """
        opt = self.optimization_config
        targets = self._targets(data_provider)
        shuffling = shuffle and opt.online_shuffling
        if seed is not None:
            p = Pipeline(data_provider)
            if opt.preload_data:
                p += Preloader()
            augmenters = self._augmenters(data_provider)
            p += SeededEpochs(
                blocks=augmenters + self._sizing(data_provider, True) + targets,
                seed=int(seed), batches_per_epoch=int(opt.batches_per_epoch or 1),
                batch_size=opt.batch_size, first_epoch=int(first_epoch),
                shuffle_buffer_size=opt.shuffle_buffer_size if shuffling else None,
                seed_consumers=len(augmenters))
        else:
            p = self._preprocess(data_provider, augment=True)
            for t in targets:
                p += t
            if shuffling:
                p += Shuffler(shuffle=True, buffer_size=opt.shuffle_buffer_size)
            p += Batcher(batch_size=opt.batch_size, drop_remainder=False)
            if repeat:
                p += Repeater()
        p += Prefetcher(prefetch=opt.prefetch)
        p += KeyMapper([{self.image_key: "input"},
                        {TARGET_KEYS[type(h)]: h.name for h in self.heads}])
        return p

    def _confmap_args(self, head) -> Dict[str, Any]:
        off = self.offsets_head
        return dict(sigma=head.sigma, output_stride=head.output_stride,
                    with_offsets=off is not None,
                    offsets_threshold=off.sigma_threshold if off else 0.2,
                    flatten_offsets=True)

    def _crop(self, provider) -> List[Any]:
        crop = self.data_config.instance_cropping
        if crop.crop_size is None:
            raise InvalidValueError("Top-down pipelines need data.instance_cropping.crop_size "
                                    "(the trainer infers it). Received: None")
        return [InstanceCentroidFinder.from_config(crop, skeletons=provider.skeletons),
                InstanceCropper(crop_width=crop.crop_size, crop_height=crop.crop_size)]

    def _subset(self, head, provider, key: str = "instances") -> List[Any]:
        """Keep only the head's parts (in its order) when they differ from the
        skeleton's nodes; placed just before the confidence-map generator."""
        names = list(provider.skeletons[0].node_names)
        parts = list(getattr(head, "part_names", None) or names)
        if parts == names:
            return []
        inds = tf.constant([names.index(n) for n in parts], tf.int32)
        axis = 0 if key == "center_instance" else 1
        return [LambdaMap(lambda x: tf.gather(x, inds, axis=axis), [key], [key])]

    def _with_offsets(self, main) -> List[H.Head]:
        return [main] + ([self.offsets_head] if self.offsets_head else [])


@attrs.define
class SingleInstanceConfmapsPipeline(_ModelPipeline):
    """Single-instance model: confidence maps (+ offsets) of the first instance."""

    single_instance_confmap_head: Optional[H.SingleInstanceConfmapsHead] = None

    @property
    def heads(self):
        """Heads in output order."""
        return self._with_offsets(self.single_instance_confmap_head)

    def _targets(self, provider):
        head = self.single_instance_confmap_head
        return self._subset(head, provider) + [SingleInstanceConfidenceMapGenerator(
            **self._confmap_args(head))]


@attrs.define
class CentroidConfmapsPipeline(_ModelPipeline):
    """Centroid model: centroid confidence maps (+ offsets)."""

    centroid_confmap_head: Optional[H.CentroidConfmapsHead] = None

    @property
    def heads(self):
        """Heads in output order."""
        return self._with_offsets(self.centroid_confmap_head)

    def _targets(self, provider):
        crop = self.data_config.instance_cropping
        head = self.centroid_confmap_head
        anchor = head.anchor_part if head.anchor_part is not None else crop.center_on_part
        finder = InstanceCentroidFinder(center_on_anchor_part=anchor is not None,
                                        anchor_part_names=anchor,
                                        skeletons=provider.skeletons)
        return [finder, MultiConfidenceMapGenerator(centroids=True,
                                                    **self._confmap_args(head))]


@attrs.define
class TopdownConfmapsPipeline(_ModelPipeline):
    """Top-down centered-instance model: crops and their confidence maps."""

    instance_confmap_head: Optional[H.CenteredInstanceConfmapsHead] = None
    image_key = "instance_image"

    @property
    def heads(self):
        """Heads in output order."""
        return self._with_offsets(self.instance_confmap_head)

    def _targets(self, provider):
        head = self.instance_confmap_head
        return (self._crop(provider) + self._subset(head, provider, "center_instance")
                + [InstanceConfidenceMapGenerator(**self._confmap_args(head))])


@attrs.define
class BottomUpPipeline(_ModelPipeline):
    """Bottom-up model: multi-instance confidence maps and part affinity fields."""

    confmaps_head: Optional[H.MultiInstanceConfmapsHead] = None
    pafs_head: Optional[H.PartAffinityFieldsHead] = None

    @property
    def heads(self):
        """Heads in output order."""
        return [self.confmaps_head, self.pafs_head] + (
            [self.offsets_head] if self.offsets_head else [])

    def _targets(self, provider):
        skel = provider.skeletons[0]
        names = skel.node_names
        missing = [n for e in self.pafs_head.edges for n in e if n not in names]
        if missing:
            raise InvalidValueError(f"PAF edges use nodes {missing} missing from the skeleton "
                                    f"{names}. Received: {self.pafs_head.edges}")
        edge_inds = [(names.index(a), names.index(b)) for a, b in self.pafs_head.edges]
        return [PartAffinityFieldsGenerator(sigma=self.pafs_head.sigma,
                                            output_stride=self.pafs_head.output_stride,
                                            flatten_channels=True,
                                            edge_inds=edge_inds)] + self._subset(
            self.confmaps_head, provider) + [
            MultiConfidenceMapGenerator(**self._confmap_args(self.confmaps_head))]


@attrs.define
class BottomUpMultiClassPipeline(_ModelPipeline):
    """Bottom-up identity model: confidence maps and class maps."""

    confmaps_head: Optional[H.MultiInstanceConfmapsHead] = None
    class_maps_head: Optional[H.ClassMapsHead] = None

    @property
    def heads(self):
        """Heads in output order."""
        return [self.confmaps_head, self.class_maps_head] + (
            [self.offsets_head] if self.offsets_head else [])

    def _targets(self, provider):
        cm = self.class_maps_head
        return [ClassMapGenerator(sigma=cm.sigma, output_stride=cm.output_stride,
                                  centroids=False)] + self._subset(
            self.confmaps_head, provider) + [
            MultiConfidenceMapGenerator(**self._confmap_args(self.confmaps_head))]


@attrs.define
class TopDownMultiClassPipeline(_ModelPipeline):
    """Top-down identity model: crops, their confidence maps and class vectors."""

    instance_confmap_head: Optional[H.CenteredInstanceConfmapsHead] = None
    class_vectors_head: Optional[H.ClassVectorsHead] = None
    image_key = "instance_image"

    @property
    def heads(self):
        """Heads in output order."""
        return [self.instance_confmap_head, self.class_vectors_head] + (
            [self.offsets_head] if self.offsets_head else [])

    def _targets(self, provider):
        # As in SLEAP: class vectors are made per frame, then the cropper gives each
        # crop its own instance's row.
        head = self.instance_confmap_head
        return ([ClassVectorGenerator()] + self._crop(provider)
                + self._subset(head, provider, "center_instance")
                + [InstanceConfidenceMapGenerator(**self._confmap_args(head))])


def pipeline_for_model(data_config, optimization_config, model) -> _ModelPipeline:
    """The pipeline builder matching a :class:`~sleapish.nn.model.Model`'s heads.

    Raises:
        ValueError: For a head combination no model type has.
    """
    heads = list(model.heads)
    offsets = next((h for h in heads if isinstance(h, H.OffsetRefinementHead)), None)
    main = [h for h in heads if not isinstance(h, H.OffsetRefinementHead)]
    kinds = tuple(type(h) for h in main)
    common = dict(data_config=data_config, optimization_config=optimization_config,
                  offsets_head=offsets)
    if kinds == (H.SingleInstanceConfmapsHead,):
        return SingleInstanceConfmapsPipeline(single_instance_confmap_head=main[0], **common)
    if kinds == (H.CentroidConfmapsHead,):
        return CentroidConfmapsPipeline(centroid_confmap_head=main[0], **common)
    if kinds == (H.CenteredInstanceConfmapsHead,):
        return TopdownConfmapsPipeline(instance_confmap_head=main[0], **common)
    if kinds == (H.MultiInstanceConfmapsHead, H.PartAffinityFieldsHead):
        return BottomUpPipeline(confmaps_head=main[0], pafs_head=main[1], **common)
    if kinds == (H.MultiInstanceConfmapsHead, H.ClassMapsHead):
        return BottomUpMultiClassPipeline(confmaps_head=main[0], class_maps_head=main[1],
                                          **common)
    if kinds == (H.CenteredInstanceConfmapsHead, H.ClassVectorsHead):
        return TopDownMultiClassPipeline(instance_confmap_head=main[0],
                                         class_vectors_head=main[1], **common)
    raise InvalidValueError(f"No pipeline for heads {[k.__name__ for k in kinds]}. "
                            f"Received: {[k.__name__ for k in kinds]}")


def labels_to_pipeline(labels, batch_size: Optional[int] = None, prefetch: bool = True,
                       frame_indices: Optional[Sequence[int]] = None,
                       user_labeled_only: bool = True) -> Pipeline:
    """A pipeline reading a `sleap_io.Labels` (SLEAP's `Labels.to_pipeline`).

    sleap-io's `Labels` has no `to_pipeline()` method; this is the same convenience:
    a :class:`LabelsReader`, optionally batched (ragged keys stay ragged), then
    prefetched.

    Args:
        labels: A `sleap_io.Labels` with a skeleton.
        batch_size: If not `None`, examples are batched into rank-4 images (the last
            batch may be smaller); otherwise single `(h, w, c)` images are yielded.
        prefetch: Add a :class:`Prefetcher` (SLEAP always adds one; prefetching does
            not change the data).
        frame_indices: Labeled-frame indices (positions in `labels`) to read; all
            labeled frames when `None`.
        user_labeled_only: Read only user instances, and only frames that have one
            (SLEAP's documented behaviour); if `False`, every labeled frame with all
            its instances, including frames without instances.

    Returns:
        The :class:`Pipeline`; `make_dataset()` builds the `tf.data.Dataset`.

    Raises:
        ValueError: If no frame is left to read (see :class:`LabelsReader`).

    Example:
        >>> p = labels_to_pipeline(labels, batch_size=4)
        >>> batch = p.peek()   # "image" (4, h, w, c) uint8, "instances" ragged ...
    """
    if user_labeled_only:
        reader = LabelsReader(labels, user_instances_only=True,
                              example_indices=frame_indices)
    else:
        reader = LabelsReader(labels, user_instances_only=False,
                              example_indices=frame_indices, include_empty=True)
    pipeline = Pipeline(reader)
    if batch_size is not None:
        pipeline += Batcher(batch_size=int(batch_size), drop_remainder=False,
                            unrag=False)
    if prefetch:
        pipeline += Prefetcher()
    return pipeline


__all__ = [
    "PROVIDERS",
    "LabelsReader",
    "VideoReader",
    "PointsRescaler",
    "PredictedInstanceCropper",
    "Unbatcher",
    "LambdaFilter",
    "KeyFilter",
    "KeyRenamer",
    "labels_to_pipeline",
    "Pipeline",
    "TARGET_KEYS",
    "SingleInstanceConfmapsPipeline",
    "CentroidConfmapsPipeline",
    "TopdownConfmapsPipeline",
    "BottomUpPipeline",
    "BottomUpMultiClassPipeline",
    "TopDownMultiClassPipeline",
    "pipeline_for_model",
]

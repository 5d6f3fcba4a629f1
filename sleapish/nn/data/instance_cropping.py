"""Instance-centered crops for top-down models (SLEAP's `instance_cropping`).

Bounding boxes are `(n, 4)` float32 `[y1, x1, y2, x2]` in pixel-centre coordinates,
inclusive: a box of size S centered at c spans `c - (S - 1) / 2 ... c + (S - 1) / 2`,
so a 3 x 3 box centred at (1, 1) is `[0, 0, 2, 2]` and crops exactly `image[0:3, 0:3]`.

Example:
    >>> boxes = make_centered_bboxes(tf.constant([[1.0, 1.0]]), 3, 3)  # [[0, 0, 2, 2]]
    >>> crops = crop_bboxes(image, boxes)                              # (1, 3, 3, c)
"""

from __future__ import annotations

import math
import numbers
from typing import List, Optional

import attrs
import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.config.data import InstanceCroppingConfig


def find_instance_crop_size(labels, padding: int = 0, maximum_stride: int = 2,
                            input_scaling: float = 1.0,
                            min_crop_size: Optional[int] = None) -> int:
    """Side of the square crop that holds every user instance, as SLEAP computes it.

    A `min_crop_size` that is a positive multiple of `maximum_stride` is returned as
    it is. Otherwise the size is the largest (scaled) x or y extent of any user
    instance, at least `min_crop_size - padding`, plus `padding`, rounded up to a
    multiple of `maximum_stride`.

    Args:
        labels: `sleap_io.Labels`.
        padding: Pixels added to the largest instance extent.
        maximum_stride: The crop size is a multiple of this.
        input_scaling: Scale applied to the images (extents are scaled too).
        min_crop_size: The user's crop size (`None` or 0: not set).

    Returns:
        The crop size in pixels.

    Raises:
        ValueError: If it has to be computed and the labels have no user instance
            with a visible point (SLEAP would return a size from the padding alone,
            or fail on NaN).
    """
    min_crop_size = 0 if min_crop_size is None else int(min_crop_size)
    if min_crop_size > 0 and min_crop_size % maximum_stride == 0:
        return min_crop_size
    max_length = None
    for lf in labels:
        for inst in lf.user_instances:
            pts = inst.numpy() * input_scaling
            if np.isnan(pts).all():
                continue  # SLEAP removes empty instances before training.
            extent = float(np.max(np.nanmax(pts, axis=0) - np.nanmin(pts, axis=0)))
            max_length = max(max_length or 0.0, extent, float(min_crop_size - padding))
    if max_length is None:
        raise InvalidValueError("Cannot infer a crop size: the labels have no user instance "
                                "with visible points. Received: 0 usable instances")
    max_length += float(padding)
    return int(math.ceil(max_length / float(maximum_stride)) * maximum_stride)


def _bbox_factor(image_height, image_width):
    h = tf.maximum(tf.cast(image_height, tf.float32) - 1.0, 1.0)
    w = tf.maximum(tf.cast(image_width, tf.float32) - 1.0, 1.0)
    return tf.stack([h, w, h, w])


def normalize_bboxes(bboxes, image_height: int, image_width: int):
    """Pixel boxes -> `tf.image.crop_and_resize` normalized coordinates.

    Args:
        bboxes: float32 `(n, 4)` `[y1, x1, y2, x2]` in pixels.
        image_height: Image height (int or scalar tensor).
        image_width: Image width.

    Returns:
        float32 `(n, 4)` divided by `[h - 1, w - 1, h - 1, w - 1]` (by 1 for a
        dimension of size 1, to stay finite).
    """
    return (tf.convert_to_tensor(bboxes, tf.float32)
            / _bbox_factor(image_height, image_width))


def unnormalize_bboxes(normalized_bboxes, image_height: int, image_width: int):
    """Normalized `[y1, x1, y2, x2]` boxes -> pixels (inverse of `normalize_bboxes`).

    Args:
        normalized_bboxes: float32 `(n, 4)` in [0, 1] image coordinates.
        image_height: Image height.
        image_width: Image width.

    Returns:
        float32 `(n, 4)` multiplied by `[h - 1, w - 1, h - 1, w - 1]`.
    """
    return (tf.convert_to_tensor(normalized_bboxes, tf.float32)
            * _bbox_factor(image_height, image_width))


def make_centered_bboxes(centroids, box_height: int, box_width: int):
    """Boxes of a fixed size centered on points.

    Args:
        centroids: float32 `(..., 2)` (x, y) centers, e.g. `(n, 2)`.
        box_height: Box height in pixels.
        box_width: Box width.

    Returns:
        float32 `(..., 4)` `[y1, x1, y2, x2]`: `y1 = cy - (box_height - 1) / 2`,
        `y2 = cy + (box_height - 1) / 2` (likewise for x). A box of height 4 centred
        at y = 2 spans 0.5 ... 3.5.
    """
    centroids = tf.convert_to_tensor(centroids, tf.float32)
    delta = tf.constant([-box_height + 1, -box_width + 1, box_height - 1,
                         box_width - 1], tf.float32) * 0.5
    return tf.gather(centroids, [1, 0, 1, 0], axis=-1) + delta


def crop_bboxes(image, bboxes, crop_size=None):
    """Crop boxes out of one image (bilinear for fractional boxes, 0 outside).

    Args:
        image: `(height, width, channels)` image (any dtype `crop_and_resize` takes).
        bboxes: float32 `(n, 4)` `[y1, x1, y2, x2]` in pixels, all of one size.
        crop_size: `(crop_height, crop_width)`; when `None` it is the first box's
            `round(y2 - y1 + 1)` x `round(x2 - x1 + 1)`, as in SLEAP (1 x 1 when
            there is no box).

    Returns:
        `(n, crop_height, crop_width, channels)` crops cast back to the image's dtype
        (integer crops of fractional boxes are truncated, as SLEAP's cast does).
    """
    image = tf.convert_to_tensor(image)
    bboxes = tf.convert_to_tensor(bboxes, tf.float32)
    if crop_size is None:
        first = tf.concat([bboxes, tf.zeros([1, 4], tf.float32)], axis=0)[0]
        size = tf.cast(tf.round(first[2:] - first[:2] + 1.0), tf.int32)
    else:
        size = tf.constant([int(crop_size[0]), int(crop_size[1])], tf.int32)
    s = tf.shape(image)
    crops = tf.image.crop_and_resize(
        image[None], normalize_bboxes(bboxes, s[0], s[1]),
        tf.zeros([tf.shape(bboxes)[0]], tf.int32), size, method="bilinear",
        extrapolation_value=0.0)
    return tf.cast(crops, image.dtype)


def _repeat(value, n):
    """`value` stacked `n` times on a new first axis."""
    value = tf.convert_to_tensor(value)
    return tf.repeat(value[None], n, axis=0)


def _check_rank3(spec, key: str, who: str) -> None:
    if key not in spec or spec[key].shape.rank != 3:
        raise InvalidValueError(f"{who} expects single (unbatched) images of rank 3 under "
                                f"{key!r}. Received: {spec.get(key)}")


@attrs.define
class InstanceCropper:
    """Turn each frame into one example per instance, cropped around its centroid.

    Output keys of each crop example:

    - `"instance_image"`: `(crop_height, crop_width, channels)`, the image's dtype;
    - `"bbox"`: float32 `(4,)` `[y1, x1, y2, x2]` in full-image pixels;
    - `"center_instance"`: float32 `(n_nodes, 2)` in crop coordinates (add the
      bbox's `(x1, y1)` to get image coordinates);
    - `"center_instance_ind"`: int32 index of the instance in its frame;
    - `"all_instances"`: float32 `(n_instances, n_nodes, 2)` in crop coordinates;
    - `"centroid"`: float32 `(2,)` in full-image coordinates;
    - `"full_image_height"`, `"full_image_width"`: int32;
    - `"track_ind"`: int32, the instance's track (when `"track_inds"` exists);
    - `"class_vectors"`: the instance's row (when the frame has `"class_vectors"`);
    - `"centroid_confidence"`: float32 1.0 (with `mock_centroid_confidence`);
    - every other frame key repeated unchanged (`"scale"`, `"frame_ind"`,
      `"track_inds"`, `"skeleton_inds"`, ..., and `image_key` with
      `keep_full_image`).

    Frames without instances yield no crop.

    Attributes:
        crop_width: Crop width in pixels.
        crop_height: Crop height.
        keep_full_image: Keep the full image in each crop example.
        mock_centroid_confidence: Add `"centroid_confidence"` = 1.0 (ground truth).
        unbatch: One example per instance (True) or one per frame holding all its
            crops (False).
        image_key: Image key.
        instances_key: Instances key.
        centroids_key: Centroids key.

    Example:
        >>> ds = InstanceCentroidFinder(...).transform_dataset(ds)
        >>> ds = InstanceCropper(crop_width=160, crop_height=160).transform_dataset(ds)
    """

    crop_width: int
    crop_height: int
    keep_full_image: bool = False
    mock_centroid_confidence: bool = False
    unbatch: bool = True
    image_key: str = "image"
    instances_key: str = "instances"
    centroids_key: str = "centroids"

    @classmethod
    def from_config(cls, config: InstanceCroppingConfig,
                    crop_size: Optional[int] = None) -> InstanceCropper:
        """From an :class:`~sleapish.nn.config.InstanceCroppingConfig`.

        Args:
            config: Its `crop_size`, when an integer, wins over the argument.
            crop_size: Used only when `config.crop_size` is `None`.

        Raises:
            ValueError: If neither gives an integer crop size.
        """
        if _is_int(config.crop_size):
            crop_size = config.crop_size
        if not _is_int(crop_size):
            raise InvalidValueError("InstanceCropper.from_config: the crop size is set neither "
                                    "in the config nor in the arguments. Received: "
                                    f"config.crop_size={config.crop_size!r}, "
                                    f"crop_size={crop_size!r}")
        return cls(crop_width=int(crop_size), crop_height=int(crop_size),
                   keep_full_image=False)

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.image_key, self.instances_key, self.centroids_key]

    @property
    def output_keys(self) -> List[str]:
        """Keys of each crop example (besides the repeated frame keys)."""
        keys = ["instance_image", "bbox", "center_instance", "center_instance_ind",
                "track_ind", "all_instances", "centroid", "full_image_height",
                "full_image_width"]
        if self.keep_full_image:
            keys.append(self.image_key)
        if self.mock_centroid_confidence:
            keys.append("centroid_confidence")
        return keys

    def transform_dataset(self, input_ds):
        """Crop every instance of every frame.

        Raises:
            ValueError: If the images are not single rank-3 images.
        """
        spec = input_ds.element_spec
        _check_rank3(spec, self.image_key, "InstanceCropper")
        channels = spec[self.image_key].shape[-1]
        crop_shape = [None, self.crop_height, self.crop_width, channels]
        expand = [k for k in spec if k not in self.input_keys and k != "class_vectors"]
        if self.keep_full_image:
            expand.append(self.image_key)

        def fn(ex):
            img = ex[self.image_key]
            inst = ex[self.instances_key]
            cents = ex[self.centroids_key]
            boxes = make_centered_bboxes(cents, self.crop_height, self.crop_width)
            n = tf.shape(boxes)[0]
            crops = crop_bboxes(img, boxes, (self.crop_height, self.crop_width))
            offsets = tf.gather(boxes, [1, 0], axis=1)  # (n, 2) as (x1, y1)
            all_instances = inst[None] - offsets[:, None, None, :]
            out = {
                "instance_image": tf.ensure_shape(crops, crop_shape),
                "bbox": boxes,
                "center_instance": inst - offsets[:, None, :],
                "center_instance_ind": tf.range(n, dtype=tf.int32),
                "all_instances": all_instances,
                "centroid": cents,
                "full_image_height": tf.repeat(tf.shape(img)[0], n),
                "full_image_width": tf.repeat(tf.shape(img)[1], n),
            }
            if "track_inds" in ex:
                out["track_ind"] = ex["track_inds"]
            if "class_vectors" in ex:
                out["class_vectors"] = ex["class_vectors"]
            if self.mock_centroid_confidence:
                out["centroid_confidence"] = tf.ones([n], tf.float32)
            for key in expand:
                out[key] = _repeat(ex[key], n)
            return out

        output_ds = input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)
        return output_ds.unbatch() if self.unbatch else output_ds


@attrs.define
class PredictedInstanceCropper:
    """Crop the full-resolution image around predicted centroids (evaluation).

    Centroids predicted on the scaled image (`centroids_key`, divided by `"scale"`)
    are mapped to the full image of scale `full_image_scale_key`, and a crop is made
    around each of them.

    Output keys of each crop: `"instance_image"`, `"bbox"`, `"center_instance_ind"`,
    `"centroid"` (full-image coordinates), `"centroid_confidence"`,
    `"full_image_height"`, `"full_image_width"`, `"scale"` (the full image's),
    `"video_ind"`, `"frame_ind"`, plus `other_keys_to_keep` and `"instances"` (with
    `keep_instances_gt`) repeated.

    Attributes:
        crop_width: Crop width.
        crop_height: Crop height.
        centroids_key: Key of the predicted centroids `(n, 2)`.
        centroid_confidences_key: Key of their confidences `(n,)`.
        full_image_key: Key of the full image.
        full_image_scale_key: Key of the full image's scale.
        other_keys_to_keep: More frame keys to repeat in each crop.
        keep_instances_gt: Also repeat `"instances"`.
    """

    crop_width: int
    crop_height: int
    centroids_key: str = "predicted_centroids"
    centroid_confidences_key: str = "predicted_centroid_confidences"
    full_image_key: str = "full_image"
    full_image_scale_key: str = "full_image_scale"
    other_keys_to_keep: List[str] = attrs.field(factory=list)
    keep_instances_gt: bool = False

    @property
    def _expand_keys(self) -> List[str]:
        return (["scale", "video_ind", "frame_ind"] + list(self.other_keys_to_keep)
                + (["instances"] if self.keep_instances_gt else []))

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return ([self.full_image_key, self.full_image_scale_key, self.centroids_key,
                 self.centroid_confidences_key, "video_ind", "frame_ind"]
                + (["instances"] if self.keep_instances_gt else []))

    @property
    def output_keys(self) -> List[str]:
        """Keys of each crop example."""
        return (["instance_image", "bbox", "center_instance_ind", "centroid",
                 "centroid_confidence", "full_image_height", "full_image_width",
                 "scale", "video_ind", "frame_ind"] + list(self.other_keys_to_keep)
                + (["instances"] if self.keep_instances_gt else []))

    def transform_dataset(self, input_ds):
        """Crop around every predicted centroid."""
        _check_rank3(input_ds.element_spec, self.full_image_key,
                     "PredictedInstanceCropper")

        def fn(ex):
            full = ex[self.full_image_key]
            cents = ex[self.centroids_key] / ex["scale"] * ex[self.full_image_scale_key]
            boxes = make_centered_bboxes(cents, self.crop_height, self.crop_width)
            n = tf.shape(boxes)[0]
            ex = dict(ex, scale=ex[self.full_image_scale_key])
            out = {
                "instance_image": crop_bboxes(full, boxes,
                                              (self.crop_height, self.crop_width)),
                "bbox": boxes,
                "center_instance_ind": tf.range(n, dtype=tf.int32),
                "centroid": cents,
                "centroid_confidence": ex[self.centroid_confidences_key],
                "full_image_height": tf.repeat(tf.shape(full)[0], n),
                "full_image_width": tf.repeat(tf.shape(full)[1], n),
            }
            for key in self._expand_keys:
                out[key] = _repeat(ex[key], n)
            return out

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE).unbatch()


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


__all__ = [
    "find_instance_crop_size",
    "normalize_bboxes",
    "unnormalize_bboxes",
    "make_centered_bboxes",
    "crop_bboxes",
    "InstanceCropper",
    "PredictedInstanceCropper",
]

"""Instance-centered crops for top-down models (SLEAP's `instance_cropping`).

Bounding boxes are `(n, 4)` float32 `[y1, x1, y2, x2]` in pixel-centre coordinates,
inclusive: a box of size S centered at c spans `c - (S - 1) / 2 ... c + (S - 1) / 2`.
"""

from __future__ import annotations

import math
from typing import List, Optional

import attrs
import numpy as np

from sleapish.nn._backend import tf


def find_instance_crop_size(labels, padding: int = 0, maximum_stride: int = 2,
                            input_scaling: float = 1.0,
                            min_crop_size: Optional[int] = None) -> int:
    """Smallest square crop holding every user instance, rounded up to the stride.

    Args:
        labels: `sleap_io.Labels`.
        padding: Pixels added to the largest instance extent.
        maximum_stride: The crop size is a multiple of this.
        input_scaling: Scale applied to the images (extents are scaled too).
        min_crop_size: Lower bound on the result.

    Returns:
        The crop size in pixels.

    Raises:
        ValueError: If the labels have no user instance with visible points.
    """
    max_length = None
    for lf in labels:
        for inst in lf.user_instances:
            pts = inst.numpy() * input_scaling
            if np.isnan(pts).all():
                continue
            extent = np.nanmax(pts, axis=0) - np.nanmin(pts, axis=0)
            max_length = max(max_length or 0.0, float(extent.max()))
    if max_length is None:
        raise ValueError("Cannot infer a crop size: the labels have no user instance "
                         "with visible points. Received: 0 usable instances")
    size = math.ceil((max_length + padding) / maximum_stride) * maximum_stride
    if min_crop_size is not None:
        size = max(size, int(min_crop_size))
    return int(size)


def make_centered_bboxes(centroids, box_height: int, box_width: int):
    """Boxes of a fixed size centered on points.

    Args:
        centroids: float32 `(n, 2)` (x, y) centers.
        box_height: Box height in pixels.
        box_width: Box width.

    Returns:
        float32 `(n, 4)` `[y1, x1, y2, x2]`, `y1 = cy - (box_height - 1) / 2` and
        `y2 = y1 + box_height - 1` (likewise for x).
    """
    centroids = tf.convert_to_tensor(centroids, tf.float32)
    dh = (float(box_height) - 1.0) / 2.0
    dw = (float(box_width) - 1.0) / 2.0
    cx, cy = centroids[:, 0], centroids[:, 1]
    return tf.stack([cy - dh, cx - dw, cy + dh, cx + dw], axis=1)


def normalize_bboxes(bboxes, image_height: int, image_width: int):
    """Pixel boxes -> `tf.image.crop_and_resize` normalized coordinates.

    Args:
        bboxes: float32 `(n, 4)` `[y1, x1, y2, x2]` in pixels.
        image_height: Image height.
        image_width: Image width.

    Returns:
        float32 `(n, 4)` divided by `[h - 1, w - 1, h - 1, w - 1]` (by 1 for a
        dimension of size 1, to stay finite).
    """
    h = tf.maximum(tf.cast(image_height, tf.float32) - 1.0, 1.0)
    w = tf.maximum(tf.cast(image_width, tf.float32) - 1.0, 1.0)
    return tf.convert_to_tensor(bboxes, tf.float32) / tf.stack([h, w, h, w])


def crop_bboxes(image, bboxes, crop_size=None):
    """Crop boxes out of one image (bilinear for fractional boxes, 0 outside).

    Args:
        image: `(height, width, channels)` image (any numeric dtype).
        bboxes: float32 `(n, 4)` `[y1, x1, y2, x2]` in pixels, all of one size.
        crop_size: `(box_height, box_width)`; taken from the boxes when `None`.

    Returns:
        `(n, box_height, box_width, channels)` crops with the image's dtype.
    """
    image = tf.convert_to_tensor(image)
    bboxes = tf.convert_to_tensor(bboxes, tf.float32)
    s = tf.shape(image)
    if crop_size is None:
        extent = tf.concat([bboxes[:, 2:] - bboxes[:, :2], tf.zeros([1, 2])], axis=0)
        size = tf.cast(tf.round(tf.reduce_max(extent, axis=0)), tf.int32) + 1
    else:
        size = tf.constant([int(crop_size[0]), int(crop_size[1])], tf.int32)
    crops = tf.image.crop_and_resize(
        tf.cast(image, tf.float32)[None], normalize_bboxes(bboxes, s[0], s[1]),
        tf.zeros([tf.shape(bboxes)[0]], tf.int32), size, method="bilinear",
        extrapolation_value=0)
    if image.dtype == tf.uint8:
        crops = tf.round(crops)
    return tf.cast(crops, image.dtype)


@attrs.define
class InstanceCropper:
    """Turn each frame into one example per instance, cropped around its centroid.

    Output keys per crop: `"instance_image"` `(crop_height, crop_width, c)`,
    `"bbox"` `(4,)`, `"center_instance"` `(n_nodes, 2)` and `"all_instances"`
    `(n_instances, n_nodes, 2)` in crop coordinates, `"center_instance_ind"`,
    `"centroid"` `(2,)` in crop coordinates, `"full_image_height"`,
    `"full_image_width"`, `"track_ind"` (when `"track_inds"` exists), and every other
    per-frame key unchanged (`"scale"`, `"frame_ind"`, `"video_ind"`, ...).

    Attributes:
        crop_width: Crop width in pixels.
        crop_height: Crop height.
        keep_full_image: Keep `"image"` in each crop example.
        mock_centroid_confidence: Add `"centroid_confidence"` = 1.0 (ground truth).
        image_key: Image key.
        instances_key: Instances key.
        centroids_key: Centroids key.
    """

    crop_width: int
    crop_height: int
    keep_full_image: bool = False
    mock_centroid_confidence: bool = False
    image_key: str = "image"
    instances_key: str = "instances"
    centroids_key: str = "centroids"

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.image_key, self.instances_key, self.centroids_key]

    @property
    def output_keys(self) -> List[str]:
        """Keys of each crop example."""
        return ["instance_image", "bbox", "center_instance", "center_instance_ind",
                "all_instances", "centroid", "full_image_height", "full_image_width"]

    def transform_dataset(self, input_ds):
        """Crop every instance (frames without instances yield nothing)."""
        spec = input_ds.element_spec
        per_instance = {self.instances_key, self.centroids_key, "track_inds",
                        "skeleton_inds"}
        drop = {self.image_key} if not self.keep_full_image else set()

        def fn(ex):
            img = ex[self.image_key]
            inst = ex[self.instances_key]
            cents = ex[self.centroids_key]
            n = tf.shape(inst)[0]
            boxes = make_centered_bboxes(cents, self.crop_height, self.crop_width)
            offsets = tf.stack([boxes[:, 1], boxes[:, 0]], axis=1)  # (x1, y1)
            out = {
                "instance_image": crop_bboxes(img, boxes,
                                              (self.crop_height, self.crop_width)),
                "bbox": boxes,
                "center_instance": inst - offsets[:, None, :],
                "center_instance_ind": tf.range(n),
                "all_instances": inst[None] - offsets[:, None, None, :],
                "centroid": cents - offsets,
                "full_image_height": tf.fill([n], tf.shape(img)[0]),
                "full_image_width": tf.fill([n], tf.shape(img)[1]),
            }
            if "track_inds" in ex:
                out["track_ind"] = ex["track_inds"]
            if self.mock_centroid_confidence:
                out["centroid_confidence"] = tf.ones([n], tf.float32)
            for k, v in ex.items():
                if k in per_instance or k in drop or k in out:
                    continue
                v = tf.convert_to_tensor(v)
                out[k] = tf.repeat(v[None], n, axis=0)
            return out

        if self.image_key not in spec or spec[self.image_key].shape.rank != 3:
            raise ValueError("InstanceCropper expects single (unbatched) images of rank 3. "
                             f"Received: {spec.get(self.image_key)}")
        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE).unbatch()

"""Resizing and padding images with their points (SLEAP's `resizing`)."""

from __future__ import annotations

from typing import List, Optional, Tuple

import attrs

from sleapish.nn._backend import tf


def find_padding_for_stride(image_height: int, image_width: int,
                            max_stride: int) -> Tuple[int, int]:
    """Bottom and right padding that make the size divisible by `max_stride`.

    Returns:
        `(pad_bottom, pad_right)` in pixels.
    """
    pad_bottom = (max_stride - image_height % max_stride) % max_stride
    pad_right = (max_stride - image_width % max_stride) % max_stride
    return pad_bottom, pad_right


def pad_to_stride(image, max_stride: int):
    """Zero-pad the bottom and right of an image `(h, w, c)` or batch `(n, h, w, c)`
    so height and width are multiples of `max_stride` (no-op when `max_stride` <= 1)."""
    if max_stride is None or max_stride <= 1:
        return image
    image = tf.convert_to_tensor(image)
    h, w = tf.shape(image)[-3], tf.shape(image)[-2]
    pad_bottom = (max_stride - h % max_stride) % max_stride
    pad_right = (max_stride - w % max_stride) % max_stride
    pads = [[0, pad_bottom], [0, pad_right], [0, 0]]
    if image.shape.rank == 4:
        pads = [[0, 0]] + pads
    return tf.pad(image, pads)


def resize_image(image, scale: float):
    """Bilinear resize by `scale`, keeping the dtype, as SLEAP does.

    The new size is `int(h * scale)` x `int(w * scale)` (truncated) and integer
    images are cast back by truncation, both as in SLEAP.

    Args:
        image: `(h, w, c)` or `(n, h, w, c)`.
        scale: Factor.
    """
    image = tf.convert_to_tensor(image)
    if isinstance(scale, (int, float)) and scale == 1.0:
        return image
    h = tf.cast(tf.shape(image)[-3], tf.float32)
    w = tf.cast(tf.shape(image)[-2], tf.float32)
    size = tf.cast(tf.stack([h * scale, w * scale]), tf.int32)
    out = tf.image.resize(image, size, method="bilinear")
    return tf.cast(out, image.dtype)


@attrs.define
class Resizer:
    """Scale images (and points) by `scale`, then pad to a multiple of a stride.

    Attributes:
        image_key: Image key.
        scale: Resize factor (`input_scaling`).
        pad_to_stride: Pad height and width to multiples of this.
        keep_full_image: Keep the unscaled image under `full_image_key`.
        full_image_key: Key of the kept image.
        points_key: Points scaled with the image (`None`: no points).
    """

    image_key: str = "image"
    scale: float = 1.0
    pad_to_stride: int = 1
    keep_full_image: bool = False
    full_image_key: str = "full_image"
    points_key: Optional[str] = "instances"

    @classmethod
    def from_config(cls, config, image_key: str = "image",
                    points_key: Optional[str] = "instances",
                    keep_full_image: bool = False, pad_to_stride: Optional[int] = None
                    ) -> "Resizer":
        """From a :class:`~sleapish.nn.config.PreprocessingConfig`."""
        return cls(image_key=image_key, points_key=points_key,
                   scale=config.input_scaling,
                   pad_to_stride=pad_to_stride or config.pad_to_stride or 1,
                   keep_full_image=keep_full_image)

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.image_key, "scale"] + ([self.points_key] if self.points_key else [])

    @property
    def output_keys(self) -> List[str]:
        """Keys written to each example."""
        return self.input_keys + ([self.full_image_key] if self.keep_full_image else [])

    def transform_dataset(self, input_ds):
        """Resize, rescale points and `"scale"`, pad."""
        has_points = self.points_key is not None and self.points_key in \
            input_ds.element_spec

        def fn(ex):
            img = ex[self.image_key]
            if self.keep_full_image:
                ex[self.full_image_key] = img
            if self.scale != 1.0:
                img = resize_image(img, self.scale)
                if has_points:
                    ex[self.points_key] = ex[self.points_key] * self.scale
                if "scale" in ex:
                    ex["scale"] = ex["scale"] * self.scale
            ex[self.image_key] = pad_to_stride(img, self.pad_to_stride)
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class SizeMatcher:
    """Resize (keeping aspect ratio) and pad images to a fixed target size.

    Images from videos of different sizes end up `max_image_height` x
    `max_image_width`: scaled down to fit when larger, padded at the bottom/right.

    Attributes:
        image_key: Image key.
        points_key: Points scaled with the image.
        max_image_height: Target height.
        max_image_width: Target width.
    """

    image_key: str = "image"
    points_key: Optional[str] = "instances"
    max_image_height: Optional[int] = None
    max_image_width: Optional[int] = None

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.image_key, "scale"]

    @property
    def output_keys(self) -> List[str]:
        """Keys written to each example."""
        return self.input_keys

    def transform_dataset(self, input_ds):
        """Fit every image into the target size."""
        if self.max_image_height is None or self.max_image_width is None:
            raise ValueError("SizeMatcher needs max_image_height and max_image_width. "
                             f"Received: {self.max_image_height}, {self.max_image_width}")
        th, tw = int(self.max_image_height), int(self.max_image_width)
        has_points = self.points_key is not None and self.points_key in \
            input_ds.element_spec

        def fn(ex):
            img = ex[self.image_key]
            h = tf.cast(tf.shape(img)[0], tf.float32)
            w = tf.cast(tf.shape(img)[1], tf.float32)
            ratio = tf.minimum(1.0, tf.minimum(th / h, tw / w))
            size = tf.cast(tf.floor(tf.stack([h * ratio, w * ratio])), tf.int32)
            resized = tf.image.resize(img, size, method="bilinear")
            resized = tf.cast(tf.round(resized) if img.dtype == tf.uint8 else resized,
                              img.dtype)
            img = tf.cond(ratio < 1.0, lambda: resized, lambda: img)
            img = tf.image.pad_to_bounding_box(img, 0, 0, th, tw)
            ex[self.image_key] = img
            if has_points:
                ex[self.points_key] = ex[self.points_key] * ratio
            if "scale" in ex:
                ex["scale"] = ex["scale"] * ratio
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class PointsRescaler:
    """Map points back to the original image by dividing (or multiplying) by scale.

    Attributes:
        points_key: Points key.
        scale_key: Key of the per-example `(x_scale, y_scale)` factors.
        invert: Divide by the scale (True) or multiply.
    """

    points_key: str = "predicted_instances"
    scale_key: str = "scale"
    invert: bool = True

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.points_key, self.scale_key]

    @property
    def output_keys(self) -> List[str]:
        """Keys written to each example."""
        return [self.points_key]

    def transform_dataset(self, input_ds):
        """Rescale the points of every example."""

        def fn(ex):
            scale = tf.cast(ex[self.scale_key], tf.float32)
            ex[self.points_key] = (ex[self.points_key] / scale if self.invert
                                   else ex[self.points_key] * scale)
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)

"""Resizing and padding images with their points (SLEAP's `resizing`).

Example:
    >>> padded = pad_to_stride(tf.ones([3, 5, 1]), max_stride=2)   # (4, 6, 1)
    >>> small = resize_image(tf.ones([4, 8, 1], tf.uint8), scale=0.5)   # (2, 4, 1)
    >>> tall = resize_image(tf.ones([4, 8, 1], tf.uint8), scale=[0.25, 3])  # (12, 2, 1)
"""

from __future__ import annotations

import numbers
from typing import List, Optional, Tuple

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.config.data import PreprocessingConfig


def find_padding_for_stride(image_height: int, image_width: int,
                            max_stride: int) -> Tuple[int, int]:
    """Bottom and right padding that make an image size divisible by a stride.

    Args:
        image_height: Image height (int or scalar int tensor).
        image_width: Image width.
        max_stride: The stride both sides must be a multiple of.

    Returns:
        `(pad_bottom, pad_right)` in pixels (0 when already divisible).
    """
    pad_bottom = (max_stride - image_height % max_stride) % max_stride
    pad_right = (max_stride - image_width % max_stride) % max_stride
    return pad_bottom, pad_right


def _static_int(x) -> Optional[int]:
    if isinstance(x, numbers.Integral):
        return int(x)
    return None


def pad_image_to_stride(image, max_stride: int):
    """Zero-pad the bottom and right of images to a multiple of `max_stride`.

    The plain (un-decorated) implementation of :func:`pad_to_stride`, for graph code
    that must not add a nested `tf.function` (dataset maps, inference layers). When the
    image's static height/width and `max_stride` are known, the output's static shape
    is exact.

    Args:
        image: `(height, width, channels)` image or `(n, height, width, channels)`
            batch, any dtype.
        max_stride: Stride (Python int or scalar int tensor); `None` or <= 1 is a
            no-op.

    Returns:
        The image with `find_padding_for_stride` zeros appended to its height and
        width axes, same dtype.
    """
    if max_stride is None:
        return image
    stride = _static_int(max_stride)
    if stride is not None and stride <= 1:
        return tf.convert_to_tensor(image)
    image = tf.convert_to_tensor(image)
    rank = image.shape.rank
    if rank is None:  # e.g. a tf.function trace generalized over ranks
        size = tf.shape(image)
        pad_bottom, pad_right = find_padding_for_stride(
            size[-3], size[-2], tf.cast(max_stride, tf.int32))
        paddings = tf.concat([tf.zeros([tf.rank(image) - 3, 2], tf.int32),
                              [[0, pad_bottom], [0, pad_right], [0, 0]]], axis=0)
        return tf.pad(image, paddings, mode="CONSTANT", constant_values=0)
    if rank not in (3, 4):
        raise InvalidValueError("pad_to_stride expects an image (h, w, c) or a batch "
                                f"(n, h, w, c). Received: shape {image.shape}")
    h, w = image.shape[-3], image.shape[-2]
    if stride is not None and h is not None and w is not None:
        pad_bottom, pad_right = find_padding_for_stride(h, w, stride)
    else:
        size = tf.shape(image)
        pad_bottom, pad_right = find_padding_for_stride(
            size[-3], size[-2], tf.cast(max_stride, tf.int32))
    paddings = [[0, pad_bottom], [0, pad_right], [0, 0]]
    if rank == 4:
        paddings = [[0, 0]] + paddings
    return tf.pad(image, paddings, mode="CONSTANT", constant_values=0)


@tf.function(reduce_retracing=True)
def pad_to_stride(image, max_stride: int):
    """Zero-pad the bottom and right of images to a multiple of `max_stride`.

    A `tf.function`, as in SLEAP (`pad_to_stride.__wrapped__` is the undecorated
    function, which calls :func:`pad_image_to_stride`). Eager calls on images of new
    sizes retrace at most once more (`reduce_retracing`); graph code (dataset maps,
    inference layers) should call :func:`pad_image_to_stride`, which keeps exact
    static shapes and adds no nested function.

    Args:
        image: `(height, width, channels)` image or `(n, height, width, channels)`
            batch, any dtype.
        max_stride: Stride (e.g. `2 ** n_down_blocks`); `None` or <= 1 is a no-op.

    Returns:
        The padded image, same dtype, height and width divisible by `max_stride`.
    """
    return pad_image_to_stride(image, max_stride)


def resize_image(image, scale):
    """Bilinear resize by a scale factor, keeping the dtype, as SLEAP does.

    The new size is `int(width * scale_x)` x `int(height * scale_y)` computed in
    float32 and truncated; `tf.image.resize` (bilinear, half-pixel centres, no
    antialiasing) then a cast back to the input dtype (uint8 values are truncated).

    Args:
        image: `(height, width, channels)` or `(n, height, width, channels)`.
        scale: Scalar factor, or `[scale_x, scale_y]` per axis.

    Returns:
        The resized image, same dtype. A scale of exactly 1 returns the image.
    """
    image = tf.convert_to_tensor(image)
    if isinstance(scale, numbers.Number) and scale == 1:
        return image
    if isinstance(scale, (list, tuple)) and all(
            isinstance(s, numbers.Number) and s == 1 for s in scale):
        return image
    size = tf.shape(image)
    wh = tf.cast(tf.stack([size[-2], size[-3]]), tf.float32) * tf.cast(scale, tf.float32)
    new_size = tf.reverse(tf.cast(wh, tf.int32), [0])
    resized = tf.image.resize(image, size=new_size, method="bilinear",
                              preserve_aspect_ratio=False, antialias=False)
    return tf.cast(resized, image.dtype)


@attrs.define
class Resizer:
    """Scale images (and points) by `scale`, then pad to a multiple of a stride.

    Attributes:
        image_key: Image key (`(h, w, c)`).
        scale_key: Key of the per-example `(x_scale, y_scale)`, multiplied by `scale`.
        points_key: Points scaled with the image (`None`: no points).
        scale: Resize factor (`input_scaling`).
        pad_to_stride: Pad height and width to multiples of this (after scaling).
        keep_full_image: Keep the unscaled image under `full_image_key`.
        full_image_key: Key of the kept image.
    """

    image_key: str = "image"
    scale_key: str = "scale"
    points_key: Optional[str] = "instances"
    scale: float = 1.0
    pad_to_stride: int = 1
    keep_full_image: bool = False
    full_image_key: str = "full_image"

    @classmethod
    def from_config(cls, config: PreprocessingConfig, image_key: str = "image",
                    scale_key: str = "scale", pad_to_stride: Optional[int] = None,
                    keep_full_image: bool = False, full_image_key: str = "full_image",
                    points_key: Optional[str] = "instances") -> Resizer:
        """From a :class:`~sleapish.nn.config.PreprocessingConfig`.

        Args:
            config: Preprocessing config; its `pad_to_stride`, when an integer, wins
                over the `pad_to_stride` argument.
            image_key: Image key.
            scale_key: Scale key.
            pad_to_stride: Used only when `config.pad_to_stride` is `None`.
            keep_full_image: Keep the unscaled image.
            full_image_key: Key of the kept image.
            points_key: Points key.

        Raises:
            ValueError: If neither the config nor the argument gives an integer
                `pad_to_stride`.
        """
        if _is_int(config.pad_to_stride):
            pad_to_stride = config.pad_to_stride
        if not _is_int(pad_to_stride):
            raise InvalidValueError("Resizer.from_config: pad_to_stride must be given as an "
                                    "argument when the config does not set it to an integer. "
                                    f"Received: config.pad_to_stride={config.pad_to_stride!r}, "
                                    f"pad_to_stride={pad_to_stride!r}")
        return cls(image_key=image_key, scale_key=scale_key, points_key=points_key,
                   scale=config.input_scaling, pad_to_stride=int(pad_to_stride),
                   keep_full_image=keep_full_image, full_image_key=full_image_key)

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.image_key, self.scale_key] + (
            [self.points_key] if self.points_key is not None else [])

    @property
    def output_keys(self) -> List[str]:
        """Keys written to each example."""
        return self.input_keys + ([self.full_image_key] if self.keep_full_image else [])

    def transform_dataset(self, input_ds):
        """Resize (points and scale too), then pad every example's image."""
        spec = input_ds.element_spec
        has_points = self.points_key is not None and self.points_key in spec
        has_scale = self.scale_key in spec
        resize = not (isinstance(self.scale, numbers.Number) and self.scale == 1)

        def fn(ex):
            img = ex[self.image_key]
            if self.keep_full_image:
                ex[self.full_image_key] = img
            if resize:
                img = resize_image(img, self.scale)
                factor = tf.cast(self.scale, tf.float32)
                if has_points:
                    ex[self.points_key] = ex[self.points_key] * factor
                if has_scale:
                    ex[self.scale_key] = ex[self.scale_key] * factor
            if self.pad_to_stride > 1:
                img = pad_image_to_stride(img, self.pad_to_stride)
            ex[self.image_key] = img
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


@attrs.define
class SizeMatcher:
    """Resize (keeping the aspect ratio) and pad images to one target size.

    SLEAP's rule: an image whose size differs from the target is scaled by
    `min(max_image_height / h, max_image_width / w)` (up or down) with
    `tf.image.resize_with_pad`, then zero-padded to the target at the bottom/right
    (or centred with `center_pad`); the image is cast back to its dtype (uint8 values
    truncated). Points and `scale_key` are multiplied by the ratio, points are shifted
    by the padding offsets, and `"offset_x"` / `"offset_y"` (int32) are added.

    Attributes:
        image_key: Image key.
        scale_key: Key of the per-example scale, multiplied by the ratio.
        points_key: Points scaled with the image (`None`: no points).
        keep_full_image: Keep the original image under `full_image_key`.
        full_image_key: Key of the kept image.
        max_image_height: Target height (`None`: the transformer is a no-op).
        max_image_width: Target width (`None`: no-op).
        center_pad: Pad equally on both sides instead of bottom/right only.
    """

    image_key: str = "image"
    scale_key: str = "scale"
    points_key: Optional[str] = "instances"
    keep_full_image: bool = False
    full_image_key: str = "full_image"
    max_image_height: Optional[int] = None
    max_image_width: Optional[int] = None
    center_pad: bool = False

    @classmethod
    def from_config(cls, config: PreprocessingConfig, provider=None,
                    update_config: bool = True, image_key: str = "image",
                    scale_key: str = "scale", keep_full_image: bool = False,
                    full_image_key: str = "full_image",
                    points_key: Optional[str] = "instances") -> SizeMatcher:
        """From a :class:`~sleapish.nn.config.PreprocessingConfig`.

        Args:
            config: With `resize_and_pad_to_target` False the result is a no-op;
                otherwise the target is `target_height` x `target_width`, or the
                provider's `max_height_and_width` when either is `None`.
            provider: Data provider with `max_height_and_width` (e.g. `LabelsReader`).
            update_config: Write the provider's size into `config.target_height` and
                `config.target_width`.
            image_key: Image key.
            scale_key: Scale key.
            keep_full_image: Keep the original image.
            full_image_key: Key of the kept image.
            points_key: Points key.
        """
        max_height, max_width = None, None
        if config.resize_and_pad_to_target:
            if config.target_height is not None and config.target_width is not None:
                max_height, max_width = config.target_height, config.target_width
            elif provider is not None:
                max_height, max_width = provider.max_height_and_width
                if update_config:
                    config.target_height, config.target_width = max_height, max_width
        return cls(image_key=image_key, scale_key=scale_key, points_key=points_key,
                   keep_full_image=keep_full_image, full_image_key=full_image_key,
                   max_image_height=max_height, max_image_width=max_width,
                   center_pad=False)

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.image_key, self.scale_key] + (
            [self.points_key] if self.points_key is not None else [])

    @property
    def output_keys(self) -> List[str]:
        """Keys written to each example."""
        return (self.input_keys + ([self.full_image_key] if self.keep_full_image else [])
                + ["offset_x", "offset_y"])

    def _match(self, image):
        """`(image, ratio, offset_x, offset_y)` for one image (or batch)."""
        th, tw = int(self.max_image_height), int(self.max_image_width)
        size = tf.shape(image)
        h, w = size[-3], size[-2]

        def same():
            return image, tf.constant(1.0, tf.float32), tf.constant(0), tf.constant(0)

        def fit():
            hratio = th / tf.cast(h, tf.float32)
            wratio = tw / tf.cast(w, tf.float32)
            by_width = hratio > wratio
            ratio = tf.where(by_width, wratio, hratio)
            target_h = tf.where(by_width, tf.cast(tf.cast(h, tf.float32) * wratio,
                                                  tf.int32), th)
            target_w = tf.where(by_width, tw, tf.cast(tf.cast(w, tf.float32) * hratio,
                                                      tf.int32))
            out = tf.image.resize_with_pad(image, target_height=target_h,
                                           target_width=target_w)
            if self.center_pad:
                off_x, off_y = (tw - target_w) // 2, (th - target_h) // 2
            else:
                off_x, off_y = tf.constant(0), tf.constant(0)
            out = tf.image.pad_to_bounding_box(out, offset_height=off_y,
                                               offset_width=off_x, target_height=th,
                                               target_width=tw)
            return tf.cast(out, image.dtype), ratio, off_x, off_y

        static_hw = image.shape[-3:-1]
        if static_hw.is_fully_defined():  # decided while tracing: no cond per example
            return same() if tuple(static_hw.as_list()) == (th, tw) else fit()
        return tf.cond(tf.logical_or(tf.not_equal(h, th), tf.not_equal(w, tw)), fit,
                       same)

    def transform_dataset(self, input_ds):
        """Bring every image to `max_image_height` x `max_image_width`.

        Returns:
            The dataset unchanged when a target size is `None`.
        """
        if self.max_image_height is None or self.max_image_width is None:
            return input_ds
        spec = input_ds.element_spec
        img_spec = spec[self.image_key]
        if img_spec.shape.rank not in (3, 4):
            raise InvalidValueError("SizeMatcher expects images (h, w, c) or batches "
                                    f"(n, h, w, c). Received: shape {img_spec.shape}")
        out_shape = img_spec.shape[:-3].concatenate(
            [int(self.max_image_height), int(self.max_image_width), img_spec.shape[-1]])
        has_points = self.points_key is not None and self.points_key in spec
        has_scale = self.scale_key in spec

        def fn(ex):
            image = ex[self.image_key]
            if self.keep_full_image:
                ex[self.full_image_key] = image
            image, ratio, off_x, off_y = self._match(image)
            ex[self.image_key] = tf.ensure_shape(image, out_shape)
            if has_scale:
                ex[self.scale_key] = ex[self.scale_key] * ratio
            if has_points:
                offsets = tf.cast(tf.stack([off_x, off_y]), tf.float32)
                ex[self.points_key] = ex[self.points_key] * ratio + offsets
            ex["offset_x"] = off_x
            ex["offset_y"] = off_y
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


@attrs.define
class PointsRescaler:
    """Divide (or multiply) points by the per-example scale.

    Attributes:
        points_key: Points key (`(..., 2)` in (x, y)).
        scale_key: Key of the per-example `(x_scale, y_scale)` factors.
        invert: Divide by the scale (True: back to the original image) or multiply.
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
        return self.input_keys

    def transform_dataset(self, input_ds):
        """Rescale the points of every example."""

        def fn(ex):
            points = ex[self.points_key]
            scale = tf.cast(ex[self.scale_key], points.dtype)
            ex[self.points_key] = points / scale if self.invert else points * scale
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = [
    "find_padding_for_stride",
    "pad_to_stride",
    "pad_image_to_stride",
    "resize_image",
    "Resizer",
    "SizeMatcher",
    "PointsRescaler",
]

"""Image dtype, channel and ImageNet normalization (SLEAP's `normalization`).

The functions follow SLEAP 1.4.1 exactly: integer <-> float conversions are
`tf.image.convert_image_dtype`'s (uint8 -> float32 multiplies by `1 / 255`; float ->
uint8 multiplies by `255.5` and truncates, so `0.5` becomes 127), grayscale is
`tf.image.rgb_to_grayscale` (luma) on the image's own dtype and RGB is
`tf.image.grayscale_to_rgb` (tiling).

Example:
    >>> img = tf.constant([[[0, 128, 255]]], tf.uint8)   # (1, 1, 3)
    >>> ensure_float(img).dtype
    tf.float32
    >>> ensure_grayscale(img).shape
    TensorShape([1, 1, 1])
"""

from __future__ import annotations

from typing import List, Optional

import attrs
import numpy as np

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.config.data import PreprocessingConfig


def ensure_min_image_rank(image):
    """Append singleton axes until the image has rank 3 (at least).

    Args:
        image: Tensor of any dtype; a rank-2 image is `(height, width)`.

    Returns:
        `image` with trailing singleton axes up to rank 3, e.g. `(h, w)` ->
        `(h, w, 1)`; tensors of rank >= 3 are returned unchanged.
    """
    image = tf.convert_to_tensor(image)
    rank = image.shape.rank
    if rank is None:
        extra = tf.maximum(3 - tf.rank(image), 0)
        return tf.reshape(image, tf.concat([tf.shape(image),
                                            tf.ones([extra], tf.int32)], 0))
    for _ in range(3 - rank):
        image = tf.expand_dims(image, axis=-1)
    return image


def ensure_float(image):
    """Convert an image to float32 (`tf.image.convert_image_dtype`).

    Args:
        image: Image tensor of any numeric dtype.

    Returns:
        float32 tensor of the same shape. Integer images are scaled to [0, 1] by their
        dtype's maximum (uint8: `x * (1 / 255)`); float images are only cast.
    """
    return tf.image.convert_image_dtype(image, tf.float32)


def _is_floating(image) -> bool:
    dtype = image.dtype
    if isinstance(dtype, tf.DType):
        return dtype.is_floating
    return np.issubdtype(np.dtype(dtype), np.floating)


def ensure_int(image):
    """Convert a float image to uint8, as SLEAP does.

    Args:
        image: Image tensor or array of any dtype.

    Returns:
        For float images: uint8 of the same shape; values in [0, 1] (maximum <= 1) are
        scaled by `tf.image.convert_image_dtype` (`x * 255.5`, truncated and
        saturated, so 0.5 -> 127 and 1.0 -> 255), larger values are only cast.
        Images of any other dtype are returned unchanged (not even converted to a
        tensor).
    """
    if not hasattr(image, "dtype"):  # lists, Python scalars
        image = tf.convert_to_tensor(image)
    if not _is_floating(image):
        return image
    image = tf.convert_to_tensor(image)
    return tf.cond(tf.reduce_max(image) <= 1.0,
                   lambda: tf.image.convert_image_dtype(image, tf.uint8),
                   lambda: tf.cast(image, tf.uint8))


def ensure_grayscale(image):
    """Convert a 3-channel image to 1 channel (luma), keeping its dtype.

    Args:
        image: `(..., height, width, channels)` image of any dtype.

    Returns:
        `(..., height, width, 1)` by `tf.image.rgb_to_grayscale` if `channels == 3`,
        otherwise `image` unchanged.
    """
    if image.shape[-1] == 3:
        return tf.image.rgb_to_grayscale(image)
    return image


def ensure_rgb(image):
    """Convert a 1-channel image to 3 channels (tiled), keeping its dtype.

    Args:
        image: `(..., height, width, channels)` image of any dtype.

    Returns:
        `(..., height, width, 3)` by `tf.image.grayscale_to_rgb` if `channels == 1`,
        otherwise `image` unchanged.
    """
    if image.shape[-1] == 1:
        return tf.image.grayscale_to_rgb(tf.convert_to_tensor(image))
    return image


def convert_rgb_to_bgr(image):
    """Reverse the channel order of an RGB image (grayscale is made RGB first).

    Args:
        image: `(..., 3)` or `(..., 1)` image of any dtype.

    Returns:
        `(..., 3)` image with the channels reversed.
    """
    return tf.reverse(ensure_rgb(image), axis=[-1])


def scale_image_range(image, min_val: float, max_val: float):
    """Map [0, 1] linearly onto [min_val, max_val]: `image * (max - min) + min`.

    Args:
        image: Float image with values in [0, 1] (its dtype is kept). Integer images
            (which SLEAP rejects) are first converted by :func:`ensure_float`.
        min_val: Value 0 maps to.
        max_val: Value 1 maps to.

    Returns:
        The scaled image, same shape.
    """
    image = tf.convert_to_tensor(image)
    if not image.dtype.is_floating:
        image = ensure_float(image)
    return image * (max_val - min_val) + min_val


def scale_to_imagenet_tf_mode(image):
    """ImageNet "tf" preprocessing: RGB, float32, [0, 1] -> [-1, 1].

    Args:
        image: Image of rank >= 2 (rank 2 is `(height, width)`), any dtype.

    Returns:
        float32 `(..., height, width, 3)` in [-1, 1] (ResNetV2, MobileNet, NASNet).
    """
    image = ensure_float(ensure_rgb(ensure_min_image_rank(image)))
    return scale_image_range(image, min_val=-1.0, max_val=1.0)


def scale_to_imagenet_caffe_mode(image):
    """ImageNet "caffe" preprocessing: BGR, [0, 255], minus the BGR channel means.

    Args:
        image: RGB (or grayscale) image of rank >= 2, any dtype.

    Returns:
        float32 `(..., height, width, 3)` in BGR order minus
        `(103.939, 116.779, 123.68)` (ResNetV1).
    """
    image = convert_rgb_to_bgr(ensure_rgb(ensure_min_image_rank(image)))
    image = scale_image_range(ensure_float(image), min_val=0.0, max_val=255.0)
    return image - tf.constant([103.939, 116.779, 123.68], tf.float32)


def scale_to_imagenet_torch_mode(image):
    """ImageNet "torch" preprocessing: RGB in [0, 1], minus means, over stds.

    Args:
        image: RGB (or grayscale) image of rank >= 2, any dtype.

    Returns:
        float32 `(..., height, width, 3)`: `(x - (0.485, 0.456, 0.406)) /
        (0.229, 0.224, 0.225)` (DenseNet).
    """
    image = ensure_float(ensure_rgb(ensure_min_image_rank(image)))
    image = image - tf.constant([0.485, 0.456, 0.406], tf.float32)
    return image / tf.constant([0.229, 0.224, 0.225], tf.float32)


IMAGENET_MODES = {"tf": scale_to_imagenet_tf_mode, "caffe": scale_to_imagenet_caffe_mode,
                  "torch": scale_to_imagenet_torch_mode}


def _check_imagenet_mode(instance, attribute, value):
    if value not in (None, *IMAGENET_MODES):
        raise InvalidValueError(f"Normalizer.imagenet_mode must be one of "
                                f"{[None, *IMAGENET_MODES]}. Received: {value!r}")


@attrs.define
class Normalizer:
    """Normalize the dtype, channels and range of an image key.

    Steps, in SLEAP's order: `ensure_float`, then `ensure_rgb`, then
    `ensure_grayscale` (so both flags together give 1 channel, as in SLEAP), then the
    ImageNet mode (which makes 3 channels).

    Attributes:
        image_key: Key of the image to normalize (`(h, w, c)`, `(h, w)` or a batch
            `(n, h, w, c)`).
        ensure_float: Convert to float32 in [0, 1].
        ensure_rgb: Tile 1 channel to 3.
        ensure_grayscale: Convert 3 channels to 1 (luma).
        imagenet_mode: None, "tf", "caffe" or "torch" ImageNet normalization.

    Example:
        >>> ds = Normalizer(ensure_grayscale=True).transform_dataset(ds)
    """

    image_key: str = "image"
    ensure_float: bool = True
    ensure_rgb: bool = False
    ensure_grayscale: bool = False
    imagenet_mode: Optional[str] = attrs.field(default=None,
                                               validator=_check_imagenet_mode)

    @classmethod
    def from_config(cls, config: PreprocessingConfig,
                    image_key: str = "image") -> Normalizer:
        """From a :class:`~sleapish.nn.config.PreprocessingConfig` (always float)."""
        return cls(image_key=image_key, ensure_float=True,
                   ensure_rgb=config.ensure_rgb, ensure_grayscale=config.ensure_grayscale,
                   imagenet_mode=config.imagenet_mode)

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.image_key]

    @property
    def output_keys(self) -> List[str]:
        """Keys written to each example."""
        return self.input_keys

    def normalize(self, image):
        """Apply the normalization to one image `(h, w, c)` (or a batch).

        Args:
            image: Image tensor of any dtype; rank 2 gets a channel axis.

        Returns:
            The normalized image (float32 when `ensure_float` or an ImageNet mode is
            set).
        """
        image = ensure_min_image_rank(image)
        if self.ensure_float:
            image = ensure_float(image)
        if self.ensure_rgb:
            image = ensure_rgb(image)
        if self.ensure_grayscale:
            image = ensure_grayscale(image)
        if self.imagenet_mode is not None:
            image = IMAGENET_MODES[self.imagenet_mode](image)
        return image

    def transform_dataset(self, input_ds):
        """Normalize `image_key` of every example.

        When the input spec does not fix the channel count, it is read from the first
        example (as SLEAP does) so that the channel conversions apply.

        Raises:
            ValueError: If the image is not of rank 2, 3 or 4.
        """
        spec = input_ds.element_spec[self.image_key]
        rank = spec.shape.rank
        if rank not in (2, 3, 4):
            raise InvalidValueError(f"Normalizer expects images of rank 2, 3 or 4 "
                                    f"((n,) h, w[, c]). Received: shape {spec.shape}")
        in_shape = None
        if rank >= 3 and spec.shape[-1] is None:
            first = next(iter(input_ds))[self.image_key]
            in_shape = spec.shape[:-1].concatenate([first.shape[-1]])

        def fn(ex):
            image = ex[self.image_key]
            if in_shape is not None:
                image = tf.ensure_shape(image, in_shape)
            ex[self.image_key] = self.normalize(image)
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = [
    "ensure_min_image_rank",
    "ensure_float",
    "ensure_int",
    "ensure_grayscale",
    "ensure_rgb",
    "convert_rgb_to_bgr",
    "scale_image_range",
    "scale_to_imagenet_tf_mode",
    "scale_to_imagenet_caffe_mode",
    "scale_to_imagenet_torch_mode",
    "IMAGENET_MODES",
    "Normalizer",
]

"""Image dtype, channel and ImageNet normalization (SLEAP's `normalization`)."""

from __future__ import annotations

from typing import List, Optional

import attrs

from sleapish.nn._backend import tf


def ensure_min_image_rank(image):
    """Add a channel axis to a rank-2 image: `(h, w)` -> `(h, w, 1)`."""
    image = tf.convert_to_tensor(image)
    if image.shape.rank == 2:
        return image[..., None]
    return image


def ensure_float(image):
    """uint8 [0, 255] -> float32 [0, 1]; float images are cast to float32 unchanged."""
    image = tf.convert_to_tensor(image)
    if image.dtype == tf.uint8:
        return tf.cast(image, tf.float32) / 255.0
    return tf.cast(image, tf.float32)


def ensure_int(image):
    """float32 [0, 1] -> uint8 [0, 255] (rounded); uint8 images are unchanged."""
    image = tf.convert_to_tensor(image)
    if image.dtype == tf.uint8:
        return image
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8)


def ensure_grayscale(image):
    """RGB -> 1 channel by luma (`tf.image.rgb_to_grayscale` on the image's own dtype,
    exactly as SLEAP), keeping the dtype."""
    image = tf.convert_to_tensor(image)
    if image.shape[-1] != 3:
        return image
    return tf.image.rgb_to_grayscale(image)


def ensure_rgb(image):
    """1 channel -> 3 identical channels; 3-channel images are unchanged."""
    image = tf.convert_to_tensor(image)
    if image.shape[-1] == 1:
        return tf.concat([image, image, image], axis=-1)
    return image


def convert_rgb_to_bgr(image):
    """Reverse the channel order."""
    return tf.convert_to_tensor(image)[..., ::-1]


def scale_image_range(image, min_val: float, max_val: float):
    """Map a [0, 1] float image linearly to [min_val, max_val]."""
    return ensure_float(image) * (max_val - min_val) + min_val


def scale_to_imagenet_tf_mode(image):
    """ImageNet "tf" mode: [0, 1] -> [-1, 1]."""
    return scale_image_range(image, -1.0, 1.0)


def scale_to_imagenet_caffe_mode(image):
    """ImageNet "caffe" mode: RGB -> BGR, [0, 255], minus BGR channel means."""
    image = convert_rgb_to_bgr(ensure_rgb(ensure_float(image))) * 255.0
    return image - tf.constant([103.939, 116.779, 123.68], tf.float32)


def scale_to_imagenet_torch_mode(image):
    """ImageNet "torch" mode: [0, 1] minus RGB means, divided by RGB stds."""
    image = ensure_rgb(ensure_float(image))
    mean = tf.constant([0.485, 0.456, 0.406], tf.float32)
    std = tf.constant([0.229, 0.224, 0.225], tf.float32)
    return (image - mean) / std


IMAGENET_MODES = {"tf": scale_to_imagenet_tf_mode, "caffe": scale_to_imagenet_caffe_mode,
                  "torch": scale_to_imagenet_torch_mode}


@attrs.define
class Normalizer:
    """Normalize the dtype, channels and range of an image key.

    Attributes:
        image_key: Key of the image to normalize.
        ensure_float: Convert to float32 in [0, 1].
        ensure_grayscale: Convert RGB to 1 channel (luma).
        ensure_rgb: Tile 1 channel to 3.
        imagenet_mode: None, "tf", "caffe" or "torch" ImageNet normalization.
    """

    image_key: str = "image"
    ensure_float: bool = True
    ensure_grayscale: bool = False
    ensure_rgb: bool = False
    imagenet_mode: Optional[str] = None

    def __attrs_post_init__(self):
        if self.imagenet_mode not in (None, *IMAGENET_MODES):
            raise ValueError(f"Normalizer.imagenet_mode must be one of "
                             f"{[None, *IMAGENET_MODES]}. Received: {self.imagenet_mode!r}")

    @classmethod
    def from_config(cls, config, image_key: str = "image") -> "Normalizer":
        """From a :class:`~sleapish.nn.config.PreprocessingConfig`."""
        return cls(image_key=image_key, ensure_float=True,
                   ensure_grayscale=config.ensure_grayscale, ensure_rgb=config.ensure_rgb,
                   imagenet_mode=config.imagenet_mode)

    @property
    def input_keys(self) -> List[str]:
        """Keys read from each example."""
        return [self.image_key]

    @property
    def output_keys(self) -> List[str]:
        """Keys written to each example."""
        return [self.image_key]

    def normalize(self, image):
        """Apply the normalization to one image `(h, w, c)` (or a batch)."""
        image = ensure_min_image_rank(image)
        if self.ensure_float:
            image = ensure_float(image)
        if self.ensure_grayscale:
            image = ensure_grayscale(image)
        if self.ensure_rgb:
            image = ensure_rgb(image)
        if self.imagenet_mode is not None:
            image = IMAGENET_MODES[self.imagenet_mode](image)
        return image

    def transform_dataset(self, input_ds):
        """Normalize `image_key` of every example.

        Raises:
            ValueError: If the image is not of rank 2 or 3.
        """
        spec = input_ds.element_spec[self.image_key]
        if spec.shape.rank not in (2, 3):
            raise ValueError(f"Normalizer expects images of rank 2 or 3 (h, w[, c]). "
                             f"Received: shape {spec.shape}")

        def fn(ex):
            ex[self.image_key] = self.normalize(ex[self.image_key])
            return ex

        return input_ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)

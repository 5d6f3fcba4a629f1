"""Random data augmentation of images and their instance points (pure TensorFlow).

SLEAP 1.4.1 augmented with `imgaug` inside `tf.py_function`, one example at a time
and without `tf.data` parallelism. sleapish keeps SLEAP's names and imgaug's
semantics, but every transformer here is graph code mapped with
`num_parallel_calls=tf.data.AUTOTUNE`.

Examples are unbatched dicts: an image `(height, width, channels)` (uint8 or float32,
values in 0-255: augmentation runs before normalization) and float32 points
`(n_instances, n_nodes, 2)` as `(x, y)` pixels, NaN when missing. Pixel centres are
at integer coordinates, so the image centre is `((width - 1) / 2, (height - 1) / 2)`,
as in imgaug's affine transforms. Other keys pass through untouched.

Randomness: an example holding `SEED_KEY` (an int64 `(2,)` seed, added by the
trainer's seeded epoch stream) draws every random value statelessly from it, so
each example's augmentation is a pure function of its seed (reproducible, and the
same after a resume). Examples without it use TensorFlow's global random state.

Example:
    >>> aug = ImgaugAugmenter(rotate=True, rotation_min_angle=-15, rotation_max_angle=15)
    >>> ds = aug.transform_dataset(ds)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Tuple

import attrs

from sleapish.errors import InvalidTypeError, InvalidValueError
from sleapish.nn._backend import tf
from sleapish.nn.config.optimization import AugmentationConfig
from sleapish.nn.config.utils import fraction, positive
from sleapish.nn.data.utils import check_keys

__all__ = ["ImgaugAugmenter", "RandomCropper", "RandomFlipper", "affine_matrix",
           "warp_image", "flip_instances_lr", "flip_instances_ud", "SEED_KEY",
           "RandomDraws"]

#: Example key of an optional per-example int64 `(2,)` seed (see module docstring).
SEED_KEY = "augmentation_seed"


class RandomDraws:
    """Random values for one example: stateless from a seed, else TF's global RNG.

    Each call folds a running counter into the seed, so the draws of one example
    are independent of each other and of every other example's.

    Args:
        seed: int64 `(2,)` seed tensor, or `None` for `tf.random`'s stateful ops.
        salt: Integer distinguishing the transformers that share one example seed.
    """

    def __init__(self, seed=None, salt: int = 0):
        self.seed = None if seed is None else \
            tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), salt)
        self._n = 0

    def _next(self):
        self._n += 1
        return tf.random.experimental.stateless_fold_in(self.seed, self._n)

    def uniform(self, shape, minval=0.0, maxval=1.0, dtype=tf.float32) -> tf.Tensor:
        """Uniform values in `[minval, maxval)` of `shape` and `dtype`."""
        if self.seed is None:
            return tf.random.uniform(shape, minval, maxval, dtype=dtype)
        return tf.random.stateless_uniform(shape, self._next(), minval, maxval,
                                           dtype=dtype)

    def normal(self, shape, mean=0.0, stddev=1.0) -> tf.Tensor:
        """float32 normal values of `shape`."""
        if self.seed is None:
            return tf.random.normal(shape, mean, stddev)
        return tf.random.stateless_normal(shape, self._next(), mean, stddev)


def affine_matrix(height, width, angle=0.0, translation=(0.0, 0.0), scale=1.0):
    """Forward affine matrix of a rotation, translation and scaling about the centre.

    The steps are applied in this order, each about the image centre
    `c = ((width - 1) / 2, (height - 1) / 2)`, as SLEAP's sequence of three imgaug
    `Affine` augmenters did: `p' = c + scale * (R(angle) @ (p - c) + translation)`.
    A positive angle rotates clockwise on screen (y points down), as in imgaug.

    Args:
        height: Image height in pixels (int or scalar tensor).
        width: Image width in pixels.
        angle: Rotation in degrees (scalar).
        translation: `(tx, ty)` shift in pixels (scalars).
        scale: Scale factor (scalar, > 0).

    Returns:
        A float32 `(3, 3)` tensor mapping input `(x, y, 1)` to output coordinates.
    """
    f32 = lambda v: tf.cast(v, tf.float32)
    cx, cy = (f32(width) - 1.0) / 2.0, (f32(height) - 1.0) / 2.0
    theta, s = f32(angle) * (math.pi / 180.0), f32(scale)
    a, b = s * tf.cos(theta), -s * tf.sin(theta)
    d, e = s * tf.sin(theta), s * tf.cos(theta)
    ox = cx - a * cx - b * cy + s * f32(translation[0])
    oy = cy - d * cx - e * cy + s * f32(translation[1])
    zero, one = tf.constant(0.0), tf.constant(1.0)
    return tf.stack([tf.stack([a, b, ox]), tf.stack([d, e, oy]),
                     tf.stack([zero, zero, one])])


def warp_image(image, matrix):
    """Warp an image with a forward affine matrix (bilinear, constant fill 0).

    Args:
        image: Float32 tensor of shape `(height, width, channels)`.
        matrix: Float32 `(3, 3)` forward matrix (input -> output coordinates), e.g.
            from :func:`affine_matrix`.

    Returns:
        The warped float32 image of the same shape: the content at pixel-centre
        coordinate `p` of `image` is at `matrix @ p` in the result.
    """
    inv = tf.linalg.inv(matrix)  # ImageProjectiveTransform maps output -> input.
    transforms = tf.reshape(inv / inv[2, 2], [9])[:8][tf.newaxis]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[tf.newaxis], transforms=transforms,
        output_shape=tf.shape(image)[:2], fill_value=tf.constant(0.0, tf.float32),
        interpolation="BILINEAR", fill_mode="CONSTANT")[0]
    out.set_shape(image.shape)
    return out


def _transform_points(points, matrix):
    """Apply a forward `(3, 3)` affine matrix to `(..., 2)` points (NaN stays NaN)."""
    pts = tf.cast(points, tf.float32)
    out = tf.einsum("...j,ij->...i", pts, matrix[:2, :2]) + matrix[:2, 2]
    return tf.cast(out, points.dtype)


def _swap_symmetric(instances, symmetric_inds):
    """Swap the node pairs `symmetric_inds` (`(n_pairs, 2)` int) along axis 1."""
    if symmetric_inds is None:
        return instances
    inds = tf.reshape(tf.cast(symmetric_inds, tf.int32), [-1, 2])
    perm = tf.tensor_scatter_nd_update(
        tf.range(tf.shape(instances)[1]), tf.reshape(tf.transpose(inds), [-1, 1]),
        tf.reshape(tf.transpose(inds[:, ::-1]), [-1]))
    return tf.gather(instances, perm, axis=1)


def _flip(instances, size, axis: int, symmetric_inds):
    """Reflect coordinate `axis` (0: x, 1: y) as `(size - 1) - v`; swap node pairs."""
    instances = tf.convert_to_tensor(instances)
    v = (tf.cast(size, instances.dtype) - 1) - instances[..., axis]
    other = instances[..., 1 - axis]
    flipped = tf.stack([v, other] if axis == 0 else [other, v], axis=-1)
    return _swap_symmetric(flipped, symmetric_inds)


def flip_instances_lr(instances, img_width, symmetric_inds=None):
    """Flip instance points left-right, swapping symmetric nodes.

    Args:
        instances: Float tensor of shape `(n_instances, n_nodes, 2)`, `(x, y)` pixels.
        img_width: Image width in pixels; `x` maps to `(img_width - 1) - x`.
        symmetric_inds: Optional int tensor/array/list of shape `(n_symmetries, 2)`:
            node index pairs (e.g. left/right body parts) to swap; the order within a
            pair does not matter. `None` (or empty): no swap.

    Returns:
        Float tensor of shape `(n_instances, n_nodes, 2)`; NaN points stay NaN.
    """
    return _flip(instances, img_width, 0, symmetric_inds)


def flip_instances_ud(instances, img_height, symmetric_inds=None):
    """Flip instance points up-down, swapping symmetric nodes.

    Args:
        instances: Float tensor of shape `(n_instances, n_nodes, 2)`, `(x, y)` pixels.
        img_height: Image height in pixels; `y` maps to `(img_height - 1) - y`.
        symmetric_inds: Optional int `(n_symmetries, 2)` node index pairs to swap.

    Returns:
        Float tensor of shape `(n_instances, n_nodes, 2)`; NaN points stay NaN.
    """
    return _flip(instances, img_height, 1, symmetric_inds)


class _PointsTransformer:
    """Shared plumbing: keys, element-spec checks and the parallel `ds.map`."""

    image_key: str
    instances_key: str

    @property
    def input_keys(self) -> List[str]:
        """Keys the input examples must have: `[image_key, instances_key]`."""
        return [self.image_key, self.instances_key]

    @property
    def output_keys(self) -> List[str]:
        """Keys this transformer writes."""
        return self.input_keys

    def _check_spec(self, ds: tf.data.Dataset) -> tf.TensorShape:
        """Validate `ds.element_spec` (see `transform_dataset`); return image shape."""
        who, spec = type(self).__name__, ds.element_spec
        if not isinstance(spec, dict):
            raise InvalidValueError(f"{who} needs dataset elements that are dicts of tensors. "
                                    f"Received: element_spec={spec!r}")
        check_keys(list(spec), self.input_keys, who)
        img, pts = spec[self.image_key].shape, spec[self.instances_key].shape
        if img.rank is not None and img.rank != 3:
            raise InvalidValueError(f"{who} needs unbatched images (height, width, channels) in "
                                    f"'{self.image_key}'. Received: shape {img}")
        if pts.rank is not None and (pts.rank != 3 or pts[-1] not in (2, None)):
            raise InvalidValueError(f"{who} needs points (n_instances, n_nodes, 2) in "
                                    f"'{self.instances_key}'. Received: shape {pts}")
        return img

    #: Distinguishes this transformer's draws from the others' on one example seed.
    _salt = 0

    def _example_fn(self, image_shape: tf.TensorShape) -> Optional[Callable]:
        """`fn(image, instances, rng) -> values of output_keys`, or `None` for a no-op
        (`rng` is a :class:`RandomDraws`)."""
        raise NotImplementedError

    def transform_dataset(self, ds: tf.data.Dataset) -> tf.data.Dataset:
        """Apply the transformer to every example of a dataset (in parallel).

        Args:
            ds: Dataset of unbatched example dicts holding `image_key` and
                `instances_key`; other keys pass through untouched.

        Returns:
            The transformed dataset (`ds` itself if the transformer is a no-op).

        Raises:
            ValueError: If the image is not rank 3, the points are not
                `(n_instances, n_nodes, 2)`, or (`RandomCropper`) the crop is larger
                than a statically known image size.
            KeyError: If a required key is missing.
        """
        fn = self._example_fn(self._check_spec(ds))
        if fn is None:
            return ds

        def apply(ex: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
            rng = RandomDraws(ex.get(SEED_KEY), self._salt)
            out = fn(ex[self.image_key], ex[self.instances_key], rng)
            return {**ex, **dict(zip(self.output_keys, out))}

        return ds.map(apply, num_parallel_calls=tf.data.AUTOTUNE)


#: The `AugmentationConfig` fields an `ImgaugAugmenter` uses (affine and intensity).
AUGMENTER_SETTINGS = (
    "rotate", "rotation_min_angle", "rotation_max_angle", "translate", "translate_min",
    "translate_max", "scale", "scale_min", "scale_max", "uniform_noise",
    "uniform_noise_min_val", "uniform_noise_max_val", "gaussian_noise",
    "gaussian_noise_mean", "gaussian_noise_stddev", "contrast", "contrast_min_gamma",
    "contrast_max_gamma", "brightness", "brightness_min_val", "brightness_max_val")


@attrs.define(init=False)
class ImgaugAugmenter(_PointsTransformer):
    """Random affine and intensity augmentation with imgaug's semantics, in pure TF.

    Per example, in this order (each part only when enabled): one affine transform
    made of a rotation, an integer translation and a scaling about the image centre
    (:func:`affine_matrix`), applied to the image (bilinear, zero fill) and to the
    points with the same matrix; per-pixel uniform noise; per-pixel Gaussian noise;
    gamma contrast `255 * (x / 255) ** gamma` (one gamma per image); brightness (one
    offset per image). Noise samples are per pixel and shared by the channels
    (imgaug's `per_channel=False`). The image is clipped to `[0, 255]` after each
    intensity step and returned in its input dtype (rounded for integer dtypes).
    With nothing enabled, examples pass through unchanged.

    The settings are those of an
    :class:`~sleapish.nn.config.optimization.AugmentationConfig` (rotation angles in
    degrees, positive clockwise on screen; translations in integer pixels, the maximum
    inclusive; noise and brightness in 0-255 units); its crop and flip fields are
    :class:`RandomCropper`'s and :class:`RandomFlipper`'s.

    Example:
        >>> ImgaugAugmenter(rotate=True, rotation_min_angle=-15, rotation_max_angle=15)
        >>> ImgaugAugmenter(config.optimization.augmentation_config)

    Attributes:
        config: The `AugmentationConfig` holding the settings.
        image_key: Example key of the `(height, width, channels)` image.
        instances_key: Example key of the float32 `(n_instances, n_nodes, 2)` points.
    """

    config: AugmentationConfig
    image_key: str = "image"
    instances_key: str = "instances"

    def __init__(self, config: Optional[AugmentationConfig] = None,
                 image_key: str = "image", instances_key: str = "instances",
                 **settings):
        """Hold `config`, with `settings` (its field names, e.g. `rotate=True`)
        changed.

        Raises:
            TypeError: For a keyword that is not an augmenter setting.
            ValueError: For a minimum above its maximum, or a non-positive scale or
                gamma (checked by `AugmentationConfig`).
        """
        unknown = sorted(set(settings) - set(AUGMENTER_SETTINGS))
        if unknown:
            raise InvalidTypeError("ImgaugAugmenter() got an unexpected keyword argument "
                                   f"{unknown[0]!r}")
        config = config if config is not None else AugmentationConfig()
        if settings:
            config = attrs.evolve(config, **settings)
        self.__attrs_init__(config=config, image_key=image_key,
                            instances_key=instances_key)

    @classmethod
    def from_config(cls, config: AugmentationConfig, image_key: str = "image",
                    instances_key: str = "instances") -> ImgaugAugmenter:
        """Build from an :class:`AugmentationConfig` (its crop/flip fields are unused).

        Args:
            config: The augmentation configuration.
            image_key: Example key of the image.
            instances_key: Example key of the instance points.

        Returns:
            An `ImgaugAugmenter` holding the configuration.
        """
        return cls(config, image_key=image_key, instances_key=instances_key)

    @property
    def _geometric(self) -> bool:
        c = self.config
        return c.rotate or c.translate or c.scale

    @property
    def _enabled(self) -> bool:
        c = self.config
        return self._geometric or c.uniform_noise or c.gaussian_noise or \
            c.contrast or c.brightness

    def augment(self, image, instances,
                rng: Optional[RandomDraws] = None) -> Tuple[tf.Tensor, tf.Tensor]:
        """Augment one image and its points (graph code).

        Args:
            image: `(height, width, channels)` uint8 or float tensor, values 0-255.
            instances: Float `(n_instances, n_nodes, 2)` points, NaN when missing.
            rng: Where random values come from (default: TF's global RNG).

        Returns:
            `(image, instances)` with the input shapes and dtypes.
        """
        if not self._enabled:
            return image, instances
        rng = rng or RandomDraws()
        c = self.config
        uniform = rng.uniform
        img = tf.cast(image, tf.float32)
        if self._geometric:
            angle = uniform((), c.rotation_min_angle, c.rotation_max_angle) \
                if c.rotate else 0.0
            shift = uniform((2,), int(c.translate_min), int(c.translate_max) + 1,
                            dtype=tf.int32) if c.translate else tf.zeros([2], tf.int32)
            scale = uniform((), c.scale_min, c.scale_max) if c.scale else 1.0
            shape = tf.shape(img)
            matrix = affine_matrix(shape[0], shape[1], angle, tf.unstack(shift), scale)
            img = warp_image(img, matrix)
            instances = _transform_points(instances, matrix)
        pixels = tf.concat([tf.shape(img)[:2], [1]], 0)  # one sample per pixel
        if c.uniform_noise:
            img += uniform(pixels, c.uniform_noise_min_val, c.uniform_noise_max_val)
            img = tf.clip_by_value(img, 0.0, 255.0)
        if c.gaussian_noise:
            img += rng.normal(pixels, c.gaussian_noise_mean, c.gaussian_noise_stddev)
            img = tf.clip_by_value(img, 0.0, 255.0)
        if c.contrast:
            gamma = uniform((), c.contrast_min_gamma, c.contrast_max_gamma)
            img = 255.0 * tf.pow(tf.clip_by_value(img, 0.0, 255.0) / 255.0, gamma)
        if c.brightness:
            img += uniform((), c.brightness_min_val, c.brightness_max_val)
        img = tf.clip_by_value(img, 0.0, 255.0)
        img = tf.cast(tf.round(img) if image.dtype.is_integer else img, image.dtype)
        img.set_shape(image.shape)
        return img, instances

    _salt = 1

    def _example_fn(self, image_shape):
        return self.augment if self._enabled else None


@attrs.define
class RandomCropper(_PointsTransformer):
    """Crop a random fixed-size window from each image, shifting its points.

    The window's top-left corner is a uniform integer offset, so the crop is exact
    (no resampling; SLEAP 1.4.1 used a sub-pixel bilinear crop). Points are shifted
    by the offset and may fall outside the crop. Examples also get `"crop_bbox"`:
    float32 `(1, 4)` `[y1, x1, y2, x2]` of the window in input pixel coordinates
    (inclusive corners), as in SLEAP.

    Attributes:
        crop_height: Height of the crop in pixels (<= image height).
        crop_width: Width of the crop in pixels (<= image width).
        image_key: Example key of the `(height, width, channels)` image.
        instances_key: Example key of the `(n_instances, n_nodes, 2)` points.
    """

    crop_height: int = attrs.field(default=256, validator=positive)
    crop_width: int = attrs.field(default=256, validator=positive)
    image_key: str = "image"
    instances_key: str = "instances"

    @property
    def output_keys(self) -> List[str]:
        """Keys this transformer writes: `[image_key, instances_key, "crop_bbox"]`."""
        return [self.image_key, self.instances_key, "crop_bbox"]

    def crop(self, image, instances,
             rng: Optional[RandomDraws] = None) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Randomly crop one image and shift its points (graph code).

        Args:
            image: `(height, width, channels)` tensor of any dtype.
            instances: Float `(n_instances, n_nodes, 2)` points.
            rng: Where random values come from (default: TF's global RNG).

        Returns:
            `(image, instances, crop_bbox)`: the `(crop_height, crop_width, channels)`
            crop, the shifted points and the float32 `(1, 4)` window box.

        Raises:
            tf.errors.InvalidArgumentError: At run time, if the crop is larger than an
                image whose size was not known statically.
        """
        ch, cw = int(self.crop_height), int(self.crop_width)
        shape = tf.shape(image)
        with tf.control_dependencies([tf.debugging.assert_less_equal(
                tf.stack([ch, cw]), shape[:2],
                message=f"RandomCropper crop ({ch}, {cw}) is larger than the image. "
                        "Received: image (height, width)")]):
            rng = rng or RandomDraws()
            dy = rng.uniform((), 0, shape[0] - ch + 1, dtype=tf.int32)
            dx = rng.uniform((), 0, shape[1] - cw + 1, dtype=tf.int32)
        out = image[dy:dy + ch, dx:dx + cw]
        out.set_shape([ch, cw, image.shape[-1] if image.shape.rank else None])
        y1, x1 = tf.cast(dy, tf.float32), tf.cast(dx, tf.float32)
        bbox = tf.stack([y1, x1, y1 + (ch - 1), x1 + (cw - 1)])[tf.newaxis]
        return out, instances - tf.cast(tf.stack([dx, dy]), instances.dtype), bbox

    _salt = 2

    def _example_fn(self, image_shape):
        h, w = (image_shape[0], image_shape[1]) if image_shape.rank else (None, None)
        if (h is not None and self.crop_height > h) or \
                (w is not None and self.crop_width > w):
            raise InvalidValueError(
                f"RandomCropper crop ({self.crop_height}, {self.crop_width}) must fit "
                f"in the image. Received: image shape {image_shape}")
        return self.crop


def _to_pairs(x) -> Optional[Tuple[Tuple[int, int], ...]]:
    """Convert symmetric node pairs (list/array/tensor) to int pairs; `None` if empty."""
    if x is None:
        return None
    x = x.numpy() if hasattr(x, "numpy") else x
    pairs = tuple(tuple(int(i) for i in p) for p in (x.tolist() if hasattr(x, "tolist")
                                                     else x))
    if any(len(p) != 2 for p in pairs):
        raise InvalidValueError("RandomFlipper.symmetric_inds must be node index pairs of "
                                f"shape (n_symmetries, 2). Received: {x!r}")
    return pairs or None


@attrs.define
class RandomFlipper(_PointsTransformer):
    """Randomly flip images left-right (or up-down), swapping symmetric nodes.

    Attributes:
        symmetric_inds: Node index pairs `(n_symmetries, 2)` (list, array or tensor)
            swapped on a flip, e.g. left/right body parts. Stored as a tuple of int
            pairs, `None` when there are none.
        horizontal: Flip left-right (`x -> (width - 1) - x`) if `True`, otherwise
            up-down (`y -> (height - 1) - y`).
        probability: Probability of flipping each example, in `[0, 1]`.
        image_key: Example key of the `(height, width, channels)` image.
        instances_key: Example key of the `(n_instances, n_nodes, 2)` points.
    """

    symmetric_inds: Optional[Tuple[Tuple[int, int], ...]] = attrs.field(
        default=None, converter=_to_pairs)
    horizontal: bool = True
    probability: float = attrs.field(default=0.5, validator=fraction)
    image_key: str = "image"
    instances_key: str = "instances"

    @classmethod
    def from_skeleton(cls, skeleton, horizontal: bool = True,
                      probability: float = 0.5) -> RandomFlipper:
        """Build from a `sleap_io.Skeleton`, using its symmetries.

        Args:
            skeleton: A `sleap_io.Skeleton`; `skeleton.symmetry_inds` (possibly empty)
                gives the node pairs to swap.
            horizontal: Flip left-right if `True`, otherwise up-down.
            probability: Probability of flipping each example.

        Returns:
            A `RandomFlipper`.
        """
        return cls(symmetric_inds=list(skeleton.symmetry_inds), horizontal=horizontal,
                   probability=probability)

    def flip(self, image, instances) -> Tuple[tf.Tensor, tf.Tensor]:
        """Flip one image and its points unconditionally (graph code).

        Args:
            image: `(height, width, channels)` tensor of any dtype.
            instances: Float `(n_instances, n_nodes, 2)` points.

        Returns:
            `(image, instances)` flipped, with symmetric nodes swapped.
        """
        axis = 1 if self.horizontal else 0  # image axis; the point axis is 1 - axis
        return (tf.reverse(image, axis=[axis]),
                _flip(instances, tf.shape(image)[axis], 1 - axis, self.symmetric_inds))

    _salt = 3

    def _example_fn(self, image_shape):
        return lambda image, instances, rng: tf.cond(
            rng.uniform(()) < self.probability,
            lambda: self.flip(image, instances), lambda: (image, instances))

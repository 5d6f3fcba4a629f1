"""Small tensor helpers shared by the data transformers."""

from __future__ import annotations

from typing import Any, Dict, Sequence

from sleapish.errors import InvalidValueError, MissingKeyError
from sleapish.nn._backend import tf


def make_grid_vectors(image_height: int, image_width: int, output_stride: int = 1):
    """Sampling grid vectors of a (possibly strided) image grid.

    Args:
        image_height: Height of the full-resolution image (pixels).
        image_width: Width of the full-resolution image.
        output_stride: Sampling step; grid points are at `0, s, 2s, ...`.

    Returns:
        `(xv, yv)`: float32 vectors `range(0, width, stride)` of shape
        `(ceil(width / stride),)` and `range(0, height, stride)` of shape
        `(ceil(height / stride),)`, in full-resolution pixel coordinates.
    """
    xv = tf.cast(tf.range(0, image_width, delta=output_stride), tf.float32)
    yv = tf.cast(tf.range(0, image_height, delta=output_stride), tf.float32)
    return xv, yv


def image_grid_vectors(image, output_stride: int = 1):
    """:func:`make_grid_vectors` of an image tensor `(height, width, channels)`.

    The static height and width are used when known (constant-shaped grids in the
    graph), the dynamic ones otherwise.
    """
    h, w = image.shape[0], image.shape[1]
    if h is None or w is None:
        s = tf.shape(image)
        h, w = s[0], s[1]
    return make_grid_vectors(h, w, output_stride)


def gaussian_pdf(x, sigma: float):
    """Unnormalized Gaussian: `exp(-x^2 / (2 sigma^2))`.

    Args:
        x: Float tensor of any shape.
        sigma: Standard deviation (scalar).

    Returns:
        Tensor of the shape of `x`, 1.0 where `x == 0`.
    """
    x = tf.convert_to_tensor(x, tf.float32)
    return tf.exp(-(tf.square(x)) / (2.0 * tf.square(tf.cast(sigma, tf.float32))))


def expand_to_rank(x, target_rank: int, prepend: bool = True):
    """Add singleton dimensions until `x` has rank `target_rank`.

    Args:
        x: A tensor.
        target_rank: Desired rank (no-op if `x` already has it or more).
        prepend: Add dimensions at the front (True) or the back.
    """
    x = tf.convert_to_tensor(x)
    n = target_rank - x.shape.rank
    if n <= 0:
        return x
    new_shape = tf.concat([tf.ones([n], tf.int32), tf.shape(x)], 0) if prepend else \
        tf.concat([tf.shape(x), tf.ones([n], tf.int32)], 0)
    return tf.reshape(x, new_shape)


def ensure_list(x: Any) -> list:
    """Wrap a non-list value in a list."""
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def unrag_tensor(x, max_size: int = None, axis: int = 1, pad_value: float = float("nan")):
    """Convert a ragged tensor to a dense one padded with `pad_value` (NaN).

    Args:
        x: A `tf.RaggedTensor` (ragged along `axis`) or a dense tensor (returned as
            is).
        max_size: Pad the ragged axis to this size (its maximum when `None`).
        axis: The ragged axis (only 1 is supported, as in SLEAP's batches).
        pad_value: Fill value for float tensors; integer tensors are padded with -1.
    """
    if not isinstance(x, tf.RaggedTensor):
        return x
    if axis != 1:
        raise InvalidValueError(f"Only axis 1 can be unragged. Received: axis={axis}")
    default = pad_value if x.dtype.is_floating else tf.cast(-1, x.dtype)
    shape = None
    if max_size is not None:
        shape = [None, max_size] + [None] * (x.shape.rank - 2)
    return x.to_tensor(default_value=tf.cast(default, x.dtype), shape=shape)


def unrag_example(example: Dict[str, Any], numpy: bool = False) -> Dict[str, Any]:
    """Unrag every ragged tensor of an example dict (NaN / -1 padding).

    Args:
        example: Dict of tensors, some of which may be `tf.RaggedTensor`.
        numpy: Also convert every value to a numpy array.
    """
    out = {}
    for k, v in example.items():
        v = unrag_tensor(v)
        out[k] = v.numpy() if numpy and hasattr(v, "numpy") else v
    return out


def describe_tensors(example: Dict[str, Any]) -> str:
    """One line per key: name, dtype and shape (for `Pipeline.describe`)."""
    lines = []
    for k, v in example.items():
        if isinstance(v, tf.RaggedTensor):
            lines.append(f"{k}: ragged {v.dtype.name} {v.shape}")
        elif hasattr(v, "dtype") and hasattr(v, "shape"):
            lines.append(f"{k}: {tf.as_dtype(v.dtype).name} {tuple(v.shape)}")
        else:
            lines.append(f"{k}: {type(v).__name__}")
    return "\n".join(lines)


def check_keys(example_keys: Sequence[str], required: Sequence[str], who: str) -> None:
    """Raise a clear error if an example lacks keys a transformer needs.

    Raises:
        KeyError: Naming the transformer, the missing keys and the keys present.
    """
    missing = [k for k in required if k not in example_keys]
    if missing:
        raise MissingKeyError(
            f"{who} needs example keys {list(required)}; missing {missing}. "
            f"Received keys: {sorted(example_keys)}")

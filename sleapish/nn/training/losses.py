"""Training losses and metrics (SLEAP's `sleap.nn.losses`).

The total loss of a head is the mean squared error between target and predicted
maps; with online hard keypoint mining (OHKM) the scaled losses of the hardest
channels are added. Class-vector heads use categorical cross-entropy. Per-part
losses are reported as metrics (`<part>` in the training log).
"""

from __future__ import annotations

import re
from typing import Callable, List, Optional, Sequence

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import keras, tf


def compute_ohkm_loss(y_gt, y_pr, hard_to_easy_ratio: float = 2.0,
                      min_hard_keypoints: int = 2, max_hard_keypoints: int = -1,
                      loss_scale: float = 5.0):
    """Online hard keypoint mining loss.

    Each channel's summed squared error is compared with the easiest channel's; the
    channels at least `hard_to_easy_ratio` times worse (at least
    `min_hard_keypoints`, at most `max_hard_keypoints`) are the "hard" ones, and
    their errors, scaled by `loss_scale`, are averaged over the batch, pixels and
    the number of hard channels.

    Args:
        y_gt: Targets, float32 `(batch, height, width, channels)`.
        y_pr: Predictions, same shape.
        hard_to_easy_ratio: Loss ratio to the easiest channel that makes a channel
            hard.
        min_hard_keypoints: Minimum number of hard channels.
        max_hard_keypoints: Maximum number of hard channels (-1: all channels).
        loss_scale: Factor applied to the hard channels' errors.

    Returns:
        Scalar float32 loss.
    """
    sq = tf.math.squared_difference(y_gt, y_pr)
    shape = tf.shape(sq)
    per_channel = tf.reduce_sum(sq, axis=[0, 1, 2])
    n_channels = tf.shape(per_channel)[0]
    easiest = tf.reduce_min(per_channel)
    n_hard = tf.reduce_sum(tf.cast(per_channel / easiest >= hard_to_easy_ratio,
                                   tf.int32))
    upper = n_channels if max_hard_keypoints < 0 else tf.minimum(
        max_hard_keypoints, n_channels)
    k = tf.minimum(tf.maximum(n_hard, min_hard_keypoints), upper)
    hardest, _ = tf.math.top_k(per_channel, k=k, sorted=False)
    denom = tf.cast(shape[0] * shape[1] * shape[2] * k, tf.float32)
    return tf.reduce_sum(hardest * loss_scale) / denom


class OHKMLoss(keras.losses.Loss):
    """Online hard keypoint mining as a Keras loss (see :func:`compute_ohkm_loss`).

    Args:
        hard_to_easy_ratio: Loss ratio that makes a channel hard.
        min_hard_keypoints: Minimum number of hard channels.
        max_hard_keypoints: Maximum number of hard channels (-1: no limit).
        loss_scale: Factor applied to the hard channels' errors.
        name: Name of the loss / metric.
    """

    def __init__(self, hard_to_easy_ratio: float = 2.0, min_hard_keypoints: int = 2,
                 max_hard_keypoints: int = -1, loss_scale: float = 5.0,
                 name: str = "ohkm", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hard_to_easy_ratio = hard_to_easy_ratio
        self.min_hard_keypoints = min_hard_keypoints
        self.max_hard_keypoints = max_hard_keypoints
        self.loss_scale = loss_scale

    @classmethod
    def from_config(cls, config) -> OHKMLoss:
        """From a :class:`~sleapish.nn.config.HardKeypointMiningConfig` (SLEAP's use),
        or from the dict of :meth:`get_config` (Keras's, e.g. loading a compiled
        model with this loss)."""
        if isinstance(config, dict):
            return cls(**config)
        mx = config.max_hard_keypoints
        return cls(hard_to_easy_ratio=config.hard_to_easy_ratio,
                   min_hard_keypoints=config.min_hard_keypoints,
                   max_hard_keypoints=-1 if mx is None else mx,
                   loss_scale=config.loss_scale)

    def call(self, y_gt, y_pr):
        """Scalar OHKM loss of a batch."""
        return compute_ohkm_loss(y_gt, y_pr, self.hard_to_easy_ratio,
                                 self.min_hard_keypoints, self.max_hard_keypoints,
                                 self.loss_scale)

    def get_config(self):
        """Serializable arguments."""
        return dict(super().get_config(), hard_to_easy_ratio=self.hard_to_easy_ratio,
                    min_hard_keypoints=self.min_hard_keypoints,
                    max_hard_keypoints=self.max_hard_keypoints,
                    loss_scale=self.loss_scale)


class PartLoss(keras.metrics.Metric):
    """Mean squared error of one output channel (one body part), over an epoch.

    Args:
        channel_ind: Index of the channel.
        name: Metric name (the sanitized part name).
    """

    def __init__(self, channel_ind: int, name: str = "part_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.channel_ind = int(channel_ind)
        self.sum_sq = self.add_weight(name=f"{name}_sum", initializer="zeros",
                                      dtype=tf.float32)
        self.count = self.add_weight(name=f"{name}_count", initializer="zeros",
                                     dtype=tf.float32)

    def update_state(self, y_gt, y_pr, sample_weight=None):
        """Accumulate the channel's squared error of a batch `(b, h, w, c)`."""
        d = tf.math.squared_difference(y_gt[..., self.channel_ind],
                                       y_pr[..., self.channel_ind])
        self.sum_sq.assign_add(tf.reduce_sum(d))
        self.count.assign_add(tf.cast(tf.size(d), tf.float32))

    def result(self):
        """Mean squared error so far."""
        return tf.math.divide_no_nan(self.sum_sq, self.count)

    def reset_state(self):
        """Start a new epoch."""
        self.sum_sq.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        """Serializable arguments."""
        return dict(super().get_config(), channel_ind=self.channel_ind)


def sanitize_scope_name(name: str) -> str:
    """A part name usable as a TensorFlow name scope / metric name.

    Characters other than letters, digits, `.`, `_` and `-` become `_`, and a
    leading character that TensorFlow refuses is prefixed with `_`.
    """
    out = re.sub(r"[^A-Za-z0-9._\-]", "_", str(name))
    if not out or not re.match(r"[A-Za-z0-9.]", out[0]):
        out = "_" + out
    return out


class ConfmapLoss(keras.losses.Loss):
    """Mean squared error of maps, plus OHKM when configured.

    Returns one value per example (the example's mean squared error, plus the
    batch's OHKM term), so Keras averages over the global batch, also under a
    `tf.distribute` strategy.

    Args:
        ohkm: An :class:`OHKMLoss` or `None`.
        name: Loss name.
    """

    def __init__(self, ohkm: Optional[OHKMLoss] = None, name: str = "mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.ohkm = ohkm

    def call(self, y_gt, y_pr):
        """float32 `(batch,)` losses of `(batch, h, w, c)` maps."""
        per_example = tf.reduce_mean(tf.math.squared_difference(y_gt, y_pr),
                                     axis=[1, 2, 3])
        if self.ohkm is not None:
            per_example = per_example + self.ohkm.call(y_gt, y_pr)
        return per_example

    def get_config(self):
        """Serializable arguments (the OHKM term's as a nested dict)."""
        return dict(super().get_config(),
                    ohkm=None if self.ohkm is None else self.ohkm.get_config())

    @classmethod
    def from_config(cls, config) -> ConfmapLoss:
        """From the dict of :meth:`get_config`."""
        config = dict(config)
        ohkm = config.pop("ohkm", None)
        return cls(ohkm=None if ohkm is None else OHKMLoss.from_config(ohkm), **config)


def make_loss_fn(optimization_config) -> Callable:
    """The confidence-map loss: MSE, plus OHKM when enabled in the config.

    Args:
        optimization_config: An :class:`~sleapish.nn.config.OptimizationConfig`.

    Returns:
        A :class:`ConfmapLoss`; `loss(y_gt, y_pr)` is a scalar for
        `(batch, h, w, channels)` tensors.
    """
    ohkm_cfg = optimization_config.hard_keypoint_mining
    ohkm = OHKMLoss.from_config(ohkm_cfg) if ohkm_cfg.online_mining else None
    return ConfmapLoss(ohkm=ohkm, name="mse_ohkm" if ohkm is not None else "mse")


def make_metrics(optimization_config,
                 part_names: Optional[Sequence[str]] = None) -> List:
    """Metrics reported during training: OHKM (if enabled) and per-part losses."""
    metrics: List = []
    if optimization_config.hard_keypoint_mining.online_mining:
        metrics.append(OHKMLoss.from_config(optimization_config.hard_keypoint_mining))
    for i, name in enumerate(part_names or []):
        metrics.append(PartLoss(channel_ind=i, name=sanitize_scope_name(name)))
    return metrics


def make_optimizer(optimization_config):
    """Adam (with AMSGrad), RMSprop or SGD at the configured initial learning rate.

    Raises:
        ValueError: For another optimizer name.
    """
    name = str(optimization_config.optimizer).lower()
    lr = optimization_config.initial_learning_rate
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=lr, amsgrad=True)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    raise InvalidValueError("optimization.optimizer must be 'adam', 'rmsprop' or 'sgd'. "
                            f"Received: {optimization_config.optimizer!r}")


__all__ = ["compute_ohkm_loss", "OHKMLoss", "ConfmapLoss", "PartLoss", "sanitize_scope_name",
           "make_loss_fn", "make_metrics", "make_optimizer"]

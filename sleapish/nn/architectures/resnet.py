"""ResNet v1 backbones with configurable output stride (SLEAP's `resnet.py`).

The blocks and layer names are those of Keras Applications' ResNet50/101/152
(`conv1_conv`, `conv2_block1_1_conv`, ...), so ImageNet weights load by name. Below
a maximum stride of 32, later stages keep stride 1 and double their `dilation_rate`
(set, as in SLEAP, on the stage's 1x1 convolutions). With pretrained weights, inputs
are tiled to 3 channels and converted to Caffe-style ImageNet normalization inside
the model (`tile_channels`, `imagenet_preproc_v1` layers), as SLEAP does.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn._backend import keras, tf
from sleapish.nn.architectures.common import IntermediateFeature, log2_int
from sleapish.nn.architectures.pretrained_weights import find_pretrained_weights
from sleapish.nn.architectures.upsampling import UpsamplingStack

#: Blocks per stage of each ResNet v1 depth.
STAGE_BLOCKS = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3),
                "resnet152": (3, 8, 36, 3)}
_EPS = 1.001e-5


def block_v1(x, filters: int, kernel_size: int = 3, stride: int = 1,
             dilation_rate: int = 1, conv_shortcut: bool = True, name: str = "block"):
    """A ResNet v1 bottleneck block (1x1 -> 3x3 -> 1x1, 4x expansion).

    Args:
        x: Tensor `(batch, h, w, c)`.
        filters: Bottleneck filters (output has `4 * filters`).
        kernel_size: Kernel of the middle convolution.
        stride: Stride of the first 1x1 convolutions.
        dilation_rate: Dilation of the first 1x1 convolutions.
        conv_shortcut: Projection shortcut (True) or identity.
        name: Block name, e.g. "conv2_block1".
    """
    L = keras.layers
    if conv_shortcut:
        shortcut = L.Conv2D(4 * filters, 1, strides=stride, dilation_rate=dilation_rate,
                            name=f"{name}_0_conv")(x)
        shortcut = L.BatchNormalization(epsilon=_EPS, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = L.Conv2D(filters, 1, strides=stride, dilation_rate=dilation_rate,
                 name=f"{name}_1_conv")(x)
    x = L.BatchNormalization(epsilon=_EPS, name=f"{name}_1_bn")(x)
    x = L.Activation("relu", name=f"{name}_1_relu")(x)
    x = L.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = L.BatchNormalization(epsilon=_EPS, name=f"{name}_2_bn")(x)
    x = L.Activation("relu", name=f"{name}_2_relu")(x)
    x = L.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = L.BatchNormalization(epsilon=_EPS, name=f"{name}_3_bn")(x)
    x = L.Add(name=f"{name}_add")([shortcut, x])
    return L.Activation("relu", name=f"{name}_out")(x)


def stack_v1(x, filters: int, blocks: int, stride1: int = 2, dilation_rate: int = 1,
             name: str = "conv"):
    """A stage of `blocks` bottleneck blocks; the first may stride or dilate."""
    x = block_v1(x, filters, stride=stride1, dilation_rate=dilation_rate,
                 name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def tile_channels(x):
    """Repeat a single channel 3 times: `(n, h, w, 1)` -> `(n, h, w, 3)`."""
    return tf.tile(x, [1, 1, 1, 3])


def imagenet_preproc_v1(x):
    """[0, 1] RGB -> Caffe ImageNet input: x255, RGB->BGR, minus BGR channel means."""
    x = x * 255.0
    x = x[..., ::-1]
    return x - tf.constant([[[[103.939, 116.779, 123.68]]]], dtype=tf.float32)


def stack_configs_v1(blocks: Sequence[int]) -> List[Dict[str, Any]]:
    """Keyword arguments of :func:`stack_v1` for each ResNet v1 stage.

    Args:
        blocks: Blocks per stage, e.g. `(3, 4, 6, 3)` for ResNet-50.

    Returns:
        Four dicts with `filters` (64, 128, 256, 512), `blocks`, `stride1` (1, 2, 2,
        2) and `name` ("conv2" ... "conv5").
    """
    return [dict(filters=64 * 2 ** i, blocks=int(n), stride1=1 if i == 0 else 2,
                 name=f"conv{i + 2}") for i, n in enumerate(blocks)]


@attrs.define
class ResNetv1:
    """ResNet v1 backbone with output stride control and an optional upsampling stack.

    Use :class:`ResNet50`, :class:`ResNet101` or :class:`ResNet152`, which fix
    `model_name` and `stack_configs`.

    Attributes:
        model_name: "resnet50", "resnet101" or "resnet152" (names the ImageNet weights
            file).
        stack_configs: Per-stage keyword arguments of :func:`stack_v1` (`filters`,
            `blocks`, `stride1`, `name`); `None` takes them from `model_name`.
        upsampling_stack: An :class:`UpsamplingStack`, or `None` to output the
            encoder features.
        features_output_stride: Stride of the encoder output (1 to 32); below 32,
            later stages stop striding and dilate instead.
        pretrained: Initialize from ImageNet weights (read from disk, never
            downloaded).
        frozen: Make the encoder layers non-trainable.
        skip_connections: Pass the stage outputs to the upsampling stack as skips.
    """

    model_name: str
    stack_configs: Optional[Sequence[Mapping[str, Any]]] = None
    upsampling_stack: Optional[UpsamplingStack] = None
    features_output_stride: int = 16
    pretrained: bool = True
    frozen: bool = False
    skip_connections: bool = False

    def __attrs_post_init__(self):
        if self.stack_configs is None and self.model_name in STAGE_BLOCKS:
            self.stack_configs = stack_configs_v1(STAGE_BLOCKS[self.model_name])

    @classmethod
    def from_config(cls, config) -> ResNetv1:
        """Build from a :class:`~sleapish.nn.config.ResNetConfig`.

        Returns the class named by `config.version` (:class:`ResNet50`,
        :class:`ResNet101` or :class:`ResNet152`), whichever class this is called on.

        Raises:
            ValueError: For an unknown version, strides that are not powers of two,
                `max_stride > 32` or `output_stride > max_stride`.
        """
        versions = {"ResNet50": ResNet50, "ResNet101": ResNet101, "ResNet152": ResNet152}
        if config.version not in versions:
            raise InvalidValueError("Invalid ResNet version in the configuration. Received: "
                                    f"{config.version!r}")
        log2_int(config.max_stride, "ResNetConfig.max_stride")
        log2_int(config.output_stride, "ResNetConfig.output_stride")
        if config.max_stride > 32 or config.output_stride > config.max_stride:
            raise InvalidValueError(
                "ResNetConfig needs max_stride <= 32 and output_stride <= max_stride. "
                f"Received: max_stride={config.max_stride}, "
                f"output_stride={config.output_stride}")
        up, skips = None, False
        if config.upsampling is not None:
            up = UpsamplingStack.from_config(config.upsampling,
                                             output_stride=config.output_stride)
            skips = config.upsampling.skip_connections is not None
        return versions[config.version](
            upsampling_stack=up, features_output_stride=config.max_stride,
            pretrained=config.weights != "random", frozen=config.weights == "frozen",
            skip_connections=skips)

    @property
    def down_blocks(self) -> int:
        """Number of downsampling steps (`log2(features_output_stride)`)."""
        return int(math.log2(self.features_output_stride))

    @property
    def maximum_stride(self) -> int:
        """Stride the input size must be divisible by."""
        return self.features_output_stride

    @property
    def output_stride(self) -> int:
        """Stride of the backbone output."""
        if self.upsampling_stack is not None:
            return self.upsampling_stack.output_stride
        return self.features_output_stride

    @property
    def output_scale(self) -> float:
        """Resolution of the output relative to the input (`1 / output_stride`)."""
        return 1.0 / float(self.output_stride)

    def make_backbone(self, x_in):
        """Build the backbone on `x_in`.

        Args:
            x_in: Input tensor `(batch, height, width, channels)`, float32 in [0, 1]
                (grayscale is tiled to RGB when `pretrained`).

        Returns:
            `(x_out, features)`. Without an upsampling stack: the encoder output
            `(batch, h / s, w / s, 2048)` (`s = features_output_stride`) and the
            stem and stage outputs as :class:`IntermediateFeature`; with one, the
            stack's output and its features.

        Raises:
            ValueError: If there are no `stack_configs`.
            FileNotFoundError: If `pretrained` and the ImageNet weights file is not on
                disk.
        """
        if not self.stack_configs:
            raise InvalidValueError(f"ResNetv1 {self.model_name!r} has no stack_configs (known "
                                    f"names: {sorted(STAGE_BLOCKS)}). Received: "
                                    f"{self.stack_configs!r}")
        weights_path = None
        if self.pretrained:
            weights_path = find_pretrained_weights(
                f"{self.model_name}_weights_tf_dim_ordering_tf_kernels_notop.h5",
                self.model_name)
        L = keras.layers
        x = x_in
        if self.pretrained:
            if x.shape[-1] == 1:
                x = L.Lambda(tile_channels, name="tile_channels")(x)
            x = L.Lambda(imagenet_preproc_v1, name="imagenet_preproc_v1")(x)
        encoder_in = x
        s1 = 1 if self.features_output_stride == 1 else 2
        s2 = 1 if self.features_output_stride <= 2 else 2
        x = L.ZeroPadding2D(((3, 3), (3, 3)), name="conv1_pad")(x)
        x = L.Conv2D(64, 7, strides=s1, use_bias=True, name="conv1_conv")(x)
        x = L.BatchNormalization(epsilon=_EPS, name="conv1_bn")(x)
        x = L.Activation("relu", name="conv1_relu")(x)
        feats = [IntermediateFeature(x, s1)]
        x = L.ZeroPadding2D(((1, 1), (1, 1)), name="pool1_pad")(x)
        x = L.MaxPooling2D(3, strides=s2, name="pool1_pool")(x)
        stride = s1 * s2
        feats.append(IntermediateFeature(x, stride))
        dilation = 1
        for cfg in map(dict, self.stack_configs):  # copies: SLEAP mutated its own
            if stride < self.features_output_stride:
                stride *= cfg["stride1"]
                stride1 = cfg["stride1"]
            elif stride == self.features_output_stride:
                stride1 = 1
                if cfg["stride1"] > 1:
                    dilation *= 2
            else:  # pragma: no cover - guarded by from_config
                raise InvalidValueError(f"Cannot reach output stride "
                                        f"{self.features_output_stride}. Received: {stride}")
            cfg.update(stride1=stride1, dilation_rate=dilation)
            x = stack_v1(x, **cfg)
            feats.append(IntermediateFeature(x, stride))
        encoder = keras.Model(encoder_in, x, name=self.model_name)
        if weights_path is not None:
            encoder.load_weights(str(weights_path), by_name=True)
        if self.frozen:
            for layer in encoder.layers:
                layer.trainable = False
        if self.upsampling_stack is None:
            return x, feats
        skips = feats[2:] if self.skip_connections else None
        return self.upsampling_stack.make_stack(
            x, current_stride=self.features_output_stride, skip_sources=skips)


@attrs.define
class _FixedResNet(ResNetv1):
    """A `ResNetv1` whose `model_name` and `stack_configs` are fixed by the class."""

    FIXED_NAME = "resnet50"
    model_name: str = "resnet50"
    stack_configs: Sequence[Mapping[str, Any]] = attrs.field(factory=list)
    stack_configs: Sequence[Mapping[str, Any]] = attrs.field(factory=list)

    def __attrs_post_init__(self):
        # As SLEAP: the fixed values replace whatever was passed.
        self.model_name = self.FIXED_NAME
        self.stack_configs = stack_configs_v1(STAGE_BLOCKS[self.FIXED_NAME])


@attrs.define
class ResNet50(_FixedResNet):
    """ResNet-50 v1 backbone (stages of 3, 4, 6 and 3 bottleneck blocks).

    Takes the keyword arguments of :class:`ResNetv1`; `model_name` and
    `stack_configs` are fixed.

    Example:
        >>> backbone = ResNet50(pretrained=False, features_output_stride=16)
        >>> x, features = backbone.make_backbone(keras.Input((160, 160, 1)))
        >>> tuple(x.shape)
        (None, 10, 10, 2048)
    """

    FIXED_NAME = "resnet50"
    model_name: str = "resnet50"
    stack_configs: Sequence[Mapping[str, Any]] = attrs.field(factory=list)


@attrs.define
class ResNet101(_FixedResNet):
    """ResNet-101 v1 backbone (stages of 3, 4, 23 and 3 bottleneck blocks).

    Takes the keyword arguments of :class:`ResNetv1`; `model_name` and
    `stack_configs` are fixed.
    """

    FIXED_NAME = "resnet101"
    model_name: str = "resnet101"
    stack_configs: Sequence[Mapping[str, Any]] = attrs.field(factory=list)


@attrs.define
class ResNet152(_FixedResNet):
    """ResNet-152 v1 backbone (stages of 3, 8, 36 and 3 bottleneck blocks).

    Takes the keyword arguments of :class:`ResNetv1`; `model_name` and
    `stack_configs` are fixed.
    """

    FIXED_NAME = "resnet152"
    model_name: str = "resnet152"
    stack_configs: Sequence[Mapping[str, Any]] = attrs.field(factory=list)

"""ResNet v1 backbones with configurable output stride (SLEAP's `resnet.py`).

The blocks and layer names are those of Keras Applications' ResNet50/101/152
(`conv1_conv`, `conv2_block1_1_conv`, ...), so ImageNet weights load by name. Below
a maximum stride of 32, later stages keep stride 1 and double their `dilation_rate`
(set, as in SLEAP, on the stage's 1x1 convolutions). With pretrained weights, inputs
are tiled to 3 channels and converted to Caffe-style ImageNet normalization inside
the model (`tile_channels`, `imagenet_preproc_v1` layers), as SLEAP does.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import attrs

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


@attrs.define
class ResNetv1:
    """ResNet v1 backbone with output stride control and an optional upsampling stack.

    Attributes:
        model_name: "resnet50", "resnet101" or "resnet152".
        upsampling_stack: An :class:`UpsamplingStack`, or `None` to output the
            encoder features.
        features_output_stride: Stride of the encoder output (1 to 32); below 32,
            later stages stop striding and dilate instead.
        pretrained: Initialize from ImageNet weights (read from disk, never
            downloaded).
        frozen: Make the encoder layers non-trainable.
        skip_connections: Pass the stage outputs to the upsampling stack as skips.
    """

    model_name: str = "resnet50"
    upsampling_stack: Optional[UpsamplingStack] = None
    features_output_stride: int = 16
    pretrained: bool = True
    frozen: bool = False
    skip_connections: bool = False

    @property
    def stack_configs(self) -> List[Dict[str, Any]]:
        """Per-stage filters, blocks, first stride and name."""
        blocks = STAGE_BLOCKS[self.model_name]
        return [dict(filters=64, blocks=blocks[0], stride1=1, name="conv2"),
                dict(filters=128, blocks=blocks[1], stride1=2, name="conv3"),
                dict(filters=256, blocks=blocks[2], stride1=2, name="conv4"),
                dict(filters=512, blocks=blocks[3], stride1=2, name="conv5")]

    @classmethod
    def from_config(cls, config) -> "ResNetv1":
        """Build from a :class:`~sleapish.nn.config.ResNetConfig`."""
        log2_int(config.max_stride, "ResNetConfig.max_stride")
        log2_int(config.output_stride, "ResNetConfig.output_stride")
        if config.max_stride > 32 or config.output_stride > config.max_stride:
            raise ValueError(
                "ResNetConfig needs max_stride <= 32 and output_stride <= max_stride. "
                f"Received: max_stride={config.max_stride}, "
                f"output_stride={config.output_stride}")
        up = None
        if config.upsampling is not None:
            up = UpsamplingStack.from_config(config.upsampling,
                                             output_stride=config.output_stride)
        return cls(model_name=config.version.lower(), upsampling_stack=up,
                   features_output_stride=config.max_stride,
                   pretrained=config.weights != "random",
                   frozen=config.weights == "frozen",
                   skip_connections=(config.upsampling is not None
                                     and config.upsampling.skip_connections is not None))

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

    def make_backbone(self, x_in):
        """Build on `x_in`; returns `(x_out, intermediate features)`.

        Raises:
            FileNotFoundError: If `pretrained` and the ImageNet weights file is not on
                disk.
        """
        if self.model_name not in STAGE_BLOCKS:
            raise ValueError(f"Unknown ResNet. Received: {self.model_name!r}")
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
        for cfg in self.stack_configs:
            if stride < self.features_output_stride:
                stride *= cfg["stride1"]
                stride1 = cfg["stride1"]
            elif stride == self.features_output_stride:
                stride1 = 1
                if cfg["stride1"] > 1:
                    dilation *= 2
            else:  # pragma: no cover - guarded by from_config
                raise ValueError(f"Cannot reach output stride "
                                 f"{self.features_output_stride}. Received: {stride}")
            x = stack_v1(x, cfg["filters"], cfg["blocks"], stride1=stride1,
                         dilation_rate=dilation, name=cfg["name"])
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


def ResNet50(**kwargs) -> ResNetv1:  # noqa: N802 - SLEAP's public name
    """A ResNet-50 v1 backbone (stages of 3, 4, 6, 3 blocks)."""
    return ResNetv1(model_name="resnet50", **kwargs)


def ResNet101(**kwargs) -> ResNetv1:  # noqa: N802
    """A ResNet-101 v1 backbone (stages of 3, 4, 23, 3 blocks)."""
    return ResNetv1(model_name="resnet101", **kwargs)


def ResNet152(**kwargs) -> ResNetv1:  # noqa: N802
    """A ResNet-152 v1 backbone (stages of 3, 8, 36, 3 blocks)."""
    return ResNetv1(model_name="resnet152", **kwargs)

"""ResNet-style encoders of `classification_models`, as SLEAP's pretrained encoders.

SLEAP's `UnetPretrainedEncoder` takes its ResNet, SE-ResNet, ResNeXt, SE-ResNeXt and
SENet-154 encoders from the `classification_models` package (through
`segmentation_models`). Those are not Keras Applications' ResNets: they are
pre-activation-style networks with an input batch norm (`bn_data`), `stage{s}_unit{u}_`
layer names and grouped convolutions built from per-group slices. This module builds
the same networks layer for layer, in the same order, so that

- layer names, layer indices (used to pick skip connections), parameter counts and
  output shapes are the package's, and
- the package's ImageNet weight files (`resnet18_imagenet_1000_no_top.h5`, ...) load
  into them in topological order.

Each builder takes an input shape `(height, width, channels)` and returns a
`tf_keras.Model` from its own input to the last feature map (stride 32).
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

from sleapish.nn._backend import keras

L = keras.layers


def _bn(name: Optional[str] = None, scale: bool = True, epsilon: float = 2e-5):
    return L.BatchNormalization(axis=3, momentum=0.99, epsilon=epsilon, center=True,
                                scale=scale, name=name)


def _conv(filters: int, kernel, strides=1, name: Optional[str] = None,
          init: str = "he_uniform", use_bias: bool = False):
    return L.Conv2D(filters, kernel, strides=strides, padding="valid", use_bias=use_bias,
                    kernel_initializer=init, name=name)


def slice_channels(x, start: int, stop: int, axis: int = 3):
    """`x[..., start:stop]` along the channel axis (the grouped-convolution slices).

    Args:
        x: Tensor `(batch, h, w, c)`.
        start: First channel.
        stop: One past the last channel.
        axis: Channel axis (3, channels last).
    """
    return x[:, :, :, start:stop]


def expand_hw(x, channels_axis: int = 3):
    """`(batch, c)` -> `(batch, 1, 1, c)` (the squeeze-excitation reshape)."""
    return x[:, None, None, :]


def group_conv(x, filters: int, kernel_size, strides=1, groups: int = 32,
               init: str = "he_uniform", use_bias: bool = False):
    """Grouped convolution as per-group slice, convolution and concatenation.

    Args:
        x: Tensor `(batch, h, w, c)` with `c` divisible by `groups`.
        filters: Output channels (divisible by `groups`).
        kernel_size: Kernel size.
        strides: Convolution stride ('valid' padding).
        groups: Number of groups.
        init: Kernel initializer.
        use_bias: Whether the per-group convolutions have biases.

    Returns:
        Tensor `(batch, h', w', filters)`.
    """
    in_ch, out_ch = int(x.shape[-1]) // groups, int(filters) // groups
    parts = []
    for g in range(groups):
        y = L.Lambda(slice_channels, arguments={"start": g * in_ch,
                                                "stop": (g + 1) * in_ch, "axis": 3})(x)
        parts.append(L.Conv2D(out_ch, kernel_size, strides=strides, padding="valid",
                              use_bias=use_bias, kernel_initializer=init,
                              activation="linear")(y))
    return L.Concatenate(axis=3)(parts)


def channel_se(x, reduction: int = 16):
    """Squeeze-and-excitation: global pool, 1x1 conv down, ReLU, 1x1 conv up, sigmoid,
    rescale `x` (`(batch, h, w, c)` in and out)."""
    channels = int(x.shape[-1])
    y = L.GlobalAveragePooling2D()(x)
    y = L.Lambda(expand_hw, arguments={"channels_axis": 3})(y)
    y = L.Conv2D(channels // reduction, 1, kernel_initializer="he_uniform")(y)
    y = L.Activation("relu")(y)
    y = L.Conv2D(channels, 1, kernel_initializer="he_uniform")(y)
    y = L.Activation("sigmoid")(y)
    return L.Multiply()([x, y])


# ----------------------------------------------------------------------- ResNets
def _unit_names(stage: int, unit: int) -> Tuple[str, str, str, str]:
    base = f"stage{stage + 1}_unit{unit + 1}_"
    return base + "conv", base + "bn", base + "relu", base + "sc"


def _basic_unit(x, filters, stage, unit, strides, cut, se):
    conv, bn, relu, sc = _unit_names(stage, unit)
    y = _bn(bn + "1")(x)
    y = L.Activation("relu", name=relu + "1")(y)
    shortcut = x if cut == "pre" else _conv(filters, 1, strides, sc)(y)
    y = L.ZeroPadding2D(1)(y)
    y = _conv(filters, 3, strides, conv + "1")(y)
    y = _bn(bn + "2")(y)
    y = L.Activation("relu", name=relu + "2")(y)
    y = L.ZeroPadding2D(1)(y)
    y = _conv(filters, 3, 1, conv + "2")(y)
    if se:
        y = channel_se(y)
    return L.Add()([y, shortcut])


def _bottleneck_unit(x, filters, stage, unit, strides, cut, se):
    conv, bn, relu, sc = _unit_names(stage, unit)
    y = _bn(bn + "1")(x)
    y = L.Activation("relu", name=relu + "1")(y)
    shortcut = x if cut == "pre" else _conv(4 * filters, 1, strides, sc)(y)
    y = _conv(filters, 1, 1, conv + "1")(y)
    y = _bn(bn + "2")(y)
    y = L.Activation("relu", name=relu + "2")(y)
    y = L.ZeroPadding2D(1)(y)
    y = _conv(filters, 3, strides, conv + "2")(y)
    y = _bn(bn + "3")(y)
    y = L.Activation("relu", name=relu + "3")(y)
    y = _conv(4 * filters, 1, 1, conv + "3")(y)
    if se:
        y = channel_se(y)
    return L.Add()([y, shortcut])


def _resnet_stem(x, init: str = "he_uniform"):
    x = _bn("bn_data", scale=False)(x)
    x = L.ZeroPadding2D(3)(x)
    x = _conv(64, 7, 2, "conv0", init=init)(x)
    x = _bn("bn0")(x)
    x = L.Activation("relu", name="relu0")(x)
    x = L.ZeroPadding2D(1)(x)
    return L.MaxPooling2D(3, strides=2, padding="valid", name="pooling0")(x)


def resnet(input_shape, repetitions: Sequence[int], bottleneck: bool,
           se: bool = False, name: str = "resnet"):
    """`classification_models`' ResNet / SE-ResNet (18, 34: basic; 50+: bottleneck).

    Args:
        input_shape: `(height, width, channels)`.
        repetitions: Units per stage, e.g. `(2, 2, 2, 2)` for ResNet-18.
        bottleneck: Bottleneck units (ResNet-50/101/152) instead of basic ones.
        se: Squeeze-and-excitation in every unit (SE-ResNet-18/34).
        name: Model name.

    Returns:
        A `tf_keras.Model` `(batch, h, w, c) -> (batch, h / 32, w / 32, c')`.
    """
    x_in = L.Input(shape=input_shape, name="data")
    x = _resnet_stem(x_in)
    unit_fn = _bottleneck_unit if bottleneck else _basic_unit
    for stage, reps in enumerate(repetitions):
        filters = 64 * 2 ** stage
        for unit in range(reps):
            strides = 2 if (unit == 0 and stage > 0) else 1
            x = unit_fn(x, filters, stage, unit, strides, "post" if unit == 0 else "pre",
                        se)
    x = _bn("bn1")(x)
    x = L.Activation("relu", name="relu1")(x)
    return keras.Model(x_in, x, name=name)


def _resnext_unit(x, filters, stage, unit, strides, first):
    conv, bn, relu, sc = _unit_names(stage, unit)
    init = "glorot_uniform"
    y = _conv(filters, 1, 1, conv + "1", init=init)(x)
    y = _bn(bn + "1")(y)
    y = L.Activation("relu", name=relu + "1")(y)
    y = L.ZeroPadding2D(1)(y)
    y = group_conv(y, filters, 3, strides=strides, groups=32, init=init)
    y = _bn(bn + "2")(y)
    y = L.Activation("relu", name=relu + "2")(y)
    y = _conv(2 * filters, 1, 1, conv + "3", init=init)(y)
    y = _bn(bn + "3")(y)
    shortcut = x
    if first:
        shortcut = _conv(2 * filters, 1, strides, sc, init=init)(x)
        shortcut = _bn(sc + "_bn")(shortcut)
    y = L.Add()([y, shortcut])
    return L.Activation("relu", name=relu)(y)


def resnext(input_shape, repetitions: Sequence[int], name: str = "resnext"):
    """`classification_models`' ResNeXt (32 groups, base width 4).

    Args:
        input_shape: `(height, width, channels)`.
        repetitions: Units per stage, `(3, 4, 6, 3)` for ResNeXt-50.
        name: Model name.

    Returns:
        A `tf_keras.Model` to the stride-32 features.
    """
    x_in = L.Input(shape=input_shape, name="data")
    x = _resnet_stem(x_in, init="glorot_uniform")
    for stage, reps in enumerate(repetitions):
        filters = 128 * 2 ** stage
        for unit in range(reps):
            strides = 2 if (unit == 0 and stage > 0) else 1
            x = _resnext_unit(x, filters, stage, unit, strides, first=unit == 0)
    return keras.Model(x_in, x, name=name)


# ------------------------------------------------------------------------- SENets
_SE_EPS = 9.999999747378752e-06


def _se_bn():
    return L.BatchNormalization(axis=3, epsilon=_SE_EPS)


def _se_tail(x, y, strides, reduction, downsample_kernel=1, pad_residual=False):
    """BN'd main path `y` + (projected) residual of `x`, SE, add, ReLU."""
    residual = x
    if strides != 1 or int(y.shape[-1]) != int(x.shape[-1]):
        if pad_residual:
            residual = L.ZeroPadding2D(1)(residual)
        residual = L.Conv2D(int(y.shape[-1]), downsample_kernel, strides=strides,
                            kernel_initializer="he_uniform", use_bias=False)(residual)
        residual = _se_bn()(residual)
    y = channel_se(y, reduction)
    y = L.Add()([y, residual])
    return L.Activation("relu")(y)


def _conv_bn_relu(x, filters, kernel, strides=1, relu=True):
    x = L.Conv2D(filters, kernel, strides=strides, kernel_initializer="he_uniform",
                 use_bias=False)(x)
    x = _se_bn()(x)
    return L.Activation("relu")(x) if relu else x


def _seresnet_unit(x, filters, reduction, strides, groups, first):
    y = _conv_bn_relu(x, filters // 4, 1, strides)
    y = L.ZeroPadding2D(1)(y)
    y = _conv_bn_relu(y, filters // 4, 3)
    y = _conv_bn_relu(y, filters, 1, relu=False)
    return _se_tail(x, y, strides, reduction)


def _seresnext_unit(x, filters, reduction, strides, groups, first):
    width = (filters // 4) * 4 * groups // 64
    y = _conv_bn_relu(x, width, 1)
    y = L.ZeroPadding2D(1)(y)
    y = group_conv(y, width, 3, strides=strides, groups=groups)
    y = L.Activation("relu")(_se_bn()(y))
    y = _conv_bn_relu(y, filters, 1, relu=False)
    return _se_tail(x, y, strides, reduction)


def _senet_unit(x, filters, reduction, strides, groups, first):
    y = _conv_bn_relu(x, filters // 2, 1)
    y = L.ZeroPadding2D(1)(y)
    y = group_conv(y, filters, 3, strides=strides, groups=groups)
    y = L.Activation("relu")(_se_bn()(y))
    y = _conv_bn_relu(y, filters, 1, relu=False)
    return _se_tail(x, y, strides, reduction, downsample_kernel=1 if first else 3,
                    pad_residual=not first)


def senet(input_shape, repetitions: Sequence[int], unit: str, groups: int,
          input_3x3: bool = False, name: str = "senet"):
    """`classification_models`' SENet family (SE-ResNet-50+, SE-ResNeXt, SENet-154).

    Args:
        input_shape: `(height, width, channels)`.
        repetitions: Units per stage.
        unit: "seresnet", "seresnext" or "senet".
        groups: Groups of the grouped convolutions (1, 32 or 64).
        input_3x3: Three 3x3 stem convolutions (SENet-154) instead of one 7x7.
        name: Model name.

    Returns:
        A `tf_keras.Model` to the stride-32 features.
    """
    unit_fn = {"seresnet": _seresnet_unit, "seresnext": _seresnext_unit,
               "senet": _senet_unit}[unit]
    x_in = L.Input(shape=input_shape, name="input")
    x = x_in
    if input_3x3:
        for i, f in enumerate((64, 64, 128)):
            x = L.ZeroPadding2D(1)(x)
            x = _conv_bn_relu(x, f, 3, strides=2 if i == 0 else 1)
    else:
        x = L.ZeroPadding2D(3)(x)
        x = _conv_bn_relu(x, 64, 7, strides=2)
    x = L.ZeroPadding2D(1)(x)
    x = L.MaxPooling2D(3, strides=2)(x)
    filters = 128
    for i, reps in enumerate(repetitions):
        filters *= 2
        for j in range(reps):
            strides = 2 if (i > 0 and j == 0) else 1
            x = unit_fn(x, filters, 16, strides, groups, first=(i == 0 and j == 0))
    return keras.Model(x_in, x, name=name)


def _builder(fn: Callable, **kwargs) -> Callable:
    def build(input_shape):
        return fn(input_shape, **kwargs)
    return build


#: Encoder name -> builder `(input_shape) -> tf_keras.Model`.
BUILDERS: Dict[str, Callable] = {
    "resnet18": _builder(resnet, repetitions=(2, 2, 2, 2), bottleneck=False,
                         name="resnet18"),
    "resnet34": _builder(resnet, repetitions=(3, 4, 6, 3), bottleneck=False,
                         name="resnet34"),
    "resnet50": _builder(resnet, repetitions=(3, 4, 6, 3), bottleneck=True,
                         name="resnet50"),
    "resnet101": _builder(resnet, repetitions=(3, 4, 23, 3), bottleneck=True,
                          name="resnet101"),
    "resnet152": _builder(resnet, repetitions=(3, 8, 36, 3), bottleneck=True,
                          name="resnet152"),
    "seresnet18": _builder(resnet, repetitions=(2, 2, 2, 2), bottleneck=False, se=True,
                           name="seresnet18"),
    "seresnet34": _builder(resnet, repetitions=(3, 4, 6, 3), bottleneck=False, se=True,
                           name="seresnet34"),
    "resnext50": _builder(resnext, repetitions=(3, 4, 6, 3), name="resnext50"),
    "resnext101": _builder(resnext, repetitions=(3, 4, 23, 3), name="resnext101"),
    "seresnet50": _builder(senet, repetitions=(3, 4, 6, 3), unit="seresnet", groups=1,
                           name="seresnet50"),
    "seresnet101": _builder(senet, repetitions=(3, 4, 23, 3), unit="seresnet",
                            groups=1, name="seresnet101"),
    "seresnet152": _builder(senet, repetitions=(3, 8, 36, 3), unit="seresnet",
                            groups=1, name="seresnet152"),
    "seresnext50": _builder(senet, repetitions=(3, 4, 6, 3), unit="seresnext",
                            groups=32, name="seresnext50"),
    "seresnext101": _builder(senet, repetitions=(3, 4, 23, 3), unit="seresnext",
                             groups=32, name="seresnext101"),
    "senet154": _builder(senet, repetitions=(3, 8, 36, 3), unit="senet", groups=64,
                         input_3x3=True, name="senet154"),
}

#: Encoder name -> the `classification_models` ImageNet no-top weights file name.
WEIGHT_FILES: Dict[str, str] = {n: f"{n}_imagenet_1000_no_top.h5" for n in BUILDERS}

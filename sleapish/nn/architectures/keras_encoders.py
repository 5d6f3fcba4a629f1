"""Pretrained-encoder networks that `tf_keras.applications` provides (or nearly).

SLEAP's `UnetPretrainedEncoder` builds these encoders through `segmentation_models`:

- VGG16/19 and DenseNet121/169/201 are the Keras Applications networks as they are;
  MobileNet and MobileNetV2 get back the explicit zero padding of their first
  convolution that `keras_applications` 1.0.8 had (same numbers, same layer count).
- InceptionV3 and InceptionResNetV2 are `segmentation_models`' copies of the Keras
  networks with every 'valid' padding made 'same' (so their strides line up with a
  UNet decoder). sleapish builds the Keras network and rewrites the paddings in its
  config; layer order, names and weights are unchanged (InceptionResNetV2's residual
  scaling layers take their `keras_applications` names, `block35_1`, ...).
- EfficientNetB0-B7 come from the `efficientnet` package, whose networks are Keras
  Applications' without the input rescaling/normalization layers and with 'same'
  padded strided convolutions instead of explicit zero padding; sleapish rewrites the
  Keras network's config accordingly (weights keep their names).

Each builder takes `(height, width, channels)` and returns a `tf_keras.Model` from its
own input to the stride-32 features (no classifier top).
"""

from __future__ import annotations

import copy
from typing import Callable, Dict

from sleapish.nn._backend import keras


def _apps(ctor: str) -> Callable:
    def build(input_shape):
        fn = getattr(keras.applications, ctor)
        return fn(include_top=False, weights=None, input_shape=tuple(input_shape))
    return build


def _layer_map(config):
    return {layer["config"]["name"]: layer for layer in config["layers"]}


def _set_input_shape(config, input_shape) -> None:
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_input_shape"] = (None,) + tuple(input_shape)


def _consumers(config, name: str) -> list:
    return [lr for lr in config["layers"]
            if any(n[0] == name for node in lr["inbound_nodes"] for n in node)]


def _rename(config, old: str, new: str) -> None:
    for layer in config["layers"]:
        if layer["config"]["name"] == old:
            layer["config"]["name"] = layer["name"] = new
        for node in layer["inbound_nodes"]:
            for inbound in node:
                if inbound[0] == old:
                    inbound[0] = new
    for key in ("output_layers", "input_layers"):
        for x in config[key]:
            if x[0] == old:
                x[0] = new


def _all_same_padding(ctor: str) -> Callable:
    """Keras network `ctor` with every 'valid' convolution and pooling made 'same'."""
    def build(input_shape):
        fn = getattr(keras.applications, ctor)
        model = fn(include_top=False, weights=None,
                   input_shape=(None, None, input_shape[-1]))
        config = copy.deepcopy(model.get_config())
        for layer in config["layers"]:
            if layer["config"].get("padding") == "valid":
                layer["config"]["padding"] = "same"
        for layer in list(config["layers"]):
            if layer["class_name"] == "CustomScaleLayer":
                act = _consumers(config, layer["config"]["name"])[0]["config"]["name"]
                _rename(config, layer["config"]["name"], act[:-len("_ac")])
        _set_input_shape(config, input_shape)
        return keras.Model.from_config(config)
    return build


def _first_conv_padded(ctor: str, conv: str) -> Callable:
    """Keras network `ctor` whose 'same' stride-2 first convolution `conv` is a
    `<conv>_pad` zero padding (as TF's 'same' pads) plus a 'valid' convolution."""
    def build(input_shape):
        fn = getattr(keras.applications, ctor)
        model = fn(include_top=False, weights=None, input_shape=tuple(input_shape))
        config = copy.deepcopy(model.get_config())
        layer = _layer_map(config)[conv]
        k = layer["config"]["kernel_size"][0]
        pads = []
        for size in input_shape[:2]:
            total = max(k - 2, 0) if (size is None or size % 2 == 0) else max(k - 1, 0)
            pads.append((total // 2, total - total // 2))
        pad_name = f"{conv}_pad"
        pad = {"class_name": "ZeroPadding2D", "name": pad_name,
               "config": {"name": pad_name, "trainable": True, "dtype": "float32",
                          "padding": tuple(pads), "data_format": "channels_last"},
               "inbound_nodes": copy.deepcopy(layer["inbound_nodes"])}
        layer["config"]["padding"] = "valid"
        layer["inbound_nodes"] = [[[pad_name, 0, 0, {}]]]
        config["layers"].insert(config["layers"].index(layer), pad)
        return keras.Model.from_config(config)
    return build


def _rewire(config, removed: str) -> None:
    """Drop layer `removed`; its consumers read its (single) input instead."""
    layers = _layer_map(config)
    src = layers[removed]["inbound_nodes"][0][0]  # [name, node_index, tensor_index, kw]
    config["layers"] = [lr for lr in config["layers"] if lr["config"]["name"] != removed]
    for layer in config["layers"]:
        for node in layer["inbound_nodes"]:
            for i, inbound in enumerate(node):
                if inbound[0] == removed:
                    node[i] = [src[0], src[1], src[2], inbound[3]]
    for key in ("output_layers", "input_layers"):
        config[key] = [[src[0], src[1], src[2]] if x[0] == removed else x
                       for x in config[key]]


def _efficientnet(ctor: str) -> Callable:
    """`efficientnet`-package structure from the Keras Applications EfficientNet."""
    def build(input_shape):
        fn = getattr(keras.applications, ctor)
        model = fn(include_top=False, weights=None, input_shape=tuple(input_shape))
        config = copy.deepcopy(model.get_config())
        for layer in list(config["layers"]):
            if layer["class_name"] in ("Rescaling", "Normalization"):
                _rewire(config, layer["config"]["name"])
        for layer in list(config["layers"]):
            if layer["class_name"] != "ZeroPadding2D":
                continue
            name = layer["config"]["name"]
            for consumer in config["layers"]:
                if any(n[0] == name for node in consumer["inbound_nodes"] for n in node):
                    consumer["config"]["padding"] = "same"
            _rewire(config, name)
        return keras.Model.from_config(config)
    return build


#: Encoder name -> builder `(input_shape) -> tf_keras.Model`.
BUILDERS: Dict[str, Callable] = {
    "vgg16": _apps("VGG16"),
    "vgg19": _apps("VGG19"),
    "densenet121": _apps("DenseNet121"),
    "densenet169": _apps("DenseNet169"),
    "densenet201": _apps("DenseNet201"),
    "mobilenet": _first_conv_padded("MobileNet", "conv1"),
    "mobilenetv2": _first_conv_padded("MobileNetV2", "Conv1"),
    "inceptionv3": _all_same_padding("InceptionV3"),
    "inceptionresnetv2": _all_same_padding("InceptionResNetV2"),
    **{f"efficientnetb{i}": _efficientnet(f"EfficientNetB{i}") for i in range(8)},
}

#: Encoder name -> ImageNet no-top weights file name (the Keras Applications files;
#: the `efficientnet` package's files for EfficientNets).
WEIGHT_FILES: Dict[str, str] = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg19": "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "densenet121": "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "densenet169": "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "densenet201": "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "mobilenet": "mobilenet_1_0_224_tf_no_top.h5",
    "mobilenetv2": "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
    "inceptionv3": "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "inceptionresnetv2": "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
    **{f"efficientnetb{i}": f"efficientnet-b{i}_weights_tf_dim_ordering_tf_kernels_"
                            "autoaugment_notop.h5" for i in range(8)},
}

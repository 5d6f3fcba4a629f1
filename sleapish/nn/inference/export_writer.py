"""Writing exports: a predictor -> one graph in an export folder.

The folder's layout and `info.json` keys are described in
:mod:`sleapish.nn.inference.export` (which loads model folders and calls
:func:`export_predictor`). Here: the SavedModel of the whole inference model (uint8
frames in, instances out), its frozen graph, and the TFLite and ONNX conversions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from sleapish.io.files import atomic_folder
from sleapish.nn._backend import tf
from sleapish.nn.data.utils import unrag_tensor
from sleapish.nn.inference import layers_bottomup as LB
from sleapish.nn.inference import layers_topdown as LT
from sleapish.nn.inference.backends import use_backend, uses_backend
from sleapish.nn.inference.export_common import (
    FORMATS,
    FROZEN_GRAPH_FILE,
    INFO_FILE,
    TFLITE_FILE,
    ExportError,
    is_export_folder,
    read_info,
)

PathLike = Union[str, os.PathLike]


# ------------------------------------------------------------------ graph switches
def _graph_switches(model) -> List[tuple]:
    """`(object, attribute)` pairs that choose graph-only grouping in `model`."""
    out = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        scorer = getattr(layer, "paf_scorer", None)
        if scorer is not None:
            out.append((scorer, "in_graph"))
        if isinstance(layer, (LB.BottomUpMultiClassInferenceLayer,
                              LT.TopDownMultiClassFindPeaks)):
            out.append((layer, "in_graph"))
    return out


def _first_layer(model):
    """The layer that takes the frames (SLEAP's `inference_model.layers[0]`)."""
    for name in ("single_instance_layer", "centroid_crop", "bottomup_layer",
                 "inference_layer"):
        layer = getattr(model, name, None)
        if layer is not None:
            return layer
    raise ExportError(f"Cannot export a {type(model).__name__}: it has no input layer.")


def input_spec(model) -> tf.TensorSpec:
    """The exported input: uint8 `(None, height, width, channels)` frames.

    Height and width are the first model's input size divided by its input scale (as
    SLEAP computes them); `None` where the model takes any size.

    Raises:
        ExportError: If the first layer needs ground truth instead of frames.
    """
    layer = _first_layer(model)
    if not hasattr(layer, "keras_model"):
        raise ExportError(f"Cannot export a model whose first layer is "
                          f"{type(layer).__name__}: it needs ground-truth centroids, not "
                          "frames. Export with both top-down models.")
    shape = layer.keras_model.inputs[0].shape
    scale = float(getattr(layer, "input_scale", 1.0))
    hw = [None if d is None else int(d / scale) for d in shape[1:3]]
    return tf.TensorSpec([None, *hw, shape[3]], tf.uint8, name="image")


# ------------------------------------------------------------------------ outputs
def _top_instances(outs: Dict[str, Any], k: int) -> Dict[str, Any]:
    """Keep the `k` highest-scoring instances per frame, best first (stable), as the
    bottom-up predictor's `max_instances` does."""
    scores = outs["instance_scores"]
    dense = scores.to_tensor(default_value=float("-inf"))
    order = tf.argsort(dense, axis=1, direction="DESCENDING", stable=True)[:, :k]
    lengths = tf.minimum(scores.row_lengths(), k)
    valid = tf.sequence_mask(lengths, tf.shape(order)[1])
    flat_rows = tf.boolean_mask(
        order + tf.cast(scores.row_starts(), tf.int32)[:, None], valid)
    new = dict(outs)
    for key in ("instance_peaks", "instance_peak_vals", "instance_scores"):
        new[key] = tf.RaggedTensor.from_row_lengths(
            tf.gather(outs[key].values, flat_rows), lengths)
    return new


def finish_outputs(outs: Dict[str, Any], unrag: bool = True,
                   max_instances: Optional[int] = None,
                   bottomup_limit: Optional[int] = None) -> Dict[str, tf.Tensor]:
    """The exported outputs of an inference model's raw outputs.

    Args:
        outs: Dict of the model's outputs (ragged on axis 1 for instance counts).
        unrag: NaN-pad ragged outputs (integer ones with -1) and add "n_valid" (int64
            `(samples,)`, the instances of each frame), as the Python predictor's
            numpy outputs; otherwise each ragged output `k` becomes `k` (flat values)
            and `k_row_lengths` (int64 `(samples,)`).
        max_instances: Pad (or cut) the instance axis to this size.
        bottomup_limit: Keep this many highest-scoring bottom-up instances first.

    Returns:
        Dict of dense tensors.
    """
    outs = dict(outs)
    if bottomup_limit is not None:
        outs = _top_instances(outs, int(bottomup_limit))
    result = {}
    if unrag:
        for v in outs.values():
            if isinstance(v, tf.RaggedTensor):
                result["n_valid"] = tf.cast(v.row_lengths(), tf.int64)
                break
        for k, v in outs.items():
            result[k] = unrag_tensor(v, max_size=max_instances)
    else:
        for k, v in outs.items():
            if isinstance(v, tf.RaggedTensor):
                result[k] = v.flat_values if v.ragged_rank == 1 else v.values
                result[k + "_row_lengths"] = tf.cast(v.row_lengths(), tf.int64)
            else:
                result[k] = v
    if "n_valid" in result and max_instances is not None:
        result["n_valid"] = tf.minimum(result["n_valid"], max_instances)
    return result


def _identity_class_inds(outs):
    """int32 `(samples, n_classes)`: the class of each row, -1 where it is empty."""
    pts = outs["instance_peaks"]
    empty = tf.reduce_all(tf.math.is_nan(pts), axis=[2, 3])
    n_classes = tf.shape(pts)[1]
    inds = tf.broadcast_to(tf.range(n_classes)[None], tf.shape(empty))
    return tf.where(empty, -1, inds)


class _ExportModule(tf.Module):
    """The SavedModel's root: the inference model and one serving function."""

    def __init__(self, model, spec, unrag, max_instances, bottomup_limit, identity):
        super().__init__()
        self.inference_model = model

        def serve(image):
            outs = finish_outputs(model(image, training=False), unrag, max_instances,
                                  bottomup_limit)
            if identity:
                outs["instance_class_inds"] = _identity_class_inds(outs)
            # Shapes as ops, so that a frozen graph (which re-infers them) keeps them.
            return {k: tf.ensure_shape(v, v.shape) for k, v in outs.items()}

        self.serve = tf.function(serve, input_signature=[spec])


# ----------------------------------------------------------------------- metadata
def _describe(spec_or_tensor) -> Dict[str, Any]:
    shape = spec_or_tensor.shape
    return {"shape": None if shape.rank is None else [d for d in shape.as_list()],
            "dtype": spec_or_tensor.dtype.name}


def model_metadata(model) -> Dict[str, Any]:
    """What `info.json` records about an inference model (strides, scales, nodes)."""
    meta: Dict[str, Any] = {"inference_model": type(model).__name__, "layers": {}}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not hasattr(layer, "settings"):
            continue
        entry = {}
        for name in ("input_scale", "output_stride", "cm_output_stride",
                     "paf_output_stride", "class_maps_output_stride", "crop_size",
                     "precrop_resize", "max_instances", "peak_threshold", "refinement",
                     "integral_patch_size"):
            if hasattr(layer, name):
                entry[name] = getattr(layer, name)
        scorer = getattr(layer, "paf_scorer", None)
        if scorer is not None:
            meta.setdefault("skeleton", {"node_names": list(scorer.part_names),
                                         "edges": [list(e) for e in scorer.edges]})
            entry["paf_grouping"] = {k: getattr(scorer.grouping, k) for k in (
                "max_edge_length_ratio", "dist_penalty_weight", "n_points",
                "min_instance_peaks", "min_line_scores")}
        meta["layers"][layer.name] = entry
    return meta


# ------------------------------------------------------------------------ writing
def _blocking_ops(message: str) -> List[str]:
    """Op names a TFLite converter error lists as unsupported (`tf.Name(`)."""
    import re

    return sorted(set(re.findall(r"\btf\.([A-Za-z0-9]+)\(", message)))


def _tflite(saved_model_dir: Path, signature: str, select_tf_ops: bool = False) -> bytes:
    """TFLite flatbuffer of the SavedModel's signature.

    Builtin ops only by default (what any TFLite runtime runs); `select_tf_ops` lets
    the converter fall back on TensorFlow ops, which need a runtime with the Flex
    delegate (the TensorFlow 2.21 pip package's `tf.lite.Interpreter` has none).

    Raises:
        ExportError: Naming the ops that block the conversion.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir),
                                                         signature_keys=[signature])
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if select_tf_ops:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
    try:
        return converter.convert()
    except Exception as e:  # the converter raises ConverterError and others
        blocking = _blocking_ops(str(e))
        what = (f"ops {', '.join(blocking)} are not TFLite builtins" if blocking
                else (str(e).strip().splitlines() or [type(e).__name__])[0])
        hint = ("" if select_tf_ops else "; --tflite-select-ops keeps them as "
                "TensorFlow ops (a TFLite runtime with the Flex delegate runs them)")
        raise ExportError(f"TFLite cannot hold this model: {what}{hint}.") from e


def _onnx(function, spec, path: Path, opset: Optional[int]) -> None:
    try:
        import tf2onnx
    except ImportError:
        raise ExportError("ONNX export needs tf2onnx: pip install 'sleapish[export]'. "
                          "Received: format='onnx'") from None
    import tf2onnx.convert

    try:
        model_proto, _ = tf2onnx.convert.from_function(
            function, input_signature=[spec], opset=opset)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ExportError(f"tf2onnx cannot convert this model: {first}") from e
    import onnx

    # tf2onnx leaves ops it cannot map as TensorFlow nodes: such a file does not load.
    def unknown_ops(graph):
        for node in graph.node:
            if not onnx.defs.has(node.op_type, node.domain or ""):
                yield node.op_type
            for attr in node.attribute:  # If / Loop bodies
                for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                    yield from unknown_ops(sub)

    blocking = sorted(set(unknown_ops(model_proto.graph)))
    if blocking:
        raise ExportError(f"ONNX cannot hold this model: TensorFlow ops "
                          f"{', '.join(blocking)} have no ONNX equivalent in tf2onnx.")
    data = model_proto.SerializeToString()
    _onnx_smoke_test(data, spec)
    path.write_bytes(data)


def _onnx_smoke_test(data: bytes, spec) -> None:
    """Run the converted model once on blank frames with onnxruntime (when installed):
    a graph that converts but does not run is an error here, not on the rig."""
    try:
        import onnxruntime as ort
    except ImportError:
        return
    shape = [2] + [64 if d is None else int(d) for d in spec.shape[1:]]
    try:
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        sess.run(None, {sess.get_inputs()[0].name: np.zeros(shape, np.uint8)})
    except Exception as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ExportError(f"ONNX cannot hold this model: the converted graph does not "
                          f"run in onnxruntime on blank frames ({msg[:300]}).") from e


def write_export(model, save_path: PathLike, signatures: str = "serving_default",
                 save_traces: bool = True, model_name: Optional[str] = None,
                 tensors: Optional[Dict[str, Any]] = None, unrag_outputs: bool = True,
                 max_instances: Optional[int] = None,
                 bottomup_limit: Optional[int] = None,
                 metadata: Optional[Dict[str, Any]] = None,
                 configs: Optional[Dict[str, Any]] = None, fmt: str = "saved_model",
                 overwrite: Optional[bool] = None,
                 tflite_select_ops: bool = False) -> Path:
    """Export an inference model (what `InferenceModel.export_model` does).

    Args:
        model: An :class:`~sleapish.nn.inference.models.InferenceModel`.
        save_path: The export folder.
        signatures: Name of the SavedModel signature.
        save_traces: Accepted for SLEAP compatibility; sleapish saves one traced
            serving function, not Keras layer traces, so it has no effect.
        model_name: Recorded in `info.json` as "model_name".
        tensors: Recorded in `info.json` as "predicted_tensors".
        unrag_outputs: NaN-pad ragged outputs (see :func:`finish_outputs`).
        max_instances: Pad the instance axis to this size (static output shapes).
        bottomup_limit: Keep at most this many bottom-up instances (best first).
        metadata: Extra `info.json` entries (skeleton, classes, model type).
        configs: `{name: TrainingJobConfig}` written to `configs/<name>.json`.
        fmt: "saved_model" (always written), "tflite" (adds `model.tflite`) or "onnx"
            (adds `model.onnx`).
        overwrite: True: replace any existing folder; False: never replace a non-empty
            one; None (default, SLEAP's behaviour for its API): replace an earlier
            export, refuse other non-empty folders.
        tflite_select_ops: For "tflite", let TensorFlow ops the TFLite builtins lack
            stay as TensorFlow ops (the file then needs a Flex-delegate runtime).

    Returns:
        The export folder.

    Raises:
        ExportError: For an unknown format, a graph the converter cannot hold, or a
            model whose networks run on another backend than TensorFlow.
        FileExistsError: If `save_path` may not be replaced.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format: choose one of {list(FORMATS)}. "
                          f"Received: {fmt!r}")
    backend = uses_backend(model)
    if backend is not None:
        raise ExportError(f"An export is one TensorFlow graph: this model's networks run "
                          f"on {backend}. Export it from a predictor (any backend) or "
                          f"a model built with backend='tensorflow'.")
    del save_traces
    spec = input_spec(model)
    identity = bool(getattr(model, "predicts_identities", False))
    switches = _graph_switches(model)
    saved = [getattr(o, a) for o, a in switches]
    try:
        for o, a in switches:
            setattr(o, a, True)
        module = _ExportModule(model, spec, unrag_outputs, max_instances,
                               bottomup_limit, identity)
        concrete = module.serve.get_concrete_function()
        frozen = convert_variables_to_constants_v2(concrete)
        replaceable = is_export_folder if overwrite is None else None
        with atomic_folder(save_path, replace=bool(overwrite),
                           replaceable=replaceable) as tmp:
            tf.saved_model.save(module, str(tmp), signatures={signatures: concrete})
            tf.io.write_graph(frozen.graph, str(tmp), FROZEN_GRAPH_FILE, as_text=False)
            if fmt == "tflite":
                (tmp / TFLITE_FILE).write_bytes(_tflite(tmp, signatures,
                                                         tflite_select_ops))
            elif fmt == "onnx":
                _onnx(module.serve, spec, tmp / "model.onnx", None)
            info = {
                "model_structured_input_signature": concrete.structured_input_signature,
                "model_structured_outputs_signature": concrete.structured_outputs,
                "frozen_model_inputs": frozen.inputs,
                "frozen_model_outputs": frozen.outputs,
                "unragged_outputs": bool(unrag_outputs),
                "sleapish": {
                    "format": fmt, "signature": signatures,
                    "input": {"name": "image", **_describe(spec)},
                    "outputs": {k: _describe(v)
                                for k, v in concrete.structured_outputs.items()},
                    "max_instances": max_instances,
                    **model_metadata(model), **(metadata or {}),
                },
            }
            if model_name:
                info["model_name"] = model_name
            if tensors:
                info["predicted_tensors"] = tensors
            from sleapish.version import __version__

            info["sleapish"]["sleapish_version"] = __version__
            (tmp / INFO_FILE).write_text(json.dumps(
                info, indent=4, sort_keys=True, separators=(",", ": "), default=str))
            for name, cfg in (configs or {}).items():
                (tmp / "configs").mkdir(exist_ok=True)
                cfg.save_json(tmp / "configs" / f"{name}.json")
    finally:
        for (o, a), v in zip(switches, saved):
            setattr(o, a, v)
    return Path(save_path)


# ----------------------------------------------------------------- predictors, API
def _skeleton_metadata(skeleton) -> Dict[str, Any]:
    names = list(skeleton.node_names)
    edges = [[e.source.name, e.destination.name] for e in skeleton.edges]
    return {"name": skeleton.name, "node_names": names, "edges": edges,
            "edge_inds": [[names.index(a), names.index(b)] for a, b in edges]}


def predictor_configs(predictor) -> Dict[str, Any]:
    """`{head kind: TrainingJobConfig}` of a predictor's models."""
    out = {}
    for name in ("centroid_config", "confmap_config", "bottomup_config", "config"):
        cfg = getattr(predictor, name, None)
        if cfg is not None:
            out[cfg.model.heads.which_oneof_attrib_name()] = cfg
    return out


def export_predictor(predictor, save_path: PathLike, signatures: str = "serving_default",
                     save_traces: bool = True, model_name: Optional[str] = None,
                     tensors: Optional[Dict[str, Any]] = None,
                     unrag_outputs: bool = True, max_instances: Optional[int] = None,
                     fmt: str = "saved_model", overwrite: Optional[bool] = None,
                     tflite_select_ops: bool = False) -> Path:
    """`Predictor.export_model`: rebuild the inference model and export it.

    `max_instances` limits top-down models at the centroids (as SLEAP) and bottom-up
    models to their best-scoring instances, and pads the exported instance axis to it.

    Raises:
        ExportError: For `max_instances` with a single-instance or identity model
            (their instance count is fixed), and the errors of :func:`write_export`.
    """
    predictor._initialize_inference_model(backend="tensorflow")  # one TF graph
    name = type(predictor).__name__
    limit = None
    if max_instances is not None:
        max_instances = int(max_instances)
        if max_instances < 1:
            raise ExportError(f"max_instances must be >= 1. Received: {max_instances}")
        if "TopDown" in name:
            predictor.inference_model.centroid_crop.max_instances = max_instances
        elif name == "BottomUpPredictor":
            limit = max_instances
        else:
            raise ExportError(f"{name} does not support max_instances: its number of "
                              f"instances is fixed. Received: max_instances="
                              f"{max_instances}")
    elif name == "BottomUpPredictor" and predictor.max_instances is not None:
        limit = predictor.max_instances
    metadata: Dict[str, Any] = {"predictor": name,
                                "skeleton": _skeleton_metadata(predictor.skeleton)}
    tracks = predictor.tracks
    if tracks:
        metadata["class_names"] = [t.name for t in tracks]
    if name.startswith("TopDown"):
        metadata["centroid_max_instances"] = predictor.inference_model.centroid_crop \
            .max_instances if hasattr(predictor.inference_model.centroid_crop,
                                      "max_instances") else None
    try:
        return write_export(predictor.inference_model, save_path, signatures, save_traces,
                            model_name, tensors, unrag_outputs, max_instances=max_instances,
                            bottomup_limit=limit, metadata=metadata,
                            configs=predictor_configs(predictor), fmt=fmt,
                            overwrite=overwrite, tflite_select_ops=tflite_select_ops)
    finally:  # the predictor predicts on its own backend again
        use_backend(predictor.inference_model, predictor.backend,
                    predictor.backend_threads, cache=predictor._backend_cache)


__all__ = ["export_predictor", "predictor_configs", "ExportError", "FORMATS",
           "INFO_FILE", "FROZEN_GRAPH_FILE", "TFLITE_FILE", "input_spec", "finish_outputs",
           "model_metadata", "write_export", "read_info", "is_export_folder"]

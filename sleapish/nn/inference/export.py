"""Export: SLEAP's `export_model` / `sleap-export`, with whole models in one graph.

An export folder holds, as SLEAP 1.4.1 writes it, `frozen_graph.pb` and `info.json`
(SLEAP's keys: `frozen_model_inputs`, `frozen_model_outputs`,
`model_structured_input_signature`, `model_structured_outputs_signature`,
`unragged_outputs`, `model_name`, `predicted_tensors`), plus what SLEAP does not
keep: the SavedModel itself (`saved_model.pb`, `variables/`, loadable with
`tf.saved_model.load` in a process without sleapish), the models' training configs
(`configs/<head>.json`) and sleapish's metadata in `info.json` (model type, input,
outputs, skeleton, classes, strides, scales, settings).

Unlike SLEAP's, the exported graph runs the whole model: uint8 frames in, instances
out. PAF matching and grouping (bottom-up) and class assignment (identity models) run
as graph ops (:mod:`sleapish.nn.paf_grouping.graph`, :mod:`sleapish.nn.assignment`),
with the same results as the Python predictor.

This module loads model folders and exports them (:func:`export_model`); the writing
itself is :mod:`sleapish.nn.inference.export_writer`, whose names are importable from
here too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

from sleapish.nn.inference.export_common import (
    FORMATS,
    FROZEN_GRAPH_FILE,
    INFO_FILE,
    TFLITE_FILE,
    ExportError,
    is_export_folder,
    read_info,
)
from sleapish.nn.inference.export_writer import (
    export_predictor,
    finish_outputs,
    input_spec,
    model_metadata,
    predictor_configs,
    write_export,
)
from sleapish.nn.inference.loading_api import load_model

PathLike = Union[str, os.PathLike]


def export_model(model_path, save_path: PathLike = "exported_model",
                 signatures: str = "serving_default", save_traces: bool = True,
                 model_name: Optional[str] = None,
                 tensors: Optional[Dict[str, Any]] = None, unrag_outputs: bool = True,
                 max_instances: Optional[int] = None, format: str = "saved_model",
                 overwrite: Optional[bool] = None, tflite_select_ops: bool = False,
                 peak_threshold: float = 0.2, refinement: Optional[str] = "integral"
                 ) -> Path:
    """Export trained model folder(s) as one graph (SLEAP's `export_model`).

    Args:
        model_path: A model folder, or a list of two (top-down).
        save_path: The export folder (see the module docstring for its contents).
        signatures: Name of the SavedModel signature.
        save_traces: Accepted for SLEAP compatibility (no effect).
        model_name: Recorded in `info.json`.
        tensors: Recorded in `info.json` as "predicted_tensors".
        unrag_outputs: NaN-pad outputs to dense tensors (default), or keep ragged
            outputs as flat values plus row lengths.
        max_instances: Limit (top-down, bottom-up) and pad the instances per frame.
        format: "saved_model", "tflite" or "onnx" (the SavedModel is always written).
        overwrite: See :func:`write_export`.
        tflite_select_ops: See :func:`write_export`.
        peak_threshold: Peak threshold baked into the export (as `load_model`).
        refinement: "integral" (default), "local" or None, baked into the export.

    Returns:
        The export folder.

    Raises:
        ModelFolderError: For a folder that is not a trained model.
        ExportError: See :func:`export_predictor`.
        FileExistsError: If `save_path` may not be replaced.
    """
    if format not in FORMATS:
        raise ExportError(f"Unknown export format: choose one of {list(FORMATS)}. "
                          f"Received: {format!r}")
    predictor = load_model(model_path, resize_input_layer=False,
                           progress_reporting="none", peak_threshold=peak_threshold,
                           refinement=refinement)
    return export_predictor(predictor, save_path, signatures, save_traces, model_name,
                            tensors, unrag_outputs, max_instances, format, overwrite,
                            tflite_select_ops)


__all__ = ["export_model", "export_predictor", "predictor_configs", "ExportError", "FORMATS",
           "INFO_FILE", "FROZEN_GRAPH_FILE", "TFLITE_FILE",
           "input_spec", "finish_outputs", "model_metadata", "write_export",
           "read_info", "is_export_folder"]

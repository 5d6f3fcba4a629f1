"""Export of SLEAP's trained models: whole models in one graph, every format checked
against the Python predictor, bad input, and the exported folder as a model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clean_env import clean_env

import sleapish
from sleapish.nn._backend import tf
from sleapish.nn.inference import ExportError, export_cli, export_model, load_model

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`

BOTTOMUP = "minimal_instance.UNet.bottomup"
CENTROID = "minimal_instance.UNet.centroid"
CENTERED = "minimal_instance.UNet.centered_instance"
SINGLE = "minimal_robot.UNet.single_instance"
BU_MC = "min_tracks_2node.UNet.bottomup_multiclass"
TD_MC = "min_tracks_2node.UNet.topdown_multiclass"

# name: (model folders, video, frames)
CASES = {
    "bottomup": ((BOTTOMUP,), "centered_pair_low_quality.mp4", [0, 1, 2]),
    "topdown": ((CENTROID, CENTERED), "centered_pair_low_quality.mp4", [0, 1]),
    "topdown_id": ((CENTROID, TD_MC), "centered_pair_low_quality.mp4", [0, 1]),
    "bottomup_id": ((BU_MC,), "clip.mp4", [0]),
    "single": ((SINGLE,), "small_robot.mp4", [0, 1]),
}


def _paths(shared_data, names):
    return [str(shared_data / "models" / n) for n in names]


@pytest.fixture(scope="module")
def exports(shared_data, tmp_path_factory):
    """Each case exported once, with its frames and the Python predictor's outputs."""
    import sleap_io as sio

    root = tmp_path_factory.mktemp("exports")
    out = {}
    for name, (models, video, frames) in CASES.items():
        paths = _paths(shared_data, models)
        images = sleapish.read_frames(sio.load_video(str(shared_data / "videos" / video)),
                                      frames)
        predictor = load_model(paths, resize_input_layer=False, progress_reporting="none")
        ref = predictor.inference_model.predict(images, batch_size=4)
        folder = export_model(paths, root / name)
        out[name] = (folder, images, ref, paths)
    return out


def _assert_same(got, ref, keys=None):
    for k in keys or ref:
        assert k in got, (k, sorted(got))
        g, r = np.asarray(got[k]), np.asarray(ref[k])
        assert g.shape == r.shape, (k, g.shape, r.shape)
        np.testing.assert_allclose(g, r, atol=1e-3, equal_nan=True, err_msg=k)


def test_export_folder_layout_and_info(exports):
    folder, _, _, _ = exports["bottomup"]
    names = {p.name for p in Path(folder).iterdir()}
    assert {"saved_model.pb", "variables", "frozen_graph.pb", "info.json",
            "configs"} <= names
    assert not [p for p in Path(folder).parent.iterdir() if p.name.startswith(".")]
    info = json.loads((Path(folder) / "info.json").read_text())
    for key in ("frozen_model_inputs", "frozen_model_outputs", "unragged_outputs",
                "model_structured_input_signature",
                "model_structured_outputs_signature"):
        assert key in info
    meta = info["sleapish"]
    assert meta["predictor"] == "BottomUpPredictor"
    assert meta["input"] == {"name": "image", "shape": [None, 384, 384, 1],
                             "dtype": "uint8"}
    assert meta["skeleton"]["node_names"] == ["A", "B"]
    assert meta["skeleton"]["edge_inds"] == [[0, 1]]
    layer = next(iter(meta["layers"].values()))
    assert layer["cm_output_stride"] == 2 and layer["paf_output_stride"] == 4
    assert sorted(meta["outputs"]) == ["instance_peak_vals", "instance_peaks",
                                       "instance_scores", "n_valid"]
    assert (Path(folder) / "configs" / "multi_instance.json").is_file()


def test_frozen_graph_imports_with_the_recorded_tensors(exports):
    # What SLEAP's export tests check: tensor names, shapes and dtypes in info.json
    # match the frozen graph.
    folder, _, _, _ = exports["topdown"]
    info = json.loads((Path(folder) / "info.json").read_text())
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString((Path(folder) / "frozen_graph.pb").read_bytes())
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def)
    for text in info["frozen_model_inputs"] + info["frozen_model_outputs"]:
        name = text.split("Tensor(")[1].split(", shape")[0].replace('"', "")
        tensor = graph.get_tensor_by_name(f"import/{name}")
        assert f"dtype={tensor.dtype.name}" in text
        assert "shape=" in text


_CHILD = r"""
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "sleapish" or name.startswith("sleapish."):
            raise ImportError("sleapish is blocked in this process")
sys.meta_path.insert(0, _Block())
import numpy as np, tensorflow as tf
out = {}
for line in sys.stdin.read().split():
    name, folder, frames = line.split("|")
    sig = tf.saved_model.load(folder).signatures["serving_default"]
    for k, v in sig(image=tf.constant(np.load(frames))).items():
        out[name + "/" + k] = v.numpy()
assert not [m for m in sys.modules if m.startswith("sleapish")]
np.savez(sys.argv[1], **out)
"""


def test_saved_model_runs_without_sleapish_and_equals_the_predictor(exports, tmp_path):
    lines = []
    for name, (folder, images, _, _) in exports.items():
        np.save(tmp_path / f"{name}.npy", images)
        lines.append(f"{name}|{folder}|{tmp_path / name}.npy")
    env = clean_env(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "out.npz")],
                            input="\n".join(lines), capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    got = dict(np.load(tmp_path / "out.npz"))
    for name, (_, _, ref, _) in exports.items():
        mine = {k.split("/", 1)[1]: v for k, v in got.items() if k.startswith(name + "/")}
        _assert_same(mine, ref)
        if name.endswith("_id"):  # identities: row k is class k, -1 where empty
            empty = np.isnan(ref["instance_peaks"]).all(axis=(2, 3))
            want = np.where(empty, -1, np.arange(empty.shape[1])[None])
            np.testing.assert_array_equal(mine["instance_class_inds"], want)
    assert got["bottomup/n_valid"].tolist() == exports["bottomup"][2]["n_valid"].tolist()


def test_load_model_on_an_export_gives_the_predictors_labels(exports, shared_data):
    import sleap_io as sio

    for name in ("topdown_id", "bottomup"):
        folder, _, _, paths = exports[name]
        video = sio.load_video(str(shared_data / "videos" / CASES[name][1]))
        frames = CASES[name][2]
        want = load_model(paths, resize_input_layer=False, progress_reporting="none"
                          ).predict(video[:len(frames)])
        exported = load_model(str(folder), progress_reporting="none")
        assert type(exported).__name__ == type(load_model(paths)).__name__
        got = exported.predict(video[:len(frames)])
        assert len(got) == len(want)
        for lf_g, lf_w in zip(got, want):
            assert len(lf_g.instances) == len(lf_w.instances)
            for ig, iw in zip(lf_g.instances, lf_w.instances):
                np.testing.assert_allclose(ig.numpy(), iw.numpy(), atol=1e-3)
                assert abs(ig.score - iw.score) < 1e-4
                assert (ig.track.name if ig.track else None) == (
                    iw.track.name if iw.track else None)


def test_max_instances_pads_and_limits_the_outputs(exports, shared_data, tmp_path):
    folder, images, ref, paths = exports["bottomup"]
    out = export_model(paths, tmp_path / "bu1", max_instances=1)
    sig = tf.saved_model.load(str(out)).signatures["serving_default"]
    got = {k: v.numpy() for k, v in sig(image=tf.constant(images)).items()}
    assert got["instance_peaks"].shape == (len(images), 1, 2, 2)
    best = np.nanargmax(ref["instance_scores"], axis=1)
    np.testing.assert_allclose(got["instance_peaks"][:, 0],
                               ref["instance_peaks"][np.arange(len(images)), best],
                               atol=1e-3)
    with pytest.raises(ExportError, match="SingleInstancePredictor does not support "
                                          "max_instances"):
        export_model(_paths(shared_data, [SINGLE]), tmp_path / "single", max_instances=1)
    assert not (tmp_path / "single").exists()


def test_onnx_export_runs_in_onnxruntime_like_the_predictor(exports, tmp_path):
    import onnxruntime as ort

    for name in ("single",):
        folder, images, ref, paths = exports[name]
        out = export_model(paths, tmp_path / name, format="onnx")
        sess = ort.InferenceSession(str(out / "model.onnx"),
                                    providers=["CPUExecutionProvider"])
        got = dict(zip([o.name for o in sess.get_outputs()],
                       sess.run(None, {sess.get_inputs()[0].name: images})))
        _assert_same(got, ref)


def test_formats_that_cannot_hold_a_model_name_what_blocks_them(exports, tmp_path):
    _, _, _, paths = exports["bottomup"]
    with pytest.raises(ExportError, match="ONNX cannot hold this model: the converted "
                                          "graph does not run .*Loop"):
        export_model(paths, tmp_path / "bu_onnx", format="onnx")
    # Top-down converts, but fails on a frame without animals (a zero-size batch of
    # crops): refused rather than shipped.
    with pytest.raises(ExportError, match="does not run in onnxruntime on blank frames"):
        export_model(exports["topdown"][3], tmp_path / "td_onnx", format="onnx")
    single = exports["single"][3]
    with pytest.raises(ExportError, match="TFLite cannot hold this model: ops "
                                          "CropAndResize are not TFLite builtins"):
        export_model(single, tmp_path / "si_tflite", format="tflite")
    assert not list(tmp_path.iterdir())  # nothing half-written
    # With TensorFlow ops allowed, the converter holds the whole model.
    out = export_model(single, tmp_path / "si_tflite", format="tflite",
                       tflite_select_ops=True)
    interp = tf.lite.Interpreter(model_path=str(out / "model.tflite"))
    sig = interp.get_signature_list()["serving_default"]
    assert sig["inputs"] == ["image"]
    assert sorted(sig["outputs"]) == ["instance_peak_vals", "instance_peaks"]


def test_export_cli_bad_input_is_one_line_and_writes_nothing(exports, tmp_path, capsys,
                                                             monkeypatch):
    folder, _, _, paths = exports["single"]
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    monkeypatch.setattr(sys, "argv", ["sleapish-export", "-m", paths[0], "-e", str(busy)])
    assert export_cli() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists and is not empty" in err[0] and "--overwrite" in err[0]
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    monkeypatch.setattr(sys, "argv", ["sleapish-export", "-m", str(tmp_path / "nope")])
    assert export_cli() == 2
    assert "Model folder not found" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["sleapish-export", "-m", str(tmp_path), "-e",
                                      str(tmp_path / "x")])
    assert export_cli() == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    # SLEAP's API re-exports into the same folder; the command needs --overwrite.
    assert export_cli(["-m", paths[0], "-e", str(folder)]) == 0
    monkeypatch.setattr(sys, "argv", ["sleapish-export", "-m", paths[0], "-e",
                                      str(folder), "--overwrite", "-r"])
    assert export_cli() == 0
    info = json.loads((Path(folder) / "info.json").read_text())
    assert info["unragged_outputs"] is False


def test_track_with_an_exported_model(exports, shared_data, tmp_path):
    from sleapish.nn.inference import main

    folder, _, _, paths = exports["topdown"]
    video = shared_data / "videos" / "centered_pair_low_quality.mp4"
    out = tmp_path / "pred.slp"
    assert main([str(video), "--exported", str(folder), "--frames", "0-1", "-o",
                 str(out), "--verbosity", "none"]) == 0
    import sleap_io as sio

    labels = sleapish.load_file(out)
    want = load_model(paths, resize_input_layer=False, progress_reporting="none"
                      ).predict(sio.load_video(str(video))[:2])
    assert [lf.frame_idx for lf in labels] == [0, 1]
    for lf_g, lf_w in zip(labels, want):
        got = sorted(i.numpy()[0, 0] for i in lf_g.instances)
        ref = sorted(i.numpy()[0, 0] for i in lf_w.instances)
        np.testing.assert_allclose(got, ref, atol=1e-3)
    assert "exported" in json.dumps(labels.provenance.get("args", {}))

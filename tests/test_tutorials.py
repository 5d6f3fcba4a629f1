"""The tutorial notebooks in examples/: current with their generator, and they run.

Each notebook is executed end to end with nbclient in quick mode
(`SLEAPISH_TUTORIAL_QUICK=1`: tiny datasets, 1-2 epochs) in a temporary working
directory, with a kernel started from this interpreter (`sys.executable`), and its
outputs are checked for content, not only for the absence of errors.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import nbclient  # dev dependencies: a missing one is a failure, not a skip
import nbformat
import pytest

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
NOTEBOOKS = ["01_train_and_predict.ipynb", "02_inside_the_pipeline.ipynb",
             "03_tracking_and_evaluation.ipynb", "04_load_a_sleap_model.ipynb"]
KERNEL = "sleapish-tutorial-test"
# As tests/conftest.py: SLEAP's real files, overridable with SLEAPISH_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("SLEAPISH_SHARED_DATA", REPO.parent / "shared" / "data"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  EXAMPLES / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _strip(nb) -> dict:
    """What the generator owns: cell types and sources, and the kernelspec."""
    return {"kernelspec": dict(nb.metadata.get("kernelspec", {})),
            "cells": [(c.cell_type, c.source) for c in nb.cells]}


def test_notebooks_match_generator():
    built = _generator().build_notebooks()
    assert sorted(built) == NOTEBOOKS
    for name, nb in built.items():
        on_disk = nbformat.read(EXAMPLES / name, as_version=4)
        assert _strip(on_disk) == _strip(nb), (
            f"{name} is out of date: run python examples/make_notebooks.py")
        for cell in on_disk.cells:  # committed without outputs
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name
        first_code = next(c for c in on_disk.cells if c.cell_type == "code")
        assert 'QUICK = os.environ.get("SLEAPISH_TUTORIAL_QUICK") == "1"' in first_code.source


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernelspec running this interpreter, found first via JUPYTER_PATH.

    A user-level `python3` kernelspec (e.g. in ~/.local/share/jupyter) could point at
    another Python; this one cannot.
    """
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "sleapish tests", "language": "python"}))
    return str(root)


def _run(name: str, tmp_path: Path, monkeypatch, kernel_env: str, shared: Path):
    monkeypatch.setenv("JUPYTER_PATH", kernel_env + os.pathsep
                       + os.environ.get("JUPYTER_PATH", ""))
    monkeypatch.setenv("SLEAPISH_TUTORIAL_QUICK", "1")
    monkeypatch.setenv("SLEAPISH_TUTORIAL_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("SLEAPISH_SHARED_DATA", str(shared))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=600,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    text, images, errors = [], 0, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                text.append(out.text)
            elif out.output_type == "stream" and out.name == "stderr":
                errors.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                images += "image/png" in out.data
                text.append(out.data.get("text/plain", ""))
    # TensorFlow's start-up and CUDA-probe lines are hidden in notebooks too.
    probe = [line for e in errors for line in e.splitlines() if any(
        w in line for w in ("cuda", "CUDA", "oneDNN", "cuInit", "absl::", "I0000",
                            "E0000", "W0000"))]
    assert probe == [], probe
    # Nothing written next to the notebooks or into the working directory's parent.
    assert not list(EXAMPLES.glob("*.slp")) and not (EXAMPLES / "models").exists()
    return "\n".join(text), images


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in the output:\n{text}"
    return float(match.group(1))


def test_01_train_and_predict(tmp_path, monkeypatch, kernel_env):
    text, images = _run(NOTEBOOKS[0], tmp_path, monkeypatch, kernel_env, SHARED_DATA)
    assert "quick mode: True" in text
    assert images >= 3  # frame, training curve, predictions
    assert "BottomUpPredictor: 24 frames" in text
    for split in ("val", "test"):
        assert 0.0 <= _number(rf"{split}: mAP \(oks_voc.mAP\) = ([\d.]+)", text) <= 1.0
    runs = list((tmp_path / "work" / "models").iterdir())
    assert [r.name for r in runs] == ["synthetic.bottomup"]
    assert (runs[0] / "best_model.h5").is_file()


def test_02_inside_the_pipeline(tmp_path, monkeypatch, kernel_env):
    text, images = _run(NOTEBOOKS[1], tmp_path, monkeypatch, kernel_env, SHARED_DATA)
    assert images >= 3  # confidence maps, PAFs, augmentation
    assert "BottomUpPipeline" in text
    assert "confidence maps (64, 64, 4)" in text  # 128 px frames at stride 2, 4 parts
    assert "PAFs (32, 32, 6)" in text               # stride 4, 3 edges x (x, y)
    assert "'input': (4, 128, 128, 1)" in text


def test_03_tracking_and_evaluation(tmp_path, monkeypatch, kernel_env):
    text, images = _run(NOTEBOOKS[2], tmp_path, monkeypatch, kernel_env, SHARED_DATA)
    assert images >= 2
    assert "identity switches" in text
    rows = re.findall(r"^(simplemaxtracks|simple \+ connect breaks)\s+(\d+)\s+(\d+)\s+([\d.]+)",
                      text, flags=re.M)
    assert len(rows) == 2, text
    for _, n_tracks, _switches, right in rows:
        assert int(n_tracks) >= 3 and float(right) > 0.8
    assert int(rows[0][1]) == 3  # max_tracks = the number of animals
    m_oks = _number(r"mOKS \(oks.mOKS\)\s+= ([\d.]+)", text)
    assert 0.0 < m_oks <= 1.0
    assert _number(r"mPCK \(pck.mPCK\)\s+= ([\d.]+)", text) > 0.5  # 1 px noise


def test_04_load_a_sleap_model(tmp_path, monkeypatch, kernel_env):
    have = (SHARED_DATA / "models" / "minimal_instance.UNet.bottomup" / "best_model.h5"
            ).is_file() and (SHARED_DATA / "videos" / "centered_pair_small.mp4").is_file()
    if not have and _in_ci():
        pytest.fail(f"SLEAP reference data not found at {SHARED_DATA} (required under CI=true)")
    text, images = _run(NOTEBOOKS[3], tmp_path, monkeypatch, kernel_env, SHARED_DATA)
    assert images >= 1
    assert "model type: multi_instance" in text
    assert "predictor: BottomUpPredictor" in text
    assert _number(r"predicted frames: (\d+)", text) == 4
    if have:
        assert "path: SLEAP model" in text
        diff = _number(r"max point difference vs SLEAP's predictions: ([\d.e+-]+) px", text)
        assert diff < 1.0
    else:
        assert "path: fallback" in text
        assert "max point difference vs training-time predictions" in text

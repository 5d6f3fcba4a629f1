"""`make demo` runs end to end (quick mode) and writes what it says."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sleapish import demo, load_file

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`


def test_demo_quick_writes_every_output(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--quick", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    for step in ("[1/6]", "[2/6]", "[3/6]", "[4/6]", "[5/6]", "[6/6]"):
        assert step in out
    run = tmp_path / "models" / "synthetic.bottomup"
    assert {"best_model.h5", "training_config.json", "training_log.csv",
            "metrics.test.npz", "labels_pr.test.slp"} <= {p.name for p in run.iterdir()}
    preds = load_file(tmp_path / "predictions.slp")
    assert len(preds) == 60  # every frame of the video
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["held-out frames"] == 12
    assert 0.0 <= metrics["OKS mAP (held-out)"] <= 1.0
    assert metrics["tracks"] <= 2
    assert "OKS mAP (held-out)" in out and "identity switches" in out
    for png in ("predictions.png", "training_curve.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    import imageio.v3 as iio

    frames = iio.imread(tmp_path / "predictions.mp4")
    assert frames.shape[0] == 60 and frames.shape[1:3] == (384, 384)
    assert np.ptp(frames) > 0


def test_demo_config_splits_in_time(tmp_path):
    from sleapish.datasets import make_synthetic_dataset

    ds = make_synthetic_dataset(tmp_path, n_frames=20, n_animals=2, image_size=(96, 96),
                                seed=0)
    cfg = demo.build_config_for(load_file(ds.labels_path), 20)
    lab = cfg.data.labels
    assert lab.training_inds == list(range(14))
    assert lab.validation_inds == [14, 15] and lab.test_inds == [16, 17, 18, 19]
    assert cfg.model.heads.multi_instance.pafs.edges == [
        ("thorax", "head"), ("thorax", "abdomen"), ("abdomen", "tail")]

"""`make demo` runs end to end on a small setting and writes what it says."""

from __future__ import annotations

import json

from sleapish import demo, load_file


def test_demo_writes_dataset_config_and_figure(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--frames", "12", "--animals", "3"]) == 0
    out = capsys.readouterr().out
    assert "12 labeled frames, 36 instances, 3 tracks" in out
    assert "UNet: 2,147,354 parameters" in out
    assert "MultiInstanceConfmapsHead (96, 96, 4), PartAffinityFieldsHead (48, 48, 6)" in out
    labels = load_file(tmp_path / "data" / "synthetic.slp")
    assert len(labels) == 12
    cfg = json.loads((tmp_path / "training_config.json").read_text())
    heads = cfg["model"]["heads"]["multi_instance"]
    assert heads["confmaps"]["part_names"] == ["head", "thorax", "abdomen", "tail"]
    assert heads["pafs"]["edges"] == [["thorax", "head"], ["thorax", "abdomen"],
                                      ["abdomen", "tail"]]
    png = (tmp_path / "frame0_ground_truth.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

"""`sleapish-track PREDICTIONS.slp --tracking.tracker ...` (retracking, no model)."""

from __future__ import annotations

import shutil

import pytest

import sleapish
from sleapish.nn.inference.cli import main as track_main

SIMPLE_NAME = "SimpleCandidateMaker.instance_similarity.greedy_matching"
FLOW_NAME = "FlowCandidateMaker.instance_similarity.hungarian_matching"


def _copy(synthetic, tmp_path):
    shutil.copy(synthetic.labels_path, tmp_path / synthetic.labels_path.name)
    shutil.copy(synthetic.video_path, tmp_path / synthetic.video_path.name)
    return tmp_path / synthetic.labels_path.name


def test_retrack_writes_input_dot_tracker_name(synthetic, tmp_path, capsys):
    src = _copy(synthetic, tmp_path)
    rc = track_main([str(src), "--tracking.tracker", "simple", "--verbosity", "none"])
    assert rc == 0, capsys.readouterr().err
    out = tmp_path / f"{src.name}.{SIMPLE_NAME}.slp"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [src.name, synthetic.video_path.name, out.name])
    labels = sleapish.load_file(out)
    assert len(labels) == 32
    assert [t.name for t in labels.tracks][:2] == ["track_0", "track_1"]
    assert all(i.track is not None for lf in labels for i in lf.instances)
    assert labels.provenance["tracker"] == SIMPLE_NAME


def test_retrack_flow_reads_frames_and_honours_options(synthetic, tmp_path, capsys):
    src = _copy(synthetic, tmp_path)
    out = tmp_path / "flow.slp"
    rc = track_main([str(src), "--tracking.tracker", "flow", "--tracking.match", "hungarian",
                     "--tracking.track_window", "3", "--tracking.img_scale", "0.5",
                     "--tracking.target_instance_count", "2",
                     "--tracking.post_connect_single_breaks", "1",
                     "-o", str(out), "--verbosity", "none"])
    assert rc == 0, capsys.readouterr().err
    labels = sleapish.load_file(out)
    assert labels.provenance["tracker"] == FLOW_NAME
    assert 2 <= len(labels.tracks) and all(len(lf.instances) == 2 for lf in labels)


def test_retrack_errors_leave_no_file(synthetic, tmp_path):
    labels = sleapish.load_file(synthetic.labels_path, open_videos=False)
    labels.videos[0].replace_filename(str(tmp_path / "missing" / "synthetic.mp4"), open=False)
    src = tmp_path / "preds.slp"
    sleapish.save_file(labels, src)
    before = sorted(p.name for p in tmp_path.iterdir())
    # flow needs the video, which is nowhere to be found
    with pytest.raises(ValueError, match="reads the video frames.*synthetic.mp4"):
        track_main([str(src), "--tracking.tracker", "flow", "--verbosity", "none"])
    with pytest.raises(ValueError, match="not a valid tracker"):
        track_main([str(src), "--tracking.tracker", "nope"])
    with pytest.raises(ValueError, match="--tracking.tracker"):
        track_main([str(src)])  # neither -m nor a tracker
    with pytest.raises(ValueError, match="target instance count"):
        track_main([str(src), "--tracking.tracker", "simple",
                    "--tracking.kf_init_frame_count", "3"])
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    # without the video, the simple tracker still works (frames are not needed)
    assert track_main([str(src), "--tracking.tracker", "simple", "--verbosity", "none"]) == 0

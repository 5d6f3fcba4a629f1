"""`sleapish-track` (SLEAP 1.4.1's `sleap-track`): options, inputs, outputs, errors.

Tiny random-weight models made here; SLEAP's real models in one test (`shared_data`).
Retracking without a model: tests/nn/tracking/test_retrack_cli.py.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import sleap_io as sio
from model_folders import make_model_folder

import sleapish
import sleapish.nn.inference as inference
from sleapish.nn.config import (
    CenteredInstanceConfmapsHeadConfig,
    CentroidsHeadConfig,
    HeadsConfig,
    MultiInstanceConfig,
    MultiInstanceConfmapsHeadConfig,
    PartAffinityFieldsHeadConfig,
)
from sleapish.nn.inference.cli import main as track_main
from sleapish.nn.inference.cli import parse_frames
from sleapish.nn.inference.cli_inputs import collect_inputs

QUIET = ["--verbosity", "none"]


def _model_folder(path, heads, labels, crop=None):
    return str(make_model_folder(path, heads, labels, crop))


@pytest.fixture(scope="module")
def models(synthetic, tmp_path_factory):
    """`(centroid, centered_instance, bottomup)` folders of tiny random models."""
    labels = sleapish.load_file(synthetic.labels_path)
    root = tmp_path_factory.mktemp("cli_models")
    centroid = _model_folder(root / "centroid", HeadsConfig(centroid=CentroidsHeadConfig(
        anchor_part="thorax", output_stride=2)), labels)
    centered = _model_folder(root / "centered", HeadsConfig(
        centered_instance=CenteredInstanceConfmapsHeadConfig(anchor_part="thorax",
                                                             output_stride=2)),
        labels, crop=48)
    bottomup = _model_folder(root / "bottomup", HeadsConfig(
        multi_instance=MultiInstanceConfig(
            confmaps=MultiInstanceConfmapsHeadConfig(output_stride=2),
            pafs=PartAffinityFieldsHeadConfig(output_stride=4))), labels)
    return centroid, centered, bottomup


@pytest.fixture
def topdown(models):
    """`-m centroid -m centered` with 2 instances per frame, every peak accepted (also
    those random weights put outside the image)."""
    return ["-m", models[0], "-m", models[1], "-n", "2", "--peak_threshold=-1e9",
            "--keep-outside-points"]


def _videos(synthetic, folder, names):
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(synthetic.video_path, folder / name)
    return [folder / n for n in names]


def _names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


# ------------------------------------------------------------------ options
SLEAP_141_OPTIONS = [  # every option `sleap-track --help` lists in SLEAP 1.4.1
    "-m", "--model", "--frames", "--only-labeled-frames", "--only-suggested-frames",
    "-o", "--output", "--no-empty-frames", "--verbosity", "--video.dataset",
    "--video.input_format", "--video.index", "--cpu", "--first-gpu", "--last-gpu",
    "--gpu", "--max_edge_length_ratio", "--dist_penalty_weight", "--batch_size",
    "--open-in-gui", "--peak_threshold", "-n", "--max_instances",
    "--tracking.tracker", "--tracking.max_tracking", "--tracking.max_tracks",
    "--tracking.target_instance_count", "--tracking.pre_cull_to_target",
    "--tracking.pre_cull_iou_threshold", "--tracking.post_connect_single_breaks",
    "--tracking.clean_instance_count", "--tracking.clean_iou_threshold",
    "--tracking.similarity", "--tracking.match", "--tracking.robust",
    "--tracking.track_window", "--tracking.min_new_track_points",
    "--tracking.min_match_points", "--tracking.img_scale", "--tracking.of_window_size",
    "--tracking.of_max_levels", "--tracking.save_shifted_instances",
    "--tracking.kf_node_indices", "--tracking.kf_init_frame_count",
    "--tracking.oks_errors", "--tracking.oks_score_weighting",
    "--tracking.oks_normalization",
]


def test_sleap_names_and_every_sleap_option():
    assert inference.main is track_main
    parser = inference._make_cli_parser()
    known = set(parser._option_string_actions)
    assert [o for o in SLEAP_141_OPTIONS if o not in known] == []
    for cmd in ("-n 1", "--max_instances 1"):
        assert parser.parse_args(cmd.split()).max_instances == 1
    args = parser.parse_args([])
    assert args.data_path == [] and args.models is None and args.frames == ""
    assert getattr(args, "video.index") == "" and args.gpu == "auto"
    assert getattr(args, "video.input_format") == "channels_last"
    assert args.batch_size == 4 and args.peak_threshold == 0.2
    # hidden legacy options still parse
    args = parser.parse_args(["--single.peak_threshold", "0.4",
                              "--bottomup.batch_size", "2", "--labels", "x.slp"])
    assert getattr(args, "single.peak_threshold") == 0.4
    assert "--labels" not in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["--cpu", "--gpu", "0"])  # device options are exclusive
    with pytest.raises(SystemExit):
        track_main(["x.mp4", "--tracking.trackr", "simple"])  # typos are not ignored


def test_parse_frames():
    assert parse_frames("0-3,7,2", 10) == [0, 1, 2, 3, 7]
    assert parse_frames("1,-3") == [1, 2, 3]  # SLEAP's legacy range form
    assert parse_frames("", 10) is None and parse_frames(None, 10) is None
    with pytest.raises(ValueError, match=r"out of range.*\[12\]"):
        parse_frames("10-12", 12)
    with pytest.raises(ValueError, match="look like"):
        parse_frames("a-b", 12)


def test_make_tracker_from_cli(caplog):
    parser = inference._make_cli_parser()
    assert inference._make_tracker_from_cli(parser.parse_args([])) is None
    args = parser.parse_args(["--tracking.tracker", "simple",
                              "--tracking.similarity", "object_keypoint",
                              "--tracking.max_tracking", "1", "--tracking.max_tracks", "2"])
    tracker = inference._make_tracker_from_cli(args)
    assert tracker.similarity_function.__name__ == "object_keypoint_similarity"
    assert tracker.get_name().startswith("SimpleMaxTracksCandidateMaker.")
    assert not inference._make_tracker_from_cli(
        parser.parse_args(["--tracking.tracker", "None"])).is_valid
    # as SLEAP: a tracking option without a tracker means the default, flow
    tracker = inference._make_tracker_from_cli(parser.parse_args(["--tracking.match",
                                                                 "hungarian"]))
    assert tracker.get_name() == "FlowCandidateMaker.instance_similarity.hungarian_matching"
    assert "default tracker, flow" in caplog.text
    # "0" is false (SLEAP's bool("0") would be true)
    args = parser.parse_args(["--tracking.max_tracking", "0"])
    assert getattr(args, "tracking.max_tracking") is False


@pytest.mark.slow
def test_make_predictor_from_cli(models):
    centroid, centered, bottomup = models
    parser = inference._make_cli_parser()
    args = parser.parse_args(["x.mp4", "--model", centroid, "--model", centered,
                              "--max_instances", "5", "--single.peak_threshold", "0.3"])
    pred = inference._make_predictor_from_cli(args)
    assert type(pred).__name__ == "TopDownPredictor"
    assert pred.inference_model.centroid_crop.max_instances == 5
    assert pred.inference_model.centroid_crop.peak_threshold == pytest.approx(0.3)
    args = parser.parse_args(["-m", bottomup, "--max_edge_length_ratio", "0.5",
                              "--dist_penalty_weight", "2", "--batch_size", "2"])
    pred = inference._make_predictor_from_cli(args)
    scorer = pred.inference_model.bottomup_layer.paf_scorer
    assert (scorer.max_edge_length_ratio, scorer.dist_penalty_weight) == (0.5, 2.0)
    assert pred.batch_size == 2
    with pytest.raises(ValueError, match="No model"):
        inference._make_predictor_from_cli(parser.parse_args(["x.mp4"]))


# ------------------------------------------------------------------- inputs
def test_inputs_accept_path_objects(synthetic, tmpdir):
    """`py.path.local` (pytest's `tmpdir`) and `pathlib.Path` work wherever a str does."""
    folder = tmpdir.mkdir("videos")
    shutil.copy(synthetic.video_path, folder / "a.mp4")
    items = collect_inputs(folder)
    assert [i.path.name for i in items] == ["a.mp4"]
    assert [i.path.name for i in collect_inputs([Path(folder / "a.mp4")])] == ["a.mp4"]
    args = inference._make_cli_parser().parse_args([str(folder), "--frames", "1-3"])
    args.data_path = folder  # a SLEAP-style namespace holds one path
    providers, paths, outputs = inference._make_provider_from_cli(args)
    assert [len(p) for p in providers] == [3] and outputs is None
    assert [p.name for p in paths] == ["a.mp4"]


@pytest.mark.slow
def test_single_video_default_output_and_provenance(synthetic, topdown, tmp_path, capsys):
    (video,) = _videos(synthetic, tmp_path, ["clip.mp4"])
    assert track_main([video, *topdown, "--frames", "0-2", "--verbosity", "json"]) == 0
    out = tmp_path / "clip.predictions.slp"  # suffix replaced, as SLEAP
    assert _names(tmp_path) == ["clip.mp4", "clip.predictions.slp"]
    lines = capsys.readouterr().out.splitlines()
    progress = [json.loads(s) for s in lines if s.startswith("{")]
    assert progress[-1]["status"] == "done"
    final = [s for s in lines if not s.startswith("{")][-1]
    assert final.startswith("Predicted 3/3 frames: 6 instances, 0 tracks, ") and \
        final.endswith(f" -> {out.as_posix()}") and " fps (" in final, final
    pred = sleapish.load_file(out)
    assert [lf.frame_idx for lf in pred] == [0, 1, 2]
    assert all(len(lf.instances) == 2 for lf in pred)
    prov = pred.provenance
    for key in ("model_paths", "predictor", "data_path", "output_path", "command",
                "total_elapsed", "start_timestamp", "finish_timestamp", "platform",
                "args", "sleapish_version"):
        assert key in prov, key
    assert prov["predictor"] == "TopDownPredictor" and prov["args"]["frames"] == "0-2"
    assert prov["output_path"] == out.as_posix()
    assert prov["model_paths"] == [Path(m).as_posix() for m in topdown[1:4:2]]
    assert prov["args"]["models"] == prov["model_paths"]
    assert prov["args"]["tracking.tracker"] is None  # no tracker ran


@pytest.mark.slow
def test_provenance_stores_the_tracking_options_used(synthetic, topdown, tmp_path):
    (video,) = _videos(synthetic, tmp_path, ["clip.mp4"])
    out = tmp_path / "t.slp"
    assert track_main([video, *topdown, "--frames", "0-2", "--tracking.tracker",
                       "simple", "-o", out, *QUIET]) == 0
    args = sleapish.load_file(out).provenance["args"]
    assert args["tracking.tracker"] == "simple"
    # Options not given hold the defaults the tracker used, as values.
    assert args["tracking.similarity"] == "instance"
    assert args["tracking.match"] == "greedy"
    assert args["tracking.track_window"] == 5
    assert args["peak_threshold"] == -1e9 and args["batch_size"] == 4  # as given / default


@pytest.mark.slow
def test_folder_of_videos_skips_slp_and_other_files(synthetic, topdown, tmp_path, capsys):
    folder = tmp_path / "mixed"
    _videos(synthetic, folder, ["a.mp4", "b.mp4"])
    shutil.copy(synthetic.labels_path, folder / "old.slp")
    (folder / "notes.txt").write_text("not a video")
    assert track_main([folder, *topdown, "--frames", "0-1", "--tracking.tracker",
                       "simple", *QUIET]) == 0
    assert _names(folder) == ["a.mp4", "a.predictions.slp", "b.mp4", "b.predictions.slp",
                              "notes.txt", "old.slp"]
    err = capsys.readouterr().err
    assert "slp file skipped" in err and "notes.txt" in err
    # each input gets a fresh tracker: both files start from track_0
    for name in ("a", "b"):
        pred = sleapish.load_file(folder / f"{name}.predictions.slp")
        assert [t.name for t in pred.tracks] == ["track_0", "track_1"]


def test_folder_of_only_slp_files_predicts_nothing(synthetic, topdown, tmp_path, capsys):
    folder = tmp_path / "slps"
    folder.mkdir()
    for i in range(2):
        shutil.copy(synthetic.labels_path, folder / f"old_{i}.slp")
    assert track_main([folder, *topdown, *QUIET]) == 0  # as SLEAP: nothing to do
    assert _names(folder) == ["old_0.slp", "old_1.slp"]
    assert "nothing to predict" in capsys.readouterr().err


@pytest.mark.slow
def test_output_folder_for_several_inputs(synthetic, topdown, tmp_path):
    videos = _videos(synthetic, tmp_path / "in", ["a.mp4", "b.mp4"])
    out = tmp_path / "out" / "nested"  # created, as SLEAP
    assert track_main([*videos, *topdown, "-o", out, "--frames", "0", *QUIET]) == 0
    assert _names(out) == ["a.predictions.slp", "b.predictions.slp"]
    # an existing file cannot take several outputs; nothing is predicted
    existing = tmp_path / "existing.slp"
    existing.write_bytes(b"keep")
    with pytest.raises(ValueError, match="must be a directory"):
        track_main([tmp_path / "in", *topdown, "-o", existing, *QUIET])
    with pytest.raises(ValueError, match="names a .slp file"):
        track_main([tmp_path / "in", *topdown, "-o", tmp_path / "new.slp", *QUIET])
    assert existing.read_bytes() == b"keep" and not (tmp_path / "new.slp").exists()
    # one input, -o names the file; its folder must exist
    assert track_main([videos[0], *topdown, "-o", tmp_path / "one.slp", "--frames", "0",
                       *QUIET]) == 0
    assert (tmp_path / "one.slp").is_file()
    with pytest.raises(ValueError, match="Output folder does not exist"):
        track_main([videos[0], *topdown, "-o", tmp_path / "nowhere" / "x.slp", *QUIET])


@pytest.mark.slow
def test_csv_and_text_lists(synthetic, topdown, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths are relative to the current folder
    videos = _videos(synthetic, tmp_path / "in", ["a.mp4", "b.mp4"])
    with open("list.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["data_path", "output_path"])
        w.writerow(["in/a.mp4", "in/a.TEST.slp"])
        w.writerow([videos[1], ""])  # empty cell: default output
    assert track_main(["list.csv", *topdown, "--frames", "0", *QUIET]) == 0
    assert _names("in") == ["a.TEST.slp", "a.mp4", "b.mp4", "b.predictions.slp"]
    for p in Path("in").glob("*.slp"):
        p.unlink()
    Path("list.txt").write_text(f"{videos[0]}\n\n in/b.mp4 \n")
    assert track_main(["list.txt", *topdown, "--frames", "0", *QUIET]) == 0
    assert _names("in") == ["a.mp4", "a.predictions.slp", "b.mp4", "b.predictions.slp"]


def test_bad_lists_name_the_problem_and_write_nothing(synthetic, topdown, tmp_path,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    videos = _videos(synthetic, tmp_path / "in", ["a.mp4"])
    Path("empty.csv").write_text("")
    Path("header.csv").write_text("data_path\n")
    Path("missing.csv").write_text("data_path\nvideo1.mp4\nvideo2.mp4\n")
    Path("later.csv").write_text(f"data_path\n{videos[0]}\nin/gone.mp4\n")
    Path("same.csv").write_text(f"data_path,out\n{videos[0]},x.slp\nin/a.mp4,x.slp\n")
    Path("self.csv").write_text(f"data_path,out\n{videos[0]},in/a.mp4\n")
    Path("empty.txt").write_text("\n")
    Path("gone.txt").write_text("in/gone.mp4\n")
    cases = {"empty.csv": "CSV file is empty", "header.csv": "no inputs",
             "missing.csv": "No column.*existing input path",
             "later.csv": r"later.csv:3 not found: in/gone.mp4",
             "same.csv": "would both write", "self.csv": "would overwrite the input",
             "empty.txt": "lists no inputs",
             "gone.txt": r"gone.txt:1 not found"}
    before = _names(tmp_path)
    for name, message in cases.items():
        with pytest.raises(ValueError, match=message):
            track_main([name, *topdown, "--tracking.tracker", "simple", *QUIET])
    assert _names(tmp_path) == before and _names("in") == ["a.mp4"]


def test_invalid_inputs(synthetic, topdown, tmp_path):
    with pytest.raises(ValueError, match="You must give a path"):
        track_main([*topdown, "--tracking.tracker", "simple"])
    with pytest.raises(ValueError, match="does not exist: /path/to/nonexistent/file.mp4"):
        track_main(["/path/to/nonexistent/file.mp4", *topdown])
    with pytest.raises(ValueError, match="Neither tracker type nor path to trained models"):
        track_main([synthetic.labels_path, "--cpu"])
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match="Error reading file.*bad.mp4"):
        track_main([bad, *topdown, *QUIET])
    (video,) = _videos(synthetic, tmp_path / "in", ["a.mp4"])
    with pytest.raises(ValueError, match="out of range.*a.mp4"):
        track_main([tmp_path / "in", *topdown, "--frames", "30-40", *QUIET])
    with pytest.raises(ValueError, match="not a valid tracker"):
        track_main([video, *topdown, "--tracking.tracker", "nope", *QUIET])
    assert _names(tmp_path) == ["bad.mp4", "in"] and _names(tmp_path / "in") == ["a.mp4"]


def test_command_line_errors_are_one_line(synthetic, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["sleapish-track", str(tmp_path / "missing.mp4"),
                                     "-m", "model"])
    assert track_main() == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("sleapish-track: error:")
    assert "missing.mp4" in err


# --------------------------------------------------------------- .slp inputs
@pytest.mark.slow
def test_slp_input_modes(synthetic, topdown, tmp_path):
    src = tmp_path / "labels.slp"
    labels = sleapish.load_file(synthetic.labels_path)
    labels.suggestions = [sio.SuggestionFrame(video=labels.video, frame_idx=f)
                          for f in (2, 3, 8)]  # 2 is labeled; 8 has no labeled frame
    labels.labeled_frames = labels.labeled_frames[:8]
    for lf in labels.labeled_frames[3:]:  # frames 0-2 keep their user instances
        lf.instances = []
    sleapish.save_file(labels, src)
    # --video.index with --frames: those frames of that video
    assert track_main([src, *topdown, "--video.index", "0", "--frames", "1-3", *QUIET]) == 0
    out = tmp_path / "labels.predictions.slp"
    assert [lf.frame_idx for lf in sleapish.load_file(out)] == [1, 2, 3]
    # --only-labeled-frames: frames with user instances
    assert track_main([src, *topdown, "--only-labeled-frames", "-o", out, *QUIET]) == 0
    assert [lf.frame_idx for lf in sleapish.load_file(out)] == [0, 1, 2]
    # --only-suggested-frames: suggestions without user instances
    assert track_main([src, *topdown, "--only-suggested-frames", "-o", out, *QUIET]) == 0
    assert sorted(lf.frame_idx for lf in sleapish.load_file(out)) == [3, 8]
    # default: every labeled frame
    assert track_main([src, *topdown, "-o", out, *QUIET]) == 0
    assert [lf.frame_idx for lf in sleapish.load_file(out)] == list(range(8))
    with pytest.raises(ValueError, match="--video.index.*Received: '1'"):
        track_main([src, *topdown, "--video.index", "1", *QUIET])


@pytest.mark.slow
def test_no_empty_frames(synthetic, models, tmp_path):
    centroid, centered, _ = models
    out = tmp_path / "out.slp"
    # an impossible threshold: no instances, so no frames are kept
    assert track_main([synthetic.video_path, "-m", centroid, "-m", centered, "--frames",
                       "0-1", "--peak_threshold", "2", "--no-empty-frames", "-o", out,
                       *QUIET]) == 0
    assert len(sleapish.load_file(out)) == 0


@pytest.mark.slow
def test_sleap_models_on_slp_video_index(shared_data, tmp_path):
    """SLEAP's test_sleap_track_single_input, on SLEAP's models and video."""
    labels = sleapish.load_file(shared_data / "labels" / "centered_pair_predictions.slp",
                                search_paths=[shared_data / "videos"])
    src = tmp_path / "old_slp.slp"
    sleapish.save_file(labels, src)
    m = shared_data / "models"
    assert track_main([src, "--model", m / "minimal_instance.UNet.centroid",
                       "--model", m / "minimal_instance.UNet.centered_instance",
                       "--video.index", "0", "--frames", "1-3", "--cpu", *QUIET]) == 0
    pred = sleapish.load_file(tmp_path / "old_slp.predictions.slp")
    assert [lf.frame_idx for lf in pred] == [1, 2, 3]
    assert all(1 <= len(lf.instances) <= 2 for lf in pred)


def test_provider_from_cli_returns_csv_outputs(synthetic, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _videos(synthetic, tmp_path / "in", ["a.mp4", "b.mp4"])
    Path("l.csv").write_text("data_path,output_path\nin/a.mp4,a.out.slp\nin/b.mp4,\n")
    args = inference._make_cli_parser().parse_args(["l.csv", "--frames", "0-4"])
    providers, paths, outputs = inference._make_provider_from_cli(args)
    assert [len(p) for p in providers] == [5, 5]
    assert [p.as_posix() for p in paths] == ["in/a.mp4", "in/b.mp4"]
    assert outputs == ["a.out.slp", None]


@pytest.mark.slow
def test_legacy_labels_option_gui_note_and_devices(synthetic, topdown, tmp_path, capsys):
    from sleapish.nn.inference.cli_parser import select_devices

    (video,) = _videos(synthetic, tmp_path, ["a.mp4"])
    out = tmp_path / "a.slp"
    # SLEAP's hidden --labels names the input; --open-in-gui needs SLEAP's GUI
    assert track_main(["--labels", str(video), *topdown, "--frames", "0", "-o", out,
                       "--open-in-gui", "--cpu", *QUIET]) == 0
    assert out.is_file()
    if shutil.which("sleap-label") is None:
        assert "sleap-label" in capsys.readouterr().err
    select_devices(inference._make_cli_parser().parse_args(["--gpu", "0"]))  # no GPU: no-op


def test_retrack_options(synthetic, tmp_path):
    src = tmp_path / "preds.slp"
    shutil.copy(synthetic.labels_path, src)
    shutil.copy(synthetic.video_path, tmp_path / synthetic.video_path.name)
    with pytest.raises(ValueError, match="does no tracking"):
        track_main([src, "--tracking.tracker", "None"])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert track_main([src, "--tracking.tracker", "simple", "-o", out_dir, *QUIET]) == 0
    assert _names(out_dir) == [
        "preds.slp.SimpleCandidateMaker.instance_similarity.greedy_matching.slp"]
    with pytest.raises(ValueError, match="takes one predictions .slp"):
        track_main([synthetic.video_path, "--tracking.tracker", "simple"])


# ------------------------------------------------------------- first-hour behaviour
_NO_TF = """
import sys
from {module} import main
sys.argv = ["prog"] + {argv!r}
try:
    code = main()
except SystemExit as e:
    code = e.code
print("RESULT", code, "tensorflow" in sys.modules)
"""


@pytest.mark.slow
@pytest.mark.parametrize("module,argv,code", [
    ("sleapish.nn.inference.cli", ["--help"], 0),
    ("sleapish.nn.inference.cli", ["--bogus-option"], 2),
    ("sleapish.nn.inference.cli", ["missing.mp4", "-m", "model"], 2),
    ("sleapish.nn.inference.cli", ["VIDEO", "-m", "/no/such/model"], 2),
    ("sleapish.train", ["--help"], 0),
    ("sleapish.train", ["baseline.centroid", "missing.slp"], 2),
    ("sleapish.train", ["--resume", "/no/such/run"], 2),
    ("sleapish.render", ["--help"], 0),
    ("sleapish.render", ["missing.slp"], 2),
    ("sleapish.nn.inference.export_cli", ["--help"], 0),
])
def test_help_and_bad_input_do_not_import_tensorflow(module, argv, code, synthetic,
                                                     tmp_path):
    import subprocess
    import sys

    from clean_env import clean_env

    argv = [str(synthetic.video_path) if a == "VIDEO" else a for a in argv]
    script = _NO_TF.format(module=module, argv=argv)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=120, env=clean_env(), cwd=tmp_path)
    result = r.stdout.split("RESULT")[-1].split()
    assert result == [str(code), "False"], (r.stdout[-500:], r.stderr[-2000:])
    if code == 2:  # one error line (after argparse's usage, for option errors)
        lines = [s for s in r.stderr.splitlines() if s.strip()]
        assert ": error: " in lines[-1] and "Traceback" not in r.stderr, r.stderr
        if "--bogus-option" not in argv:
            assert len(lines) == 1, r.stderr


def _wait_for(proc, predicate, timeout=180):
    import time

    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if predicate(line):
            return seen
    raise AssertionError("never saw the expected line: " + "".join(seen[-20:]))


@pytest.mark.slow
def test_ctrl_c_during_tracking_exits_130_with_one_line_and_no_output(
        synthetic, models, tmp_path):
    import signal
    import subprocess
    import sys

    from clean_env import clean_env

    long_video = tmp_path / "long.mp4"
    from sleapish.datasets import make_synthetic_dataset

    make_synthetic_dataset(tmp_path / "long", n_frames=400, n_animals=2,
                           image_size=(128, 128), seed=1)
    shutil.copy(tmp_path / "long" / "synthetic.mp4", long_video)
    out = tmp_path / "out.slp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sleapish.nn.inference", str(long_video), "-m", models[2],
         "--batch_size", "1", "--verbosity", "json", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        _wait_for(proc, lambda s: s.startswith("{") and '"n_processed"' in s)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    lines = [s for s in err.splitlines() if s.strip()]
    assert lines == ["sleapish-track: interrupted; no output was written (with "
                     "--resume, the same command continues from the last checkpoint)"]
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))

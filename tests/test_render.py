"""`sleapish-render` / `sleapish.render`: skeletons drawn on the video, atomically."""

from __future__ import annotations

import shutil

import imageio.v3 as iio
import numpy as np
import pytest
from clean_env import clean_env

from sleapish import render as render_mod
from sleapish.render import main, parse_frames, render, render_frame


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from sleapish.datasets.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp("render"), n_frames=8,
                                  n_animals=2, image_size=(64, 64), seed=1)


def _isolated_nodes(points, min_dist=8.0):
    """(frame, animal, node, x, y) of nodes far from every node of other animals."""
    out = []
    n_frames, n_animals = points.shape[:2]
    for t in range(n_frames):
        for k in range(n_animals):
            others = np.concatenate([points[t, j] for j in range(n_animals) if j != k])
            for n, (x, y) in enumerate(points[t, k]):
                if np.min(np.hypot(*(others - (x, y)).T)) > min_dist:
                    out.append((t, k, n, int(round(x)), int(round(y))))
    return out


def _saturation(rgb):
    rgb = np.asarray(rgb, dtype=np.int32)
    return int(rgb.max() - rgb.min())


def _check_skeleton_drawn(rendered, raw, points):
    """Nodes are drawn in colour on a grey video, one colour per track."""
    colors = {0: [], 1: []}
    for t, k, _n, x, y in _isolated_nodes(points):
        # The synthetic video is grey; a drawn marker is saturated colour.
        assert _saturation(raw[t, y, x]) < 12
        assert _saturation(rendered[t, y, x]) > 80, (t, k, rendered[t, y, x])
        assert np.abs(rendered[t, y, x].astype(int) - raw[t, y, x].astype(int)).max() > 40
        colors[k].append(rendered[t, y, x].astype(float))
    assert len(colors[0]) >= 4 and len(colors[1]) >= 4
    c0, c1 = np.median(colors[0], axis=0), np.median(colors[1], axis=0)
    # Track colours are consistent within an animal and differ between animals.
    assert np.abs(c0 - c1).max() > 80, (c0, c1)
    for k, c in ((0, c0), (1, c1)):
        assert np.abs(np.asarray(colors[k]) - c).max() < 60


def test_render_video_draws_track_coloured_skeletons(tiny, tmp_path):
    out = render(tiny.labels_path, tmp_path / "out.mp4", crf=10, show_progress=False)
    assert out == tmp_path / "out.mp4"
    rendered = iio.imread(out)
    raw = iio.imread(tiny.video_path)
    assert rendered.shape == (8, 64, 64, 3) and rendered.dtype == np.uint8
    _check_skeleton_drawn(rendered, raw, tiny.points)
    # Only the output is left in the folder (no temporary files).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_render_frame_matches_and_accepts_labeled_frame(tiny):
    from sleapish.io import load_file

    labels = load_file(tiny.labels_path)
    raw = iio.imread(tiny.video_path)
    imgs = np.stack([render_frame(labels, i) for i in range(len(labels))])
    assert imgs.shape == (8, 64, 64, 3) and imgs.dtype == np.uint8
    _check_skeleton_drawn(imgs, raw, tiny.points)
    lf = labels.labeled_frames[3]
    np.testing.assert_array_equal(render_frame(labels, lf), imgs[3])
    assert render_frame(labels, 0, scale=2.0).shape == (128, 128, 3)
    no_nodes = render_frame(labels, 0, show_nodes=False, show_edges=False)
    assert np.ptp(no_nodes.astype(int), axis=-1).max() < 12  # bare grey frame
    with pytest.raises(IndexError, match="Labeled frame index"):
        render_frame(labels, 8)


def test_cli_frames_fps_scale_and_png(tiny, tmp_path, capsys):
    out = tmp_path / "sub" / "part.mp4"
    assert main([str(tiny.labels_path), "-o", str(out), "--frames", "0-2,5",
                 "--fps", "12", "--scale", "0.5", "--no-edges", "--no-progress",
                 "--marker-size", "3", "--line-width", "1"]) == 0
    assert f"Wrote {out}" in capsys.readouterr().out
    frames = iio.imread(out)
    assert frames.shape == (4, 32, 32, 3)
    assert iio.immeta(out)["fps"] == pytest.approx(12)

    png = tmp_path / "frame.png"
    assert main([str(tiny.labels_path), "-o", str(png), "--frames", "5",
                 "--no-progress"]) == 0
    img = iio.imread(png)
    assert img.shape == (64, 64, 3)
    from sleapish.io import load_file

    np.testing.assert_array_equal(img, render_frame(load_file(tiny.labels_path), 5))


def test_cli_default_output_next_to_input(tiny, tmp_path):
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(tiny.labels_path, folder / "preds.slp")
    shutil.copy(tiny.video_path, folder / tiny.video_path.name)
    assert main([str(folder / "preds.slp"), "--no-progress"]) == 0
    assert iio.imread(folder / "preds.slp.mp4").shape[0] == 8


def test_cli_errors(tiny, tmp_path, capsys):
    def err(argv):
        code = main(argv + ["--no-progress"])
        assert code == 2
        msg = capsys.readouterr().err
        assert msg.startswith("sleapish-render: error: ")
        return msg

    assert "Labels file not found" in err([str(tmp_path / "nope.slp")])
    assert "out of range" in err([str(tiny.labels_path), "--frames", "0-8"])
    assert "must look like" in err([str(tiny.labels_path), "--frames", "a-b"])
    assert "--video-index" in err([str(tiny.labels_path), "--video-index", "3"])
    assert "scale must be > 0" in err([str(tiny.labels_path), "--scale", "0"])
    assert "--crop" in err([str(tiny.labels_path), "--crop", "1,2,3"])
    assert "holds one frame" in err([str(tiny.labels_path), "-o",
                                     str(tmp_path / "x.png")])

    # Video not found: labels copied without their video.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(tiny.labels_path, alone / "preds.slp")
    tiny.video_path.rename(tiny.video_path.with_suffix(".moved"))
    try:
        assert "was not found" in err([str(alone / "preds.slp")])
    finally:
        tiny.video_path.with_suffix(".moved").rename(tiny.video_path)

    # No labeled frames in the file.
    from sleapish.io import load_file, save_file

    labels = load_file(tiny.labels_path)
    labels.labeled_frames = []
    empty = tmp_path / "empty.slp"
    save_file(labels, empty)
    assert "No labeled frames to render" in err([str(empty), "-o",
                                                 str(tmp_path / "e.mp4")])
    # Nothing (not even a temporary file) was written by the failed runs.
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*tmp*"))
    assert not list(tmp_path.glob("*.png"))


def test_failed_render_leaves_no_partial_file(tiny, tmp_path, monkeypatch):
    import sleap_io as sio

    def boom(labels, path, **kwargs):
        path.write_bytes(b"partial")
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(sio, "render_video", boom)
    out = tmp_path / "out.mp4"
    assert main([str(tiny.labels_path), "-o", str(out), "--no-progress"]) == 2
    assert list(tmp_path.iterdir()) == []


def test_parse_frames():
    assert parse_frames("0-2, 5,1", 10) == [0, 1, 2, 5]
    assert parse_frames(None, 10) is None and parse_frames(" ", 10) is None
    with pytest.raises(ValueError, match="must look like"):
        parse_frames("3-1", 10)


def test_python_module_entry_point():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "sleapish.render", "--help"],
                       capture_output=True, text=True, timeout=120, env=clean_env())
    assert r.returncode == 0 and "sleapish-render" in r.stdout
    assert render_mod.__doc__.splitlines()[0].startswith("`sleapish-render`")


def test_unlabeled_frames_render_only_when_requested(tiny, tmp_path):
    from sleapish.io import load_file, save_file

    labels = load_file(tiny.labels_path)
    labels.labeled_frames = [lf for lf in labels.labeled_frames
                             if lf.frame_idx not in (2, 3)]
    sparse = tmp_path / "sparse.slp"
    save_file(labels, sparse)
    assert iio.imread(render(sparse, tmp_path / "a.mp4", show_progress=False)).shape[0] == 6
    frames = iio.imread(render(sparse, tmp_path / "b.mp4", frames="0-4", crf=10,
                               show_progress=False))
    assert frames.shape[0] == 5
    raw = iio.imread(tiny.video_path)
    # Frame 2 has no labels: the bare (grey) video frame (up to H.264 chroma bleed).
    assert np.percentile(np.ptp(frames[2].astype(int), axis=-1), 99) < 12
    assert np.percentile(np.ptp(frames[1].astype(int), axis=-1), 99) > 80
    assert np.abs(frames[2].astype(int) - raw[2].astype(int)).mean() < 3


def test_cli_given_a_video_or_asking_for_help(tiny, capsys):
    assert main([str(tiny.video_path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sleapish-render: error: ") and "\n" not in err
    assert "is a video, not a labels or predictions file" in err
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "skia" not in text and "fallback" not in text  # no maintainer notes
    assert "--no-edges" in text and "--show-edges" not in text  # one form per option
    assert "default 25" in text

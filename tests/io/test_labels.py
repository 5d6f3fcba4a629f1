"""Loading/saving labels and videos: path resolution and clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import sleap_io as sio

import sleapish
from sleapish.io import LabelsFileError, VideoReadError


def test_synthetic_labels_load_with_frames(synthetic):
    labels = sleapish.load_file(synthetic.labels_path)
    assert len(labels) == 32
    assert labels.video.shape == (32, 128, 128, 1)
    assert [t.name for t in labels.tracks] == ["animal_0", "animal_1"]
    pts = np.stack([lf.instances[0].numpy() for lf in labels])
    np.testing.assert_allclose(pts, synthetic.points[:, 0], atol=1e-4)
    frames = sleapish.read_frames(labels.video, [0, 31])
    assert frames.shape == (2, 128, 128, 1) and frames.dtype == np.uint8
    # The head blob (brightest part) is where the labels say it is.
    x, y = np.round(synthetic.points[0, 0, 0]).astype(int)
    assert frames[0, y, x, 0] > 150 > np.median(frames[0])


def test_moved_video_found_by_search_path(synthetic, tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "media").mkdir()
    shutil.copy(synthetic.labels_path, tmp_path / "labels" / "moved.slp")
    shutil.copy(synthetic.video_path, tmp_path / "media" / synthetic.video_path.name)
    # The stored path is the original absolute path; make it look like a Windows path.
    labels = sleapish.load_file(tmp_path / "labels" / "moved.slp", open_videos=False)
    labels.video.replace_filename("C:\\Users\\lab\\" + synthetic.video_path.name,
                                  open=False)
    sio.save_slp(labels, str(tmp_path / "labels" / "moved.slp"))
    shutil.copy(synthetic.video_path, tmp_path / "elsewhere.mp4")

    with pytest.raises(FileNotFoundError) as err:
        sleapish.load_file(tmp_path / "labels" / "moved.slp")
    msg = str(err.value)
    assert "synthetic.mp4" in msg and "Tried:" in msg
    assert str(tmp_path / "labels" / "synthetic.mp4") in msg

    labels = sleapish.load_file(tmp_path / "labels" / "moved.slp",
                                search_paths=[tmp_path / "media"])
    assert labels.video.filename == (tmp_path / "media" / "synthetic.mp4").as_posix()
    assert labels.video.grayscale is True
    assert sleapish.read_frames(labels.video, [3]).shape == (1, 128, 128, 1)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.slp"):
        sleapish.load_file(tmp_path / "nope.slp")
    bad = tmp_path / "corrupt.slp"
    bad.write_bytes(b"this is not hdf5" * 10)
    with pytest.raises(LabelsFileError, match="corrupt.slp"):
        sleapish.load_file(bad)
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        sleapish.load_video(tmp_path / "missing.mp4")
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoReadError, match="fake.mp4"):
        sleapish.load_video(fake)


def test_empty_labels(tmp_path):
    path = tmp_path / "empty.slp"
    sleapish.save_file(sio.Labels(skeletons=[sio.Skeleton(["a", "b"])]), path)
    assert len(sleapish.load_file(path)) == 0
    with pytest.raises(LabelsFileError, match="no labeled frames"):
        sleapish.load_file(path, allow_empty=False)


def test_read_frames_errors_name_frame(synthetic):
    labels = sleapish.load_file(synthetic.labels_path)
    with pytest.raises(VideoReadError, match=r"out of range.*\[32\]"):
        sleapish.read_frames(labels.video, [0, 32])
    assert sleapish.read_frames(labels.video, []).shape == (0, 128, 128, 1)


def test_save_is_atomic(synthetic, tmp_path, monkeypatch):
    labels = sleapish.load_file(synthetic.labels_path)
    out = tmp_path / "out.slp"
    sleapish.save_file(labels, out)
    assert len(sleapish.load_file(out)) == 32
    size = out.stat().st_size

    def fail(*args, **kwargs):
        with open(args[1], "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(sio, "save_file", fail)
    with pytest.raises(OSError, match="disk full"):
        sleapish.save_file(labels, out)
    assert out.stat().st_size == size
    assert [p.name for p in tmp_path.iterdir()] == ["out.slp"]


def test_grayscale_from_color_video_is_sleaps_blue_channel(tmp_path):
    # SLEAP read BGR frames with OpenCV and kept channel 0 (blue) for grayscale.
    frames = np.zeros((3, 32, 48, 3), dtype=np.uint8)
    frames[..., 0], frames[..., 1], frames[..., 2] = 200, 120, 40  # R, G, B
    path = tmp_path / "color.mp4"
    sio.save_video(frames, path, crf=0)
    video = sleapish.load_video(path, grayscale=True)
    gray = sleapish.read_frames(video, [0, 2])
    assert gray.shape == (2, 32, 48, 1)
    assert abs(float(gray.mean()) - 40) < 6  # blue, not red (200) or luma (~134)
    color = sleapish.read_frames(sleapish.load_video(path, grayscale=False), [1])
    assert color.shape == (1, 32, 48, 3)
    np.testing.assert_allclose(color.reshape(-1, 3).mean(0), [200, 120, 40], atol=6)

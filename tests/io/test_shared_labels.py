"""Every .slp file SLEAP wrote in ../shared/data loads, videos resolved, frames readable."""

from __future__ import annotations

import numpy as np
import pytest

import sleapish
from sleapish.io.skeleton_json import skeletons_match


def _slp_files(shared_data):
    return sorted(shared_data.rglob("*.slp"))


def test_every_slp_loads_with_readable_frames(shared_data):
    files = _slp_files(shared_data)
    assert len(files) >= 20
    for f in files:
        labels = sleapish.load_file(f, search_paths=[shared_data / "videos"])
        assert len(labels) > 0, f
        for video in labels.videos:
            assert video.backend is not None, (f, video.filename)
        lf = labels[0]
        frame = sleapish.read_frames(lf.video, [lf.frame_idx])
        h, w, c = lf.video.shape[1:]
        assert frame.shape == (1, h, w, c), f
        assert frame.std() > 1.0, f  # a real image, not a blank


def test_known_contents(shared_data):
    videos = [shared_data / "videos"]
    clip = sleapish.load_file(shared_data / "labels" / "clip.slp", search_paths=videos)
    assert len(clip) == 1500 and clip.video.shape == (1500, 1024, 1024, 1)
    assert sorted(t.name for t in clip.tracks) == ["female", "male"]
    assert len(clip.skeleton.nodes) == 13
    # SLEAP's edge order (insertion order), which fixes PAF channel order.
    assert [(e.source.name, e.destination.name) for e in clip.skeleton.edges][:2] == [
        ("thorax", "head"), ("thorax", "abdomen")]
    pairs = sleapish.load_file(shared_data / "labels" / "centered_pair_predictions.slp",
                               search_paths=videos)
    assert len(pairs) == 1100 and len(pairs.tracks) == 27
    assert len(pairs.skeleton.nodes) == 24
    robot = sleapish.load_file(shared_data / "labels" / "small_robot_minimal.slp",
                               search_paths=videos)
    assert robot.video.shape[1:] == (320, 560, 3)
    # Stored with a Windows drive path; found by file name.
    gt = sleapish.load_file(
        shared_data / "models" / "minimal_robot.UNet.single_instance" / "labels_gt.train.slp",
        search_paths=videos)
    assert gt.video.filename.endswith("videos/small_robot.mp4")


def test_pkg_slp_reads_embedded_frame_without_source_video(shared_data, tmp_path):
    import shutil

    pkg = tmp_path / "minimal_instance.pkg.slp"
    shutil.copy(shared_data / "labels" / "minimal_instance.pkg.slp", pkg)
    labels = sleapish.load_file(pkg)  # no search path: the frame is inside the file
    lf = labels[0]
    embedded = sleapish.read_frames(lf.video, [lf.frame_idx])
    plain = sleapish.load_file(shared_data / "labels" / "minimal_instance.slp",
                               search_paths=[shared_data / "videos"])
    from_video = sleapish.read_frames(plain.video, [plain[0].frame_idx])
    assert embedded.shape == from_video.shape == (1, 384, 384, 1)
    # Same frame, stored losslessly (PNG) vs decoded from the mp4.
    assert np.abs(embedded.astype(int) - from_video.astype(int)).mean() < 2.0
    assert skeletons_match(labels.skeleton, plain.skeleton)


@pytest.mark.parametrize("name", ["centered_pair_low_quality.mp4", "small_robot.mp4"])
def test_videos_open(shared_data, name):
    video = sleapish.load_video(shared_data / "videos" / name)
    assert len(video) > 0
    assert sleapish.read_frames(video, [0]).dtype == np.uint8

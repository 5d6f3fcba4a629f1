"""Decoded pixels are SLEAP's: the pinned OpenCV decoder (4.11/4.12) on SLEAP's videos.

SLEAP 1.4.1 decodes with OpenCV 4.x. OpenCV 4.13 and 5.0 bundle an FFmpeg that
decodes colour H.264 differently (``small_robot.mp4`` frame 0: mean difference 3.1
grey levels, max 25), which moved a single-instance model's prediction by up to
14.6 px. The values below were recorded from OpenCV 4.11.0.86 (the version SLEAP
runs on here) and are identical under 4.12.0.88.
"""

from __future__ import annotations

import numpy as np
import pytest

import sleapish

pytestmark = pytest.mark.shared_data

# frame index -> (per-channel sum of the RGB frame, pixel (y=100, x=200), pixel (250, 400))
SMALL_ROBOT_PIXELS = {
    0: ([25309033, 16099698, 8670826], [130, 86, 46], [156, 106, 60]),
    83: ([25224875, 16032710, 8660319], [131, 87, 47], [158, 108, 62]),
    165: ([25439879, 16223351, 8856377], [129, 87, 47], [157, 110, 60]),
}


def test_small_robot_frames_decode_as_sleaps_opencv(shared_data):
    video = sleapish.load_video(shared_data / "videos" / "small_robot.mp4")
    inds = sorted(SMALL_ROBOT_PIXELS)
    frames = sleapish.read_frames(video, inds)
    assert frames.shape == (3, 320, 560, 3) and frames.dtype == np.uint8
    for frame, idx in zip(frames, inds):
        sums, p1, p2 = SMALL_ROBOT_PIXELS[idx]
        assert frame.reshape(-1, 3).astype(np.int64).sum(0).tolist() == sums, idx
        assert frame[100, 200].tolist() == p1, idx
        assert frame[250, 400].tolist() == p2, idx


def test_opencv_pin_is_a_sleap_compatible_decoder():
    import cv2

    major, minor = (int(x) for x in cv2.__version__.split(".")[:2])
    assert (major, minor) in ((4, 11), (4, 12)), cv2.__version__


def test_closed_videos_open_on_first_read(synthetic, tmp_path):
    """Videos of `Labels.extract(...)` and unopened `sio.Video`s are opened on read,
    as SLEAP opens them; only a missing file is an error, naming the file."""
    import shutil

    import sleap_io as sio

    from sleapish.io import VideoReadError
    from sleapish.io.video import video_shape

    labels = sleapish.load_file(synthetic.labels_path)
    expected = sleapish.read_frames(labels.video, [0, 3])
    sub = labels.extract([0, 1])
    assert sub.video.backend is None  # sleap-io leaves the copy closed
    np.testing.assert_array_equal(sleapish.read_frames(sub.video, [0, 3]), expected)

    closed = sio.Video(str(labels.video.filename), open_backend=False)
    assert video_shape(closed)[1:] == expected.shape[1:]
    np.testing.assert_array_equal(sleapish.read_frames(closed, [3]), expected[1:])

    moved = tmp_path / "gone.mp4"
    shutil.copy(labels.video.filename, moved)
    gone = sio.Video(str(moved), open_backend=False)
    moved.unlink()
    with pytest.raises(VideoReadError, match="gone.mp4"):
        sleapish.read_frames(gone, [0])

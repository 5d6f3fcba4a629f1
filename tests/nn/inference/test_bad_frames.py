"""A video damaged in the middle: bad frames are skipped (or, strictly, an error)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import sleapish
from sleapish.io.video import VideoReadError
from sleapish.nn.inference import load_model, main


@pytest.fixture(scope="module")
def damaged_video(tmp_path_factory):
    """30 frames of noise as MPEG-4, 3000 bytes overwritten at the middle of the file:
    frames in the middle no longer decode, the last one does."""
    import cv2

    folder = tmp_path_factory.mktemp("damaged")
    path = folder / "clean.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48),
                             isColor=False)
    rng = np.random.default_rng(0)
    for _ in range(30):
        writer.write((rng.random((48, 64)) * 255).astype(np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    start = len(data) // 2
    data[start:start + 3000] = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    damaged = folder / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    video = sleapish.load_video(damaged)
    bad = []
    for i in range(len(video)):
        try:
            sleapish.read_frames(video, [i])
        except VideoReadError:
            bad.append(i)
    assert bad and bad[0] > 0 and bad[-1] < len(video) - 1  # damage in the middle
    return damaged, bad


def test_bad_frames_are_skipped_with_a_warning_and_the_tracker_carries_on(
        damaged_video, shared_data, caplog):
    path, bad = damaged_video
    predictor = load_model(shared_data / "models" / "minimal_instance.UNet.bottomup",
                           progress_reporting="none", tracker="simple")
    with caplog.at_level(logging.WARNING, logger="sleapish"):
        labels = predictor.predict(sleapish.load_video(path))
    assert predictor.skipped_frames == bad
    assert sorted(lf.frame_idx for lf in labels) == [i for i in range(30) if i not in bad]
    assert f"Skipping frame {bad[0]} of" in caplog.text


def test_cli_records_skipped_frames_and_strict_frames_stops(damaged_video, shared_data,
                                                            tmp_path):
    path, bad = damaged_video
    model = str(shared_data / "models" / "minimal_instance.UNet.bottomup")
    out = tmp_path / "p.slp"
    assert main([str(path), "-m", model, "-o", str(out), "--verbosity", "none",
                 "--tracking.tracker", "simple"]) == 0
    labels = sleapish.load_file(out)
    assert labels.provenance["skipped_frames"] == bad
    assert max(lf.frame_idx for lf in labels) == 29  # went on past the damage
    with pytest.raises(VideoReadError, match=f"Frame {bad[0]} of .* could not be decoded"):
        main([str(path), "-m", model, "-o", str(tmp_path / "s.slp"), "--verbosity",
              "none", "--strict-frames"])
    assert not (tmp_path / "s.slp").exists()

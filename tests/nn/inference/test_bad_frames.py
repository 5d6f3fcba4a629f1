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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_points_refined_outside_the_image_become_invisible_unless_kept(shared_data):
    from sleapish.nn.inference.results import drop_outside_points

    out = {"instance_peaks": np.array([[[[10.0, 20.0], [-77.0, -211.0]],
                                        [[63.4, 47.4], [63.6, 10.0]]]], np.float32),
           "instance_peak_vals": np.ones([1, 2, 2], np.float32)}
    assert drop_outside_points(out, (48, 64)) == 2  # (-77, -211) and x = 63.6 > 63.5
    np.testing.assert_array_equal(np.isnan(out["instance_peaks"][0, :, :, 0]),
                                  [[False, True], [False, True]])
    assert np.isnan(out["instance_peak_vals"][0, 1, 1])
    # Through a predictor, on real frames: default drops, keep_outside_points keeps.
    predictor = load_model(shared_data / "models" / "minimal_instance.UNet.bottomup",
                           progress_reporting="none")
    video = sleapish.load_video(shared_data / "videos" / "centered_pair_low_quality.mp4")
    real = predictor.inference_model.predict_on_batch(video[:1], numpy=True)
    shifted = dict(real, instance_peaks=real["instance_peaks"] - 1000.0)
    predictor.inference_model.predict_on_batch = lambda batch, numpy=True: dict(shifted)
    lf = predictor.predict(video[:1])[0]
    assert all(np.isnan(inst.numpy()).all() for inst in lf.instances)
    predictor.keep_outside_points = True
    lf = predictor.predict(video[:1])[0]
    assert all(np.isfinite(inst.numpy()).any() for inst in lf.instances)

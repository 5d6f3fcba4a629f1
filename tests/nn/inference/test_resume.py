"""Resumable prediction: interrupted runs resume to the uninterrupted run's output."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from clean_env import clean_env

import sleapish
from sleapish.nn.data.providers import VideoReader
from sleapish.nn.inference import load_model
from sleapish.nn.inference.checkpoint import (
    FAULT_ENV,
    CheckpointError,
    PredictionCheckpoint,
    checkpoint_path,
)
from sleapish.nn.tracking import make_tracker_by_name

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`

BOTTOMUP = "minimal_instance.UNet.bottomup"


class _Interrupt(Exception):
    pass


class _StopAfterFirstSave(PredictionCheckpoint):
    def save(self, frames, tracker, n_consumed):
        super().save(frames, tracker, n_consumed)
        raise _Interrupt  # the run dies right after its first snapshot


def _summary(labels):
    out = []
    for lf in sorted(labels.labeled_frames, key=lambda lf: lf.frame_idx):
        insts = sorted(lf.instances, key=lambda i: float(np.nansum(i.numpy())))
        out.append((lf.frame_idx, [(i.numpy(), round(float(i.score), 5),
                                    i.track.name if i.track else None) for i in insts]))
    return out


def _assert_equal(a, b):
    assert [f for f, _ in a] == [f for f, _ in b]
    for (_, x), (_, y) in zip(a, b):
        assert len(x) == len(y)
        for (px, sx, tx), (py, sy, ty) in zip(x, y):
            np.testing.assert_allclose(px, py, atol=1e-4)
            assert sx == sy and tx == ty


@pytest.mark.parametrize("tracker", ["simple", "flow", "simplemaxtracks"])
def test_interrupted_prediction_resumes_to_the_same_labels(shared_data, tmp_path, tracker):
    video = sleapish.load_video(shared_data / "videos" / "centered_pair_low_quality.mp4")
    predictor = load_model(shared_data / "models" / BOTTOMUP, progress_reporting="none")

    def fresh_tracker():
        return make_tracker_by_name(tracker=tracker, max_tracking="max" in tracker,
                                    max_tracks=2)

    frames = list(range(24))
    predictor.tracker = fresh_tracker()
    want = _summary(predictor.predict(VideoReader(video, example_indices=frames)))
    path = tmp_path / "out.slp.resume"
    predictor.tracker = fresh_tracker()
    with pytest.raises(_Interrupt):
        predictor.predict(VideoReader(video, example_indices=frames),
                          checkpoint=_StopAfterFirstSave(path, "k", every_frames=8))
    assert path.is_file()
    saved, _, consumed = PredictionCheckpoint(path, "k").load()
    assert consumed == len(saved) == 8
    predictor.tracker = fresh_tracker()  # the checkpoint's tracker replaces it
    predicted = []
    predictor.progress_callback = predicted.append
    got = predictor.predict(VideoReader(video, example_indices=frames),
                            checkpoint=PredictionCheckpoint(path, "k", every_frames=8))
    predictor.progress_callback = None
    assert sum(predicted) == 16  # only the frames after the snapshot
    _assert_equal(_summary(got), want)
    with pytest.raises(CheckpointError, match="other models or options"):
        PredictionCheckpoint(path, "another job").load()


def test_kill_9_then_resume_gives_the_uninterrupted_output(shared_data, tmp_path):
    model = str(shared_data / "models" / BOTTOMUP)
    video = str(shared_data / "videos" / "centered_pair_low_quality.mp4")
    common = [video, "-m", model, "--frames", "0-31", "--tracking.tracker", "flow",
              "--verbosity", "none", "--resume", "--checkpoint-frames", "8"]
    env = clean_env(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", **{FAULT_ENV: "16"})
    out = tmp_path / "killed.slp"
    cmd = [sys.executable, "-m", "sleapish.nn.inference", *common, "-o", str(out)]
    killed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert checkpoint_path(out).is_file() and not out.exists()
    # Without --resume the checkpoint is reported, in one line.
    plain = [a for a in cmd if a != "--resume"]
    del env[FAULT_ENV]
    refused = subprocess.run(plain, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2
    assert "add --resume to continue it, or --overwrite" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert out.exists() and not checkpoint_path(out).exists()
    whole = tmp_path / "whole.slp"
    from sleapish.nn.inference import main

    assert main([*[a for a in common if a != "--resume"], "-o", str(whole)]) == 0
    _assert_equal(_summary(sleapish.load_file(out)), _summary(sleapish.load_file(whole)))

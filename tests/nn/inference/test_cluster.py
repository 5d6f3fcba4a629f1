"""`sleapish-track --cluster` / `track_many` on a local Ray instance (2 workers)."""

from __future__ import annotations

import numpy as np
import pytest

import sleapish
from sleapish.nn.inference import load_model
from sleapish.nn.inference.cluster import FAULT_ENV, track_many

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`

BOTTOMUP = "minimal_instance.UNet.bottomup"


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def videos(shared_data, tmp_path_factory):
    """Three 8-frame videos cut from centered_pair_low_quality.mp4, and a broken one."""
    import cv2

    folder = tmp_path_factory.mktemp("videos")
    source = sleapish.load_video(shared_data / "videos" / "centered_pair_low_quality.mp4")
    paths = []
    for k in range(3):
        frames = sleapish.read_frames(source, list(range(10 * k, 10 * k + 8)))
        path = folder / f"v{k}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                                 (frames.shape[2], frames.shape[1]), isColor=False)
        for f in frames:
            writer.write(f[..., 0])
        writer.release()
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def model(shared_data):
    return str(shared_data / "models" / BOTTOMUP)


def _points(path):
    labels = sleapish.load_file(path)
    return [np.stack([i.numpy() for i in lf.instances]) if lf.instances else None
            for lf in sorted(labels.labeled_frames, key=lambda lf: lf.frame_idx)]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(x, y, atol=1e-4)


def test_outputs_equal_plain_prediction_and_reruns_skip(ray_local, videos, model,
                                                        tmp_path):
    out = tmp_path / "out"
    res = track_many(videos, model, workers=2, output_dir=out)
    assert [r.status for r in res] == ["done"] * 3
    assert all(r.frames == 8 for r in res)
    predictor = load_model(model, progress_reporting="none")
    for r, v in zip(res, videos):
        want = predictor.predict(sleapish.load_video(v))
        _same(_points(r.output), [np.stack([i.numpy() for i in lf.instances])
                                  if lf.instances else None
                                  for lf in sorted(want.labeled_frames,
                                                   key=lambda lf: lf.frame_idx)])
    # A rerun skips every complete output; a deleted one is redone alone.
    assert [r.status for r in track_many(videos, model, workers=2, output_dir=out)] == \
        ["skipped"] * 3
    (out / "v1.avi.predictions.slp").unlink()
    again = track_many(videos, model, workers=2, output_dir=out)
    assert [r.status for r in again] == ["skipped", "done", "skipped"]
    # A changed option redoes everything.
    changed = track_many(videos, model, workers=2, output_dir=out, peak_threshold=0.3)
    assert [r.status for r in changed] == ["done"] * 3


def test_killed_worker_is_retried_and_a_broken_video_is_reported(
        ray_local, videos, model, tmp_path, monkeypatch):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"\x00" * 1000)
    marker = tmp_path / "killed"
    # The worker SIGKILLs itself after its first batch of v0.avi (mid-video), once.
    monkeypatch.setenv(FAULT_ENV, f"v0.avi:{marker}")
    res = track_many([*videos, broken], model, workers=2, output_dir=tmp_path / "out",
                     retries=2)
    by_name = {r.video.split("/")[-1]: r for r in res}
    assert marker.exists()  # the worker really died
    assert by_name["v0.avi"].status == "done" and by_name["v0.avi"].attempts == 2
    assert len(_points(by_name["v0.avi"].output)) == 8
    assert by_name["broken.avi"].status == "failed"
    assert "broken.avi" in by_name["broken.avi"].error
    assert by_name["v1.avi"].status == by_name["v2.avi"].status == "done"
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_split_frames_gives_the_unsplit_instances(ray_local, videos, model, tmp_path):
    whole = track_many(videos[:1], model, workers=2, output_dir=tmp_path / "whole")
    split = track_many(videos[:1], model, workers=2, output_dir=tmp_path / "split",
                       split_frames=3)
    assert split[0].status == "done" and split[0].frames == 8
    _same(_points(split[0].output), _points(whole[0].output))


def test_cli_exit_status_and_summary(ray_local, videos, model, tmp_path, capsys):
    from sleapish.nn.inference import main

    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"junk")
    code = main([str(videos[2]), str(broken), "-m", model, "--cluster", "--workers", "2",
                 "-o", str(tmp_path / "o"), "--verbosity", "none"])
    assert code == 1
    text = capsys.readouterr().out
    assert "video" in text and "status" in text and "failed" in text and "done" in text
    # Outputs keep the inputs' layout relative to their common folder.
    found = list((tmp_path / "o").rglob("v2.avi.predictions.slp"))
    assert len(found) == 1 and found[0].relative_to(tmp_path / "o").parts[-2] == \
        videos[2].parent.name

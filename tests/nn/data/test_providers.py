"""The labels and video readers (nn/data/providers.py)."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

import sleapish
from sleapish.nn._backend import tf
from sleapish.nn.data.providers import LabelsReader, VideoReader


@pytest.fixture(scope="module")
def labels(synthetic):
    return sleapish.load_file(synthetic.labels_path)


def test_labels_reader_keys_and_values(labels, synthetic):
    reader = LabelsReader(labels)
    assert len(reader) == 32
    ds = reader.make_dataset()
    spec = ds.element_spec
    assert set(reader.output_keys) == set(spec)
    assert spec["image"].shape.as_list() == [128, 128, 1]
    ex = next(iter(ds.skip(3)))
    assert ex["image"].dtype == tf.uint8 and tuple(ex["image"].shape) == (128, 128, 1)
    np.testing.assert_allclose(ex["instances"].numpy(), synthetic.points[3], atol=1e-4)
    np.testing.assert_array_equal(ex["track_inds"], [0, 1])
    assert int(ex["n_tracks"]) == 2 and int(ex["frame_ind"]) == 3
    np.testing.assert_array_equal(ex["raw_image_size"], [128, 128, 1])
    np.testing.assert_array_equal(ex["scale"], [1, 1])
    np.testing.assert_array_equal(ex["image"].numpy(), sleapish.read_frames(labels.video, [3])[0])


def test_labels_reader_user_instances_missing_points_and_errors(labels):
    skel = labels.skeleton
    video = labels.video
    pts = np.array([[1.0, 2.0], [np.nan, np.nan], [3.0, 4.0], [5.0, 6.0]])
    user = sio.Instance.from_numpy(pts, skel)
    pred = sio.PredictedInstance.from_numpy(pts + 1, skel)
    lfs = [sio.LabeledFrame(video=video, frame_idx=0, instances=[user, pred]),
           sio.LabeledFrame(video=video, frame_idx=1, instances=[pred])]
    mixed = sio.Labels(labeled_frames=lfs, videos=[video], skeletons=[skel])
    reader = LabelsReader(mixed)
    assert len(reader) == 1  # the prediction-only frame is skipped
    ex = next(iter(reader.make_dataset()))
    assert ex["instances"].shape == (1, 4, 2) and np.isnan(ex["instances"][0, 1]).all()
    np.testing.assert_array_equal(ex["track_inds"], [-1])
    assert len(LabelsReader(mixed, user_instances_only=False)) == 2
    only_preds = sio.Labels(labeled_frames=lfs[1:], videos=[video], skeletons=[skel])
    with pytest.raises(ValueError, match="no labeled frames with user instances"):
        LabelsReader(only_preds)


def test_video_reader_streams_subset(synthetic):
    reader = VideoReader.from_filepath(synthetic.video_path, example_indices=[5, 1, 30])
    exs = list(reader.make_dataset())
    assert [int(e["frame_ind"]) for e in exs] == [5, 1, 30]
    assert exs[0]["image"].shape == (128, 128, 1)
    video = sleapish.load_video(synthetic.video_path)
    np.testing.assert_array_equal(exs[2]["image"].numpy(),
                                  sleapish.read_frames(video, [30])[0])
    with pytest.raises(ValueError, match=r"out of range.*\[40\]"):
        VideoReader(video, example_indices=[0, 40])

"""Providers, dataset ops, key transformers and label splits."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

import sleapish
from sleapish.nn._backend import tf
from sleapish.nn.data.dataset_ops import (
    Batcher,
    LambdaFilter,
    Preloader,
    Repeater,
    Shuffler,
    Unbatcher,
)
from sleapish.nn.data.general import KeyFilter, KeyMapper, KeyRenamer, LambdaMap
from sleapish.nn.data.providers import LabelsReader, VideoReader
from sleapish.nn.data.training import split_labels_by_inds, split_labels_train_val


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


def test_batcher_pads_ragged_with_nan_and_minus_one():
    def gen():
        yield {"x": np.ones((1, 2, 2), np.float32), "t": np.array([3], np.int32)}
        yield {"x": np.ones((3, 2, 2), np.float32), "t": np.array([1, 2, 0], np.int32)}

    ds = tf.data.Dataset.from_generator(gen, output_signature={
        "x": tf.TensorSpec([None, 2, 2], tf.float32), "t": tf.TensorSpec([None], tf.int32)})
    (batch,) = [{k: v.numpy() for k, v in b.items()}
                for b in Batcher(batch_size=2).transform_dataset(ds)]
    assert batch["x"].shape == (2, 3, 2, 2)
    assert np.isnan(batch["x"][0, 1:]).all() and (batch["x"][1] == 1).all()
    np.testing.assert_array_equal(batch["t"], [[3, -1, -1], [1, 2, 0]])
    unb = list(Unbatcher().transform_dataset(Batcher(batch_size=2).transform_dataset(ds)))
    assert len(unb) == 2


def test_dataset_ops_and_key_transformers():
    ds = tf.data.Dataset.range(10).map(lambda i: {"a": i, "b": 2 * i})
    vals = [int(e["a"]) for e in Shuffler(buffer_size=10).transform_dataset(ds)]
    assert sorted(vals) == list(range(10))
    assert len(list(Repeater(epochs=3).transform_dataset(ds))) == 30
    assert len(list(LambdaFilter(lambda e: e["a"] % 2 == 0).transform_dataset(ds))) == 5
    assert len(list(Preloader().transform_dataset(ds))) == 10
    e = next(iter(KeyRenamer(["a"], ["c"]).transform_dataset(ds)))
    assert set(e) == {"b", "c"}
    e = next(iter(KeyFilter(["b"]).transform_dataset(ds.skip(2))))
    assert set(e) == {"b"} and int(e["b"]) == 4
    e = next(iter(LambdaMap(lambda a, b: a + b, ["a", "b"], ["s"]).transform_dataset(
        ds.skip(1))))
    assert int(e["s"]) == 3
    x, y = next(iter(KeyMapper([{"a": "input"}, {"b": "Head"}]).transform_dataset(ds)))
    assert set(x) == {"input"} and set(y) == {"Head"}
    with pytest.raises(KeyError, match=r"KeyFilter needs.*missing \['z'\]"):
        KeyFilter(["z"]).transform_dataset(ds)


def test_splits(labels):
    tr, tr_inds, va, va_inds = split_labels_train_val(labels, 0.25, seed=1)
    assert len(tr) == 24 and len(va) == 8
    assert sorted(np.concatenate([tr_inds, va_inds])) == list(range(32))
    again = split_labels_train_val(labels, 0.25, seed=1)
    np.testing.assert_array_equal(again[3], va_inds)
    assert va[0].frame_idx == labels[int(va_inds[0])].frame_idx
    one = split_labels_by_inds(labels, [4])
    _, a, _, b = split_labels_train_val(one, 0.1)
    assert list(a) == list(b) == [0]
    with pytest.raises(IndexError, match=r"\[0, 32\)"):
        split_labels_by_inds(labels, [32])
    with pytest.raises(ValueError, match="empty"):
        split_labels_train_val(sio.Labels(), 0.1)

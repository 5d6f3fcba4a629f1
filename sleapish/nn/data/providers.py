"""Data providers: the first dataset of a pipeline (SLEAP's `providers`).

`LabelsReader` yields one example per labeled frame; points come from arrays built
once at construction (graph lookups, no Python per example) and frames are decoded
on demand through the pinned video reader. `VideoReader` streams any subset of a
video's frames without loading the whole video.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import attrs
import numpy as np

from sleapish.errors import InputNotFoundError, InvalidTypeError, InvalidValueError
from sleapish.io.video import ensure_open, read_frames, video_shape


def _frame_reader(videos):
    """A numpy function `(video_ind, frame_ind) -> uint8 (h, w, c)`.

    Thread-safe: :func:`~sleapish.io.video.read_frames` locks each video object.
    """

    def read(video_ind, frame_ind):
        return read_frames(videos[int(video_ind)], [int(frame_ind)])[0]

    return read


def _static_image_shape(videos) -> List[Optional[int]]:
    shapes = {tuple(s[1:]) for s in map(video_shape, videos) if s is not None}
    if len(shapes) == 1:
        return list(next(iter(shapes)))
    channels = {s[-1] for s in shapes}
    return [None, None, channels.pop() if len(channels) == 1 else None]


@attrs.define
class LabelsReader:
    """Examples from the labeled frames of a `sleap_io.Labels`.

    Keys: `"image"` uint8 `(h, w, c)`, `"instances"` float32
    `(n_instances, n_nodes, 2)` (NaN for missing points), `"skeleton_inds"` int32
    `(n_instances,)`, `"track_inds"` int32 `(n_instances,)` (-1: no track),
    `"n_tracks"` int32, `"scale"` float32 `(2,)` (1, 1), `"video_ind"` int32,
    `"frame_ind"` int64, `"raw_image_size"` int32 `(3,)`, `"example_ind"` int64.

    Attributes:
        labels: The labels.
        user_instances_only: Use only user (manually labeled) instances, as SLEAP
            does for training; frames without any are skipped.
        with_track_only: Keep only instances that have a track.
        example_indices: Labeled-frame indices to use (all when `None`).
        include_empty: Keep frames without usable instances (for prediction: every
            labeled frame is an example, `"instances"` may have 0 rows).

    Raises:
        ValueError: If no frame has a usable instance (e.g. labels with only
            predictions and `user_instances_only=True`) and `include_empty` is False.
    """

    labels: object
    user_instances_only: bool = True
    with_track_only: bool = False
    example_indices: Optional[Sequence[int]] = None
    include_empty: bool = False
    _cache: Dict[str, np.ndarray] = attrs.field(init=False, factory=dict, repr=False)

    @classmethod
    def from_filename(cls, filename: Union[str, os.PathLike], user_instances_only=True,
                      search_paths=None) -> LabelsReader:
        """Load a labels file (videos resolved with `search_paths`) and read it."""
        from sleapish.io.labels import load_file

        return cls(load_file(filename, search_paths=search_paths),
                   user_instances_only=user_instances_only)

    @classmethod
    def from_user_instances(cls, labels) -> LabelsReader:
        """Reader over the user-labeled frames of `labels`."""
        return cls(labels, user_instances_only=True)

    def __attrs_post_init__(self):
        labels = self.labels
        if not labels.skeletons:
            raise InvalidValueError("LabelsReader needs labels with a skeleton. Received: none")
        n_nodes = len(labels.skeletons[0].nodes)
        for s in labels.skeletons[1:]:
            if len(s.nodes) != n_nodes:
                sizes = [len(s.nodes) for s in labels.skeletons]
                raise InvalidValueError("LabelsReader needs skeletons with the same number "
                                        f"of nodes. Received: {sizes}")
        indices = (range(len(labels)) if self.example_indices is None
                   else self.example_indices)
        track_index = {id(t): i for i, t in enumerate(labels.tracks)}
        skel_index = {id(s): i for i, s in enumerate(labels.skeletons)}
        video_index = {id(v): i for i, v in enumerate(labels.videos)}
        rows, pts, tracks, skels, lengths = [], [], [], [], []
        for i in indices:
            lf = labels[int(i)]
            insts = lf.user_instances if self.user_instances_only else lf.instances
            if self.with_track_only:
                insts = [inst for inst in insts if inst.track is not None]
            if not insts and not self.include_empty:
                continue
            rows.append((int(i), video_index[id(lf.video)], int(lf.frame_idx)))
            for inst in insts:
                pts.append(inst.numpy().astype(np.float32))
                tracks.append(track_index.get(id(inst.track), -1))
                skels.append(skel_index.get(id(inst.skeleton), 0))
            lengths.append(len(insts))
        if not rows and self.include_empty:
            raise InvalidValueError(f"The labels have no labeled frames. Received: {len(labels)}")
        if not rows:
            kind = "user instances" if self.user_instances_only else "instances"
            raise InvalidValueError(f"The labels have no labeled frames with {kind} to train on. "
                                    f"Received: {len(labels)} labeled frames")
        self._cache.update(
            rows=np.array(rows, np.int64), lengths=np.array(lengths, np.int64),
            points=(np.stack(pts) if pts else np.zeros((0, n_nodes, 2), np.float32)),
            tracks=np.array(tracks, np.int32), skels=np.array(skels, np.int32))

    def __len__(self) -> int:
        """Number of examples (frames with usable instances)."""
        return len(self._cache["rows"])

    @property
    def videos(self) -> list:
        """The labels' videos."""
        return list(self.labels.videos)

    @property
    def tracks(self) -> list:
        """The labels' tracks."""
        return list(self.labels.tracks)

    @property
    def skeletons(self) -> list:
        """The labels' skeletons."""
        return list(self.labels.skeletons)

    @property
    def max_height_and_width(self):
        """Largest `(height, width)` over the videos."""
        shapes = [s for s in map(video_shape, self.labels.videos) if s is not None]
        return max(s[1] for s in shapes), max(s[2] for s in shapes)

    @property
    def output_keys(self) -> List[str]:
        """Keys of each example."""
        return ["image", "instances", "skeleton_inds", "track_inds", "n_tracks", "scale",
                "video_ind", "frame_ind", "raw_image_size", "example_ind"]

    def make_dataset(self, ds_index=None):
        """Dataset with one example per frame (in labels order).

        Args:
            ds_index: Optional dataset of positions (0..len-1) to read, e.g. shuffled.
        """
        from sleapish.nn._backend import tf  # imported on use: readers are cheap

        c = self._cache
        points = tf.RaggedTensor.from_row_lengths(c["points"], c["lengths"])
        tracks = tf.RaggedTensor.from_row_lengths(c["tracks"], c["lengths"])
        skels = tf.RaggedTensor.from_row_lengths(c["skels"], c["lengths"])
        rows = tf.constant(c["rows"])
        n_tracks = tf.constant(len(self.labels.tracks), tf.int32)
        reader = _frame_reader(self.labels.videos)
        img_shape = _static_image_shape(self.labels.videos)

        def fetch(i):
            row = rows[i]
            img = tf.numpy_function(reader, [row[1], row[2]], tf.uint8)
            img.set_shape(img_shape)
            return {
                "image": img,
                "instances": points[i],
                "skeleton_inds": skels[i],
                "track_inds": tracks[i],
                "n_tracks": n_tracks,
                "scale": tf.ones([2], tf.float32),
                "video_ind": tf.cast(row[1], tf.int32),
                "frame_ind": row[2],
                "raw_image_size": tf.shape(img, out_type=tf.int32),
                "example_ind": row[0],
            }

        ds = ds_index if ds_index is not None else tf.data.Dataset.range(len(self))
        return ds.map(fetch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


@attrs.define
class VideoReader:
    """Stream frames of one video.

    Keys: `"image"` uint8 `(h, w, c)`, `"frame_ind"` int64, `"video_ind"` int32 (0),
    `"scale"` float32 `(2,)`, `"raw_image_size"` int32 `(3,)`.

    Attributes:
        video: A `sleap_io.Video` (opened here if its backend is closed).
        example_indices: Frame indices to read (all frames when `None`).
    """

    video: object
    example_indices: Optional[Sequence[int]] = None

    @classmethod
    def from_filepath(cls, filename, example_indices=None,
                      grayscale: Optional[bool] = None) -> VideoReader:
        """Open a video file (pinned decoder) and read it."""
        from sleapish.io.video import load_video

        return cls(load_video(filename, grayscale=grayscale),
                   example_indices=example_indices)

    def __attrs_post_init__(self):
        ensure_open(self.video)
        n = len(self.video)
        if self.example_indices is None:
            self.example_indices = np.arange(n)
        inds = np.asarray(self.example_indices, np.int64).reshape(-1)
        bad = inds[(inds < 0) | (inds >= n)]
        if bad.size:
            raise InvalidValueError(f"Frame indices out of range for {self.video.filename} "
                                    f"({n} frames). Received: {bad[:5].tolist()}")
        self.example_indices = inds

    def __len__(self) -> int:
        """Number of frames to read."""
        return len(self.example_indices)

    @property
    def videos(self) -> list:
        """The one video (so `"video_ind"` 0 refers to it)."""
        return [self.video]

    @property
    def output_keys(self) -> List[str]:
        """Keys of each example."""
        return ["image", "frame_ind", "video_ind", "scale", "raw_image_size"]

    def make_dataset(self):
        """Dataset of frames in `example_indices` order, decoded as they are read."""
        from sleapish.nn._backend import tf  # imported on use: readers are cheap

        reader = _frame_reader([self.video])
        shape = list(video_shape(self.video)[1:])

        def fetch(frame_ind):
            img = tf.numpy_function(reader, [tf.constant(0, tf.int64), frame_ind],
                                    tf.uint8)
            img.set_shape(shape)
            return {"image": img, "frame_ind": frame_ind,
                    "video_ind": tf.constant(0, tf.int32),
                    "scale": tf.ones([2], tf.float32),
                    "raw_image_size": tf.constant(shape, tf.int32)}

        ds = tf.data.Dataset.from_tensor_slices(self.example_indices)
        return ds.map(fetch, num_parallel_calls=1, deterministic=True)


@attrs.define
class ArrayReader:
    """Provider over an in-memory uint8 array of frames `(n, height, width, c)`.

    Attributes:
        images: uint8 `(n_frames, height, width, channels)` (a 3-D array gets a
            channel axis).
    """

    images: np.ndarray

    def __attrs_post_init__(self):
        arr = np.asarray(self.images)
        if arr.ndim == 3:
            arr = arr[..., None]
        if arr.ndim != 4:
            raise InvalidValueError("Frames must be (n_frames, height, width[, channels]). "
                                    f"Received: shape {np.shape(self.images)}")
        self.images = arr

    def __len__(self) -> int:
        """Number of frames."""
        return len(self.images)

    @property
    def videos(self) -> list:
        """A single in-memory video."""
        import sleap_io as sio

        return [sio.Video(filename="array", backend=None, open_backend=False)]

    def make_dataset(self):
        """Dataset of `{"image", "frame_ind", "video_ind"}`."""
        from sleapish.nn._backend import tf

        n = len(self.images)
        return tf.data.Dataset.from_tensor_slices({
            "image": self.images, "frame_ind": np.arange(n, dtype=np.int64),
            "video_ind": np.zeros(n, np.int32)})


def make_provider(data, user_instances_only: bool = False):
    """A provider for any supported input.

    Args:
        data: A video path, a labels path (`.slp`), a `sleap_io.Video`, a
            `sleap_io.Labels`, a uint8 array `(n, h, w[, c])`, or a provider.
        user_instances_only: For labels: which instances to carry (ground truth).

    Raises:
        FileNotFoundError: For a path that does not exist.
        TypeError: For anything else.
    """
    import sleap_io as sio

    from sleapish.io import load_file, load_video

    if hasattr(data, "make_dataset"):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise InputNotFoundError(f"Input not found. Received: {str(data)!r}")
        if path.suffix.lower() == ".slp":
            data = load_file(path)
        else:
            return VideoReader(load_video(path))
    if isinstance(data, sio.Labels):
        return LabelsReader(data, user_instances_only=user_instances_only,
                            include_empty=True)
    if isinstance(data, sio.Video):
        return VideoReader(data)
    if isinstance(data, np.ndarray):
        return ArrayReader(data)
    raise InvalidTypeError("predict() takes a video or labels path, a Video, Labels, a uint8 "
                           f"array or a provider. Received: {type(data).__name__}")

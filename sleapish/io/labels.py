"""Loading and saving labels with sleap-io, plus SLEAP-style video path resolution.

`.slp` files store the video paths of the machine they were made on
(`tests/data/videos/x.mp4`, `D:/...`, `tests\\data\\x.mp4`). :func:`load_file` finds
such videos by file name in the search paths the caller gives and in the labels
file's own folder, as SLEAP's `search_path_hints` do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Sequence, Union

from sleapish.errors import InputNotFoundError, SleapishError
from sleapish.io.files import atomic_output
from sleapish.io.video import VIDEO_PLUGIN, VideoReadError, path_basename

PathLike = Union[str, os.PathLike]


class MissingVideoError(SleapishError, FileNotFoundError):
    """A video of a labels file is found neither where it was nor in the search paths.

    Attributes:
        video: The video path stored in the labels file.
        labels_path: The labels file.
        tried: Every path tried.
    """

    def __init__(self, video: str, labels_path, tried):
        self.video, self.labels_path, self.tried = video, Path(labels_path), list(tried)
        super().__init__(self.message("search_paths=[folder]"))

    def message(self, how: str) -> str:
        """The error text, telling the user to pass `how` (an argument or a
        command-line option) with the folder holding the video."""
        return (f"Video {self.video!r} of {self.labels_path} was not found. Tried: "
                f"{[str(c) for c in self.tried]}. Pass {how} with the folder holding "
                "it.")

    def cli_message(self) -> str:
        """The message the command-line tools print (they take `--video-paths`)."""
        return self.message("--video-paths FOLDER")


class LabelsFileError(SleapishError, ValueError):
    """A labels file could not be read (corrupt, wrong format, empty)."""


def _is_embedded(video, labels_path: Path) -> bool:
    dataset = (video.backend_metadata or {}).get("dataset") or ""
    return bool(dataset) and Path(str(video.filename)).resolve() == labels_path.resolve()


def _candidates(stored: str, labels_path: Path,
                search_paths: Sequence[PathLike]) -> List[Path]:
    name = path_basename(stored)
    cands: List[Path] = [Path(stored)]
    for sp in search_paths:
        sp = Path(sp)
        if sp.suffix and path_basename(str(sp)) == name:
            cands.append(sp)  # a file path given directly
        else:
            cands.append(sp / name)
    cands.append(labels_path.parent / stored.replace("\\", "/"))
    cands.append(labels_path.parent / name)
    out, seen = [], set()
    for c in cands:
        if str(c) not in seen:
            seen.add(str(c))
            out.append(c)
    return out


def resolve_video_paths(labels, labels_path: PathLike,
                        search_paths: Optional[Sequence[PathLike]] = None,
                        open_videos: bool = True) -> None:
    """Point every video of `labels` at an existing file, then open it.

    Embedded videos (frames stored inside a `.pkg.slp`) are opened from the labels
    file itself.

    Args:
        labels: A `sleap_io.Labels` loaded without opening its videos.
        labels_path: Path of the labels file (its folder is searched too).
        search_paths: Folders (or video file paths) searched for each video by
            file name.
        open_videos: If `True`, open each video backend with the pinned decoder.

    Raises:
        FileNotFoundError: If a video is found nowhere; the message lists every path
            tried.
        VideoReadError: If a found video cannot be opened.
    """
    labels_path = Path(labels_path)
    search_paths = [search_paths] if isinstance(search_paths, (str, Path)) else list(
        search_paths or [])
    for video in labels.videos:
        if _is_embedded(video, labels_path):
            if open_videos:
                video.open()
            continue
        stored = str((video.backend_metadata or {}).get("filename") or video.filename)
        tried = _candidates(stored, labels_path, search_paths)
        found = next((c for c in tried if c.is_file()), None)
        if found is None:
            raise MissingVideoError(stored, labels_path, tried)
        grayscale = (video.backend_metadata or {}).get("grayscale")
        video.replace_filename(found.as_posix(), open=False)
        if grayscale is not None:
            video.backend_metadata["grayscale"] = grayscale
        if open_videos:
            try:
                video.open(grayscale=grayscale, plugin=VIDEO_PLUGIN)
            except Exception as e:
                raise VideoReadError(
                    f"Video {found} (of {labels_path}) could not be opened "
                    f"({type(e).__name__}: {e}). Received: {stored!r}") from None


def _slp_edge_insert_order(path: Path) -> List[dict]:
    """Per skeleton, `{(source, destination): edge_insert_idx}` from a `.slp` file.

    SLEAP orders a skeleton's edges by `edge_insert_idx` (the order they were
    added), which sets the channel order of part affinity fields; sleap-io lists
    them in storage order. Returns an empty list when the metadata is unreadable.
    """
    import json

    import h5py

    try:
        with h5py.File(path, "r") as f:
            md = json.loads(f["metadata"].attrs["json"])
    except Exception:
        return []
    names = [n["name"] if isinstance(n, dict) else str(n) for n in md.get("nodes", [])]
    orders = []
    for sk in md.get("skeletons", []):
        types, order = [], {}
        for link in sk.get("links", []):
            t = link.get("type", {})
            if "py/reduce" in t:
                types.append(t["py/reduce"][1]["py/tuple"][0])
                edge_type = types[-1]
            elif "py/id" in t and 1 <= t["py/id"] <= len(types):
                edge_type = types[t["py/id"] - 1]
            else:
                edge_type = 1
            src, dst = link.get("source"), link.get("target")
            if edge_type != 1 or not isinstance(src, int) or not isinstance(dst, int):
                continue
            if src >= len(names) or dst >= len(names) or "edge_insert_idx" not in link:
                continue
            order[(names[src], names[dst])] = link["edge_insert_idx"]
        orders.append(order)
    return orders


def apply_sleap_edge_order(labels, path: PathLike) -> None:
    """Reorder each skeleton's edges as SLEAP orders them (by `edge_insert_idx`).

    Args:
        labels: `sleap_io.Labels` loaded from `path`.
        path: The `.slp` file, whose metadata holds the insertion indices.
    """
    orders = _slp_edge_insert_order(Path(path))
    for skeleton, order in zip(labels.skeletons, orders):
        if not order:
            continue
        key = {id(e): order.get((e.source.name, e.destination.name), len(order) + i)
               for i, e in enumerate(skeleton.edges)}
        skeleton.edges = sorted(skeleton.edges, key=lambda e: key[id(e)])


def load_file(path: PathLike, search_paths: Optional[Sequence[PathLike]] = None,
              open_videos: bool = True, allow_empty: bool = True, **kwargs):
    """Load a labels file (`.slp`, `.pkg.slp`, or any format sleap-io reads).

    Args:
        path: Path of the labels file.
        search_paths: Folders searched by file name for videos whose stored paths no
            longer exist. The labels file's folder is always searched.
        open_videos: If `True` (default), find and open every video; a video found
            nowhere is an error. If `False`, videos are left as stored (useful to
            inspect a file whose videos are elsewhere).
        allow_empty: If `False`, a file with no labeled frames is an error.
        **kwargs: Passed to `sleap_io.load_file` for non-`.slp` formats.

    Returns:
        A `sleap_io.Labels`. Skeleton edges of `.slp` files are in SLEAP's order
        (by insertion index), which fixes the channel order of PAF targets.

    Raises:
        FileNotFoundError: If the file, or one of its videos, is missing (the message
            lists the paths tried).
        LabelsFileError: If the file is corrupt or not a labels file, or is empty
            while `allow_empty=False`.

    Example:
        >>> labels = load_file("clip.slp", search_paths=["videos/"])
        >>> labels.video.shape
        (1500, 1024, 1024, 1)
    """
    import sleap_io as sio

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"Labels file not found. Received: {str(path)!r}")
    try:
        if path.suffix.lower() == ".slp":
            labels = sio.load_slp(str(path), open_videos=False)
            apply_sleap_edge_order(labels, path)
        else:
            labels = sio.load_file(str(path), **kwargs)
    except Exception as e:
        raise LabelsFileError(
            f"Could not read labels from {path}: not a valid labels file "
            f"({type(e).__name__}: {e}). Received: {str(path)!r}") from None
    if not allow_empty and len(labels) == 0:
        raise LabelsFileError(f"Labels file {path} has no labeled frames. Received: 0 "
                              "frames")
    if open_videos:
        resolve_video_paths(labels, path, search_paths)
    return labels


def save_file(labels, path: PathLike, **kwargs) -> None:
    """Save labels (format from the extension) without leaving a partial file.

    The file is written to a temporary name in the same folder and renamed into
    place only when complete.

    Args:
        labels: A `sleap_io.Labels`.
        path: Output path (`.slp`, `.pkg.slp`, `.nwb`, ...).
        **kwargs: Passed to `sleap_io.save_file` (e.g. `embed=True`).
    """
    import sleap_io as sio

    path = Path(path)
    fmt = kwargs.pop("format", None)
    if fmt is None and path.name.lower().endswith(".slp"):
        fmt = "slp"
    with atomic_output(path) as tmp:
        sio.save_file(labels, str(tmp), format=fmt, verbose=False, **kwargs)

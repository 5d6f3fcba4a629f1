"""What `sleapish-track` predicts on, and where each result goes.

The data path of SLEAP 1.4.1's `sleap-track` may be a video, a labels `.slp` file, a
folder (every video in it) or a `.csv` / `.txt` list of inputs. This module turns it
into jobs, one per input, each with its output path, and checks everything before
any model is loaded: a missing file, an unreadable video, a bad list file, frames out
of range or an unusable output path is a :class:`CLIInputError` naming the culprit, so
a run never stops halfway with some outputs written.

Rules (SLEAP 1.4.1's):
    - With more than one input, `.slp` files are skipped (only videos are predicted).
    - The default output is the input with its suffix replaced, `a.mp4` ->
      `a.predictions.slp`; with several inputs `-o` names a folder (created if
      needed) that gets `<stem>.predictions.slp` files.
    - A CSV file has a header row; its data column is the first whose first value
      is an existing path, and the next column (if it holds text) gives the output
      paths. Relative paths are relative to the current folder.
    - A `.slp` input predicts on all its labeled frames, on its user-labeled frames
      (`--only-labeled-frames`), on its unlabeled suggestions
      (`--only-suggested-frames`), or on the `--frames` of video `--video.index`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import attrs

from sleapish.errors import SleapishError
from sleapish.frame_spec import parse_frames

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".mj2", ".h5", ".hdf5")
HDF5_SUFFIXES = (".h5", ".hdf5")


class CLIInputError(SleapishError, ValueError):
    """An input or output of `sleapish-track` that cannot be used.

    A `ValueError`, as SLEAP's `sleap-track` raises for bad inputs.
    """


@attrs.define
class InputItem:
    """One file to predict on.

    Attributes:
        path: The video or `.slp` file.
        output: Its output path from a CSV list, if any.
        origin: Where it was named, for messages: "argument", "folder" or
            "<list file>:<line>".
    """

    path: Path
    output: Optional[Path] = None
    origin: str = "argument"

    @property
    def is_labels(self) -> bool:
        """Whether this is a labels file (`.slp`)."""
        return self.path.name.lower().endswith(".slp")


def _path_strings(data_path) -> List[str]:
    """The data path(s) as strings: a str, any `os.PathLike` (`pathlib.Path`,
    `py.path.local`) or a sequence of them; empty strings are dropped."""
    if data_path is None:
        return []
    items = [data_path] if isinstance(data_path, (str, bytes, os.PathLike)) \
        else list(data_path)
    out = []
    for item in items:
        s = os.fsdecode(os.fspath(item)) if isinstance(item, (bytes, os.PathLike)) \
            else str(item)
        if s.strip():
            out.append(s)
    return out


def _folder_items(folder: Path, notes: List[str]) -> List[InputItem]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith("."))
    keep = [p for p in files
            if p.suffix.lower() in VIDEO_SUFFIXES or p.name.lower().endswith(".slp")]
    other = [p.name for p in files if p not in keep]
    if other:
        notes.append(f"{len(other)} file(s) in {folder} are not videos and were skipped: "
                     + ", ".join(other[:5]) + (", ..." if len(other) > 5 else ""))
    return [InputItem(p, origin="folder") for p in keep]


def _listed(list_path: Path, line: int, cell: str, output: Optional[str] = None
            ) -> InputItem:
    path = Path(cell)
    where = f"{list_path}:{line}"
    if not path.exists():
        raise CLIInputError(f"Input listed in {where} not found: {cell} (relative paths "
                            f"are relative to the current folder, {Path.cwd()})")
    if path.is_dir():
        raise CLIInputError(f"Input listed in {where} is a folder, not a file: {cell}")
    return InputItem(path, Path(output) if output else None, origin=where)


def read_txt_inputs(list_path: Union[str, os.PathLike]) -> List[InputItem]:
    """Inputs of a text file, one path per line (blank lines are ignored).

    Raises:
        CLIInputError: If the file cannot be read, lists nothing, or lists a missing
            file.
    """
    list_path = Path(list_path)
    try:
        lines = list_path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CLIInputError(f"Could not read the text file {list_path}: {e}") from None
    items = [_listed(list_path, i + 1, s.strip()) for i, s in enumerate(lines) if s.strip()]
    if not items:
        raise CLIInputError(f"The text file {list_path} lists no inputs.")
    return items


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def read_csv_inputs(list_path: Union[str, os.PathLike]) -> List[InputItem]:
    """Inputs (and optional output paths) of a CSV file, as SLEAP 1.4.1 reads it.

    The first row is a header. The data column is the first column whose first value
    is an existing path; the column after it, if it holds text, gives each input's
    output path (an empty cell keeps the default output).

    Raises:
        CLIInputError: If the file is empty, has no rows, has no column of existing
            paths, or lists a missing file.
    """
    list_path = Path(list_path)
    try:
        with open(list_path, newline="", encoding="utf-8-sig") as f:
            rows = [[c.strip() for c in row] for row in csv.reader(f)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise CLIInputError(f"Could not read the CSV file {list_path}: {e}") from None
    rows = [(i + 1, r) for i, r in enumerate(rows) if any(r)]
    if not rows:
        raise CLIInputError(f"CSV file is empty: {list_path}")
    (_, header), data = rows[0], rows[1:]
    if not data:
        raise CLIInputError(f"CSV file {list_path} has a header row but no inputs.")
    first = data[0][1]
    col = next((j for j, cell in enumerate(first) if cell and Path(cell).exists()), None)
    if col is None:
        raise CLIInputError(
            f"No column of the CSV file {list_path} holds an existing input path in "
            f"its first row (columns: {header}; relative paths are relative to the "
            f"current folder, {Path.cwd()}). Received: {first}")

    def cell(row, j):
        return row[j] if j < len(row) else ""

    outputs = [cell(r, col + 1) for _, r in data]
    use_outputs = any(o and not _is_number(o) for o in outputs)
    column = header[col] if col < len(header) else col
    items = []
    for (line, row), out in zip(data, outputs):
        if not cell(row, col):
            raise CLIInputError(f"Row {line} of the CSV file {list_path} has no input "
                                f"path in column {column!r}.")
        items.append(_listed(list_path, line, cell(row, col), out if use_outputs else None))
    return items


def collect_inputs(data_path, notes: Optional[List[str]] = None) -> List[InputItem]:
    """Expand the data path(s) into input files.

    Args:
        data_path: A path (str or `os.PathLike`) or a sequence of them: videos,
            `.slp` files, folders, `.csv` or `.txt` lists.
        notes: Receives a line for each file skipped.

    Returns:
        The inputs, in order (folders sorted by name).

    Raises:
        CLIInputError: If no path is given, a path does not exist, or a list file is
            bad.
    """
    notes = [] if notes is None else notes
    raw = _path_strings(data_path)
    if not raw:
        raise CLIInputError(
            "You must give a path to a video, a labels .slp file, a folder of videos, or "
            "a .csv/.txt list of inputs. Run 'sleapish-track -h' for the options.")
    items: List[InputItem] = []
    for entry in raw:
        path = Path(entry)
        if not path.exists():
            raise CLIInputError(f"Path to data_path does not exist: {entry}")
        suffix = path.suffix.lower()
        if path.is_dir():
            items.extend(_folder_items(path, notes))
        elif suffix == ".csv":
            items.extend(read_csv_inputs(path))
        elif suffix == ".txt":
            items.extend(read_txt_inputs(path))
        else:
            items.append(InputItem(path))
    if len(items) > 1:
        for item in items:
            if item.is_labels:
                notes.append(f"slp file skipped: {item.path.as_posix()} (with several "
                             "inputs only videos are predicted)")
        items = [item for item in items if not item.is_labels]
    return items


# ------------------------------------------------------------------------ outputs
def default_output(path: Path) -> Path:
    """SLEAP's default output name: `a.mp4` -> `a.predictions.slp`."""
    return path.with_suffix(".predictions.slp")


def plan_outputs(items: Sequence[InputItem], output: Optional[Union[str, os.PathLike]]
                 ) -> Tuple[List[Path], Optional[Path]]:
    """The output path of each input.

    Args:
        items: The inputs.
        output: The `-o/--output` value, if given.

    Returns:
        `(outputs, folder)`: one path per input, and the output folder to create
        before saving (for `-o` with several inputs), or None.

    Raises:
        CLIInputError: If `-o` is a file but there are several inputs, names a `.slp`
            file for several inputs, an output folder is missing, two inputs would
            write the same output, or an output would overwrite an input.
    """
    out_arg = Path(os.fspath(output)) if output not in (None, "") else None
    folder = None
    if out_arg is not None and len(items) > 1:
        if out_arg.is_file():
            raise CLIInputError("output_path argument must be a directory if multiple "
                                f"video inputs are given. Received: {out_arg}")
        if out_arg.name.lower().endswith(".slp") and not out_arg.exists():
            raise CLIInputError(f"-o/--output names a .slp file but there are "
                                f"{len(items)} inputs: give a folder. Received: {out_arg}")
        folder = out_arg
    outputs = []
    for item in items:
        if item.output is not None:
            out = item.output
        elif folder is not None:
            out = folder / default_output(item.path).name
        elif out_arg is not None:
            out = out_arg / default_output(item.path).name if out_arg.is_dir() else out_arg
        else:
            out = default_output(item.path)
        outputs.append(out)
    for item, out in zip(items, outputs):
        parent = out.parent
        if not parent.is_dir() and not (folder is not None and parent == folder):
            raise CLIInputError(f"Output folder does not exist: {parent} (output for "
                                f"{item.path}). Received: {str(out)!r}")
    def key(path):
        return os.path.normcase(os.path.abspath(path))

    inputs = {key(item.path) for item in items}
    seen: Dict[str, Path] = {}
    for item, out in zip(items, outputs):
        if key(out) in inputs:
            raise CLIInputError(f"The output for {item.path} would overwrite the input "
                                f"{out}: give another output path.")
        if key(out) in seen:
            raise CLIInputError(f"Inputs {seen[key(out)]} and {item.path} would both "
                                f"write {out}: give distinct output paths.")
        seen[key(out)] = item.path
    return outputs, folder


# ---------------------------------------------------------------------- providers
def _opt(args, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


def video_kwargs(args, path: Path) -> Dict[str, Any]:
    """`--video.dataset` / `--video.input_format` for HDF5 videos."""
    if path.suffix.lower() not in HDF5_SUFFIXES:
        return {}
    kw = {"input_format": _opt(args, "video.input_format") or "channels_last"}
    if _opt(args, "video.dataset"):
        kw["dataset"] = _opt(args, "video.dataset")
    return kw


def load_labels(path: Path, search_paths: Optional[Sequence[str]] = None):
    """Load a `.slp` input; failures are a :class:`CLIInputError` naming it.

    Args:
        path: The labels file.
        search_paths: Folders searched for videos that moved (`--video-paths`).
    """
    import sleapish
    from sleapish.io.labels import MissingVideoError

    try:
        return sleapish.load_file(path, search_paths=list(search_paths or []))
    except MissingVideoError as e:
        raise CLIInputError(e.message("--video-paths FOLDER")) from None
    except (FileNotFoundError, ValueError, OSError) as e:
        raise CLIInputError(f"Could not load the labels file {path}: {e}") from None


def video_search_paths(args) -> List[str]:
    """The folders of `--video-paths` (comma-separated), if any."""
    return [v for v in (_opt(args, "video_paths") or "").split(",") if v]


def _unlabeled_suggestion_inds(labels) -> List[int]:
    """Labeled-frame indices of suggestions without user instances; suggested
    frames with no labeled frame get an empty one (as SLEAP)."""
    import sleap_io as sio

    index = {(id(lf.video), int(lf.frame_idx)): i
             for i, lf in enumerate(labels.labeled_frames)}
    inds = []
    for s in labels.suggestions:
        key = (id(s.video), int(s.frame_idx))
        if key not in index:
            labels.append(sio.LabeledFrame(video=s.video, frame_idx=int(s.frame_idx)))
            index[key] = len(labels.labeled_frames) - 1
        elif labels.labeled_frames[index[key]].has_user_instances:
            continue
        inds.append(index[key])
    return inds


def labels_provider(args, path: Path, labels, notes: Optional[List[str]] = None):
    """The provider for a `.slp` input (see the module docstring for the rules).

    Raises:
        CLIInputError: For a bad `--video.index`, `--frames` out of range, or no
            frames to predict on.
    """
    from sleapish.nn.data.providers import LabelsReader, VideoReader

    video_index = str(_opt(args, "video.index", "") or "").strip()
    if _opt(args, "only_labeled_frames", False):
        inds = [i for i, lf in enumerate(labels.labeled_frames) if lf.has_user_instances]
        if not inds:
            raise CLIInputError(f"{path} has no user-labeled frames "
                                "(--only-labeled-frames).")
        return LabelsReader(labels, user_instances_only=False, example_indices=inds,
                            include_empty=True)
    if _opt(args, "only_suggested_frames", False):
        inds = _unlabeled_suggestion_inds(labels)
        if not inds:
            raise CLIInputError(f"{path} has no unlabeled suggested frames "
                                "(--only-suggested-frames).")
        return LabelsReader(labels, user_instances_only=False, example_indices=inds,
                            include_empty=True)
    if video_index:
        try:
            video = labels.videos[int(video_index)]
        except (ValueError, IndexError):
            n = len(labels.videos)
            raise CLIInputError(f"--video.index must be an index of the {n} video(s) of "
                                f"{path}. Received: {video_index!r}") from None
        try:
            frames = parse_frames(_opt(args, "frames"), len(video))
        except ValueError as e:
            raise CLIInputError(f"{e} (video {video_index} of {path})") from None
        return VideoReader(video, example_indices=frames)
    if _opt(args, "frames") and notes is not None:
        notes.append(f"--frames is ignored for {path}: it applies to a video (give "
                     "--video.index to pick one of the labels' videos)")
    if not len(labels.labeled_frames):
        raise CLIInputError(f"{path} has no labeled frames to predict on (give "
                            "--video.index to predict on one of its videos).")
    return LabelsReader(labels, user_instances_only=False, include_empty=True)


def open_video(args, path: Path):
    """Open a video input; failures are a :class:`CLIInputError` naming it."""
    from sleapish.io.video import VideoReadError, load_video

    try:
        return load_video(path, **video_kwargs(args, path))
    except (FileNotFoundError, VideoReadError) as e:
        raise CLIInputError(f"Error reading file: {path.as_posix()} ({e})") from None


def video_provider(args, path: Path, video=None):
    """The provider for a video input (its `--frames`)."""
    from sleapish.nn.data.providers import VideoReader

    video = open_video(args, path) if video is None else video
    try:
        frames = parse_frames(_opt(args, "frames"), len(video))
    except ValueError as e:
        raise CLIInputError(f"{e} ({path})") from None
    return VideoReader(video, example_indices=frames)


@attrs.define
class TrackJob:
    """One input to predict on, checked, with its output path.

    Attributes:
        item: The input.
        output: Where its predictions go.
        make_provider: Builds the data provider (opens the video or reuses the
            loaded labels).
        n_frames: Frames to predict.
    """

    item: InputItem
    output: Path
    make_provider: Callable[[], Any]
    n_frames: int


def plan_jobs(args, items: Sequence[InputItem], notes: List[str]
              ) -> Tuple[List[TrackJob], Optional[Path]]:
    """Check every input and output before anything is predicted.

    Videos found in a folder that cannot be read are skipped (with a note), as in
    SLEAP; a video named explicitly (argument or list) that cannot be read is an
    error.

    Returns:
        `(jobs, output_folder)`; see :func:`plan_outputs`.

    Raises:
        CLIInputError: See :func:`plan_outputs`, :func:`labels_provider`,
            :func:`video_provider`.
    """
    checked = []
    for item in items:
        if item.is_labels:
            labels = load_labels(item.path, video_search_paths(args))
            provider = labels_provider(args, item.path, labels, notes)
            checked.append((item, (lambda p=provider: p), len(provider)))
            continue
        try:
            video = open_video(args, item.path)
        except CLIInputError as e:
            if item.origin != "folder":
                raise
            notes.append(f"{e}; skipped")
            continue
        n = len(video_provider(args, item.path, video))  # checks --frames
        video.close()  # reopened when its turn comes: few open files for long lists
        checked.append((item, (lambda p=item.path: video_provider(args, p)), n))
    outputs, folder = plan_outputs([c[0] for c in checked], _opt(args, "output"))
    jobs = [TrackJob(item, out, make, n) for (item, make, n), out in zip(checked, outputs)]
    return jobs, folder


def make_provider_from_args(args) -> Tuple[list, List[Path], Optional[List[str]]]:
    """SLEAP's `_make_provider_from_cli`: providers for the data path of parsed args.

    Args:
        args: Parsed `sleapish-track` arguments (`data_path`, `frames`,
            `only_labeled_frames`, `only_suggested_frames`, `video.*`).

    Returns:
        `(providers, data_paths, output_paths)`: one provider and path per input, and
        the output paths of a CSV list (None without one).

    Raises:
        CLIInputError: For a missing or unusable input.
    """
    notes: List[str] = []
    items = collect_inputs(_opt(args, "data_path"), notes)
    providers, paths, outputs = [], [], []
    for item in items:
        if item.is_labels:
            providers.append(labels_provider(args, item.path, load_labels(
                item.path, video_search_paths(args))))
        else:
            try:
                video = open_video(args, item.path)
            except CLIInputError:
                if item.origin != "folder":
                    raise
                continue
            providers.append(video_provider(args, item.path, video))
        paths.append(item.path)
        outputs.append(item.output)
    csv_outputs = ([None if o is None else str(o) for o in outputs]
                   if any(o is not None for o in outputs) else None)
    return providers, paths, csv_outputs

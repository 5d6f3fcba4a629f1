"""`sleapish-render`: draw predicted (or labeled) skeletons on their video.

Usage:
    sleapish-render predictions.slp                       # -> predictions.slp.mp4
    sleapish-render predictions.slp -o out.mp4 --frames 0-100,200 --scale 0.5
    sleapish-render predictions.slp -o frame.png --frames 42   # one frame as an image
    python -m sleapish.render predictions.slp --video-index 1 --no-edges

This is SLEAP's `sleap-render`. Instances are coloured by track when the labels have
tracks (the same colour for an animal on every frame), otherwise by node. A progress
bar (tqdm) is shown on stderr. By default only the frames that have labels are
rendered; with `--frames` exactly the requested frames are rendered (frames without
labels show the bare video frame). The output is written to a temporary file in the
output folder and renamed into place, so an interrupted run leaves no partial file.

Drawing is sleap-io's renderer (`sleap_io.render_video` / `sleap_io.render_image`),
which draws anti-aliased markers and edges with skia-python and encodes H.264 with
imageio-ffmpeg. No new dependency is needed: skia-python is a hard requirement of
sleap-io 0.9.5 (so it is installed with it) and imageio-ffmpeg is already one of
ours, so there is no OpenCV drawing fallback to maintain. The renderer's
colours, marker and line sizes therefore match sleap-io's (`sio render`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from sleapish.errors import IndexOutOfRangeError, InvalidValueError, SleapishError
from sleapish.frame_spec import parse_frames

PathLike = Union[str, os.PathLike]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
COLOR_BY = ("auto", "track", "instance", "node")


def _parse_crop(text: Optional[str]) -> Optional[Tuple[int, int, int, int]]:
    """Parse "x1,y1,x2,y2" (pixels, x2/y2 exclusive) into a tuple of ints."""
    if text is None:
        return None
    try:
        vals = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4 or vals[2] <= vals[0] or vals[3] <= vals[1]:
        raise InvalidValueError("--crop must be 'x1,y1,x2,y2' in pixels with x2 > x1 and "
                                f"y2 > y1. Received: {text!r}")
    return vals  # type: ignore[return-value]


def _load(labels_or_path, search_paths):
    """Return `(labels, path_or_None)`."""
    import sleap_io as sio

    if isinstance(labels_or_path, sio.Labels):
        return labels_or_path, None
    from sleapish.io.labels import load_file

    path = Path(labels_or_path)
    if path.suffix.lower() in _VIDEO_SUFFIXES:
        raise InvalidValueError(f"{path} is a video, not a labels or predictions file: render "
                                "the .slp that sleapish-track wrote for it")
    labels = load_file(path, search_paths=search_paths)
    if not isinstance(labels, sio.Labels):
        raise InvalidValueError(f"{path} holds a {type(labels).__name__}, not labels or "
                                "predictions: render a .slp file")
    return labels, path


_VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".h264", ".webm", ".mj2", ".tif",
                   ".tiff"}


def _video(labels, video_index: int):
    if not labels.videos:
        raise InvalidValueError("The labels have no videos to render. Received: 0 videos")
    if not 0 <= int(video_index) < len(labels.videos):
        raise InvalidValueError(f"--video-index must be in [0, {len(labels.videos)}). "
                                f"Received: {video_index}")
    return labels.videos[int(video_index)]


def _n_video_frames(video) -> int:
    shape = getattr(video, "shape", None)
    if shape is None:
        raise InvalidValueError(f"Video {video.filename} could not be read (is it available? "
                                "pass search_paths / --search-path). Received: no shape")
    return int(shape[0])


def _check_scale(scale: float) -> float:
    scale = float(scale)
    if not scale > 0:
        raise InvalidValueError(f"scale must be > 0. Received: {scale}")
    return scale


def render_frame(labels, lf_or_index: Any = 0, *, scale: float = 1.0,
                 show_edges: bool = True, show_nodes: bool = True,
                 marker_size: float = 4.0, line_width: float = 2.0,
                 color_by: str = "auto", palette: str = "standard",
                 crop: Optional[Tuple[int, int, int, int]] = None) -> np.ndarray:
    """Draw the instances of one labeled frame on its video frame.

    Colours follow the same rule as :func:`render` (by track when `labels` has
    tracks), so a frame rendered here looks like the same frame of the video.

    Args:
        labels: A `sleap_io.Labels` whose videos are open.
        lf_or_index: A `LabeledFrame` of `labels`, or its index in
            `labels.labeled_frames`.
        scale: Output scale factor (markers and lines scale with it).
        show_edges: Draw skeleton edges.
        show_nodes: Draw node markers.
        marker_size: Node marker radius in pixels (before scaling).
        line_width: Edge width in pixels (before scaling).
        color_by: `"auto"`, `"track"`, `"instance"` or `"node"`.
        palette: A sleap-io palette name (e.g. `"standard"`, `"tableau10"`).
        crop: Optional `(x1, y1, x2, y2)` pixel box (x2/y2 exclusive).

    Returns:
        The rendered image, `(H, W, 3)` uint8 RGB.

    Raises:
        IndexError: If an index is outside `labels.labeled_frames`.
        ValueError: If the video frame cannot be read.
    """
    import sleap_io as sio

    kwargs = dict(scale=_check_scale(scale), show_edges=show_edges,
                  show_nodes=show_nodes, marker_size=marker_size,
                  line_width=line_width, color_by=color_by, palette=palette,
                  crop=crop)
    if isinstance(lf_or_index, sio.LabeledFrame):
        idx = next((i for i, lf in enumerate(labels.labeled_frames)
                    if lf is lf_or_index), None)
        if idx is None:  # not part of `labels`: no track catalog to colour by
            img = sio.render_image(lf_or_index, **kwargs)
            return np.ascontiguousarray(img[..., :3], dtype=np.uint8)
    else:
        idx = int(lf_or_index)
        n = len(labels.labeled_frames)
        if not -n <= idx < n:
            raise IndexOutOfRangeError(f"Labeled frame index must be in [0, {n}). "
                                       f"Received: {lf_or_index}")
        idx %= n
    img = sio.render_image(labels, lf_ind=idx, **kwargs)
    return np.ascontiguousarray(img[..., :3], dtype=np.uint8)


def render(labels_or_path, output: Optional[PathLike] = None,
           frames: Union[None, str, Sequence[int]] = None, *, video_index: int = 0,
           fps: Optional[float] = None, scale: float = 1.0, show_edges: bool = True,
           show_nodes: bool = True, marker_size: float = 4.0,
           line_width: float = 2.0, color_by: str = "auto",
           palette: str = "standard",
           crop: Optional[Tuple[int, int, int, int]] = None, crf: int = 25,
           search_paths: Optional[Sequence[PathLike]] = None,
           show_progress: bool = True) -> Path:
    """Render skeletons onto a video (SLEAP's `sleap-render`), atomically.

    Args:
        labels_or_path: A `sleap_io.Labels` (videos open) or the path of a labels
            file, loaded with :func:`sleapish.io.load_file`.
        output: Output path. `.mp4` (or any ffmpeg video suffix) writes a video;
            an image suffix (`.png`, `.jpg`, ...) writes one frame, which must then
            be the only frame selected. Default: `<input>.mp4` next to the labels
            file (required when `labels_or_path` is a `Labels`).
        frames: Frame indices of the video, as a list or a string like
            `"0-100,200"` (inclusive ranges). Default: every labeled frame of the
            video. Requested frames without labels show the bare video frame.
        video_index: Which video of the labels to render.
        fps: Output frame rate (default: the source video's, else 30).
        scale: Output scale factor (markers and lines scale with it).
        show_edges: Draw skeleton edges.
        show_nodes: Draw node markers.
        marker_size: Node marker radius in pixels (before scaling).
        line_width: Edge width in pixels (before scaling).
        color_by: `"auto"` (by track if the labels have tracks, else by node),
            `"track"`, `"instance"` or `"node"`.
        palette: A sleap-io palette name (e.g. `"standard"`, `"tableau10"`).
        crop: Optional `(x1, y1, x2, y2)` pixel box (x2/y2 exclusive).
        crf: H.264 quality (lower is better, 2-32).
        search_paths: Folders searched for the video when a path is given.
        show_progress: Show a tqdm progress bar.

    Returns:
        The path of the written file.

    Raises:
        FileNotFoundError: If the labels file or its video is missing.
        LabelsFileError: If the labels file cannot be read.
        ValueError: For bad options or when there are no frames to render.
    """
    import sleap_io as sio

    from sleapish.io.files import atomic_output

    scale = _check_scale(scale)
    if color_by not in COLOR_BY:
        raise InvalidValueError(f"color_by must be one of {COLOR_BY}. Received: {color_by!r}")
    if fps is not None and not float(fps) > 0:
        raise InvalidValueError(f"fps must be > 0. Received: {fps}")
    labels, path = _load(labels_or_path, search_paths)
    if output is None:
        if path is None:
            raise InvalidValueError("output is required when rendering a Labels object. "
                                    "Received: output=None")
        output = Path(f"{path}.mp4")
    output = Path(output)
    video = _video(labels, video_index)
    n_frames = _n_video_frames(video)
    if isinstance(frames, str) or frames is None:
        frame_inds = parse_frames(frames, n_frames)
    else:
        frame_inds = parse_frames(",".join(str(int(i)) for i in frames), n_frames)
    if frame_inds is None:
        frame_inds = sorted({lf.frame_idx for lf in labels.find(video)})
        if not frame_inds:
            raise InvalidValueError(f"No labeled frames to render in video {video_index} "
                                    f"({video.filename}). Received: 0 labeled frames; pass "
                                    "--frames to render bare video frames")
    if output.parent and not output.parent.exists():
        output.parent.mkdir(parents=True, exist_ok=True)

    style = dict(scale=scale, show_edges=show_edges, show_nodes=show_nodes,
                 marker_size=marker_size, line_width=line_width, color_by=color_by,
                 palette=palette, crop=crop)
    if output.suffix.lower() in IMAGE_SUFFIXES:
        if len(frame_inds) != 1:
            raise InvalidValueError(f"An image output ({output.name}) holds one frame; select "
                                    f"it with --frames. Received: {len(frame_inds)} frames")
        found = labels.find(video, frame_inds[0])
        if found:
            img = render_frame(labels, found[0], **style)
        else:
            img = sio.render_image(image=_as_rgb(video[frame_inds[0]]), scale=scale,
                                   crop=crop)[..., :3]
        import imageio.v3 as iio

        with atomic_output(output) as tmp:
            iio.imwrite(tmp, img)
        return output

    with atomic_output(output) as tmp:
        try:
            sio.render_video(labels, tmp, video=int(video_index), frame_inds=frame_inds,
                             include_unlabeled=True, fps=fps, crf=int(crf),
                             show_progress=show_progress, **style)
        except (RuntimeError, OSError) as e:  # ffmpeg failed, a frame did not decode
            raise RenderError(f"Rendering {output} failed: {e}") from e
    return output


class RenderError(SleapishError, RuntimeError):
    """The video encoder or a frame read failed while rendering."""


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return image.astype(np.uint8)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of `sleapish-render`."""
    p = argparse.ArgumentParser(
        prog="sleapish-render", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Draw predicted (or labeled) skeletons on their video (SLEAP's "
                    "sleap-render). Instances are coloured by track when there are "
                    "tracks, otherwise by node; only labeled frames are rendered "
                    "unless --frames is given.",
        epilog="examples:\n"
               "  sleapish-render predictions.slp                # -> predictions.slp.mp4\n"
               "  sleapish-render predictions.slp -o out.mp4 --frames 0-100,200 "
               "--scale 0.5\n"
               "  sleapish-render predictions.slp -o frame.png --frames 42  "
               "# one frame as an image")
    p.add_argument("data_path", help="labels/predictions file (.slp or any format "
                                     "sleap-io reads)")
    p.add_argument("-o", "--output", default=None,
                   help="output video (.mp4) or image (.png, one frame); default "
                        "<data_path>.mp4")
    p.add_argument("--frames", default=None,
                   help="frame indices, e.g. '0-100,200' (default: all labeled frames)")
    p.add_argument("--video-index", type=int, default=0,
                   help="which video of the labels file to render (default 0)")
    p.add_argument("--fps", type=float, default=None,
                   help="output frame rate (default: the source video's)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="output scale factor (default 1)")
    p.add_argument("--no-edges", dest="show_edges", action="store_false",
                   help="draw nodes only (default: nodes and skeleton edges)")
    p.add_argument("--marker-size", type=float, default=4.0,
                   help="node marker radius in pixels (default 4)")
    p.add_argument("--line-width", type=float, default=2.0,
                   help="edge width in pixels (default 2)")
    p.add_argument("--color-by", choices=COLOR_BY, default="auto",
                   help="auto (default) = by track when there are tracks, else by node")
    p.add_argument("--palette", default="standard",
                   help="sleap-io palette name (default standard)")
    p.add_argument("--crop", default=None,
                   help="'x1,y1,x2,y2' pixel box to keep (default: the whole frame)")
    p.add_argument("--crf", type=int, default=25,
                   help="H.264 quality, lower is better (default 25)")
    p.add_argument("--search-path", action="append", default=None,
                   help="folder to look for the video in (repeatable)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="hide the progress bar (default: shown)")
    from sleapish.cli_errors import add_debug_flag
    from sleapish.cli_help import state_defaults

    return state_defaults(add_debug_flag(p))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `sleapish-render`; returns an exit code (errors print one clear line)."""
    from sleapish.cli_errors import run_command

    args = make_parser().parse_args(argv)
    return run_command("sleapish-render", lambda: _render(args), debug=args.debug)


def _render(args) -> int:
    out = render(args.data_path, args.output, args.frames,
                 video_index=args.video_index, fps=args.fps, scale=args.scale,
                 show_edges=args.show_edges, marker_size=args.marker_size,
                 line_width=args.line_width, color_by=args.color_by,
                 palette=args.palette, crop=_parse_crop(args.crop), crf=args.crf,
                 search_paths=args.search_path, show_progress=args.progress)
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

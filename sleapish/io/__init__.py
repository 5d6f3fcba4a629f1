"""Data layer: labels and videos through sleap-io, with SLEAP's path resolution."""

from sleapish.io.labels import (
    LabelsFileError,
    MissingVideoError,
    load_file,
    resolve_video_paths,
    save_file,
)
from sleapish.io.video import VIDEO_PLUGIN, VideoReadError, load_video, read_frames

__all__ = [
    "LabelsFileError",
    "MissingVideoError",
    "VIDEO_PLUGIN",
    "VideoReadError",
    "load_file",
    "load_video",
    "read_frames",
    "resolve_video_paths",
    "save_file",
]

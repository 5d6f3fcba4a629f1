"""The `--frames` option of the command-line tools: "0-10,15" -> frame indices."""

from __future__ import annotations

import re
from typing import List, Optional

from sleapish.errors import InvalidValueError


def parse_frames(text: Optional[str], n_frames: Optional[int] = None,
                 option: str = "--frames") -> Optional[List[int]]:
    """Parse "0-10,15,20-22" (inclusive ranges) into sorted unique frame indices.

    SLEAP's forms "1,2,3", "1-3" and its legacy "1,-3" (= "1-3") are accepted; a
    range that runs backwards ("3-1") is an error.

    Args:
        text: The option's value; empty or None means every frame.
        n_frames: Length of the video, to check the range (not checked if None).
        option: The option's name, for the error message.

    Returns:
        Sorted unique int indices, or None for every frame.

    Raises:
        ValueError: For malformed text, a backwards range or indices outside
            `[0, n_frames)` (`InvalidValueError`).
    """
    if text is None or not str(text).strip():
        return None
    text = str(text)
    legacy = re.fullmatch(r"\s*(\d+)\s*,\s*-\s*(\d+)\s*", text)
    parts = [f"{legacy.group(1)}-{legacy.group(2)}"] if legacy else text.split(",")
    out = set()
    for part in parts:
        indices = _part_indices(part.strip())
        if indices is None:
            raise InvalidValueError(f"{option} must look like '0-10,15' (inclusive, "
                                    f"increasing ranges). Received: {text!r}")
        out.update(indices)
    if n_frames is not None:
        bad = sorted(i for i in out if not 0 <= i < n_frames)
        if bad:
            raise InvalidValueError(f"{option} out of range for a video of {n_frames} "
                                    f"frames. Received: {bad[:5]}")
    return sorted(out)


def _part_indices(part: str) -> Optional[range]:
    """The indices of "3" or "0-10", or None if `part` is neither (or runs backwards)."""
    try:
        if "-" not in part:
            return range(int(part), int(part) + 1)
        a, b = (int(v) for v in part.split("-", 1))
    except ValueError:
        return None
    return range(a, b + 1) if b >= a else None


__all__ = ["parse_frames"]

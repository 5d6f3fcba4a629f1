"""File helpers: writes that never leave a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_output(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it into place on success.

    If the body raises, the temporary file is removed and `path` is untouched.

    Args:
        path: Final output path. Its folder must exist.

    Yields:
        The temporary path to write to (same folder, same suffix).

    Raises:
        FileNotFoundError: If the output folder does not exist.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Cannot write {path}: folder {folder} does not exist. Received: {path}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix,
                               dir=folder)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write `text` to `path` (UTF-8) atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")

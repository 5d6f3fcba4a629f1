"""File helpers: writes that never leave a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

from sleapish.errors import InputNotFoundError, OutputExistsError, OutputNotWritableError

PathLike = Union[str, os.PathLike]


def current_umask() -> int:
    """The process umask (from `/proc/self/status` on Linux, without changing it;
    elsewhere by setting and restoring it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it into place on success.

    If the body raises, the temporary file is removed and `path` is untouched. The
    finished file gets the permissions the user's umask gives a new file (0644
    under umask 022), not the temporary file's 0600.

    Args:
        path: Final output path. Its folder must exist.

    Yields:
        The temporary path to write to (same folder, same suffix).

    Raises:
        FileNotFoundError: If the output folder does not exist.
        PermissionError: If it is not writable (`OutputNotWritableError`).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputNotFoundError(
            f"Cannot write {path}: folder {folder} does not exist. Received: {path}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix,
                                   dir=folder)
    except PermissionError:
        raise OutputNotWritableError(f"Cannot write {path}: no permission to write in "
                                     f"{folder}") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write `text` to `path` (UTF-8) atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


@contextlib.contextmanager
def atomic_folder(path: PathLike, replace: bool = False,
                  replaceable=None) -> Iterator[Path]:
    """Yield a temporary folder next to `path`; move it into place on success.

    If the body raises, the temporary folder is removed and `path` is untouched. The
    finished folder gets the permissions the user's umask gives a new folder.

    Args:
        path: Final folder path. Its parent is created if missing.
        replace: Replace an existing, non-empty `path`.
        replaceable: Optional `callable(Path) -> bool`: an existing folder it accepts
            (e.g. an earlier output of the same kind) is replaced even without
            `replace`.

    Yields:
        The temporary folder to write into.

    Raises:
        FileExistsError: If `path` is a file, or a non-empty folder that may not be
            replaced.
        PermissionError: If the parent folder is not writable
            (`OutputNotWritableError`).
    """
    import shutil

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"Cannot write folder {path}: a file is in the way. "
                                f"Received: {path}")
    if path.is_dir() and not _is_empty_dir(path) and not replace and not (
            replaceable is not None and replaceable(path)):
        raise OutputExistsError(f"{path} exists and is not empty: choose another folder or "
                                "pass overwrite (--overwrite on the command line).")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent))
    except PermissionError:
        raise OutputNotWritableError(f"Cannot write folder {path}: no permission to "
                                     f"write in {parent}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())
        if path.exists():
            old = parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

"""Atomic writes end with the permissions the user's umask gives a new file."""

from __future__ import annotations

import os
import stat

import pytest

from sleapish.io.files import atomic_folder, atomic_output, atomic_write_text, current_umask


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_current_umask_reads_without_changing_it(umask_027):
    assert current_umask() == 0o027
    assert current_umask() == 0o027


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_files_and_folders_get_the_umask_modes(tmp_path, mask):
    old = os.umask(mask)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_output(tmp_path / "b.bin") as tmp:  # a writer that re-creates
            tmp.unlink()
            tmp.write_bytes(b"y")
        with atomic_folder(tmp_path / "folder") as d:
            (d / "f").write_text("z")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.txt") == 0o666 & ~mask
    assert _mode(tmp_path / "b.bin") == 0o666 & ~mask
    assert _mode(tmp_path / "folder") == 0o777 & ~mask
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

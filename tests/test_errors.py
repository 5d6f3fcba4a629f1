"""sleapish.errors: one family for bad input, each error keeping SLEAP's built-in type."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sleapish
from sleapish import errors as E

ROOT = Path(__file__).resolve().parents[1] / "sleapish"


@pytest.mark.parametrize("cls, builtin", [
    (E.InvalidValueError, ValueError), (E.InvalidTypeError, TypeError),
    (E.InputNotFoundError, FileNotFoundError), (E.OutputExistsError, FileExistsError),
    (E.OutputNotWritableError, PermissionError), (E.MissingKeyError, KeyError),
    (E.IndexOutOfRangeError, IndexError)])
def test_each_error_is_a_sleapish_error_and_its_builtin(cls, builtin):
    with pytest.raises(builtin) as info:
        raise cls("bad input")
    assert isinstance(info.value, sleapish.SleapishError)
    assert str(info.value) == "bad input"  # KeyError would print "'bad input'"


def test_module_errors_are_in_the_family():
    from sleapish.io import LabelsFileError, MissingVideoError, VideoReadError
    from sleapish.nn.config import ConfigError
    from sleapish.nn.inference.loading import ModelFolderError

    for cls in (LabelsFileError, MissingVideoError, VideoReadError, ConfigError,
                ModelFolderError):
        assert issubclass(cls, sleapish.SleapishError), cls


def test_library_code_raises_no_bare_builtin_for_bad_input():
    """Every `raise ValueError(...)`-like statement in sleapish raises a family member."""
    builtins = {"ValueError", "TypeError", "FileNotFoundError", "FileExistsError",
                "KeyError", "IndexError"}
    found = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                    getattr(node.exc.func, "id", None) in builtins:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_missing_model_folder_is_a_sleapish_error(tmp_path):
    with pytest.raises(sleapish.SleapishError, match="not found|does not exist"):
        sleapish.load_model(tmp_path / "no_such_model")


def test_unwritable_output_folder(tmp_path, monkeypatch):
    import tempfile

    from sleapish.io.files import atomic_folder, atomic_output

    def denied(*args, **kwargs):  # what the OS says for a folder without write permission
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    with pytest.raises(E.OutputNotWritableError, match="no permission to write in"):
        with atomic_output(tmp_path / "out.slp"):
            pass
    with pytest.raises(E.OutputNotWritableError, match="no permission to write in"):
        with atomic_folder(tmp_path / "export"):
            pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cls", [E.InvalidValueError, E.MissingKeyError,
                                 E.InputNotFoundError])
def test_error_raised_while_tracing_keeps_its_class(cls):
    from sleapish.nn._backend import tf

    @tf.function
    def step(x):
        raise cls("needs 'instances' in the example")

    with pytest.raises(cls, match="needs 'instances'"):
        step(tf.constant(1.0))

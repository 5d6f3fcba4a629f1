"""The errors sleapish raises on bad input, all under :class:`SleapishError`.

Every error about what a user passed in (a model folder, a labels file, a video, a
config, an argument, the setup of a training run) is a :class:`SleapishError`. Each
also keeps the built-in type SLEAP raises for the same case (`ValueError`,
`FileNotFoundError`, ...), so `except ValueError` code written for SLEAP still works.
The command-line tools print such an error as one line (`--debug` shows the
traceback); any other exception is a bug and keeps its traceback.

Example:
    >>> try:
    ...     sleapish.load_model("no/such/folder")
    ... except SleapishError as e:
    ...     print(e)
"""

from __future__ import annotations


class SleapishError(Exception):
    """Base of every error sleapish raises on bad input."""

    # Exception's own constructor (a message), also for the subclasses that add a
    # built-in base: TensorFlow's autograph then re-raises an error raised while
    # tracing a `tf.function` as the same class, not as a StagingError.
    __init__ = Exception.__init__


class InvalidValueError(SleapishError, ValueError):
    """An argument, option, config value or data array sleapish cannot use."""


class InvalidTypeError(SleapishError, TypeError):
    """An argument of a type sleapish does not take."""


class InputNotFoundError(SleapishError, FileNotFoundError):
    """A file or folder that was asked for does not exist."""


class OutputExistsError(SleapishError, FileExistsError):
    """An output path is taken (a file in the way, or a folder that is not empty)."""


class OutputNotWritableError(SleapishError, PermissionError):
    """An output cannot be written: no permission in its folder."""


class MissingKeyError(SleapishError, KeyError):
    """An example or input dict lacks a key the operation needs."""

    def __str__(self) -> str:  # KeyError quotes its message; print it plainly
        return str(self.args[0]) if self.args else ""


class IndexOutOfRangeError(SleapishError, IndexError):
    """A frame, video or instance index outside what the data holds."""


__all__ = ["SleapishError", "InvalidValueError", "InvalidTypeError", "InputNotFoundError",
           "OutputExistsError", "OutputNotWritableError", "MissingKeyError", "IndexOutOfRangeError"]

"""How the command-line tools report errors: one line for bad input, a traceback for bugs.

Every CLI (`sleapish-train`, `-track`, `-export`, `-render`, `-report`, `-demo`) runs
its body through :func:`run_command`. A :class:`~sleapish.errors.SleapishError` (bad
input: a missing model folder, a corrupt labels file, an invalid config, ...) prints
`<prog>: error: <message>` on one line and exits 2; with `--debug` it is raised with
its traceback instead. Any other exception is a bug and keeps its traceback. Ctrl-C
prints one line and exits 130.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional

from sleapish.errors import SleapishError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def add_debug_flag(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `--debug` (show the traceback of an input error) to `parser`."""
    parser.add_argument("--debug", action="store_true",
                        help="on an input error, show the full traceback instead of "
                             "one line")
    return parser


def one_line(error: BaseException) -> str:
    """The message of `error` on one line (newlines and runs of spaces collapsed)."""
    return " ".join(str(error).split())


def run_command(prog: str, body: Callable[[], int], debug: bool = False,
                interrupted: Optional[Callable[[], str]] = None) -> int:
    """Run a CLI body and turn input errors and Ctrl-C into exit codes.

    Args:
        prog: The command name printed before the message (`sleapish-train`).
        body: The command itself; returns its exit code.
        debug: Re-raise a `SleapishError` (full traceback) instead of one line.
        interrupted: Returns the line printed on Ctrl-C (default "interrupted").

    Returns:
        What `body` returns; 2 for a `SleapishError`; 130 for Ctrl-C.
    """
    try:
        return body()
    except SleapishError as e:
        if debug:
            raise
        message = e.cli_message() if hasattr(e, "cli_message") else one_line(e)
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted() if interrupted else 'interrupted'}", file=sys.stderr)
        return EXIT_INTERRUPTED


__all__ = ["add_debug_flag", "one_line", "run_command", "EXIT_BAD_INPUT",
           "EXIT_INTERRUPTED"]

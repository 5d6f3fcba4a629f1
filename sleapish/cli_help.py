"""Help-text conventions shared by the command lines (no heavy imports)."""

from __future__ import annotations

import argparse

__all__ = ["state_defaults"]


def state_defaults(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """End every option's help with its default where the text does not give it.

    Flags read `(default: off)`, options without a value `(default: none)`.

    Args:
        parser: The parser, changed in place.

    Returns:
        The same parser.
    """
    for action in parser._actions:
        text = action.help
        if not action.option_strings or text in (None, argparse.SUPPRESS) or \
                "default" in text or isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            value = "off" if isinstance(action, argparse._StoreTrueAction) else "on"
        elif action.default is None or action.default == "" or action.default == []:
            value = "none"
        else:
            value = action.default
        action.help = f"{text} (default: {value})"
    return parser

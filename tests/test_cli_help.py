"""Every command-line option says what it does and what its default is."""

from __future__ import annotations

import argparse

import pytest


def _parsers():
    from sleapish.nn.inference.cli_parser import make_parser as track
    from sleapish.nn.inference.export_cli import _make_export_cli_parser as export
    from sleapish.render import make_parser as render
    from sleapish.train import make_parser as train

    return {"sleapish-track": track(), "sleapish-train": train(),
            "sleapish-render": render(), "sleapish-export": export()}


@pytest.mark.parametrize("name", ["sleapish-track", "sleapish-train", "sleapish-render",
                                  "sleapish-export"])
def test_every_option_has_help_with_its_default(name):
    parser = _parsers()[name]
    missing = [a.option_strings for a in parser._actions
               if a.option_strings and a.help != argparse.SUPPRESS
               and not isinstance(a, argparse._HelpAction)
               and ("default" not in (a.help or "") or len(a.help) < 20)]
    assert missing == [], missing
    text = parser.format_help()
    for note in ("TODO", "XXX", "skia", "fallback to maintain"):
        assert note not in text

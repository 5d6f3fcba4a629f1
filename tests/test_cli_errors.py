"""sleapish.cli_errors: bad input is one line (exit 2), --debug shows it, bugs keep
their traceback, Ctrl-C exits 130."""

from __future__ import annotations

import pytest

from sleapish.cli_errors import run_command
from sleapish.errors import InvalidValueError, SleapishError


def _raise(error):
    def body():
        raise error
    return body


def test_input_error_is_one_line_and_exit_2(capsys):
    code = run_command("sleapish-x", _raise(InvalidValueError("bad\n  value   here")))
    assert code == 2
    assert capsys.readouterr().err == "sleapish-x: error: bad value here\n"


def test_debug_shows_the_traceback():
    with pytest.raises(InvalidValueError, match="bad"):
        run_command("sleapish-x", _raise(InvalidValueError("bad")), debug=True)


def test_a_bug_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        run_command("sleapish-x", lambda: 1 // 0)
    with pytest.raises(ValueError, match="plain"):  # a builtin ValueError is a bug here
        run_command("sleapish-x", _raise(ValueError("plain")))


def test_ctrl_c_is_130(capsys):
    assert run_command("sleapish-x", _raise(KeyboardInterrupt()),
                       interrupted=lambda: "stopped; resume later") == 130
    assert capsys.readouterr().err == "sleapish-x: stopped; resume later\n"


def test_success_returns_the_body_code():
    assert run_command("sleapish-x", lambda: 0) == 0


@pytest.mark.parametrize("module, argv", [
    ("sleapish.train", ["missing_config.json", "labels.slp"]),
    ("sleapish.render", ["missing.slp", "-o", "out.mp4"]),
    ("sleapish.report", ["missing_run"]),
])
def test_clis_print_one_line_and_raise_with_debug(module, argv, tmp_path, monkeypatch,
                                                  capsys):
    import importlib

    monkeypatch.chdir(tmp_path)
    main = importlib.import_module(module).main
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"sleapish-{module.split('.')[-1]}: error: ") and "\n" not in err
    assert "missing" in err
    with pytest.raises(SleapishError):
        main(argv + ["--debug"])


def test_track_cli_debug_flag_is_accepted():
    from sleapish.nn.inference.cli_parser import make_parser

    assert make_parser().parse_args(["video.mp4", "--debug"]).debug is True

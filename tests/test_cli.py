"""The `overbroad` command dispatches to each stage's ``main``."""

from __future__ import annotations

import importlib

import pytest

from pipeline.cli import COMMANDS, main


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_every_subcommand_has_an_entry_point(cmd: str) -> None:
    module = importlib.import_module(COMMANDS[cmd])
    assert callable(getattr(module, "stage_main" if cmd == "segment-stage" else "main"))


# fmt: off
CASES = [
    # argv,              exit code, what stderr/stdout says
    ([],                 2,         "usage: overbroad"),
    (["--help"],         0,         "usage: overbroad"),
    (["frobnicate"],     2,         "unknown command 'frobnicate'"),
]
# fmt: on


@pytest.mark.parametrize(("argv", "code", "message"), CASES)
def test_usage_and_unknown_commands(argv: list[str], code: int, message: str, capsys) -> None:
    assert main(argv) == code
    out = capsys.readouterr()
    assert message in out.out + out.err


def test_segment_cli_reports_a_missing_file(tmp_path, capsys) -> None:
    assert main(["segment", str(tmp_path / "nope.txt"), "--lang", "vi"]) == 2
    assert "nope.txt" in capsys.readouterr().err

"""The `overbroad` command dispatches to each stage's ``main``."""

from __future__ import annotations

import importlib

import pytest

from pipeline.cli import COMMANDS, main


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_every_subcommand_has_an_entry_point(cmd: str) -> None:
    command = COMMANDS[cmd]
    assert callable(getattr(importlib.import_module(command.module), command.entry))
    assert command.help, f"{cmd}: the usage line needs a help text"


def test_every_dvc_stage_runs_through_the_table(root) -> None:
    # `python -m pipeline.<module>` in dvc.yaml: each module's __main__ goes through this table
    import yaml

    stages = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    modules = {c.module for c in COMMANDS.values()}
    for name, stage in stages.items():
        module = stage["cmd"].split()[2]
        assert module in modules, (name, module)
        source = (root / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        assert 'if __name__ == "__main__":\n    from pipeline.cli import main as cli' in source, name


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

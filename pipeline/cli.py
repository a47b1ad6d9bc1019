"""The `overbroad` command: one subcommand per stage, each a thin wrapper over the stage's ``main``."""

from __future__ import annotations

import importlib
import sys

# subcommand → module whose ``main(argv) -> int`` it runs
COMMANDS = {
    "ingest": "pipeline.ingest",
    "segment": "pipeline.segment",
    "segment-stage": "pipeline.segment",
    "align": "pipeline.align",
    "prepare-model": "pipeline.prepare_model",
    "train": "pipeline.train",
    "score": "pipeline.score",
    "score-text": "pipeline.score_text",
    "evaluate": "pipeline.evaluate",
    "publish": "pipeline.publish",
    "gold": "pipeline.gold",
    "bulk": "pipeline.bulk",
    "explore": "pipeline.explore",
    "link": "pipeline.link",
    "versions": "pipeline.versions",
    "diff": "pipeline.diff",
}

USAGE = "usage: overbroad {" + ",".join(COMMANDS) + "} [args...]\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        sys.stderr.write(f"overbroad: unknown command {cmd!r}\n{USAGE}")
        return 2
    module = importlib.import_module(COMMANDS[cmd])
    entry = getattr(module, "stage_main" if cmd == "segment-stage" else "main")
    return int(entry(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

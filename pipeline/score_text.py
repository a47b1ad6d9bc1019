"""`overbroad score-text [--model DIR]`: JSON Lines {"id", "text", "lang"} on stdin → scores on stdout.

Each text is scored as one article by the scoring core (pipeline.scoring), exactly as the score stage
scores an article without clauses. Each output line is {"id", "vagueness", "speech_risk",
"vagueness_level", "speech_risk_level", "vague_flag", "speech_flag", "evidence", "model_version"};
evidence spans come from the lexicon (source "lexicon") and from the model (source "model",
``--attribution tokens``, the default, or ``occlusion``; ``none`` for lexicon spans only). The whole
input is read and checked first: a malformed line is a one-line error naming its line number, exit 2,
and nothing is written to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from pipeline.lang import normalise
from pipeline.lexicon import Lexicon
from pipeline.schema import LANGS, SchemaError
from pipeline.scoring import ModelScorer, Scorer, ScoringOptions, score_texts
from pipeline.scoring.evidence import ATTRIBUTIONS

log = logging.getLogger(__name__)


class InputError(ValueError):
    """A line of the input is not a valid {"id", "text", "lang"} record."""


def parse_lines(lines: Iterable[str], where: str = "stdin") -> list[dict[str, Any]]:
    """JSON Lines → records; the first bad line raises InputError naming it (blank lines are skipped)."""
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}:{n}: malformed JSON ({e.msg})") from None
        if not isinstance(rec, dict):
            raise InputError(f"{where}:{n}: expected a JSON object, found {type(rec).__name__}")
        missing = [k for k in ("id", "text", "lang") if k not in rec]
        if missing:
            raise InputError(f"{where}:{n}: missing field(s) {missing}")
        if not isinstance(rec["text"], str):
            raise InputError(f"{where}:{n}: 'text' expected a string, found {type(rec['text']).__name__}")
        if rec["lang"] not in LANGS:
            raise InputError(f"{where}:{n}: 'lang' expected one of {list(LANGS)}, found {rec['lang']!r}")
        out.append({"id": rec["id"], "text": normalise(rec["text"], rec["lang"]), "lang": rec["lang"]})
    return out


OUTPUT_KEYS = (
    "vagueness",
    "speech_risk",
    "vagueness_level",
    "speech_risk_level",
    "vague_flag",
    "speech_flag",
    "evidence",
    "model_version",
)


def score_records(
    records: list[dict[str, Any]], scorer: Scorer, lexicon: Lexicon | None, options: ScoringOptions
) -> list[dict[str, Any]]:
    """Records → output rows (the scoring core's rows of the texts, each read as one article)."""
    rows = score_texts([r["text"] for r in records], [r["lang"] for r in records], scorer, lexicon, options)
    return [{"id": r["id"], **{k: row[k] for k in OUTPUT_KEYS}} for r, row in zip(records, rows, strict=True)]


def run(
    stdin: IO[str],
    stdout: IO[str],
    model_dir: str | Path,
    lexicon_path: str | Path | None,
    attribution: str = "tokens",
    int8: bool = False,
) -> dict[str, int]:
    """Read all of stdin, score, then write all lines (nothing is written if any line is bad)."""
    records = parse_lines(stdin)
    options = ScoringOptions(attribution=attribution)
    scorer = ModelScorer(model_dir, int8=int8, batch_size=options.batch_size)
    lexicon = None
    if lexicon_path:
        if Path(lexicon_path).exists():
            lexicon = Lexicon.load(lexicon_path)
        else:
            log.warning("%s: lexicon not found; evidence will hold model spans only", lexicon_path)
    rows = score_records(records, scorer, lexicon, options)
    stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    stdout.flush()
    return {"records": len(rows)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overbroad score-text", description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/classifier")
    ap.add_argument("--lexicon", default="corpora/lexicon/lexicon.yaml")
    ap.add_argument(
        "--attribution", choices=ATTRIBUTIONS, default="tokens", help="model evidence (default: tokens)"
    )
    ap.add_argument("--int8", action="store_true", help="dynamic int8 quantisation (CPU)")
    args = ap.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # stderr is for errors: no weight-loading bars
    stdin = sys.stdin
    if hasattr(stdin, "reconfigure"):
        stdin.reconfigure(encoding="utf-8", errors="strict")
    try:
        run(stdin, sys.stdout, args.model, args.lexicon, args.attribution, args.int8)
    except InputError as e:
        sys.stderr.write(f"overbroad score-text: {e}\n")
        return 2
    except UnicodeDecodeError as e:
        sys.stderr.write(f"overbroad score-text: stdin: not UTF-8 ({e.reason} at byte {e.start})\n")
        return 2
    except (FileNotFoundError, SchemaError) as e:  # no classifier, or a damaged one
        sys.stderr.write(f"overbroad score-text: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["score-text", *sys.argv[1:]]))

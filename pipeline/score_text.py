"""`overbroad score-text [--model DIR]`: JSON Lines {"id", "text", "lang"} on stdin → scores on stdout.

Each output line is {"id", "vagueness", "speech_risk", "vagueness_level", "speech_risk_level",
"evidence"}; evidence spans come from the lexicon (source "lexicon") and, with ``--attribute``, from
occlusion of the model (source "model"). The whole input is read and checked first: a malformed line
is a one-line error naming its line number, exit 2, and nothing is written to stdout. With
``--on-error skip`` each malformed line is named on stderr and left out, and every other line is
scored, so that a long batch is not lost to one bad line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from pipeline.lang import normalise
from pipeline.lexicon import Lexicon
from pipeline.schema import LANGS

log = logging.getLogger(__name__)


class InputError(ValueError):
    """A line of the input is not a valid {"id", "text", "lang"} record."""


ON_ERROR = ("fail", "skip")


def parse_lines(
    lines: Iterable[str | bytes],
    where: str = "stdin",
    on_error: str = "fail",
    skipped: list[str] | None = None,
) -> list[dict[str, Any]]:
    """JSON Lines → records; a bad line raises InputError naming it (blank lines are skipped).

    With ``on_error="skip"`` a bad line is left out and its message appended to ``skipped``.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error: expected one of {ON_ERROR}, found {on_error!r}")
    out = []
    for n, line in enumerate(lines, 1):
        try:
            rec = _parse_line(line, f"{where}:{n}")
        except InputError as e:
            if on_error == "fail":
                raise
            if skipped is not None:
                skipped.append(str(e))
            continue
        if rec is not None:
            out.append(rec)
    return out


def _parse_line(line: str | bytes, where: str) -> dict[str, Any] | None:
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"{where}: not UTF-8 ({e.reason} at byte {e.start} of the line)") from None
    if not line.strip():
        return None
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: malformed JSON ({e.msg})") from None
    if not isinstance(rec, dict):
        raise InputError(f"{where}: expected a JSON object, found {type(rec).__name__}")
    missing = [k for k in ("id", "text", "lang") if k not in rec]
    if missing:
        raise InputError(f"{where}: missing field(s) {missing}")
    if not isinstance(rec["text"], str):
        raise InputError(f"{where}: 'text' expected a string, found {type(rec['text']).__name__}")
    if rec["lang"] not in LANGS:
        raise InputError(f"{where}: 'lang' expected one of {list(LANGS)}, found {rec['lang']!r}")
    return {"id": rec["id"], "text": normalise(rec["text"], rec["lang"]), "lang": rec["lang"]}


def score_records(
    records: list[dict[str, Any]], clf: Any, lexicon: Lexicon | None, attribute: bool = False
) -> list[dict[str, Any]]:
    """Records → output rows (the pure core; ``clf`` is a pipeline.model.Classifier)."""
    scores = clf.score_texts([r["text"] for r in records], [r["lang"] for r in records])
    out = []
    for r, s in zip(records, scores, strict=True):
        evidence = [asdict(e) for e in lexicon.evidence(r["text"], r["lang"])] if lexicon else []
        if attribute:
            evidence += clf.attribute(r["text"], r["lang"])
        out.append(
            {
                "id": r["id"],
                "vagueness": round(s["vagueness"], 6),
                "speech_risk": round(s["speech_risk"], 6),
                "vagueness_level": s["vagueness_level"],
                "speech_risk_level": s["speech_risk_level"],
                "evidence": sorted(evidence, key=lambda e: (e["start"], e["end"], e["dimension"])),
            }
        )
    return out


def run(
    stdin: IO[str] | IO[bytes],
    stdout: IO[str],
    model_dir: str | Path,
    lexicon_path: str | Path | None,
    attribute: bool = False,
    int8: bool = False,
    on_error: str = "fail",
    stderr: IO[str] | None = None,
) -> dict[str, int]:
    """Read all of stdin, score, then write all lines (with ``on_error="fail"`` nothing is written if
    any line is bad; with ``"skip"`` the bad lines are named on ``stderr`` and the rest scored)."""
    skipped: list[str] = []
    records = parse_lines(stdin, on_error=on_error, skipped=skipped)
    for msg in skipped:
        (stderr or sys.stderr).write(f"overbroad score-text: {msg}; skipped\n")
    from pipeline.model import Classifier

    clf = Classifier.load(model_dir, int8=int8)
    lexicon = None
    if lexicon_path:
        if Path(lexicon_path).exists():
            lexicon = Lexicon.load(lexicon_path)
        else:
            log.warning("%s: lexicon not found; evidence will hold model spans only", lexicon_path)
    rows = score_records(records, clf, lexicon, attribute)
    stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    stdout.flush()
    return {"records": len(rows), "skipped": len(skipped)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overbroad score-text", description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/classifier")
    ap.add_argument("--lexicon", default="corpora/lexicon/lexicon.yaml")
    ap.add_argument(
        "--attribute", action="store_true", help="add model occlusion spans to the evidence (slower)"
    )
    ap.add_argument("--int8", action="store_true", help="dynamic int8 quantisation (CPU)")
    ap.add_argument(
        "--on-error",
        choices=ON_ERROR,
        default="fail",
        help="a malformed line: fail (exit 2, nothing written; default) or skip it and score the rest",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # stderr is for errors: no weight-loading bars
    # Bytes, decoded line by line, so that a line that is not UTF-8 is named like any other bad line.
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    try:
        run(stdin, sys.stdout, args.model, args.lexicon, args.attribute, args.int8, args.on_error)
    except InputError as e:
        sys.stderr.write(f"overbroad score-text: {e}\n")
        return 2
    except UnicodeDecodeError as e:
        sys.stderr.write(f"overbroad score-text: stdin: not UTF-8 ({e.reason} at byte {e.start})\n")
        return 2
    except FileNotFoundError as e:
        sys.stderr.write(f"overbroad score-text: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

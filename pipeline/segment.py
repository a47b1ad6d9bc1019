"""Segment stage: documents → provisions (one row per article, clause and point).

The pure core is pipeline.segmenter (:func:`segment`, :func:`segment_document`); here the I/O shell
:func:`run` and two CLIs: :func:`main` (``overbroad segment PATH``) and :func:`stage_main`
(``python -m pipeline.segment``). The drafting conventions of each style are data in pipeline.styles.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import stage
from pipeline.detect import detect_style, no_style_message
from pipeline.inputs import read_table
from pipeline.io import write_json, write_parquet
from pipeline.loader import FORMATS, LoadError, keep_lines, load_file
from pipeline.params import load_params
from pipeline.schema import DOCUMENTS_SCHEMA, PROVISIONS_SCHEMA, Document, to_table
from pipeline.segmenter import SegmentError, SegmentOptions, segment, segment_document  # noqa: F401 (re-exported)
from pipeline.styles import STYLES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentParams(SegmentOptions):
    """Section ``segment`` of params.yaml: the segmenter's options and the stage's failure limit."""

    # The stage fails when more than this fraction of documents cannot be segmented.
    max_failed_fraction: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.max_failed_fraction <= 1.0:
            raise ValueError(
                f"segment.max_failed_fraction: expected a number in [0, 1], found {self.max_failed_fraction}"
            )


# --- I/O shell ----------------------------------------------------------------------------------


def run(
    documents_path: str | Path,
    out_path: str | Path,
    params: SegmentParams,
    report_path: str | Path | None = None,
) -> dict[str, int]:
    """data/documents.parquet → data/provisions.parquet (atomic); returns counts per level and failures."""
    table = read_table(documents_path, DOCUMENTS_SCHEMA, "documents")
    rows: list[dict[str, Any]] = []
    per_doc: dict[str, dict[str, Any]] = {}
    counts = {
        "documents": table.num_rows,
        "segmented": 0,
        "failed": 0,
        "article": 0,
        "clause": 0,
        "point": 0,
        "warnings": 0,
    }
    for rec in table.select([f.name for f in DOCUMENTS_SCHEMA]).to_pylist():
        doc = Document(**rec)
        try:
            seg = segment(doc, params)
        except SegmentError as e:
            counts["failed"] += 1
            per_doc[doc.doc_id] = {"articles": 0, "segment_error": str(e)}
            log.warning("%s: %s", doc.doc_id, e)
            continue
        counts["segmented"] += 1
        for p in seg.provisions:
            counts[p.level] += 1
            rows.append(p.to_dict())
        per_doc[doc.doc_id] = {
            "articles": len(seg.articles),
            "segment_error": None,
            # "<file>: line N: …", the line of the ingested text (data/documents.parquet).
            "segment_warnings": [f"{doc.path}: {msg}" for msg in seg.issues],
        }
        counts["warnings"] += len(seg.issues)
        for msg in seg.issues:
            log.warning("%s (%s): %s", doc.doc_id, doc.path, msg)
    if report_path is not None:
        _update_report(Path(report_path), per_doc, counts)
    if counts["documents"] and counts["failed"] / counts["documents"] > params.max_failed_fraction:
        raise SegmentError(
            f"{counts['failed']} of {counts['documents']} documents could not be segmented, more than "
            f"max_failed_fraction={params.max_failed_fraction}; see {report_path or 'the log'}"
        )
    write_parquet(to_table(rows, PROVISIONS_SCHEMA), out_path)
    counts["provisions"] = len(rows)
    return counts


def _update_report(path: Path, per_doc: dict[str, dict[str, Any]], counts: dict[str, int]) -> None:
    report: dict[str, Any] = {"documents": []}
    if path.exists():
        report = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(report.get("documents"), list):
            raise ValueError(
                f"{path}: expected a 'documents' list, found {type(report.get('documents')).__name__}"
            )
    entries = {e.get("doc_id"): e for e in report["documents"]}
    for doc_id, info in per_doc.items():
        if doc_id in entries:
            entries[doc_id].update(info)
        else:
            report["documents"].append({"doc_id": doc_id, "status": "segmented", **info})
    report["segment"] = dict(counts)
    write_json(report, path)


# --- CLIs ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``overbroad segment PATH --lang vi|en``: JSON Lines on stdout, warnings and errors on stderr.

    Exit 0; 2 when the file cannot be read or segmented; 1 with ``--strict`` when there were warnings.
    """
    ap = argparse.ArgumentParser(
        prog="overbroad segment",
        description="Cut a law (.txt, .md, .html, .pdf, .docx) into provisions (JSON Lines on stdout).",
    )
    ap.add_argument("path", type=Path)
    ap.add_argument("--lang", required=True, choices=["vi", "en"])
    ap.add_argument("--doc-id", default=None, help="document id (default: the file name without extension)")
    ap.add_argument(
        "--style",
        default=None,
        choices=sorted(STYLES),
        help="drafting style (default: detected from the text; -v shows why)",
    )
    ap.add_argument(
        "--format", default=None, choices=list(FORMATS), help="file format (default: from the bytes)"
    )
    ap.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    ap.add_argument("--text", action="store_true", help="print the text the segmenter reads, not provisions")
    ap.add_argument(
        "-v", "--verbose", action="store_true", help="say how the file was read and the style chosen"
    )
    args = ap.parse_args(argv)
    path: Path = args.path
    doc_id = args.doc_id or path.stem
    warnings: list[str] = []

    def say(kind: str, msg: str) -> None:
        print(f"{kind}: {msg}", file=sys.stderr)

    try:
        loaded = load_file(path, args.format)
        warnings += loaded.warnings
        # Line N of the text is line N of a .txt or .md file (of the extracted text for other formats).
        text = keep_lines(loaded.text, args.lang)
        if not text.strip():
            raise SegmentError("empty file (no text after decoding)")
        if args.verbose:
            enc = "" if loaded.encoding == loaded.format else f", {loaded.encoding}"
            say("info", f"{path}: read as {loaded.format}{enc}, {len(text)} characters")
        if args.text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            return 0
        if args.style:
            style = args.style
            if args.verbose:
                say(
                    "info",
                    f"{path}: style {style} (from --style; detected: "
                    f"{detect_style(text, args.lang).evidence})",
                )
        else:
            choice = detect_style(text, args.lang)
            if choice.style is None:
                raise SegmentError(no_style_message(choice))
            style = choice.style
            if args.verbose:
                say("info", f"{path}: style {style} detected ({choice.evidence})")
        doc = Document.from_text(doc_id, args.lang, text, style, source=str(path), path=str(path))
        seg = segment(doc, SegmentParams())
    except (LoadError, SegmentError) as e:
        msg = str(e)
        say("error", msg if msg.startswith(str(path)) else f"{path}: {msg}")
        return 2
    warnings += [f"{path}: {w}" for w in seg.issues]
    out = sys.stdout
    for p in seg.provisions:
        out.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
    for w in warnings:
        say("warning", w)
    if args.verbose:
        say("info", f"{path}: {len(seg.articles)} articles, {len(seg.provisions)} provisions")
    return 1 if args.strict and warnings else 0


STAGE_PATHS = {
    "documents": "data/documents.parquet",
    "out": "data/provisions.parquet",
    "report": "data/segment_report.json",
}


def stage_main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.segment``: the DVC stage with its paths as arguments."""

    def extra(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--strict", action="store_true", help="exit 1 when any document has warnings")

    args = stage.arguments("python -m pipeline.segment", "Segment stage.", STAGE_PATHS, argv, extra)
    params = load_params(SegmentParams, "segment", args.params)
    counts: dict[str, int] = {}

    def go() -> dict[str, int]:
        counts.update(run(args.documents, args.out, params, args.report))
        return counts

    code = stage.execute("segment", go)
    return 1 if code == 0 and args.strict and counts.get("warnings") else code


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["segment-stage", *sys.argv[1:]]))

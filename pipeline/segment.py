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
from pipeline.inputs import read_table
from pipeline.io import write_json, write_parquet
from pipeline.lang import normalise
from pipeline.params import load_params
from pipeline.schema import DOCUMENTS_SCHEMA, PROVISIONS_SCHEMA, Document, to_table
from pipeline.segmenter import SegmentError, SegmentOptions, segment, segment_document
from pipeline.styles import default_style, get_style

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
    counts = {"documents": table.num_rows, "segmented": 0, "failed": 0, "article": 0, "clause": 0, "point": 0}
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
            "segment_warnings": seg.issues,
        }
        for msg in seg.issues:
            log.warning("%s: %s", doc.doc_id, msg)
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
    """``overbroad segment PATH --lang vi|en [--doc-id ID] [--style STYLE]``: JSON Lines on stdout."""
    ap = argparse.ArgumentParser(
        prog="overbroad segment", description="Cut a law into provisions (JSON Lines)."
    )
    ap.add_argument("path", type=Path)
    ap.add_argument("--lang", required=True, choices=["vi", "en"])
    ap.add_argument("--doc-id", default=None, help="document id (default: the file name without extension)")
    ap.add_argument(
        "--style", default=None, help="drafting style: vn, vn-en, treaty, sg, us (default: from id and lang)"
    )
    args = ap.parse_args(argv)
    path: Path = args.path
    doc_id = args.doc_id or path.stem
    try:
        style = get_style(args.style or default_style(doc_id, args.lang))
        raw = path.read_bytes()
        text = normalise(raw.decode("utf-8"), args.lang)
        if not text.strip():
            raise SegmentError("empty file")
        doc = Document.from_text(doc_id, args.lang, text, style.name, source=str(path), path=str(path))
        provisions = segment_document(doc, SegmentParams())
    except UnicodeDecodeError as e:
        print(
            f"error: {path}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})", file=sys.stderr
        )
        return 2
    except OSError as e:
        print(f"error: {path}: cannot read ({e.strerror})", file=sys.stderr)
        return 2
    except ValueError as e:  # SegmentError and an unknown style
        print(f"error: {path}: {e}", file=sys.stderr)
        return 2
    out = sys.stdout
    for p in provisions:
        out.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
    return 0


STAGE_PATHS = {
    "documents": "data/documents.parquet",
    "out": "data/provisions.parquet",
    "report": "data/segment_report.json",
}


def stage_main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.segment``: the DVC stage with its paths as arguments."""
    args = stage.arguments("python -m pipeline.segment", "Segment stage.", STAGE_PATHS, argv)
    params = load_params(SegmentParams, "segment", args.params)
    return stage.execute("segment", lambda: run(args.documents, args.out, params, args.report))


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["segment-stage", *sys.argv[1:]]))

"""gold_bulk stage: the bulk-corpus documents that carry gold labels → data/gold_bulk_provisions.parquet.

Gold labels may name articles of the bulk Vietnamese corpora (corpora/bulk/*.tar.xz), whose
documents are not in the default pipeline's data/provisions.parquet: their ids are
``<archive>.<slug>/art-<n>`` (for example ``vn-underthesea-vlc.<slug>/art-12``), the ids the bulk
scorer gives them. This stage reads only the archives that hold labelled documents, segments only
those documents (pipeline.archives: ``read_archive`` + ``segment_bulk``, Pháp điển labels included) and
writes their provisions, in the provisions schema, for the cv and train stages to read alongside
data/provisions.parquet. With no such label it writes an empty table and opens no archive.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import stage
from pipeline.archives import archive_name, read_archive, segment_bulk
from pipeline.io import read_jsonl, write_json, write_parquet
from pipeline.schema import PROVISIONS_SCHEMA, to_table
from pipeline.segmenter import SegmentOptions

log = logging.getLogger(__name__)


def labelled_bulk_docs(gold: Sequence[dict[str, Any]], archives: Sequence[str]) -> dict[str, set[str]]:
    """Archive name → the ids of its documents that gold labels name (``<archive>.<slug>``)."""
    out: dict[str, set[str]] = {}
    for r in gold:
        doc = str(r.get("doc_id") or "")
        for a in archives:
            if doc.startswith(a + "."):
                out.setdefault(a, set()).add(doc)
    return out


def bulk_provisions(
    archive_paths: Sequence[str | Path], wanted: dict[str, set[str]], params: SegmentOptions
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Segment the wanted documents of each archive; a wanted document not in its archive is an error."""
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {"documents": 0, "warnings": []}
    for path in archive_paths:
        name = archive_name(path)
        need = wanted.get(name)
        if not need:
            continue
        docs = {d.doc_id: d for d in read_archive(path) if d.doc_id in need}
        missing = sorted(need - set(docs))
        if missing:
            raise ValueError(
                f"{path}: gold labels name documents {missing[:5]} that the archive does not hold "
                f"(expected ids <archive>.<slug of the file name>)"
            )
        for doc_id in sorted(docs):
            provs, issues, _ = segment_bulk(docs[doc_id], params)
            rows += [p.to_dict() for p in provs if p.level == "article"]
            report["warnings"] += [f"{doc_id}: {w}" for w in issues]
            report["documents"] += 1
    report["provisions"] = len(rows)
    return rows, report


def run(
    gold_path: str | Path, archive_paths: Sequence[str | Path], out_path: str | Path, report_path: str | Path
) -> dict[str, Any]:
    gold = read_jsonl(gold_path)
    names = [archive_name(p) for p in archive_paths]
    wanted = labelled_bulk_docs(gold, names)
    rows, report = bulk_provisions(archive_paths, wanted, SegmentOptions(levels=("article",)))
    report["labelled_documents"] = {a: len(v) for a, v in sorted(wanted.items())}
    write_parquet(to_table(rows, PROVISIONS_SCHEMA), out_path)
    write_json(report, report_path)
    log.info("gold_bulk: %d documents, %d provisions", report["documents"], report["provisions"])
    return report


PATHS = {
    "gold": "corpora/annotations/gold.jsonl",
    "out": "data/gold_bulk_provisions.parquet",
    "report": "data/gold_bulk_report.json",
}


def main(argv: list[str] | None = None) -> int:
    def extra(ap: Any) -> None:
        ap.add_argument(
            "--archives", nargs="*", default=sorted(str(p) for p in Path("corpora/bulk").glob("*.tar.xz"))
        )

    args = stage.arguments("overbroad gold-bulk", __doc__, PATHS, argv, extra=extra, params=False)

    def go() -> dict[str, Any]:
        r = run(args.gold, args.archives, args.out, args.report)
        out = {k: r[k] for k in ("documents", "provisions")}
        print(json.dumps(out))
        return out

    return stage.execute("gold_bulk", go)


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["gold-bulk", *sys.argv[1:]]))

"""bulk_publish stage: data/bulk/chunks (pipeline.bulk) → data/bulk/publish/.

data/bulk/publish/ holds articles.parquet and units.parquet (the columns of data/publish/articles.parquet
plus ``source_law`` and ``provenance``), documents.csv (one summary row per document), a dataset card
(README.md: counts per corpus, the highest-risk provisions with their source law, and the check that
a law of the main corpus scores the same in both datasets), reports/ (one HTML page per document and
an index.html linking them) and SHA256SUMS. Built atomically: a failed run leaves the previous folder.

Same law, same score: a law of corpora/raw (data/scores.parquet) is matched to a bulk document by
title (its name words and year, diacritics folded: "Luật An ninh mạng, số 24/2018/QH14" and
``Luat-an-ninh-mang-2018-351416``), or, for a Pháp điển article, by the instrument number and article
number of its provenance line ("Điều 8 Luật số 24/2018/QH14"). Articles whose texts are the same
(whitespace aside) must get the same scores: the card states how many were compared, the largest
difference and the flags that differ.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import stage
from pipeline.inputs import read_model_dir, read_table
from pipeline.io import atomic_path
from pipeline.params import load_params
from pipeline.render import render
from pipeline.report import report_name, write_reports
from pipeline.schema import BULK_SCORES_SCHEMA, DIMENSIONS, DOCUMENTS_SCHEMA, SCORES_SCHEMA

log = logging.getLogger(__name__)

PATHS = {
    "chunks": "data/bulk/chunks",
    "model": "models/classifier",
    "scores": "data/scores.parquet",
    "documents": "data/documents.parquet",
    "out": "data/bulk/publish",
}
# two probabilities of one article text scored twice differ only by batch composition (last bits)
SAME_SCORE_TOL = 1e-3


@dataclass(frozen=True)
class BulkPublishParams:
    """Section ``bulk_publish`` of params.yaml."""

    version: str = "0.1.0"
    top_k: int = 20  # highest-risk provisions listed in the card
    reports: bool = True

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"bulk_publish.top_k: expected a positive integer, found {self.top_k}")


# --- matching a main-corpus law to the bulk corpora -------------------------------------------------


def fold(s: str) -> str:
    """Lower case, diacritics and đ folded, punctuation to spaces."""
    s = unicodedata.normalize("NFD", s.replace("đ", "d").replace("Đ", "D"))
    s = "".join(c for c in s if unicodedata.category(c) != "Mn").lower()
    return " ".join(re.findall(r"[a-z0-9]+", s))


def title_key(title: str, year: int | None) -> tuple[str, int] | None:
    """A law's name words and year: "Luật An ninh mạng, số 24/2018/QH14" (2018) → ("luat an ninh mang", 2018).

    The name is what comes before the number ("số …") or the year; a bulk file name such as
    ``Luat-an-ninh-mang-2018-351416`` gives the same key.
    """
    words = fold(title).split()
    name = []
    found_year = year or None
    for w in words:
        if w == "so" or w.isdigit():
            if len(w) == 4 and w.isdigit() and found_year is None:
                found_year = int(w)
            break
        name.append(w)
    if not name or not found_year:
        return None
    return " ".join(name), int(found_year)


def instrument_numbers(text: str) -> list[str]:
    """Instrument numbers in a title or provenance line: "24/2018/QH14", "13/2023/NĐ-CP"."""
    return [
        "/".join("-".join(fold(w).split()) for w in m.split("/"))
        for m in re.findall(r"\d+/\d{4}/[\wĐđ/-]+", text)
    ]


def _norm_text(s: str | None) -> str:
    return " ".join((s or "").split())


def same_law_check(
    bulk_articles: Sequence[dict[str, Any]],
    bulk_docs: dict[str, dict[str, Any]],
    main_articles: Sequence[dict[str, Any]],
    main_docs: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Articles of main-corpus laws that reappear in the bulk corpora with the same text → how their
    scores compare (count, max |Δp|, flags that differ, the laws matched)."""
    by_title: dict[tuple[str, int], list[str]] = defaultdict(list)
    by_number: dict[str, list[str]] = defaultdict(list)
    for doc_id, m in main_docs.items():
        if m.get("lang") != "vi":
            continue
        key = title_key(m.get("title", ""), m.get("year"))
        if key:
            by_title[key].append(doc_id)
        for n in instrument_numbers(m.get("title", "")):
            by_number[n].append(doc_id)
    main = {(r["doc_id"], str(r["article"])): r for r in main_articles}
    compared, differ_text, max_dp, flag_diff = 0, 0, 0.0, []
    laws: dict[str, set[str]] = defaultdict(set)
    for r in bulk_articles:
        meta = bulk_docs.get(r["doc_id"], {})
        candidates: list[tuple[str, str]] = []
        key = title_key(meta.get("title", ""), meta.get("year") or None)
        for doc_id in by_title.get(key, []) if key else []:
            candidates.append((doc_id, str(r["article"])))
        if r.get("provenance"):
            m = re.match(r"\(*\s*Điều\s+(\d+[a-zđ]?)\s", r["provenance"])
            if m:
                for n in instrument_numbers(r["source_law"] or r["provenance"])[:1]:
                    candidates += [(doc_id, m.group(1)) for doc_id in by_number.get(n, [])]
        for cand in candidates:
            other = main.get(cand)
            if other is None:
                continue
            if _norm_text(other["text"]) != _norm_text(r["text"]):
                differ_text += 1
                continue
            compared += 1
            laws[cand[0]].add(r["doc_id"])
            max_dp = max(max_dp, *(abs(float(r[d]) - float(other[d])) for d in DIMENSIONS))
            for flag in ("vague_flag", "speech_flag"):
                if bool(r[flag]) != bool(other[flag]):
                    flag_diff.append(f"{r['provision_id']} vs {other['provision_id']} ({flag})")
    return {
        "compared": compared,
        "same_article_other_text": differ_text,
        "max_abs_dp": round(max_dp, 6),
        "flags_differ": flag_diff,
        "laws": {k: sorted(v) for k, v in sorted(laws.items())},
        "ok": compared > 0 and max_dp <= SAME_SCORE_TOL and not flag_diff,
    }


def _check_text(check: dict[str, Any]) -> str:
    if not check.get("compared"):
        return (
            "No article of a main-corpus law could be compared (no data/scores.parquet, or no law of "
            "corpora/raw found in the bulk corpora with the same article text)."
        )
    laws = "; ".join(f"`{k}` ↔ {', '.join(f'`{x}`' for x in v)}" for k, v in check["laws"].items())
    verdict = "the same scores" if check["ok"] else "**different scores**"
    return (
        f"{check['compared']} articles of {len(check['laws'])} laws of the main corpus reappear with "
        f"the same text in the bulk corpora and get {verdict}: largest |Δp| {check['max_abs_dp']:.2g} "
        f"(tolerance {SAME_SCORE_TOL}), {len(check['flags_differ'])} flags differ. "
        f"{check['same_article_other_text']} more matched articles have another text (another version "
        f"or consolidation) and are not compared. Laws matched: {laws}."
    )


# --- the stage -------------------------------------------------------------------------------------


def highest_risk(articles: Sequence[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The ``k`` most speech-risky articles (then most vague), each text once: Pháp điển codifies the
    laws that UTS_VLC prints, and a law's article may sit under several subjects, so the same provision
    would otherwise fill several places. Each row lists in ``also_in`` the other articles that print
    the same text. Spaces are left out of the comparison: the Pháp điển copies drop some
    ("khốiđạiđoàn kết", "Internet,các") where the law as published has them."""
    ranked = sorted(articles, key=lambda r: (-r["speech_risk"], -r["vagueness"], r["provision_id"]))
    first: dict[str, dict[str, Any]] = {}
    for r in ranked:
        key = "".join(unicodedata.normalize("NFC", r["text"] or "").split())
        if key in first:
            first[key]["also_in"].append(r["provision_id"])
        elif len(first) < k:
            first[key] = {**r, "also_in": []}
    return list(first.values())


def read_chunks(chunks_dir: Path) -> tuple[pa.Table, dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
    """Every chunk of every corpus → (one table, document metadata by doc_id, provenance by corpus)."""
    tables, docs, provenance = [], {}, {}
    for report_path in sorted(chunks_dir.glob("*/report.json")):
        rep = json.loads(report_path.read_text(encoding="utf-8"))
        corpus = report_path.parent.name
        provenance[corpus] = rep.get("provenance") or {}
        for d in rep["documents"]:
            docs[d["doc_id"]] = {
                **d,
                "corpus": corpus,
                "jurisdiction": "Viet Nam",
                "lang": "vi",
                "kind": provenance[corpus].get("kind", "law"),
                "licence": provenance[corpus].get("licence", ""),
                "official": True,
                "redistribute_text": True,
            }
        for path in sorted(report_path.parent.glob("chunk-*.parquet")):
            tables.append(read_table(path, BULK_SCORES_SCHEMA, "bulk chunk").select(BULK_SCORES_SCHEMA.names))
    if not tables:
        raise FileNotFoundError(f"{chunks_dir}: no bulk chunks (run `dvc repro bulk/dvc.yaml:bulk`)")
    return pa.concat_tables([t.cast(BULK_SCORES_SCHEMA) for t in tables]), docs, provenance


def document_summaries(
    rows: Sequence[dict[str, Any]], docs: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_doc[r["doc_id"]].append(r)
    out = []
    for doc_id, meta in sorted(docs.items()):
        drows = by_doc.get(doc_id, [])
        arts = [r for r in drows if r["level"] == "article"]
        top = max(arts, key=lambda r: r["speech_risk"], default=None)
        out.append(
            {
                "doc_id": doc_id,
                "corpus": meta["corpus"],
                "title": meta.get("title", doc_id),
                "status": meta.get("status", "ok"),
                "articles": len(arts),
                "units": len(drows) - len(arts),
                "vague_flags": sum(bool(r["vague_flag"]) for r in arts),
                "speech_flags": sum(bool(r["speech_flag"]) for r in arts),
                "max_vagueness": round(max((r["vagueness"] for r in arts), default=0.0), 4),
                "max_speech_risk": round(max((r["speech_risk"] for r in arts), default=0.0), 4),
                "top_speech_provision": top["provision_id"] if top else "",
                "top_speech_source_law": (top["source_law"] or "") if top else "",
                "report": f"reports/{report_name(doc_id)}",
            }
        )
    return out


def run(
    chunks_dir: str | Path,
    out_dir: str | Path,
    params: BulkPublishParams,
    model_dir: str | Path = "models/classifier",
    scores_path: str | Path | None = "data/scores.parquet",
    documents_path: str | Path | None = "data/documents.parquet",
) -> dict[str, Any]:
    """Build data/bulk/publish/ from the bulk chunks; return counts (and the same-law check)."""
    table, docs, provenance = read_chunks(Path(chunks_dir))
    rows = table.to_pylist()
    articles = [r for r in rows if r["level"] == "article"]
    units = [r for r in rows if r["level"] != "article"]
    model_version = next((str(r["model_version"]) for r in rows), "")
    md = Path(model_dir)
    thresholds = read_model_dir(md).threshold if md.is_dir() else dict.fromkeys(DIMENSIONS, 0.5)
    check: dict[str, Any] = {"compared": 0}
    if scores_path and documents_path and Path(scores_path).is_file() and Path(documents_path).is_file():
        main = read_table(scores_path, SCORES_SCHEMA, "scores").to_pylist()
        cols = [f.name for f in DOCUMENTS_SCHEMA if f.name != "text"]
        main_docs = {
            d["doc_id"]: d
            for d in read_table(documents_path, DOCUMENTS_SCHEMA, "documents", cols).to_pylist()
        }
        check = same_law_check(articles, docs, [r for r in main if r["level"] == "article"], main_docs)
    else:
        log.warning("no %s or %s: the same-law check is left out", scores_path, documents_path)
    summaries = document_summaries(rows, docs)
    corpora = []
    for corpus in sorted(provenance):
        ids = {d for d, m in docs.items() if m["corpus"] == corpus}
        ca = [r for r in articles if r["doc_id"] in ids]
        corpora.append(
            {
                "corpus": corpus,
                "documents": len(ids),
                "articles": len(ca),
                "units": sum(r["doc_id"] in ids for r in units),
                "vague_flag": sum(bool(r["vague_flag"]) for r in ca),
                "speech_flag": sum(bool(r["speech_flag"]) for r in ca),
            }
        )
    top = [
        {**r, "title": docs.get(r["doc_id"], {}).get("title", r["doc_id"])}
        for r in highest_risk(articles, params.top_k)
    ]
    counts: dict[str, Any] = {
        "documents": len(docs),
        "articles": len(articles),
        "units": len(units),
        "vague_flag": sum(bool(r["vague_flag"]) for r in articles),
        "speech_flag": sum(bool(r["speech_flag"]) for r in articles),
    }
    with atomic_path(out_dir, is_dir=True) as tmp:
        tmp.chmod(0o755)
        pq.write_table(pa.Table.from_pylist(articles, BULK_SCORES_SCHEMA), tmp / "articles.parquet")
        pq.write_table(pa.Table.from_pylist(units, BULK_SCORES_SCHEMA), tmp / "units.parquet")
        with open(tmp / "documents.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(summaries[0]) if summaries else ["doc_id"])
            w.writeheader()
            w.writerows(summaries)
        (tmp / "same_law_check.json").write_text(json.dumps(check, indent=2, ensure_ascii=False) + "\n")
        (tmp / "README.md").write_text(
            render(
                "bulk_card.md.j2",
                version=params.version,
                model_version=model_version,
                counts=counts,
                corpora=corpora,
                thresholds=thresholds,
                top=top,
                overlap={"text": _check_text(check)},
                provenance=provenance,
            ),
            encoding="utf-8",
        )
        if params.reports:
            counts |= write_reports(rows, docs, tmp / "reports", params.version)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        sums = "".join(f"{_sha256(p)}  {p.relative_to(tmp).as_posix()}\n" for p in files)
        (tmp / "SHA256SUMS").write_text(sums, encoding="utf-8")
    counts["same_law"] = {k: check.get(k) for k in ("compared", "max_abs_dp", "ok")}
    return counts


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = stage.arguments("overbroad bulk-publish", __doc__, PATHS, argv)
    params = load_params(BulkPublishParams, "bulk_publish", args.params)
    return stage.execute(
        "bulk_publish",
        lambda: run(args.chunks, args.out, params, args.model, args.scores, args.documents),
    )


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["bulk-publish", *sys.argv[1:]]))

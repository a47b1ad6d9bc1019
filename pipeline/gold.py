"""Build and audit the gold set: pass-1 labels + adjudications → corpora/annotations/gold.jsonl.

Annotators record evidence as verbatim quotes; this module anchors each quote to character offsets in
the article's text as the segmenter cuts it, merges adjudicated labels, measures agreement between the
first pass and the blind second pass, and validates the result. Labels are never changed here: a label
comes from an annotator's file or from an adjudication record, and each record says which.

    overbroad gold build   # pass1 + adjudication + data/provisions.parquet → gold.jsonl, agreement.json
    overbroad gold check   # validate gold.jsonl against the schema and data/provisions.parquet
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from sklearn.metrics import cohen_kappa_score

from pipeline import stage
from pipeline.archives import archive_name, read_archive, segment_bulk
from pipeline.inputs import GoldError, check_gold_record, read_gold
from pipeline.io import read_jsonl, write_json, write_jsonl
from pipeline.schema import DIMENSIONS, LANGS
from pipeline.segmenter import SegmentOptions

log = logging.getLogger(__name__)

ANNOTATIONS = Path("corpora/annotations")


def anchor(quote: str, text: str, taken: list[tuple[int, int]] | None = None) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text``: exact first, then tolerant of whitespace and quote marks."""
    taken = taken or []
    start = text.find(quote)
    while start != -1:
        span = (start, start + len(quote))
        if span not in taken:
            return span
        start = text.find(quote, start + 1)
    if (start := text.find(quote)) != -1:
        return (start, start + len(quote))
    words = [re.escape(w) for w in quote.replace("“", '"').replace("”", '"').split()]
    if not words:
        return None
    loose = r"\s+".join(w.replace('"', '["“”]') for w in words)
    m = re.search(loose, text)
    return (m.start(), m.end()) if m else None


def build(
    pass1: list[dict[str, Any]],
    adjudications: list[dict[str, Any]],
    texts: dict[str, str],
    supplements: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Final gold records with anchored evidence, and counts of what happened.

    ``supplements`` add evidence quotes (never labels) to a first-pass record whose quotable words were
    missing from the annotator's view of the article.
    """
    # An article may be adjudicated more than once (a disagreement, then a re-judgement under a later
    # codebook version): the last adjudication holds and the earlier ones stay on the record.
    adj_all: dict[str, list[dict[str, Any]]] = {}
    for a in adjudications:
        adj_all.setdefault(a["provision_id"], []).append(a)
    adj = {pid: rows[-1] for pid, rows in adj_all.items()}
    extra: dict[str, list[dict[str, Any]]] = {}
    for s in supplements or []:
        extra.setdefault(s["provision_id"], []).extend(
            dict(ev, supplied_by=s["annotator"]) for ev in s.get("evidence") or []
        )
    out, counts = [], Counter()
    seen = set()
    for r in pass1:
        pid = r["provision_id"]
        if pid in seen:
            raise GoldError(f"duplicate gold label for {pid}")
        seen.add(pid)
        if pid not in texts:
            counts["missing_provision"] += 1
            log.warning("gold: %s is not a provision of data/provisions.parquet; label kept out", pid)
            continue
        text = texts[pid]
        rec = {k: r[k] for k in ("provision_id", "doc_id", "lang")}
        rec.update(vagueness=r["vagueness"], speech_risk=r["speech_risk"])
        evidence, taken = [], []
        for ev in [*(r.get("evidence") or []), *extra.pop(pid, [])]:
            quote = ev.get("quote") or ev.get("text") or ""
            span = anchor(quote, text, taken)
            if span is None:
                counts["evidence_unanchored"] += 1
                log.warning("gold: %s: quote %r not found in the provision's text; dropped", pid, quote)
                continue
            taken.append(span)
            item = {
                "start": span[0],
                "end": span[1],
                "text": text[span[0] : span[1]],
                "dimension": ev["dimension"],
                "category": ev["category"],
            }
            if "supplied_by" in ev:
                item["supplied_by"] = ev["supplied_by"]
                counts["evidence_supplemented"] += 1
            evidence.append(item)
            counts["evidence"] += 1
        rec["evidence"] = evidence
        rec.update(rationale=r["rationale"], annotator=r["annotator"], date=r["date"], method=r["method"])
        if pid in adj:
            a = adj[pid]
            rec["first_pass"] = {"vagueness": r["vagueness"], "speech_risk": r["speech_risk"]}
            rec.update(
                vagueness=a["vagueness"],
                speech_risk=a["speech_risk"],
                method="adjudicated",
                adjudication=a["reason"],
                adjudicator=a["adjudicator"],
            )
            if "codebook" in a:
                rec["codebook"] = a["codebook"]
            if len(adj_all[pid]) > 1:
                rec["earlier_adjudications"] = [
                    {k: e[k] for k in ("vagueness", "speech_risk", "reason", "adjudicator", "date") if k in e}
                    for e in adj_all[pid][:-1]
                ]
            counts["adjudicated"] += 1
            counts["adjudicated_changed"] += int(rec["first_pass"] != {d: a[d] for d in DIMENSIONS})
        out.append(rec)
        counts["labels"] += 1
    if extra:
        raise GoldError(f"evidence supplements for ids with no first-pass label: {sorted(extra)[:5]}")
    unused = set(adj) - seen
    if unused:
        raise GoldError(f"adjudications for ids with no first-pass label: {sorted(unused)[:5]}")
    return out, dict(counts)


def apply_reviews(
    gold: list[dict[str, Any]], reviews: list[dict[str, Any]], texts: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Merge human reviews (corpora/annotations/review/) into the gold records, oldest review first.

    A human review overrides the label; the record keeps every earlier judgement in ``history`` (the
    first-pass or adjudicated label, then any earlier review), so a citation can show who said what.
    A reviewed article that had no gold label becomes a new record.
    """
    by_id = {r["provision_id"]: r for r in gold}
    order = [r["provision_id"] for r in gold]
    counts: Counter[str] = Counter()
    for i, rv in enumerate(sorted(reviews, key=lambda r: (r["date"], r["annotator"])), 1):
        check_gold_record(rv, f"review {i} ({rv.get('provision_id')})")
        pid = rv["provision_id"]
        if pid not in texts:
            raise GoldError(f"review {i}: {pid} is not an article of the provisions")
        for ev in rv.get("evidence") or []:
            if texts[pid][ev["start"] : ev["end"]] != ev["text"]:
                raise GoldError(
                    f"review {i}: evidence {ev['start']}:{ev['end']} does not slice to {ev['text']!r}"
                )
        new = {k: rv[k] for k in ("provision_id", "doc_id", "lang", "vagueness", "speech_risk")}
        new.update(
            evidence=list(rv.get("evidence") or []),
            rationale=rv["rationale"],
            annotator=rv["annotator"],
            date=rv["date"],
            method="human_review",
        )
        if "source" in rv:
            new["review_source"] = rv["source"]
        old = by_id.get(pid)
        if old is None:
            new["history"] = []
            order.append(pid)
            counts["reviewed_new"] += 1
        else:
            earlier = {k: v for k, v in old.items() if k != "history"}
            new["history"] = [*old.get("history", []), earlier]
            if evidence_missing := not new["evidence"]:
                new["evidence"] = old["evidence"]
            counts["reviewed_changed"] += int(any(old[d] != new[d] for d in DIMENSIONS))
            counts["reviewed_evidence_kept"] += int(evidence_missing)
        by_id[pid] = new
        counts["reviews"] += 1
    return [by_id[p] for p in order], dict(counts)


def agreement(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> dict[str, Any]:
    """Cohen's weighted kappa (quadratic and linear), exact agreement and n, per dimension and language."""
    by_id = {r["provision_id"]: r for r in first}
    pairs = [(by_id[r["provision_id"]], r) for r in second if r["provision_id"] in by_id]
    result: dict[str, Any] = {"n": len(pairs)}
    for d in DIMENSIONS:
        result[d] = {}
        for lang in (*LANGS, "all"):
            sel = [(a[d], b[d]) for a, b in pairs if lang == "all" or a["lang"] == lang]
            if len(sel) < 2:
                continue
            x, y = np.array(sel).T
            result[d][lang] = {
                "n": len(sel),
                "kappa_quadratic": _kappa(x, y, "quadratic"),
                "kappa_linear": _kappa(x, y, "linear"),
                "exact_agreement": float(np.mean(x == y)),
                "within_one": float(np.mean(np.abs(x - y) <= 1)),
                "flag_agreement": float(np.mean((x >= 2) == (y >= 2))),
            }
    result["disagreements"] = [
        {
            "provision_id": a["provision_id"],
            "first": {d: a[d] for d in DIMENSIONS},
            "second": {d: b[d] for d in DIMENSIONS},
        }
        for a, b in pairs
        if any(a[d] != b[d] for d in DIMENSIONS)
    ]
    return result


def _kappa(x: np.ndarray, y: np.ndarray, weights: str) -> float:
    if len(set(x) | set(y)) < 2:
        return 1.0
    return round(float(cohen_kappa_score(x, y, labels=[0, 1, 2, 3], weights=weights)), 4)


def load_pass(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for i, r in enumerate(read_jsonl(path), 1):
            check_gold_record(r, f"{path}: record {i}")
            rows.append(r)
    return rows


def load_reviews(folder: Path) -> list[dict[str, Any]]:
    """Human reviews imported from Label Studio (``overbroad review import``)."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for i, r in enumerate(read_jsonl(path), 1):
            check_gold_record(r, f"{path}: record {i}")
            if r["method"] != "human_review":
                raise GoldError(f"{path}: record {i}: method expected 'human_review', found {r['method']!r}")
            rows.append(r)
    return rows


def bulk_article_texts(archives: list[str | Path], doc_ids: set[str]) -> dict[str, str]:
    """Article texts of the bulk documents (corpora/bulk) that carry gold labels.

    The bulk corpora are outside the default pipeline, so their articles are not in
    data/provisions.parquet; they are cut here by the same code as the bulk pipeline (same ids). An
    article's text does not depend on the levels segmented below it, so the segmenter's defaults do.
    """
    params = SegmentOptions()
    texts: dict[str, str] = {}
    for archive in archives:
        wanted = {d for d in doc_ids if d.startswith(f"{archive_name(archive)}.")}
        if not wanted:
            continue
        found = set()
        for doc in read_archive(archive):
            if doc.doc_id in wanted:
                found.add(doc.doc_id)
                provisions, _, _ = segment_bulk(doc, params)
                texts.update((p.provision_id, p.text) for p in provisions if p.level == "article")
        if missing := wanted - found:
            raise GoldError(
                f"{archive}: gold labels name documents not in the archive: {sorted(missing)[:5]}"
            )
    return texts


def article_texts(provisions_path: str | Path) -> dict[str, str]:
    t = pq.read_table(provisions_path, columns=["provision_id", "level", "text"]).to_pandas()
    t = t[t["level"] == "article"]
    return dict(zip(t["provision_id"], t["text"], strict=True))


def validate(gold: list[dict[str, Any]], texts: dict[str, str], where: str = "gold.jsonl") -> None:
    """Every id is an article of the provisions and every evidence span slices to its text."""
    seen = set()
    for i, r in enumerate(gold, 1):
        check_gold_record(r, f"{where}: record {i}")
        pid = r["provision_id"]
        if pid in seen:
            raise GoldError(f"{where}: record {i}: duplicate provision_id {pid}")
        seen.add(pid)
        if pid not in texts:
            raise GoldError(f"{where}: record {i}: {pid} is not an article in data/provisions.parquet")
        for ev in r["evidence"]:
            if texts[pid][ev["start"] : ev["end"]] != ev["text"]:
                raise GoldError(
                    f"{where}: record {i}: evidence {ev['start']}:{ev['end']} does not slice to "
                    f"{ev['text']!r} in {pid}"
                )


def distribution(gold: list[dict[str, Any]]) -> dict[str, Any]:
    """Label counts per language, per document and per level."""
    out: dict[str, Any] = {"n": len(gold), "by_lang": {}, "by_doc": {}}
    for key, field in (("by_lang", "lang"), ("by_doc", "doc_id")):
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in gold:
            groups.setdefault(r[field], []).append(r)
        for g, rs in sorted(groups.items()):
            out[key][g] = {"n": len(rs)} | {
                d: {str(k): sum(r[d] == k for r in rs) for k in range(4)} for d in DIMENSIONS
            }
    return out


def main(argv: list[str] | None = None) -> int:
    def extra(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("action", choices=["build", "check"])
        ap.add_argument(
            "--bulk",
            nargs="*",
            default=["corpora/bulk/vn-phap-dien.tar.xz", "corpora/bulk/vn-underthesea-vlc.tar.xz"],
            help="bulk archives whose labelled documents are segmented for their article texts",
        )

    paths = {"annotations": str(ANNOTATIONS), "provisions": "data/provisions.parquet"}
    args = stage.arguments("overbroad gold", __doc__, paths, argv, extra, params=False)
    return stage.execute("gold", lambda: (check if args.action == "check" else build_files)(args))


def check(args: argparse.Namespace) -> dict[str, int]:
    """``overbroad gold check``: gold.jsonl read by the one gold reader, then checked against the texts."""
    path = Path(args.annotations) / "gold.jsonl"
    gold = [g.to_dict() for g in read_gold(path)]
    texts = article_texts(args.provisions) | bulk_article_texts(
        args.bulk, {g["doc_id"] for g in gold}, args.params
    )
    validate(gold, texts, str(path))
    return {"labels": len(gold)}


def build_files(args: argparse.Namespace) -> dict[str, int]:
    """``overbroad gold build``: pass 1 + adjudications + supplements → gold.jsonl and agreement.json."""
    root = Path(args.annotations)
    texts = article_texts(args.provisions)
    pass1 = load_pass(root / "pass1")
    pass2 = load_pass(root / "pass2")
    texts |= bulk_article_texts(args.bulk, {r["doc_id"] for r in pass1})
    adj_path = root / "adjudication.jsonl"
    adjudications = read_jsonl(adj_path) if adj_path.exists() else []
    sup_path = root / "evidence_supplement.jsonl"
    supplements = read_jsonl(sup_path) if sup_path.exists() else []
    gold, counts = build(pass1, adjudications, texts, supplements)
    reviews = load_reviews(root / "review")
    gold, review_counts = apply_reviews(gold, reviews, texts)
    counts.update(review_counts)
    validate(gold, texts)
    write_jsonl(gold, root / "gold.jsonl")
    v2 = [r for r in pass2 if str(r.get("batch", "")).startswith("v2")]
    report = {
        "counts": counts,
        "agreement": agreement(pass1, pass2),
        # the blind second pass of the gold v2 batches alone (15 % of the labels added in v2)
        "agreement_v2": agreement(pass1, v2),
        "distribution": distribution(gold),
    }
    if (root / "agreement.json").exists():
        previous = json.loads((root / "agreement.json").read_text(encoding="utf-8"))
        if "review" in previous:
            report["review"] = previous["review"]
    write_json(report, root / "agreement.json")
    return counts


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["gold", *sys.argv[1:]]))

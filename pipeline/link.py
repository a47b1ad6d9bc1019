"""link stage: provisions + documents + manifest → data/penalties.parquet, data/references.parquet.

For every article: the penalties its clauses set (:mod:`pipeline.penalties`) with the treaty flags,
and the cyber-law provisions that reach it by reference; for every provision: the references it
writes, resolved to provision ids (:mod:`pipeline.references`). data/link_report.json counts
resolved and unresolved references per law and the share of offence articles whose maximum penalty
was read.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline import stage
from pipeline.io import write_json, write_parquet
from pipeline.manifest import manifest_metadata
from pipeline.params import load_params
from pipeline.penalties import article_penalties
from pipeline.references import Catalog, Index, Reference, references_in_article
from pipeline.schema import (
    PENALTIES_SCHEMA,
    PROVISIONS_SCHEMA,
    REFERENCES_SCHEMA,
    SchemaError,
    to_table,
    validate_frame,
)
from pipeline.styles import PENALTY_STYLES, REFERENCE_STYLES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkParams:
    """Section ``link`` of params.yaml."""

    # Laws whose prohibitions are cyber-law prohibitions for the reach analysis.
    cyber_laws: tuple[str, ...] = ()
    # How many references deep a prohibition reaches (1: only what it cites itself).
    reach_depth: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "cyber_laws", tuple(self.cyber_laws))
        if not 1 <= int(self.reach_depth) <= 10:
            raise ValueError(f"link.reach_depth: expected 1 to 10, found {self.reach_depth!r}")


# --- the pure core -------------------------------------------------------------------------------


def link(
    provisions: Sequence[dict[str, Any]],
    styles: dict[str, str],
    manifest: Sequence[dict[str, Any]],
    params: LinkParams,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(penalty rows, one per article; reference rows) of the corpus."""
    catalog = Catalog.from_manifest(manifest)
    translations = {str(e["id"]): str(e["translation_of"]) for e in manifest if e.get("translation_of")}
    index = Index.from_rows(provisions, styles, translations)
    units: dict[str, list[dict[str, Any]]] = defaultdict(list)
    articles = []
    for r in provisions:
        if r["level"] == "article":
            articles.append(r)
        else:
            units[provision_id_article(r)].append(r)
    pen_rows, refs = [], []
    for a in tqdm(articles, desc="link", unit="article", disable=not progress):
        style = styles.get(a["doc_id"])
        if style is None:
            raise SchemaError(f"provisions: document {a['doc_id']!r} not in documents.parquet")
        us = units[a["provision_id"]]
        a0 = int(a["char_start"])
        text = a["text"] or ""
        # A penalty is set by a clause (khoản, subsection) or the article, never by a point: points list
        # circumstances or limbs, and a Singapore section's last limb runs on into its penalty words.
        spans = [
            (u["provision_id"], int(u["char_start"]) - a0, int(u["char_end"]) - a0)
            for u in us
            if u["level"] == "clause"
        ]
        summary, pairs = (
            article_penalties(text, spans, a["provision_id"], style)
            if style in PENALTY_STYLES
            else (None, [])
        )
        pen_rows.append(
            {
                "provision_id": a["provision_id"],
                "doc_id": a["doc_id"],
                "article": a["article"],
                **(summary.__dict__ if summary is not None else {}),
                "penalties": [{"source_id": src, **p.to_dict()} for src, p in pairs],
            }
        )
        if style in REFERENCE_STYLES:
            refs.extend(references_in_article(a, us, style, catalog, index))
    ref_rows = [r.__dict__ for r in refs]
    reach = reached_from(refs, params.cyber_laws, params.reach_depth, translations)
    named = named_by(refs, params.cyber_laws)
    for row in pen_rows:
        row["reached_from"] = sorted(reach.get(row["provision_id"], ()))
        row["law_named_by"] = sorted(named.get(row["doc_id"], ()))
    return pen_rows, ref_rows


def provision_id_article(r: dict[str, Any]) -> str:
    """The article id of a unit (its id up to the article part)."""
    pid = str(r["provision_id"])
    i = pid.find("/cl-")
    j = pid.find("/pt-")
    cut = min(x for x in (i, j, len(pid)) if x >= 0)
    return pid[:cut]


def article_of(target_id: str) -> str:
    return provision_id_article({"provision_id": target_id})


def _doc(article_id: str) -> str:
    return article_id.split("/art-", 1)[0]


def reached_from(
    refs: Iterable[Reference],
    cyber_laws: Sequence[str],
    depth: int,
    translation_of: dict[str, str] | None = None,
) -> dict[str, set[str]]:
    """Article id → the cyber-law provisions of *another* law that reach it through at most ``depth``
    references (the cyber law's own articles, and its original's when it is a translation, excluded).

    A reference from any unit of an article counts as the article's; a law-level reference ("theo
    quy định của Bộ luật Hình sự") names no article and reaches nothing in particular.
    """
    edges: dict[str, set[str]] = defaultdict(set)
    starts: dict[str, set[str]] = defaultdict(set)  # article → cyber provisions citing from it
    for r in refs:
        if not r.resolved or r.target_id is None:
            continue
        src_art, tgt_art = article_of(r.source_id), article_of(r.target_id)
        if src_art == tgt_art:
            continue
        edges[src_art].add(tgt_art)
        if r.source_doc_id in cyber_laws:
            starts[src_art].add(r.source_id)
    translation_of = translation_of or {}
    out: dict[str, set[str]] = defaultdict(set)
    for start, origin in starts.items():
        seen = {start}
        queue = deque([(start, 0)])
        while queue:
            node, d = queue.popleft()
            if d == depth:
                continue
            for nxt in edges.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    # A law citing its own articles reaches nothing new; the path may pass through them.
                    if _doc(nxt) not in (_doc(start), translation_of.get(_doc(start))):
                        out[nxt] |= origin
                    queue.append((nxt, d + 1))
    return out


def named_by(refs: Iterable[Reference], cyber_laws: Sequence[str]) -> dict[str, set[str]]:
    """Law → the cyber-law provisions that name it as a whole ("tội phạm được quy định tại Bộ luật
    Hình sự", "a public servant for the purposes of the Penal Code 1871"): a weaker tie than a
    reference to one of its articles, kept apart from ``reached_from``."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in refs:
        cyber = r.source_doc_id in cyber_laws
        if (
            cyber
            and r.resolved
            and r.target_level == "law"
            and r.target_doc_id not in (None, r.source_doc_id)
        ):
            out[r.target_doc_id].add(r.source_id)
    return out


def reference_counts(ref_rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per citing law: references, resolved, unresolved, into other laws, to laws outside the corpus."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in ref_rows:
        c = out[r["source_doc_id"]]
        c["references"] += 1
        c["resolved" if r["resolved"] else "unresolved"] += 1
        if r["target_doc_id"] is None:
            c["outside_corpus"] += 1
        elif r["target_doc_id"] != r["source_doc_id"]:
            c["other_law"] += 1
    return {d: dict(c) for d, c in sorted(out.items())}


def penalty_coverage(pen_rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per law: articles, articles setting any penalty, articles with a maximum custodial penalty."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in pen_rows:
        c = out[r["doc_id"]]
        c["articles"] += 1
        c["with_penalty"] += bool(r.get("penalty_kinds"))
        c["with_max"] += r.get("penalty_max") is not None
        c["un_serious_crime"] += bool(r.get("un_serious_crime"))
        c["relative_only"] += bool(r.get("relative_penalty")) and r.get("penalty_max") is None
    return {d: dict(c) for d, c in sorted(out.items())}


# --- I/O shell -----------------------------------------------------------------------------------


def run(
    provisions_path: str | Path,
    documents_path: str | Path,
    manifest_path: str | Path,
    penalties_out: str | Path,
    references_out: str | Path,
    report_out: str | Path | None,
    params: LinkParams,
) -> dict[str, Any]:
    table = pq.read_table(provisions_path)
    validate_frame(table, PROVISIONS_SCHEMA, str(provisions_path))
    docs = pq.read_table(documents_path, columns=["doc_id", "style"]).to_pylist()
    styles = {d["doc_id"]: d["style"] for d in docs}
    manifest = manifest_metadata(manifest_path)
    # A smaller corpus (a test copy, a url entry skipped offline) may lack some of the cyber laws.
    absent = sorted(set(params.cyber_laws) - set(styles))
    if absent:
        log.warning("link.cyber_laws not in documents.parquet (no reach from them): %s", absent)
    pen_rows, ref_rows = link(table.to_pylist(), styles, manifest, params, progress=True)
    ids = set(table.column("provision_id").to_pylist())
    dangling = [
        r for r in ref_rows if r["resolved"] and r["target_id"] is not None and r["target_id"] not in ids
    ]
    if dangling:
        raise RuntimeError(f"link: resolved reference to a missing provision: {dangling[0]}")
    write_parquet(to_table(pen_rows, PENALTIES_SCHEMA), penalties_out)
    write_parquet(to_table(ref_rows, REFERENCES_SCHEMA), references_out)
    report = {
        "references": reference_counts(ref_rows),
        "penalties": penalty_coverage(pen_rows),
    }
    if report_out is not None:
        write_json(report, report_out)
    return {
        "articles": len(pen_rows),
        "with_penalty_max": sum(r.get("penalty_max") is not None for r in pen_rows),
        "references": len(ref_rows),
        "resolved": sum(bool(r["resolved"]) for r in ref_rows),
        "reached": sum(bool(r["reached_from"]) for r in pen_rows),
    }


PATHS = {
    "provisions": "data/provisions.parquet",
    "documents": "data/documents.parquet",
    "manifest": "corpora/manifest.yaml",
    "penalties": "data/penalties.parquet",
    "references": "data/references.parquet",
    "report": "data/link_report.json",
}


def main(argv: list[str] | None = None) -> int:
    args = stage.arguments("overbroad link", __doc__, PATHS, argv)
    params = load_params(LinkParams, "link", args.params)
    return stage.execute(
        "link",
        lambda: run(
            args.provisions,
            args.documents,
            args.manifest,
            args.penalties,
            args.references,
            args.report,
            params,
        ),
        (SchemaError,),
    )


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["link", *sys.argv[1:]]))

"""Scoring an article once: the same article text, with the same clauses and points, gets the rows
scored for it before instead of being encoded again.

The Vietnamese legal system repeats itself: Bộ Pháp điển codifies the articles of the laws in force, so
about half of the articles of the UTS_VLC laws reappear there word for word, and the laws bundled in
corpora/raw reappear in both. A model score is a function of the article's text, its language and where
its units start and end (pipeline.scoring.context), so two such articles get the same numbers whichever
is encoded; reusing the first is exact up to the last bits of the floats (batch padding).

:func:`article_key` names what a score depends on; :func:`plan` splits provision rows into the articles
to score and those whose rows are already known (or are repeated inside the rows themselves);
:func:`copy_scores` puts a known article's scores and evidence on another copy of the same article,
keeping that copy's own ids, offsets and document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.schema import PROVISIONS_SCHEMA, SCORE_COLUMNS

# What a scored row adds to a provision row: the part copied from a known article.
SCORE_FIELDS = tuple(f.name for f in SCORE_COLUMNS)
PROVISION_FIELDS = tuple(f.name for f in PROVISIONS_SCHEMA)


def unit_order(rows: Sequence[Mapping[str, Any]], kids: Sequence[int]) -> list[int]:
    """An article's units in a canonical order (by place in the article, wider first, then level)."""
    return sorted(
        kids,
        key=lambda u: (int(rows[u]["char_start"]), -int(rows[u]["char_end"]), str(rows[u]["level"])),
    )


def article_key(rows: Sequence[Mapping[str, Any]], article: int, kids: Sequence[int]) -> str:
    """What an article's scores depend on: its language and text, and the level, span (relative to the
    article) and parent of each of its units, in :func:`unit_order`. 32 hex digits of sha256."""
    a = rows[article]
    a0 = int(a["char_start"])
    order = unit_order(rows, kids)
    pos = {rows[u]["provision_id"]: k for k, u in enumerate(order)}
    units = [
        [
            str(rows[u]["level"]),
            int(rows[u]["char_start"]) - a0,
            int(rows[u]["char_end"]) - a0,
            pos.get(rows[u].get("parent_id"), -1),  # -1: the article itself
        ]
        for u in order
    ]
    blob = json.dumps([a["lang"], a["text"] or "", units], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def articles_of(rows: Sequence[Mapping[str, Any]]) -> tuple[dict[int, list[int]], list[int]]:
    """Article row index → its unit row indices, and the units whose article is not among the rows."""
    index = {(r["doc_id"], r["article"]): i for i, r in enumerate(rows) if r["level"] == "article"}
    kids: dict[int, list[int]] = {i: [] for i in index.values()}
    orphans = []
    for i, r in enumerate(rows):
        if r["level"] == "article":
            continue
        a = index.get((r["doc_id"], r["article"]))
        if a is None:
            orphans.append(i)
        else:
            kids[a].append(i)
    return kids, orphans


def keyed_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Scored rows → article key → that article's rows (the article first, then its units in
    :func:`unit_order`): the form :func:`plan` takes known articles in."""
    kids, _ = articles_of(rows)
    return {
        article_key(rows, a, k): [rows[a], *(rows[u] for u in unit_order(rows, k))] for a, k in kids.items()
    }


@dataclass
class Plan:
    """Which provision rows to score, and how every other row gets its scores."""

    score: list[int]  # row indices to score (the articles not known, with their units, and orphans)
    keys: dict[int, str]  # article row index → its key
    # article row index → (the key of the rows to copy, its rows in canonical order)
    copy_known: dict[int, str] = field(default_factory=dict)
    # article row index → the article row index, among those scored, with the same key
    copy_inside: dict[int, int] = field(default_factory=dict)
    kids: dict[int, list[int]] = field(default_factory=dict)

    @property
    def reused(self) -> int:
        """Articles not encoded: known from earlier rows, or repeated inside these rows."""
        return len(self.copy_known) + len(self.copy_inside)


def plan(rows: Sequence[Mapping[str, Any]], known: Mapping[str, Any] | None = None) -> Plan:
    """Split ``rows`` (provision rows) into the articles to score and those to copy: from ``known``
    (article key → rows, :func:`keyed_rows`) or from an earlier copy of the same article in ``rows``."""
    known = known or {}
    kids, orphans = articles_of(rows)
    keys = {a: article_key(rows, a, k) for a, k in kids.items()}
    first: dict[str, int] = {}
    p = Plan([], keys, kids=kids)
    for a in sorted(kids):
        key = keys[a]
        if key in known:
            p.copy_known[a] = key
        elif key in first:
            p.copy_inside[a] = first[key]
        else:
            first[key] = a
            p.score.append(a)
            p.score.extend(kids[a])
    p.score.extend(orphans)
    p.score.sort()
    return p


def copy_scores(
    rows: Sequence[Mapping[str, Any]], article: int, kids: Sequence[int], source: Sequence[Mapping[str, Any]]
) -> list[tuple[int, dict[str, Any]]]:
    """The scored rows of one article copy: each of ``rows[article]`` and its units takes the score
    fields of the row in the same place of ``source`` (the article first, then its units in canonical
    order) and keeps its own provision fields; returns (row index, scored row) pairs."""
    order = [article, *unit_order(rows, kids)]
    if len(order) != len(source):
        raise ValueError(
            f"{rows[article]['provision_id']}: expected {len(order)} known rows for this article, "
            f"found {len(source)}"
        )
    out = []
    for i, s in zip(order, source, strict=True):
        row = {k: rows[i].get(k) for k in PROVISION_FIELDS}
        row.update({k: s[k] for k in SCORE_FIELDS})
        out.append((i, row))
    return out

"""How far a vague or speech-risk offence reaches: treaty gravity, references, amendments.

Pure helpers over the link, versions and score outputs, used by publish (dataset card, reports) and
notebook 03, and a printer for the terminal::

    python -m pipeline.reach                 # reach table, per-law reference counts, version changes
    python -m pipeline.reach --scores data/scores.parquet --format markdown

An *offence* is an article that sets a penalty. It is a *serious crime* when its maximum
deprivation of liberty is at least four years or a more serious penalty (UN Convention against
Cybercrime Art 2(h), which obliges cooperation in collecting electronic evidence of any serious crime,
Art 35). It is *reachable from a cyber-law prohibition* when a provision of a law listed in
``link.cyber_laws`` cites it, directly or through at most ``link.reach_depth`` references.
When the Convention's own text is in the manifest (kind ``treaty``), its provisions are cited and
cite like any other treaty's; nothing here names it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.schema import PENALTIES_SCHEMA, SCORES_SCHEMA

# Penalty columns published in articles.parquet, after the score columns.
PUBLISHED_PENALTY_COLUMNS = (
    "penalty_max",
    "penalty_max_years",
    "penalty_min_years",
    "penalty_max_source",
    "penalty_max_text",
    "un_serious_crime",
    "budapest_extraditable",
    "penalty_kinds",
    "relative_penalty",
    "reached_from",
    "law_named_by",
)
ARTICLES_SCHEMA = pa.schema(
    list(SCORES_SCHEMA) + [PENALTIES_SCHEMA.field(c) for c in PUBLISHED_PENALTY_COLUMNS]
)
COLUMN_MEANINGS = {
    "penalty_max": "longest custodial penalty the article sets: years as a string ('7', '0.5'), 'life' or "
    "'death'; null where it sets none",
    "penalty_max_years": "penalty_max in years when it is a term (null for life, death or none)",
    "penalty_min_years": "shortest minimum prison term the article sets",
    "penalty_max_source": "provision id of the clause or point that sets the maximum",
    "penalty_max_text": "the words that set it (null when the text is withheld)",
    "un_serious_crime": "maximum deprivation of liberty ≥ 4 years or more serious (UN Convention against "
    "Cybercrime Art 2(h)); null where the article sets no penalty",
    "budapest_extraditable": "maximum deprivation of liberty ≥ 1 year or more serious (Budapest Art 24)",
    "penalty_kinds": "kinds of penalty set: custodial, life, death, fine, non_custodial, ban, corporal, "
    "warning, relative",
    "relative_penalty": "the article sets a penalty by reference to another offence's",
    "reached_from": "cyber-law provisions that cite this article, directly or through references",
    "law_named_by": "cyber-law provisions that name this article's law as a whole (no article named)",
}


def join_penalties(
    articles: Sequence[dict[str, Any]], penalties: Sequence[dict[str, Any]], withheld: set[str]
) -> list[dict[str, Any]]:
    """Article rows with the penalty columns added (text columns null for withheld documents)."""
    by_id = {p["provision_id"]: p for p in penalties}
    out = []
    for a in articles:
        p = by_id.get(a["provision_id"], {})
        row = {**a, **{c: p.get(c) for c in PUBLISHED_PENALTY_COLUMNS}}
        if a["doc_id"] in withheld:
            row["penalty_max_text"] = None
        out.append(row)
    return out


def strip_references(refs: Sequence[dict[str, Any]], withheld: set[str]) -> list[dict[str, Any]]:
    """Reference rows with the cited words null where the citing document's text is withheld."""
    return [
        {**r, "text": None, "law_text": None} if r["source_doc_id"] in withheld else dict(r) for r in refs
    ]


def _is_offence(a: dict[str, Any]) -> bool:
    return bool(a.get("penalty_kinds"))


def reach_table(
    articles: Sequence[dict[str, Any]], docs: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Per law: offences, speech-risk offences, of which serious crimes, of which reachable by reference.

    ``articles`` carry the score flags (``speech_flag``, ``vague_flag``; None when unscored) and the
    penalty columns. Laws without offences are left out.
    """
    by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in articles:
        by_doc[a["doc_id"]].append(a)
    rows = []
    for doc in docs or sorted(by_doc):
        offences = [a for a in by_doc.get(doc, []) if _is_offence(a)]
        if not offences:
            continue
        scored = all(a.get("speech_flag") is not None for a in offences)
        speech = [a for a in offences if a.get("speech_flag")]
        vague = [a for a in offences if a.get("vague_flag")]
        rows.append(
            {
                "law": doc,
                "offences": len(offences),
                "serious_crimes": sum(bool(a.get("un_serious_crime")) for a in offences),
                "reachable": sum(bool(a.get("reached_from")) for a in offences),
                "law_named_by_cyber_law": len({p for a in offences for p in a.get("law_named_by") or []}),
                "speech_risk_offences": len(speech) if scored else None,
                "speech_serious": sum(bool(a.get("un_serious_crime")) for a in speech) if scored else None,
                "speech_serious_reachable": (
                    sum(bool(a.get("un_serious_crime")) and bool(a.get("reached_from")) for a in speech)
                    if scored
                    else None
                ),
                "vague_offences": len(vague) if scored else None,
                "vague_serious": sum(bool(a.get("un_serious_crime")) for a in vague) if scored else None,
            }
        )
    return rows


def serious_risky(articles: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Speech-risk or vague offences that are UN serious crimes, with what reaches them."""
    out = []
    for a in articles:
        if a.get("un_serious_crime") and (a.get("speech_flag") or a.get("vague_flag")):
            out.append(
                {
                    "provision_id": a["provision_id"],
                    "heading": a.get("heading"),
                    "penalty_max": a.get("penalty_max"),
                    "speech_flag": bool(a.get("speech_flag")),
                    "vague_flag": bool(a.get("vague_flag")),
                    "reached_from": list(a.get("reached_from") or []),
                }
            )
    return out


def version_summary(versions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per declared pair: status counts, and the changes in speech risk and penalty of amended articles."""
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for v in versions:
        by_pair[(v["old_doc_id"], v["new_doc_id"])].append(v)
    out = []
    for (old, new), rows in sorted(by_pair.items()):
        changed = [r for r in rows if r["status"] in ("amended", "added", "repealed")]
        deltas = [r["speech_risk_delta"] for r in changed if r.get("speech_risk_delta") is not None]
        out.append(
            {
                "old": old,
                "new": new,
                **Counter(r["status"] for r in rows),
                "changed_in_substance": [r["article"] for r in changed],
                "speech_risk_up": sum(d > 0.05 for d in deltas),
                "speech_risk_down": sum(d < -0.05 for d in deltas),
                "flag_gained": [
                    r["article"] for r in changed if r.get("speech_flag_new") and not r.get("speech_flag_old")
                ],
                "flag_lost": [
                    r["article"] for r in changed if r.get("speech_flag_old") and not r.get("speech_flag_new")
                ],
                "penalty_changed": [
                    {
                        "article": r["article"],
                        "old": r.get("penalty_max_old"),
                        "new": r.get("penalty_max_new"),
                    }
                    for r in rows
                    if r.get("penalty_max_old") != r.get("penalty_max_new")
                ],
            }
        )
    return out


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) or "–"
    return str(v).replace("|", "\\|")


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(_cell(r.get(c)) for c in columns) + " |\n" for r in rows)


REACH_COLUMNS = (
    "law",
    "offences",
    "serious_crimes",
    "reachable",
    "law_named_by_cyber_law",
    "speech_risk_offences",
    "speech_serious",
    "speech_serious_reachable",
    "vague_offences",
    "vague_serious",
)
COUNT_COLUMNS = ("law", "references", "resolved", "unresolved", "other_law", "outside_corpus")


def reference_counts(refs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in refs:
        c = out[r["source_doc_id"]]
        c["references"] += 1
        c["resolved" if r["resolved"] else "unresolved"] += 1
        c["outside_corpus"] += r["target_doc_id"] is None
        c["other_law"] += r["target_doc_id"] is not None and r["target_doc_id"] != r["source_doc_id"]
    return [{"law": d, **{k: c.get(k, 0) for k in COUNT_COLUMNS[1:]}} for d, c in sorted(out.items())]


def card_section(
    articles: Sequence[dict[str, Any]], refs: Sequence[dict[str, Any]], versions: Sequence[dict[str, Any]]
) -> str:
    """The dataset card's 'Reach' section (Markdown)."""
    parts = [
        "## Reach: penalties, references, versions\n\n",
        "Offences are articles that set a penalty (`penalty_max`, from the text of their clauses). A "
        "*serious "
        "crime* is one punishable by a maximum deprivation of liberty of at least four years or a more "
        "serious "
        "penalty (UN Convention against Cybercrime Art 2(h); its Art 35 obliges cooperation in collecting "
        "electronic evidence of any serious crime); `budapest_extraditable` uses the Budapest Convention's "
        "one-year threshold (Art 24). *Reachable* offences are cited by a cyber-law provision, directly or "
        "through references (`reached_from`; `references.parquet`); a law citing its own articles does "
        "not count. `law_named_by_cyber_law` counts the cyber-law provisions that name the law as a whole "
        "without citing an article (`law_named_by`).\n\n",
        markdown_table(reach_table(articles), REACH_COLUMNS),
    ]
    with_offences = {r["law"] for r in reach_table(articles)}
    none = sorted({a["doc_id"] for a in articles} - with_offences)
    if none:
        # The Vietnamese cyber laws prohibit conduct and leave its punishment to the Penal Code.
        parts.append(f"\nLaws that set no penalty of their own: {', '.join(f'`{d}`' for d in none)}.\n")
    risky = serious_risky(articles)
    if risky:
        parts.append("\nSpeech-risk or vague offences that are serious crimes:\n\n")
        parts.append(
            markdown_table(
                risky, ("provision_id", "penalty_max", "speech_flag", "vague_flag", "reached_from")
            )
        )
    parts.append(
        "\nReferences per citing law (`references.parquet`; unresolved: a law the corpus does not hold):\n\n"
    )
    parts.append(markdown_table(reference_counts(refs), COUNT_COLUMNS))
    for v in version_summary(versions):
        parts.append(
            f"\nVersions `{v['old']}` → `{v['new']}` (`versions.parquet`): "
            + ", ".join(
                f"{s} {v.get(s, 0)}" for s in ("amended", "added", "repealed", "editorial", "unchanged")
            )
            + f"; speech risk up in {v['speech_risk_up']} changed articles, down in {v['speech_risk_down']}; "
            f"speech flag gained: {_cell(v['flag_gained'])}; lost: {_cell(v['flag_lost'])}; maximum penalty "
            "changed: "
            + (", ".join(f"Art {p['article']} {p['old']}→{p['new']}" for p in v["penalty_changed"]) or "none")
            + ".\n"
        )
    return "".join(parts)


# --- printer -------------------------------------------------------------------------------------


def _read(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist() if path.is_file() else []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.reach", description=__doc__.splitlines()[0])
    ap.add_argument("--penalties", default="data/penalties.parquet")
    ap.add_argument("--references", default="data/references.parquet")
    ap.add_argument("--versions", default="data/versions.parquet")
    ap.add_argument("--scores", default="data/scores.parquet", help="flags per article (optional)")
    ap.add_argument("--format", choices=("markdown", "json"), default="markdown")
    args = ap.parse_args(argv)
    pen = _read(Path(args.penalties))
    if not pen:
        sys.stderr.write(f"{args.penalties}: not found or empty; run `dvc repro link` first\n")
        return 2
    flags = {}
    scores = Path(args.scores)
    if scores.is_file():
        t = pq.read_table(scores, columns=["provision_id", "level", "speech_flag", "vague_flag", "heading"])
        flags = {r["provision_id"]: r for r in t.to_pylist() if r["level"] == "article"}
    else:
        sys.stderr.write(f"{scores}: no scores; speech-risk columns are '–'\n")
    arts = [
        {
            **p,
            **{k: flags.get(p["provision_id"], {}).get(k) for k in ("speech_flag", "vague_flag", "heading")},
        }
        for p in pen
    ]
    refs = _read(Path(args.references))
    vers = _read(Path(args.versions))
    if args.format == "json":
        out = {
            "reach": reach_table(arts),
            "serious_risky": serious_risky(arts),
            "references": reference_counts(refs),
            "versions": version_summary(vers),
        }
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(card_section(arts, refs, vers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""versions stage and ``overbroad diff``: what changed between two versions of one law.

A manifest entry declares ``previous_version: <id>`` (the consolidated Penal Code after Law
12/2017 names the code as enacted in 2015). Articles are paired by number; each gets a status:

* ``added`` / ``repealed``: present in one version only, or marked repealed in the new text
  ("(bị bãi bỏ)", "(repealed)");
* ``unchanged``: the same text;
* ``editorial``: the texts differ only in letter case, spacing or punctuation (two sources of one
  text often do);
* ``amended``: anything else; ``changed_clauses`` lists the clauses (and points) that differ;
* ``text_missing``: one version's source has the article's number with no words and no repeal note
  (Art 352 in the Pháp điển consolidation): nothing to compare, and not counted as a change.

The heading (the offence's name) is compared with the text. Vietnamese sources place tone marks
differently ("hóa" and "hoá", "thủy" and "thuỷ"): the same word, so an editorial difference.

Score deltas (new − old) come with the statuses when scores exist; penalty maxima when penalties do.
``python -m pipeline.versions`` writes data/versions.parquet for every declared pair;
``overbroad diff OLD_ID NEW_ID`` prints the same rows as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline import stage
from pipeline.io import write_parquet
from pipeline.manifest import manifest_metadata
from pipeline.schema import PROVISIONS_SCHEMA, VERSIONS_SCHEMA, SchemaError, to_table, validate_frame
from pipeline.styles import article_key

log = logging.getLogger(__name__)

STATUSES = ("added", "repealed", "amended", "editorial", "unchanged", "text_missing")
# Vietnamese tone marks (grave, acute, hook above, tilde, dot below); their place in a syllable varies.
_TONES = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
_Y_SYLLABLE = re.compile(r"^((?:[bdđhklmnstvx]|ch|kh|nh|ph|th|tr))y$")
# The new text keeps the article's number with only a repeal note in place of its words.
REPEALED = re.compile(r"^\W*(?:\(?\s*(?:bị\s+bãi\s+bỏ|đã\s+bị\s+bãi\s+bỏ|repealed|deleted)\s*\)?\W*)$", re.I)


# --- the pure core -------------------------------------------------------------------------------


def version_pairs(entries: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(old id, new id) for every manifest entry with ``previous_version``.

    ValueError naming the entry when the previous version is not a manifest id, is the entry
    itself, or is in another language (a translation is not a version).
    """
    entries = list(entries)
    by_id = {str(e["id"]): e for e in entries}
    pairs = []
    for e in entries:
        old = e.get("previous_version")
        if old is None:
            continue
        new = str(e["id"])
        if not isinstance(old, str) or old not in by_id:
            raise ValueError(f"manifest entry {new}: previous_version expected a manifest id, found {old!r}")
        if old == new:
            raise ValueError(f"manifest entry {new}: previous_version names the entry itself")
        if by_id[old].get("lang") != e.get("lang"):
            raise ValueError(
                f"manifest entry {new}: previous_version {old!r} expected the same language "
                f"({e.get('lang')}), found {by_id[old].get('lang')}"
            )
        pairs.append((old, new))
    return pairs


def normalise(text: str | None) -> str:
    """The text with case, spacing, punctuation and tone-mark placement removed."""
    text = unicodedata.normalize("NFD", text or "").casefold()
    text = "".join(" " if unicodedata.category(c)[0] in "PZS" else c for c in text)
    words = []
    for w in text.split():
        tones = "".join(sorted(c for c in w if c in _TONES))
        base = "".join(c for c in w if c not in _TONES)
        # "sỹ quan" and "sĩ quan", "kỹ thuật" and "kĩ thuật": the same syllable spelt with y or i.
        base = _Y_SYLLABLE.sub(r"\1i", base)
        words.append(base + tones)
    return " ".join(words)


def compare(old: str | None, new: str | None, new_heading: str | None = None) -> str:
    """Status of one article from its two texts (None: absent from that version)."""
    if old is None:
        return "added"
    if new is None:
        return "repealed"
    if not normalise(new) and REPEALED.match((new_heading or "").strip() or "x"):
        return "repealed"
    if REPEALED.match(new.strip() or "x") and not REPEALED.match(old.strip() or "x"):
        return "repealed"
    if not normalise(new) or not normalise(old):
        return "text_missing"
    if old == new:
        return "unchanged"
    if normalise(old) == normalise(new):
        return "editorial"
    return "amended"


def _full(r: dict[str, Any] | None) -> str | None:
    if r is None:
        return None
    if not (r.get("text") or "").strip():
        return ""
    return f"{r.get('heading') or ''}\n{r.get('text') or ''}"


def _local(pid: str) -> str:
    return pid.split("/", 1)[1]


def diff(
    old_rows: Sequence[dict[str, Any]],
    new_rows: Sequence[dict[str, Any]],
    old_penalties: dict[str, str | None] | None = None,
    new_penalties: dict[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """One row per article of either version (rows of one document each; scores optional)."""
    old_doc = next((r["doc_id"] for r in old_rows), "")
    new_doc = next((r["doc_id"] for r in new_rows), "")
    old_units = {_local(r["provision_id"]): r for r in old_rows}
    new_units = {_local(r["provision_id"]): r for r in new_rows}
    old_art = {str(r["article"]): r for r in old_rows if r["level"] == "article"}
    new_art = {str(r["article"]): r for r in new_rows if r["level"] == "article"}
    out = []
    for art in sorted(set(old_art) | set(new_art), key=article_key):
        o, n = old_art.get(art), new_art.get(art)
        status = compare(_full(o), _full(n), n.get("heading") if n else None)
        changed: list[str] = []
        if status == "amended":
            prefix = f"art-{art}/"
            keys = sorted(
                {k for k in old_units if k.startswith(prefix)}
                | {k for k in new_units if k.startswith(prefix)}
            )
            for k in keys:
                ot, nt = old_units.get(k), new_units.get(k)
                if normalise(ot["text"] if ot else None) != normalise(nt["text"] if nt else None) or (
                    ot is None
                ) != (nt is None):
                    # A point that changed is listed under its clause too only when the clause's own
                    # words changed beyond it; list the finest units.
                    changed.append(k.split("/", 1)[1])
            changed = [c for c in changed if not any(d != c and d.startswith(c + "/") for d in changed)]
        row: dict[str, Any] = {
            "old_doc_id": old_doc,
            "new_doc_id": new_doc,
            "article": art,
            "old_id": o["provision_id"] if o else None,
            "new_id": n["provision_id"] if n else None,
            "status": status,
            "changed_clauses": changed,
        }
        for dim in ("vagueness", "speech_risk"):
            ov = o.get(dim) if o else None
            nv = n.get(dim) if n else None
            row[f"{dim}_old"], row[f"{dim}_new"] = ov, nv
            row[f"{dim}_delta"] = None if ov is None or nv is None else round(float(nv) - float(ov), 6)
        row["speech_flag_old"] = o.get("speech_flag") if o else None
        row["speech_flag_new"] = n.get("speech_flag") if n else None
        row["penalty_max_old"] = (old_penalties or {}).get(o["provision_id"]) if o else None
        row["penalty_max_new"] = (new_penalties or {}).get(n["provision_id"]) if n else None
        out.append(row)
    return out


def status_counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    c = Counter(r["status"] for r in rows)
    return {s: c.get(s, 0) for s in STATUSES}


# --- I/O shell -----------------------------------------------------------------------------------


def _read_rows(path: Path, doc_ids: Sequence[str]) -> list[dict[str, Any]]:
    table = pq.read_table(path, filters=[("doc_id", "in", list(doc_ids))])
    validate_frame(table, PROVISIONS_SCHEMA, str(path))
    return table.to_pylist()


def _read_penalties(path: Path | None) -> dict[str, str | None]:
    if path is None or not path.is_file():
        return {}
    t = pq.read_table(path, columns=["provision_id", "penalty_max"])
    return dict(zip(t.column("provision_id").to_pylist(), t.column("penalty_max").to_pylist(), strict=True))


def diff_documents(
    old_id: str, new_id: str, rows_path: Path, penalties_path: Path | None = None
) -> list[dict[str, Any]]:
    """The diff of two documents read from scores.parquet (or provisions.parquet: no score deltas)."""
    rows = _read_rows(rows_path, [old_id, new_id])
    old = [r for r in rows if r["doc_id"] == old_id]
    new = [r for r in rows if r["doc_id"] == new_id]
    for doc, got in ((old_id, old), (new_id, new)):
        if not got:
            raise ValueError(f"{rows_path}: expected rows of document {doc!r}, found none")
    pens = _read_penalties(penalties_path)
    return diff(old, new, pens, pens)


def run(
    rows_path: str | Path,
    manifest_path: str | Path,
    out_path: str | Path,
    penalties_path: str | Path | None = None,
) -> dict[str, Any]:
    """data/versions.parquet for every declared pair; return the status counts per pair."""
    entries = manifest_metadata(manifest_path)
    pairs = version_pairs(entries)
    out: list[dict[str, Any]] = []
    counts: dict[str, Any] = {}
    present = set(pq.read_table(rows_path, columns=["doc_id"]).column(0).unique().to_pylist())
    for old, new in pairs:
        missing = [d for d in (old, new) if d not in present]
        if missing:
            # A version that did not reach this run (a url entry offline, a smaller corpus): reported.
            log.warning("versions %s -> %s: no rows of %s in %s; pair skipped", old, new, missing, rows_path)
            counts[f"{old} -> {new}"] = {"skipped": f"no rows of {', '.join(missing)}"}
            continue
        rows = diff_documents(old, new, Path(rows_path), Path(penalties_path) if penalties_path else None)
        out.extend(rows)
        counts[f"{old} -> {new}"] = status_counts(rows)
    write_parquet(to_table(out, VERSIONS_SCHEMA), out_path)
    return counts


PATHS = {
    "scores": "data/scores.parquet",
    "penalties": "data/penalties.parquet",
    "manifest": "corpora/manifest.yaml",
    "out": "data/versions.parquet",
}


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.versions``: the versions stage (scores may be provisions.parquet)."""
    args = stage.arguments("overbroad versions", __doc__, PATHS, argv, params=False)
    return stage.execute(
        "versions", lambda: run(args.scores, args.manifest, args.out, args.penalties), (SchemaError,)
    )


def diff_main(argv: list[str] | None = None) -> int:
    """``overbroad diff OLD_ID NEW_ID``: one JSON line per article (status, changed clauses, deltas)."""
    ap = argparse.ArgumentParser(prog="overbroad diff", description=diff_main.__doc__)
    ap.add_argument("old_id")
    ap.add_argument("new_id")
    ap.add_argument(
        "--scores",
        default=None,
        help="rows to compare (default: data/scores.parquet if present, else data/provisions.parquet)",
    )
    ap.add_argument("--penalties", default="data/penalties.parquet")
    ap.add_argument("--changed", action="store_true", help="only articles that are not unchanged")
    args = ap.parse_args(argv)
    path = Path(args.scores) if args.scores else Path("data/scores.parquet")
    if args.scores is None and not path.is_file():
        path = Path("data/provisions.parquet")
    try:
        rows = diff_documents(args.old_id, args.new_id, path, Path(args.penalties))
    except (FileNotFoundError, ValueError, SchemaError) as e:
        sys.stderr.write(f"overbroad diff: {e}\n")
        return 2
    try:
        for r in rows:
            if args.changed and r["status"] == "unchanged":
                continue
            keep = {k: v for k, v in r.items() if k not in ("old_doc_id", "new_doc_id")}
            sys.stdout.write(json.dumps(keep, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # `overbroad diff … | head`: the reader has what it wanted.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["versions", *sys.argv[1:]]))

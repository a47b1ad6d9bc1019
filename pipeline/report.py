"""HTML reports: score rows → reports/<doc_id>.html (one per law) and reports/index.html.

Static files with inline CSS and a few lines of inline JavaScript (sorting), no CDN and no server.
Every article shows its two scores and its text with the evidence highlighted; all text is HTML-escaped.
Where a document's text may not be redistributed, the page shows the scores and evidence categories only.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from pipeline.render import highlight, render

log = logging.getLogger(__name__)

# Sorts a table.sortable by the clicked th.sort column (data-v when present, else the cell text).
SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (t) {
  t.querySelectorAll("th.sort").forEach(function (th) {
    th.addEventListener("click", function () {
      var i = Array.prototype.indexOf.call(th.parentNode.children, th), num = th.dataset.type === "num";
      var asc = th.dataset.dir === "desc"; th.dataset.dir = asc ? "asc" : "desc";
      var tb = t.tBodies[0], rows = Array.prototype.slice.call(tb.rows);
      rows.sort(function (a, b) {
        var x = a.cells[i].dataset.v || a.cells[i].textContent;
        var y = b.cells[i].dataset.v || b.cells[i].textContent;
        if (num) { x = parseFloat(x); y = parseFloat(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (r) { tb.appendChild(r); });
    });
  });
});
"""


def provenance(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """The law's provenance (its manifest entry, as ingested), as (label, value) rows."""
    rows = [
        ("Document id", meta.get("id") or meta.get("doc_id")),
        ("Jurisdiction", meta.get("jurisdiction")),
        ("Year", meta.get("year")),
        ("Kind", meta.get("kind")),
        ("Language", meta.get("lang")),
        ("Status", "official text" if meta.get("official") else "translation or unofficial text"),
        ("Translation of", meta.get("translation_of")),
        ("Source", meta.get("source")),
        ("Source URL", meta.get("source_url") or meta.get("url")),
        ("Licence", meta.get("licence")),
        ("Text redistributed", "yes" if meta.get("redistribute_text", True) else "no (withheld)"),
    ]
    return [(k, str(v)) for k, v in rows if v not in (None, "")]


def _unit_label(r: dict[str, Any]) -> str:
    parts = [f"cl. {r['clause']}" if r.get("clause") else "", f"pt. {r['point']}" if r.get("point") else ""]
    return " ".join(p for p in parts if p)


def render_document(
    doc_id: str,
    rows: Sequence[dict[str, Any]],
    meta: dict[str, Any],
    model_version: str,
    reach: dict[str, Any] | None = None,
) -> str:
    """One law's score rows → its HTML page (``reach``: its references and version changes)."""
    withheld = not meta.get("redistribute_text", True)
    units: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["level"] != "article":
            units.setdefault(str(r["article"]), []).append(r)
    articles = []
    for i, r in enumerate(r for r in rows if r["level"] == "article"):
        ev = list(r.get("evidence") or [])
        text = r.get("text")
        articles.append(
            {
                **{
                    k: r[k]
                    for k in (
                        "article",
                        "heading",
                        "vagueness",
                        "speech_risk",
                        "vagueness_level",
                        "speech_risk_level",
                        "vague_flag",
                        "speech_flag",
                    )
                },
                "heading": None if withheld else r.get("heading"),
                "penalty_max": r.get("penalty_max"),
                "un_serious_crime": r.get("un_serious_crime"),
                "reached_from": list(r.get("reached_from") or []),
                "order": i,
                "anchor": f"art-{r['article']}",
                "withheld": withheld or text is None,
                "html": Markup("") if withheld or text is None else highlight(text, ev),
                "categories": sorted(Counter(f"{e['dimension']}:{e['category']}" for e in ev).items()),
                "units": [
                    {"label": _unit_label(u), "vagueness": u["vagueness"], "speech_risk": u["speech_risk"]}
                    for u in units.get(str(r["article"]), [])
                ],
            }
        )
    return render(
        "report.html.j2",
        doc={"title": meta.get("title") or doc_id, "lang": meta.get("lang") or "und"},
        provenance=provenance({**meta, "id": doc_id}),
        articles=articles,
        model_version=model_version,
        script=Markup(SORT_JS),
        reach=reach,
    )


def doc_reach(
    doc_id: str, references: Sequence[dict[str, Any]], versions: Sequence[dict[str, Any]]
) -> dict[str, Any] | None:
    """What a law's page shows of its references and of what changed between its versions."""
    refs = [r for r in references if r["source_doc_id"] == doc_id]
    changes = [
        v
        for v in versions
        if doc_id in (v["old_doc_id"], v["new_doc_id"]) and v["status"] not in ("unchanged", "editorial")
    ]
    if not refs and not changes:
        return None
    other = sorted({r["target_doc_id"] for r in refs if r["target_doc_id"] not in (None, doc_id)})
    outside = sorted({r["law_text"] for r in refs if r["target_doc_id"] is None and r["law_text"]})
    pair = next(((v["old_doc_id"], v["new_doc_id"]) for v in changes), None)
    return {
        "references": len(refs),
        "resolved": sum(bool(r["resolved"]) for r in refs),
        "other_laws": other,
        "outside": outside,
        "pair": pair,
        "changes": changes,
    }


def render_index(docs: Sequence[dict[str, Any]], version: str, model_version: str) -> str:
    """Summary rows of every law → index.html."""
    return render(
        "index.html.j2", docs=docs, version=version, model_version=model_version, script=Markup(SORT_JS)
    )


# A file name is at most 255 bytes on common file systems; Pháp điển's document ids (topic and subject
# titles, in full) reach 256 bytes. Long ids keep a readable prefix and a hash of the whole id.
MAX_NAME_BYTES = 200


def report_name(doc_id: str) -> str:
    """The report file of a document: ``<doc_id>.html``, or a cut prefix and a hash for a long id."""
    if len(doc_id.encode()) + len(".html") <= MAX_NAME_BYTES:
        return f"{doc_id}.html"
    digest = hashlib.sha256(doc_id.encode()).hexdigest()[:12]
    prefix = doc_id.encode()[: MAX_NAME_BYTES - len(digest) - len("-.html")].decode(errors="ignore")
    return f"{prefix}-{digest}.html"


def write_reports(
    rows: Sequence[dict[str, Any]],
    documents: dict[str, dict[str, Any]],
    out_dir: str | Path,
    version: str,
    references: Sequence[dict[str, Any]] = (),
    versions: Sequence[dict[str, Any]] = (),
) -> dict[str, int]:
    """Score rows (already stripped of withheld text) → out_dir/<doc_id>.html (report_name) + index.html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_doc.setdefault(r["doc_id"], []).append(r)
    model_version = next((str(r["model_version"]) for r in rows), "")
    index = []
    for doc_id, drows in sorted(by_doc.items()):
        meta = documents.get(doc_id, {})
        (out_dir / report_name(doc_id)).write_text(
            render_document(doc_id, drows, meta, model_version, doc_reach(doc_id, references, versions)),
            encoding="utf-8",
        )
        arts = [r for r in drows if r["level"] == "article"]
        index.append(
            {
                "doc_id": doc_id,
                "href": report_name(doc_id),
                "title": meta.get("title") or doc_id,
                "jurisdiction": meta.get("jurisdiction", ""),
                "year": meta.get("year", ""),
                "lang": meta.get("lang", ""),
                "licence": meta.get("licence", ""),
                "redistribute_text": meta.get("redistribute_text", True),
                "articles": len(arts),
                "max_vagueness": max((r["vagueness"] for r in arts), default=0.0),
                "max_speech_risk": max((r["speech_risk"] for r in arts), default=0.0),
                "flagged": sum(bool(r["vague_flag"] or r["speech_flag"]) for r in arts),
            }
        )
    (out_dir / "index.html").write_text(render_index(index, version, model_version), encoding="utf-8")
    return {"reports": len(by_doc)}

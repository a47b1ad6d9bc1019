"""publish stage: data/scores.parquet + data/documents.parquet (+ model card, metrics, gold) → data/publish/.

data/publish/ holds articles.parquet and units.parquet (loadable with
``datasets.load_dataset("parquet", data_files=...)``), scores.csv, documents.json, a dataset card
(README.md), the model card (MODEL_CARD.md), reports/ (one HTML page per law + index.html),
version.json and SHA256SUMS. Text of a document whose manifest entry says ``redistribute_text: false``
(ingest's copy of the flag in data/documents.parquet is what this stage reads) never reaches it:
such rows keep their scores, offsets and evidence categories, with text, headings, structural titles
and evidence text set to null, and the finished folder is checked for it before it replaces the
previous one. ``--push-to-hub REPO`` uploads the folder with huggingface_hub.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import __version__, stage
from pipeline.inputs import read_gold, read_model_dir, read_table
from pipeline.io import atomic_path
from pipeline.params import load_params
from pipeline.reach import ARTICLES_SCHEMA, card_section, join_penalties, strip_references
from pipeline.reach import COLUMN_MEANINGS as REACH_MEANINGS
from pipeline.render import render
from pipeline.report import write_reports
from pipeline.schema import (
    DIMENSIONS,
    DOCUMENTS_SCHEMA,
    MODEL_CARD_FILE,
    PENALTIES_SCHEMA,
    REFERENCES_SCHEMA,
    SCORES_SCHEMA,
    VERSIONS_SCHEMA,
    GoldLabel,
    to_table,
    validate_frame,
)

log = logging.getLogger(__name__)

# Columns that carry the law's words; null for a document whose text may not be redistributed.
TEXT_COLUMNS = ("text", "heading", "part", "chapter", "section")
COLUMN_MEANINGS = {
    "provision_id": "stable id `<doc_id>/art-<n>[/cl-<k>[/pt-<p>]]`",
    "doc_id": "document id (see documents.json)",
    "lang": "`en` or `vi`",
    "level": "`article`, `clause` or `point`",
    "article": "article number as printed (`117`, `217a`, `8A`)",
    "clause": "clause label as printed, or null",
    "point": "point label as printed, or null",
    "heading": "the article's title (null when the text is withheld)",
    "part": "the part it stands in (null when withheld)",
    "chapter": "the chapter it stands in (null when withheld)",
    "section": "the section it stands in (null when withheld)",
    "text": "NFC text of the unit, heading excluded; null when the licence forbids redistribution",
    "char_start": "offset of the unit in the normalised document text",
    "char_end": "end offset of the unit in the normalised document text",
    "parent_id": "the enclosing unit, or null for an article",
    "vagueness": "probability that the provision is vague (codebook level ≥ 2); articles: max over windows",
    "speech_risk": "probability that it threatens political speech (level ≥ 2); articles: max over windows",
    "vagueness_level": "predicted codebook level 0–3",
    "speech_risk_level": "predicted codebook level 0–3",
    "vague_flag": "vagueness at or above the calibrated threshold",
    "speech_flag": "speech_risk at or above the calibrated threshold",
    "evidence": "spans {start, end, text, dimension, category, source} in `text`; source lexicon or model",
    "model_version": "the classifier's id (hash of weights and params)",
    **REACH_MEANINGS,
}


@dataclass(frozen=True)
class PublishParams:
    """Section ``publish`` of params.yaml."""

    version: str = __version__
    authors: str = "overbroad maintainers"
    year: int = 2026
    url: str = ""
    reports: bool = True

    def __post_init__(self) -> None:
        if not str(self.version).strip():
            raise ValueError("publish.version: expected a non-empty version string, found ''")
        if not 1900 <= int(self.year) <= 2100:
            raise ValueError(f"publish.year: expected a year, found {self.year!r}")


# --- the pure core -------------------------------------------------------------------------------


def load_documents(path: str | Path) -> dict[str, dict[str, Any]]:
    """data/documents.parquet without the texts → {doc_id: metadata} (ingest's copy of the manifest)."""
    columns = [f.name for f in DOCUMENTS_SCHEMA if f.name != "text"]
    return {
        d["doc_id"]: d for d in read_table(path, DOCUMENTS_SCHEMA, "documents", columns=columns).to_pylist()
    }


def may_publish_text(doc_id: str, documents: dict[str, dict[str, Any]]) -> bool:
    """Only a document ingested with ``redistribute_text: true`` has its text published."""
    return bool(documents.get(doc_id, {}).get("redistribute_text", False))


def strip_withheld(
    rows: Sequence[dict[str, Any]], documents: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows with the law's words removed where the licence forbids redistribution (or the doc is unknown)."""
    out = []
    for r in rows:
        if may_publish_text(r["doc_id"], documents):
            out.append(r)
            continue
        r = {**r, **dict.fromkeys(TEXT_COLUMNS)}
        r["evidence"] = [{**e, "text": None} for e in r.get("evidence") or []]
        out.append(r)
    return out


def withheld_strings(
    rows: Sequence[dict[str, Any]], documents: dict[str, dict[str, Any]], min_len: int = 12
) -> set[str]:
    """The withheld strings long enough to be recognisable (used to check the published files)."""
    found = set()
    for r in rows:
        if may_publish_text(r["doc_id"], documents):
            continue
        vals = [r.get(c) for c in TEXT_COLUMNS] + [e.get("text") for e in r.get("evidence") or []]
        found |= {v.strip() for v in vals if isinstance(v, str) and len(v.strip()) >= min_len}
    return found


def secret_strings(rows: Sequence[dict[str, Any]], documents: dict[str, dict[str, Any]]) -> set[str]:
    """The withheld strings no published text contains: what the published files are checked against.

    A phrase of a withheld law that a redistributable law also prints ("public interest", "national
    security") is not that law's text, and must not stop the others from being published.
    """
    public = "\n".join(
        str(r.get(c) or "") for r in rows if may_publish_text(r["doc_id"], documents) for c in TEXT_COLUMNS
    )
    return {x for x in withheld_strings(rows, documents) if x not in public}


def gold_summary(labels: Sequence[GoldLabel]) -> dict[str, Any]:
    """Counts of the gold labels (gold.jsonl, read by the one gold reader) for the dataset card."""
    return {
        "n": len(labels),
        "by_lang": dict(sorted(Counter(g.lang for g in labels).items())),
        "methods": dict(sorted(Counter(g.method for g in labels).items())),
        "annotators": sorted({g.annotator for g in labels}),
        **{d: [sum(getattr(g, d) == k for g in labels) for k in range(4)] for d in DIMENSIONS},
    }


def metrics_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """metrics/eval.json ({system: {dimension: {lang: {metric: value}}}}) → table rows."""
    rows = []
    for system, dims in metrics.items():
        if not isinstance(dims, dict):
            continue
        for dim in DIMENSIONS:
            langs = dims.get(dim)
            if not isinstance(langs, dict):
                continue
            for lang in ("en", "vi", "all"):
                m = langs.get(lang)
                if isinstance(m, dict):
                    rows.append(
                        {
                            "system": system,
                            "dimension": dim,
                            "lang": lang,
                            **{k: _fmt(m.get(k)) for k in ("macro_f1", "auroc", "spearman", "ece", "n")},
                        }
                    )
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "–" if v is None else str(v)
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def render_card(
    *,
    version: str,
    model_version: str,
    thresholds: dict[str, float],
    docs: list[dict[str, Any]],
    counts: dict[str, int],
    gold: dict[str, Any],
    metrics: list[dict[str, Any]],
    params: PublishParams,
    reach: str = "",
) -> str:
    n = counts["rows"]
    size = "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K" if n < 100_000 else "100K<n<1M"
    fields = ARTICLES_SCHEMA if reach else SCORES_SCHEMA
    schema = [(f.name, str(f.type), COLUMN_MEANINGS.get(f.name, "")) for f in fields]
    return render(
        "dataset_card.md.j2",
        version=version,
        model_version=model_version,
        thresholds=thresholds,
        docs=docs,
        n_docs=len(docs),
        counts=counts,
        gold=gold,
        metrics=metrics,
        schema=schema,
        size_category=size,
        languages=sorted({d["lang"] for d in docs}) or ["en", "vi"],
        withheld=[d["doc_id"] for d in docs if not d["redistribute_text"]],
        authors=params.authors,
        year=params.year,
        url=params.url,
        reach=reach,
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_no_withheld(folder: Path, secrets: set[str]) -> None:
    """RuntimeError naming the file if any withheld string appears in a published file."""
    if not secrets:
        return
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            t = pq.read_table(p)
            content = "\n".join(
                json.dumps(t.column(c).to_pylist(), ensure_ascii=False) for c in t.column_names
            )
        else:
            content = p.read_bytes().decode("utf-8", errors="replace")
        content = html.unescape(content)
        for s in secrets:
            if s in content or json.dumps(s, ensure_ascii=False)[1:-1] in content:
                raise RuntimeError(f"{p.name}: contains text withheld by the manifest ({s[:30]!r}…)")


# --- I/O shell -----------------------------------------------------------------------------------


def _read_link(paths: dict[str, str | Path]) -> dict[str, list[dict[str, Any]]]:
    """The link and versions stages' tables named in ``paths`` (missing ones empty, with a warning)."""
    schemas = {"penalties": PENALTIES_SCHEMA, "references": REFERENCES_SCHEMA, "versions": VERSIONS_SCHEMA}
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in schemas}
    for key, path in paths.items():
        if key not in schemas:
            raise ValueError(f"link_paths: expected keys {sorted(schemas)}, found {key!r}")
        if not Path(path).is_file():
            log.warning("%s: not found; published without it", path)
            continue
        table = pq.read_table(path)
        validate_frame(table, schemas[key], str(path))
        out[key] = table.to_pylist()
    return out


def _thresholds(model_dir: Path) -> dict[str, float]:
    if model_dir.is_dir():
        return read_model_dir(model_dir).threshold
    log.warning("%s: no classifier; the card gives flag thresholds of 0.5", model_dir)
    return dict.fromkeys(DIMENSIONS, 0.5)


def document_rows(
    rows: Sequence[dict[str, Any]], documents: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One provenance row per published document (documents.json, the card's table of sources)."""
    per_doc = Counter(r["doc_id"] for r in rows)
    out = []
    for doc_id in sorted(per_doc):
        m = documents.get(doc_id, {})
        out.append(
            {
                "doc_id": doc_id,
                "title": m.get("title", doc_id),
                "jurisdiction": m.get("jurisdiction", ""),
                "year": m.get("year"),
                "lang": m.get("lang", ""),
                "kind": m.get("kind", ""),
                "status": "official"
                if m.get("official")
                else f"translation of {m.get('translation_of')}"
                if m.get("translation_of")
                else "unofficial",
                "translation_of": m.get("translation_of"),
                "source": m.get("source", ""),
                "source_url": m.get("source_url"),
                "licence": m.get("licence", "unknown"),
                "redistribute_text": may_publish_text(doc_id, documents),
                "rows": per_doc[doc_id],
                "articles": sum(r["level"] == "article" for r in rows if r["doc_id"] == doc_id),
            }
        )
    return out


def run(
    scores_path: str | Path,
    documents_path: str | Path,
    out_dir: str | Path,
    params: PublishParams,
    model_dir: str | Path = "models/classifier",
    metrics_path: str | Path | None = "metrics/eval.json",
    gold_path: str | Path | None = "corpora/annotations/gold.jsonl",
    link_paths: dict[str, str | Path] | None = None,
) -> dict[str, Any]:
    """Build data/publish/ atomically (a failed run leaves the previous folder intact); return counts.

    ``link_paths`` ({penalties, references, versions}: parquet paths from the link and versions
    stages) adds the penalty columns to articles.parquet and publishes references.parquet and
    versions.parquet; a path that does not exist is skipped with a warning.
    """
    table = read_table(scores_path, SCORES_SCHEMA, "scores")
    documents = load_documents(documents_path)
    raw = table.select([f.name for f in SCORES_SCHEMA]).to_pylist()
    missing = sorted({r["doc_id"] for r in raw} - set(documents))
    if missing:
        log.warning("documents not in %s, published without text: %s", documents_path, missing)
    secrets = secret_strings(raw, documents)
    rows = strip_withheld(raw, documents)
    articles = [r for r in rows if r["level"] == "article"]
    units = [r for r in rows if r["level"] != "article"]
    link = _read_link(link_paths or {})
    withheld_docs = {r["doc_id"] for r in rows if not may_publish_text(r["doc_id"], documents)}
    articles = join_penalties(articles, link["penalties"], withheld_docs)
    references = strip_references(link["references"], withheld_docs)
    model_dir = Path(model_dir)
    model_version = next((str(r["model_version"]) for r in rows), "")
    docs = document_rows(rows, documents)
    counts = {
        "rows": len(rows),
        "articles": len(articles),
        "units": len(units),
        "documents": len(docs),
        "withheld_documents": sum(not d["redistribute_text"] for d in docs),
    }
    metrics: dict[str, Any] = {}
    if metrics_path is not None and Path(metrics_path).is_file():
        metrics = json.loads(Path(metrics_path).read_text(encoding="utf-8"))
    else:
        log.warning("no metrics at %s: the dataset card says so", metrics_path)
    if gold_path is not None and Path(gold_path).is_file():
        gold = gold_summary(read_gold(gold_path))
    else:
        log.warning("no gold labels at %s: the dataset card says so", gold_path)
        gold = gold_summary([])
    with atomic_path(out_dir, is_dir=True) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; a published folder is world-readable
        pq.write_table(
            to_table(articles, ARTICLES_SCHEMA if link_paths else SCORES_SCHEMA), tmp / "articles.parquet"
        )
        if link_paths:
            pq.write_table(to_table(references, REFERENCES_SCHEMA), tmp / "references.parquet")
            pq.write_table(to_table(link["versions"], VERSIONS_SCHEMA), tmp / "versions.parquet")
        pq.write_table(to_table(units, SCORES_SCHEMA), tmp / "units.parquet")
        _write_csv(rows, tmp / "scores.csv")
        (tmp / "documents.json").write_text(
            json.dumps(docs, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        card = model_dir / MODEL_CARD_FILE
        if card.is_file():
            (tmp / "MODEL_CARD.md").write_text(card.read_text(encoding="utf-8"), encoding="utf-8")
        else:
            log.warning("%s: no model card; MODEL_CARD.md says so", card)
            (tmp / "MODEL_CARD.md").write_text(
                f"# Model card\n\nNo model card was found at {card} when "
                f"dataset version {params.version} was built.\n",
                encoding="utf-8",
            )
        (tmp / "README.md").write_text(
            render_card(
                version=params.version,
                model_version=model_version,
                thresholds=_thresholds(model_dir),
                docs=docs,
                counts=counts,
                gold=gold,
                metrics=metrics_rows(metrics),
                params=params,
                reach=card_section(articles, references, link["versions"]) if link_paths else "",
            ),
            encoding="utf-8",
        )
        if params.reports:
            counts |= write_reports(
                articles + units, documents, tmp / "reports", params.version, references, link["versions"]
            )
        (tmp / "version.json").write_text(
            json.dumps(
                {
                    "version": params.version,
                    "model_version": model_version,
                    "pipeline_version": __version__,
                    "scores_sha256": sha256_file(Path(scores_path)),
                    **counts,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        check_no_withheld(tmp, secrets)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        sums = "".join(f"{sha256_file(p)}  {p.relative_to(tmp).as_posix()}\n" for p in files)
        (tmp / "SHA256SUMS").write_text(sums, encoding="utf-8")
        counts["files"] = len(files) + 1
    return counts


def _write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    names = [f.name for f in SCORES_SCHEMA]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    **{k: r.get(k) for k in names},
                    "evidence": json.dumps(r.get("evidence") or [], ensure_ascii=False),
                }
            )


def push_to_hub(
    folder: str | Path,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    message: str | None = None,
) -> str:
    """Upload the published folder as a Hugging Face dataset repo; return the commit URL."""
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise FileNotFoundError(f"{folder}: no published dataset here (run `overbroad publish` first)")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise RuntimeError("HF_HUB_OFFLINE is set: run with HF_HUB_OFFLINE=0 and a network to push")
    import huggingface_hub

    token = token or huggingface_hub.get_token()
    if not token:
        raise RuntimeError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = huggingface_hub.HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    version = json.loads((folder / "version.json").read_text(encoding="utf-8")).get("version", "")
    info = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type="dataset",
        commit_message=message or f"overbroad dataset {version}",
    )
    return str(getattr(info, "commit_url", info))


PATHS = {
    "scores": "data/scores.parquet",
    "documents": "data/documents.parquet",
    "model": "models/classifier",
    "metrics": "metrics/eval.json",
    "gold": "corpora/annotations/gold.jsonl",
    "out": "data/publish",
}


def main(argv: list[str] | None = None) -> int:
    def extra(ap: argparse.ArgumentParser) -> None:
        ap.add_argument(
            "--push-to-hub", metavar="REPO", default=None, help="upload data/publish to this repo"
        )
        ap.add_argument("--private", action="store_true", help="create the hub repo as private")
        ap.add_argument("--penalties", default=None, help="data/penalties.parquet (link stage)")
        ap.add_argument("--references", default=None, help="data/references.parquet (link stage)")
        ap.add_argument("--versions", default=None, help="data/versions.parquet (versions stage)")
        ap.add_argument(
            "--skip-build", action="store_true", help="push the existing folder, do not rebuild it"
        )

    args = stage.arguments("overbroad publish", __doc__, PATHS, argv, extra)

    def go() -> dict[str, Any]:
        counts: dict[str, Any] = {}
        if not args.skip_build:
            params = load_params(PublishParams, "publish", args.params)
            link_paths = {
                k: v
                for k, v in (
                    ("penalties", args.penalties),
                    ("references", args.references),
                    ("versions", args.versions),
                )
                if v
            }
            counts = run(
                args.scores,
                args.documents,
                args.out,
                params,
                args.model,
                args.metrics,
                args.gold,
                link_paths or None,
            )
        if args.push_to_hub:
            counts["pushed"] = push_to_hub(args.out, args.push_to_hub, private=args.private)
        return counts

    return stage.execute("publish", go, errors=(pa.ArrowInvalid,))


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["publish", *sys.argv[1:]]))

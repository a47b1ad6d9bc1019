"""Notebook helpers: what the notebooks show, as functions: load a run's outputs, tabulate, highlight,
plot. Not a stage (the explore_plots stage, pipeline.explore_plots, writes the DVC plots from these).

The notebooks in notebooks/ stay thin and call these. Every table that carries a number also
carries the provision ids behind it, so a researcher can cite the number and check it.
``outputs()`` finds a run's paths ($OVERBROAD_RUN_DIR, else the repository root).
"""

from __future__ import annotations

import fnmatch
import html
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import metrics
from pipeline.inputs import read_gold, read_table
from pipeline.params import read_params
from pipeline.render import COLOURS, highlight, legend
from pipeline.schema import (
    ALIGNMENTS_SCHEMA,
    CATEGORIES,
    DIMENSIONS,
    DOCUMENTS_SCHEMA,
    PROVISIONS_SCHEMA,
    SCORES_SCHEMA,
)

log = logging.getLogger(__name__)

RUN_DIR_ENV = "OVERBROAD_RUN_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]
FLAG = {"vagueness": "vague_flag", "speech_risk": "speech_flag"}
LEVEL = {"vagueness": "vagueness_level", "speech_risk": "speech_risk_level"}
LANG_COLOURS = {"vi": "#d62728", "en": "#1f77b4"}


# ---------------------------------------------------------------- where a run's outputs are


@dataclass(frozen=True)
class Outputs:
    """Paths of one run's outputs; the same relative paths as the `outs` of dvc.yaml."""

    root: Path
    documents: Path
    ingest_report: Path
    segment_report: Path
    provisions: Path
    alignments: Path
    scores: Path
    eval: Path
    plots: Path
    gold: Path
    sources: Path
    params: Path

    def missing(self) -> list[str]:
        """Names of the outputs that are not there (a stage not run yet)."""
        return [f.name for f in fields(self) if f.name != "root" and not getattr(self, f.name).exists()]

    def require(self, name: str) -> Path:
        """The path of output ``name``; FileNotFoundError naming the stage to run if it is absent."""
        path: Path = getattr(self, name)
        if not path.exists():
            raise FileNotFoundError(
                f"{path}: not found; run `dvc repro {STAGE_OF.get(name, name)}` first "
                f"(or point {RUN_DIR_ENV} at a run that has it)"
            )
        return path


# Relative paths as in dvc.yaml (checked against it by tests/test_explore.py).
# fmt: off
OUTPUT_PATHS: dict[str, str] = {
    "documents":      "data/documents.parquet",
    "ingest_report":  "data/ingest_report.json",
    "segment_report": "data/segment_report.json",
    "provisions":     "data/provisions.parquet",
    "alignments":     "data/alignments.parquet",
    "scores":         "data/scores.parquet",
    "eval":           "metrics/eval.json",
    "plots":          "plots/eval",
    "gold":           "corpora/annotations/gold.jsonl",
    "sources":        "corpora/SOURCES.md",
    "params":         "params.yaml",
}
STAGE_OF: dict[str, str] = {
    "documents": "ingest", "ingest_report": "ingest", "segment_report": "segment", "provisions": "segment",
    "alignments": "align", "scores": "score", "eval": "evaluate", "plots": "evaluate",
    "gold": "gold (overbroad gold build)",
}
# fmt: on


def outputs(root: str | Path | None = None) -> Outputs:
    """Paths of a run's outputs under ``root`` (default: $OVERBROAD_RUN_DIR, else the repository root).

    A relative $OVERBROAD_RUN_DIR is taken from the repository root, not from the working folder,
    which for a notebook is notebooks/ (``OVERBROAD_RUN_DIR=tests/fixtures/run`` works from anywhere).
    """
    if root is None:
        root = REPO_ROOT / os.environ[RUN_DIR_ENV] if os.environ.get(RUN_DIR_ENV) else REPO_ROOT
    root = Path(root).resolve()
    return Outputs(root=root, **{k: root / v for k, v in OUTPUT_PATHS.items()})


# ---------------------------------------------------------------- loading


def _read(path: Path, schema: Any, what: str) -> pd.DataFrame:
    return read_table(path, schema, what).to_pandas()


def load_documents(out: Outputs, with_text: bool = True) -> pd.DataFrame:
    df = _read(out.require("documents"), DOCUMENTS_SCHEMA, "documents")
    df["characters"] = df["text"].str.len()
    return df if with_text else df.drop(columns="text")


def load_provisions(out: Outputs) -> pd.DataFrame:
    return _read(out.require("provisions"), PROVISIONS_SCHEMA, "provisions")


def load_alignments(out: Outputs) -> pd.DataFrame:
    return _read(out.require("alignments"), ALIGNMENTS_SCHEMA, "alignments")


def load_scores(out: Outputs) -> pd.DataFrame:
    """scores.parquet with ``evidence`` as a plain list of dicts per row."""
    df = _read(out.require("scores"), SCORES_SCHEMA, "scores")
    df["evidence"] = [normalise_evidence(e) for e in df["evidence"]]
    return df


def normalise_evidence(ev: Any) -> list[dict[str, Any]]:
    """Evidence as read from parquet (array of dicts, None) → a list of dicts."""
    if ev is None or (isinstance(ev, float) and np.isnan(ev)):
        return []
    return [dict(e) for e in ev]


def load_gold(out: Outputs) -> pd.DataFrame:
    """Gold labels (the one gold reader), one row per article; empty, with the columns, before gold build."""
    cols = ["provision_id", "doc_id", "lang", "vagueness", "speech_risk", "evidence", "rationale", "method"]
    extra = ["annotator", "first_pass", "adjudication"]
    if not out.gold.exists():
        log.warning("%s: not found; no gold labels to compare with", out.gold)
        return pd.DataFrame(columns=cols + extra)
    return pd.DataFrame([g.to_dict() for g in read_gold(out.gold)]).reindex(columns=cols + extra)


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def splits(out: Outputs) -> dict[str, str]:
    """doc_id → the gold split it belongs to (params.yaml base.splits)."""
    if not out.params.exists():
        return {}
    base = read_params(out.params).get("base") or {}
    return {doc: split for split, docs in (base.get("splits") or {}).items() for doc in docs or ()}


# ---------------------------------------------------------------- 01: the corpus


def document_table(documents: pd.DataFrame, provisions: pd.DataFrame) -> pd.DataFrame:
    """One row per document: manifest metadata, characters, and units per level."""
    units = provisions.pivot_table(index="doc_id", columns="level", values="provision_id", aggfunc="count")
    units = units.reindex(columns=["article", "clause", "point"]).fillna(0).astype(int)
    art = provisions[provisions["level"] == "article"]
    lengths = art.groupby("doc_id")["text"].agg(lambda s: int(s.str.len().median()))
    cols = [
        "doc_id",
        "title",
        "jurisdiction",
        "lang",
        "kind",
        "year",
        "official",
        "translation_of",
        "licence",
        "redistribute_text",
        "characters",
    ]
    table = (
        documents[cols]
        .set_index("doc_id")
        .join(units.add_suffix("s"))
        .join(lengths.rename("median_article_chars"))
    )
    num = ["articles", "clauses", "points", "median_article_chars"]
    table[num] = table[num].fillna(0).astype(int)
    return table.reset_index().sort_values(["jurisdiction", "lang", "doc_id"], ignore_index=True)


def corpus_overview(doc_table: pd.DataFrame) -> pd.DataFrame:
    """Documents and articles per jurisdiction and language."""
    return (
        doc_table.groupby(["jurisdiction", "lang"])
        .agg(documents=("doc_id", "count"), articles=("articles", "sum"), characters=("characters", "sum"))
        .reset_index()
    )


def wanted_not_found(sources_md: str) -> pd.DataFrame:
    """The bullets of SOURCES.md's "Wanted but not found" section → (wanted, why) rows."""
    m = re.search(r"^## Wanted but not found.*?$(.*?)(?=^## |\Z)", sources_md, re.S | re.M)
    rows = []
    for item in re.findall(r"^- (.+?)(?=^- |\Z)", m.group(1) if m else "", re.S | re.M):
        item = " ".join(item.split())
        head, sep, why = item.partition(" — ")
        if not sep:
            head, sep, why = item.partition(": ")
        rows.append({"wanted": head.strip(), "why": why.strip() if sep else ""})
    return pd.DataFrame(rows, columns=["wanted", "why"])


def missing_documents(report: dict[str, Any], sources_md: str | None = None) -> pd.DataFrame:
    """What is missing and why: manifest entries ingest skipped or failed, then sources never found."""
    rows = [
        {"what": r["doc_id"], "where": "manifest", "status": r["status"], "why": r.get("reason", "")}
        for r in report.get("documents", [])
        if r.get("status") != "ok"
    ]
    if sources_md:
        rows += [
            {"what": w, "where": "SOURCES.md", "status": "not found", "why": y}
            for w, y in wanted_not_found(sources_md).itertuples(index=False)
        ]
    return pd.DataFrame(rows, columns=["what", "where", "status", "why"])


def plot_corpus(doc_table: pd.DataFrame, provisions: pd.DataFrame) -> Any:
    """Articles per document (bars, by language) and article lengths per document (box plots)."""
    import matplotlib.pyplot as plt

    t = doc_table.sort_values("articles")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 0.32 * len(t) + 1.8), sharey=True)
    y = np.arange(len(t))
    a1.barh(y, t["articles"], color=[LANG_COLOURS.get(lang, "grey") for lang in t["lang"]])
    a1.set_yticks(y, t["doc_id"], fontsize=8)
    a1.set_xlabel("articles (sections)")
    a1.set_title("Articles per document (red: Vietnamese, blue: English)")
    art = provisions[provisions["level"] == "article"]
    data = [art.loc[art["doc_id"] == d, "text"].str.len().to_numpy() for d in t["doc_id"]]
    a2.boxplot(
        [d if len(d) else [0] for d in data],
        positions=y,
        orientation="horizontal",
        widths=0.6,
        flierprops={"markersize": 2},
    )
    a2.set_xscale("log")
    a2.set_xlabel("article length (characters, log scale)")
    a2.set_title("How long the articles are")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 02: scores and evidence


def articles(scores: pd.DataFrame) -> pd.DataFrame:
    """The article-level rows (an article's score covers its clauses and points)."""
    return scores[scores["level"] == "article"]


def _short(pid: str) -> str:
    return pid.split("/", 1)[1] if "/" in pid else pid


def highlight_html(text: str | None, evidence: Iterable[dict[str, Any]], dimension: str | None = None) -> str:
    """Provision text as HTML with its evidence spans marked (pipeline.render.highlight, colours inline)."""
    return str(highlight(text, evidence, dimension, inline=True))


def provision_card(row: pd.Series | dict[str, Any], dimension: str | None = None) -> str:
    """One provision as an HTML card: id, heading, scores and flags, highlighted text, categories."""
    r = dict(row)
    cats = sorted(
        {
            f"{e['dimension']}: {e['category']}"
            for e in r["evidence"]
            if dimension is None or e["dimension"] == dimension
        }
    )
    flags = " ".join(
        f"<b>{name}</b>" for name, key in (("VAGUE", "vague_flag"), ("SPEECH", "speech_flag")) if r.get(key)
    )
    heading = f" — {html.escape(str(r['heading']))}" if isinstance(r.get("heading"), str) else ""
    return (
        '<div style="border:1px solid #ccc;padding:6px 10px;margin:6px 0">'
        f"<div><code>{html.escape(r['provision_id'])}</code>{heading}</div>"
        f"<div>vagueness {r['vagueness']:.2f} (level {r['vagueness_level']}) · "
        f"speech risk {r['speech_risk']:.2f} (level {r['speech_risk_level']}) {flags}</div>"
        f"<div style='font-size:90%;color:#555'>{html.escape(', '.join(cats)) or 'no evidence'}</div>"
        "<div style='margin-top:4px;white-space:pre-wrap'>"
        f"{highlight_html(r['text'], r['evidence'], dimension)}</div></div>"
    )


def legend_html() -> str:
    return str(legend())


def top_provisions(
    scores: pd.DataFrame,
    dimension: str,
    n: int = 5,
    level: str = "article",
    lang: str | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """The ``n`` highest-scored provisions on ``dimension`` (optionally one language or category)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension expected one of {DIMENSIONS}, found {dimension!r}")
    df = scores[scores["level"] == level]
    if lang is not None:
        df = df[df["lang"] == lang]
    if category is not None:
        df = with_category(df, category)
    return df.sort_values([dimension, "provision_id"], ascending=[False, True]).head(n)


def with_category(scores: pd.DataFrame, category: str, source: str | None = None) -> pd.DataFrame:
    """Rows with at least one evidence span of ``category`` (optionally from one source)."""
    if category not in {c for cs in CATEGORIES.values() for c in cs}:
        raise ValueError(f"category expected one of the codebook's categories, found {category!r}")
    keep = [
        any(e["category"] == category and (source is None or e["source"] == source) for e in ev)
        for ev in scores["evidence"]
    ]
    return scores[np.array(keep, dtype=bool)]


def evidence_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per evidence span: provision, law, language, dimension, category, source, text."""
    rows = [
        {"provision_id": pid, "doc_id": doc, "lang": lang, **e}
        for pid, doc, lang, ev in scores[["provision_id", "doc_id", "lang", "evidence"]].itertuples(
            index=False
        )
        for e in ev
    ]
    cols = ["provision_id", "doc_id", "lang", "dimension", "category", "source", "start", "end", "text"]
    return pd.DataFrame(rows, columns=cols)


def plot_distributions(scores: pd.DataFrame, level: str = "article") -> Any:
    """Per law, each provision's score as a dot (colour: language), one panel per dimension."""
    import matplotlib.pyplot as plt

    df = scores[scores["level"] == level]
    laws = sorted(df["doc_id"].unique(), key=lambda d: (df.loc[df["doc_id"] == d, "speech_risk"].mean(), d))
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.35 * len(laws) + 1.8), sharey=True)
    rng = np.random.default_rng(0)
    for ax, dim in zip(axes, DIMENSIONS, strict=True):
        for i, law in enumerate(laws):
            sub = df[df["doc_id"] == law]
            y = i + rng.uniform(-0.2, 0.2, len(sub))
            ax.scatter(sub[dim], y, s=14, alpha=0.7, c=[LANG_COLOURS.get(x, "grey") for x in sub["lang"]])
            ax.plot([sub[dim].mean()] * 2, [i - 0.35, i + 0.35], color="black", lw=1.5)
        ax.axvline(0.5, color="grey", ls=":", lw=1)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel(f"{dim} (probability of codebook level ≥ 2)")
        ax.set_title(f"{dim}: one dot per {level}, bar = mean")
    axes[0].set_yticks(range(len(laws)), laws, fontsize=8)
    fig.tight_layout()
    return fig


def aligned_pairs(scores: pd.DataFrame, alignments: pd.DataFrame, level: str = "article") -> pd.DataFrame:
    """Vietnamese and English units side by side, with both sides' scores and their difference."""
    cols = [
        "provision_id",
        "heading",
        "text",
        "evidence",
        "vagueness",
        "speech_risk",
        "vague_flag",
        "speech_flag",
    ]
    s = scores[cols].set_index("provision_id")
    pairs = alignments[alignments["level"] == level]
    out = pairs.join(s.add_prefix("vi_"), on="vi_provision_id", how="inner").join(
        s.add_prefix("en_"), on="en_provision_id", how="inner"
    )
    for dim in DIMENSIONS:
        out[f"{dim}_gap"] = (out[f"vi_{dim}"] - out[f"en_{dim}"]).round(3)
    return out.reset_index(drop=True)


def side_by_side_html(pairs: pd.DataFrame, dimension: str | None = None) -> str:
    """An HTML table: Vietnamese left, English right, each with its scores and highlighted evidence."""
    rows = []
    for r in pairs.to_dict("records"):
        cells = []
        for side in ("vi", "en"):
            head = (
                f"<code>{html.escape(r[f'{side}_provision_id'])}</code><br>"
                + f"vagueness {r[f'{side}_vagueness']:.2f} · speech risk {r[f'{side}_speech_risk']:.2f}"
            )
            body = highlight_html(r[f"{side}_text"], r[f"{side}_evidence"], dimension)
            style = "vertical-align:top;text-align:left;width:50%;white-space:pre-wrap"
            cells.append(f'<td style="{style}">{head}<hr>{body}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table style="border-collapse:collapse"><tr><th>Tiếng Việt (original)</th>'
        "<th>English (project translation)</th></tr>" + "".join(rows) + "</table>"
    )


def model_vs_gold(scores: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """Gold articles with the model's levels and probabilities beside the gold levels, per dimension."""
    cols = [
        "provision_id",
        "doc_id",
        "lang",
        "heading",
        "vagueness",
        "speech_risk",
        "vagueness_level",
        "speech_risk_level",
    ]
    g = gold[["provision_id", "vagueness", "speech_risk", "rationale"]].rename(
        columns={"vagueness": "gold_vagueness", "speech_risk": "gold_speech_risk"}
    )
    m = articles(scores)[cols].merge(g, on="provision_id", how="inner")
    for dim in DIMENSIONS:
        m[f"{dim}_error"] = m[LEVEL[dim]].astype(int) - m[f"gold_{dim}"].astype(int)
    return m


def disagreements(scores: pd.DataFrame, gold: pd.DataFrame, dimension: str, min_gap: int = 1) -> pd.DataFrame:
    """Articles where predicted and gold levels differ by ≥ ``min_gap`` on ``dimension``, worst first."""
    m = model_vs_gold(scores, gold)
    m = m[m[f"{dimension}_error"].abs() >= min_gap]
    m = m.assign(_abs=m[f"{dimension}_error"].abs()).sort_values(
        ["_abs", "provision_id"], ascending=[False, True]
    )
    keep = [
        "provision_id",
        "lang",
        LEVEL[dimension],
        f"gold_{dimension}",
        f"{dimension}_error",
        dimension,
        "rationale",
    ]
    return m[keep].reset_index(drop=True)


def confusion(scores: pd.DataFrame, gold: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Gold level (rows) × predicted level (columns), counts of articles, all four levels shown."""
    m = model_vs_gold(scores, gold)
    levels = list(range(4))
    counts = metrics.confusion(
        m[f"gold_{dimension}"].astype(int).to_numpy(), m[LEVEL[dimension]].astype(int).to_numpy(), levels
    )
    t = pd.DataFrame(counts, index=levels, columns=levels)
    t.index.name, t.columns.name = f"gold {dimension}", f"predicted {dimension}"
    return t


def reliability(scores: pd.DataFrame, gold: pd.DataFrame, dimension: str, bins: int = 5) -> pd.DataFrame:
    """Calibration table: per probability bin (metrics.bin_index), mean predicted probability vs share of
    gold level ≥ 2, with the provisions behind each bin."""
    m = model_vs_gold(scores, gold)
    m = m.assign(
        bin=metrics.bin_index(m[dimension].to_numpy(dtype=float), bins), positive=m[f"gold_{dimension}"] >= 2
    )
    t = m.groupby("bin").agg(
        predicted=(dimension, "mean"),
        observed=("positive", "mean"),
        n=("positive", "size"),
        provision_ids=("provision_id", lambda s: " ".join(sorted(s))),
    )
    t.insert(0, "dimension", dimension)
    t.insert(1, "bin_low", (t.index.to_numpy() / bins).round(3))
    t[["predicted", "observed"]] = t[["predicted", "observed"]].astype(float).round(3)
    return t.reset_index(drop=True)


def eval_frame(metrics: dict[str, Any]) -> pd.DataFrame:
    """metrics/eval.json ({system: {dimension: {lang: {metric: value}}}}) → long table of numbers."""
    rows = [
        {"system": s, "dimension": d, "lang": lang, "metric": k, "value": v}
        for s, dims in metrics.items()
        if isinstance(dims, dict)
        for d, langs in dims.items()
        if isinstance(langs, dict)
        for lang, ms in langs.items()
        if isinstance(ms, dict)
        for k, v in ms.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    return pd.DataFrame(rows, columns=["system", "dimension", "lang", "metric", "value"])


def plot_reliability(
    scores: pd.DataFrame, gold: pd.DataFrame, metrics: dict[str, Any] | None = None, metric: str | None = None
) -> Any:
    """Reliability diagrams per dimension, and (given eval.json) one metric per system and language."""
    import matplotlib.pyplot as plt

    ev = eval_frame(metrics or {})
    if not ev.empty:
        metric = metric or next(
            (m for m in ("kappa_quadratic", "flag_f1", "macro_f1", "accuracy") if m in set(ev["metric"])),
            ev["metric"].iloc[0],
        )
    ncols = 3 if not ev.empty else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5 * ncols, 4.2))
    for ax, dim in zip(axes, DIMENSIONS, strict=False):
        t = reliability(scores, gold, dim)
        ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
        ax.plot(t["predicted"], t["observed"], marker="o", color=COLOURS[dim], lw=2)
        for r in t.itertuples():
            ax.annotate(
                f"n={r.n}", (r.predicted, r.observed), fontsize=7, xytext=(3, -10), textcoords="offset points"
            )
        ax.set(
            xlim=(0, 1),
            ylim=(-0.02, 1.02),
            xlabel=f"predicted P({dim} ≥ 2)",
            ylabel="share of gold labels ≥ 2",
            title=f"Reliability: {dim}",
        )
    if not ev.empty:
        ax = axes[2]
        sel = ev[ev["metric"] == metric]
        keys = list(sel[["dimension", "lang"]].drop_duplicates().itertuples(index=False, name=None))
        labels = [f"{d.replace('_', ' ')}\n{lang}" for d, lang in keys]
        systems = list(dict.fromkeys(sel["system"]))
        width = 0.8 / max(1, len(systems))
        for i, s in enumerate(systems):
            vals = [
                sel[(sel["system"] == s) & (sel["dimension"] == d) & (sel["lang"] == lang)]["value"].mean()
                for d, lang in keys
            ]
            ax.bar(np.arange(len(labels)) + i * width, vals, width, label=s)
        ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels, fontsize=7)
        ax.set(title=f"metrics/eval.json: {metric}", ylabel=metric)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 03: comparing laws


@dataclass(frozen=True)
class ComparisonGroup:
    """Laws compared as one: a document joins when its id matches a pattern or its jurisdiction is listed."""

    name: str
    role: str
    ids: tuple[str, ...] = ()  # fnmatch patterns on doc_id
    jurisdictions: tuple[str, ...] = ()

    def matches(self, doc_id: str, jurisdiction: str) -> bool:
        return any(fnmatch.fnmatchcase(doc_id, p) for p in self.ids) or jurisdiction in self.jurisdictions


# The comparison the project exists for. A document in the manifest joins by its id or jurisdiction,
# so a law added to the manifest later (the UN Convention against Cybercrime, un-cybercrime-convention-2024;
# a 2025 Vietnamese cybersecurity law) joins its group with no code change. First match wins.
# fmt: off
COMPARISON_GROUPS: tuple[ComparisonGroup, ...] = (
    ComparisonGroup("Viet Nam: cybersecurity and penal law", "subject",
                    ids=("vn-cybersecurity-law-*", "vn-penal-code-2015", "vn-penal-code-2015-en")),
    ComparisonGroup("Cybercrime treaties", "benchmark",
                    ids=("coe-budapest-convention-*", "un-cybercrime-convention-*")),
    ComparisonGroup("ICCPR (the international standard)", "standard", ids=("un-iccpr-*",)),
    ComparisonGroup("Singapore", "comparator", jurisdictions=("Singapore",)),
    # Two more cybercrime laws of the region: the Philippines' RA 10175 (its online-libel clause upheld
    # in Disini, 2014) and Pakistan's PECA 2016 with its 2025 "false and fake information" offence.
    ComparisonGroup("Philippines", "comparator", jurisdictions=("Philippines",)),
    ComparisonGroup("Pakistan", "comparator", jurisdictions=("Pakistan",)),
)
# fmt: on


def assign_groups(
    documents: pd.DataFrame, groups: Iterable[ComparisonGroup] = COMPARISON_GROUPS
) -> pd.DataFrame:
    """documents (doc_id, jurisdiction, ...) → those that join a comparison group, with group and role."""
    groups = list(groups)
    rows = []
    for r in documents.to_dict("records"):
        g = next((g for g in groups if g.matches(r["doc_id"], r["jurisdiction"])), None)
        if g is not None:
            rows.append({"group": g.name, "role": g.role, **r})
    cols = ["group", "role", *documents.columns]
    order = {g.name: i for i, g in enumerate(groups)}
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(
        ["group", "doc_id"], key=lambda s: s.map(order) if s.name == "group" else s, ignore_index=True
    )


def category_long(scores: pd.DataFrame, level: str = "article") -> pd.DataFrame:
    """One row per (law, dimension, category): provisions with that category's evidence, and which."""
    df = scores[scores["level"] == level]
    n_law = df.groupby("doc_id").size()
    ev = evidence_table(df).drop_duplicates(["provision_id", "category"])
    rows = []
    for (doc, dim, cat), sub in ev.groupby(["doc_id", "dimension", "category"]):
        ids = sorted(sub["provision_id"], key=_natural)
        rows.append(
            {
                "doc_id": doc,
                "dimension": dim,
                "category": cat,
                "provisions": len(ids),
                "share": round(len(ids) / n_law[doc], 3),
                "provision_ids": " ".join(ids),
            }
        )
    return pd.DataFrame(
        rows, columns=["doc_id", "dimension", "category", "provisions", "share", "provision_ids"]
    )


def category_matrix(
    scores: pd.DataFrame, value: str = "share", level: str = "article", laws: Iterable[str] | None = None
) -> pd.DataFrame:
    """Law × category (every codebook category, in codebook order): share or count of provisions."""
    long = category_long(scores, level)
    laws = list(laws) if laws is not None else sorted(scores.loc[scores["level"] == level, "doc_id"].unique())
    cats = [c for d in DIMENSIONS for c in CATEGORIES[d]]
    m = long.pivot_table(index="doc_id", columns="category", values=value, aggfunc="sum")
    return m.reindex(index=laws, columns=cats).fillna(0)


def plot_category_heatmap(
    matrix: pd.DataFrame, title: str = "Share of articles with evidence of each category"
) -> Any:
    """A law × category heat map with the value written in each non-empty cell."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * matrix.shape[1], 1.6 + 0.42 * matrix.shape[0]))
    im = ax.imshow(
        matrix.to_numpy(dtype=float),
        cmap="Reds",
        vmin=0,
        vmax=max(1e-9, float(matrix.to_numpy().max())),
        aspect="auto",
    )
    ax.set_xticks(
        range(matrix.shape[1]),
        [c.replace("_", " ") for c in matrix.columns],
        rotation=55,
        ha="right",
        fontsize=8,
    )
    ax.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=8)
    n_vague = len(CATEGORIES["vagueness"])
    if matrix.shape[1] > n_vague and list(matrix.columns[:n_vague]) == list(CATEGORIES["vagueness"]):
        ax.axvline(n_vague - 0.5, color="black", lw=1)  # vagueness | speech-risk categories
    for (i, j), v in np.ndenumerate(matrix.to_numpy(dtype=float)):
        if v:
            ax.text(
                j,
                i,
                f"{v:.2f}" if v < 1 or not float(v).is_integer() else f"{int(v)}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > 0.6 * matrix.to_numpy().max() else "black",
            )
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig


def _natural(pid: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", pid)]


def _ids(pids: Iterable[str]) -> str:
    return " ".join(sorted(pids, key=_natural))


def summary_table(
    scores: pd.DataFrame,
    documents: pd.DataFrame,
    groups: Iterable[ComparisonGroup] = COMPARISON_GROUPS,
    top: int = 3,
) -> pd.DataFrame:
    """The citable table: per law of the comparison, articles scored, shares flagged, mean scores, top
    categories, and the article ids behind every number (all ids in ``article_ids``; flagged ones in
    ``vague_ids`` / ``speech_ids``; those behind each top category in ``top_category_ids``)."""
    member = assign_groups(documents[["doc_id", "jurisdiction", "lang", "title"]], groups)
    art = articles(scores)
    long = category_long(scores)
    rows = []
    for g in member.to_dict("records"):
        a = art[art["doc_id"] == g["doc_id"]]
        cats = long[long["doc_id"] == g["doc_id"]].sort_values(
            ["provisions", "category"], ascending=[False, True]
        )
        n = len(a)
        rows.append(
            {
                "group": g["group"],
                "doc_id": g["doc_id"],
                "lang": g["lang"],
                "articles": n,
                "vague_flagged": int(a["vague_flag"].sum()),
                "share_vague": round(float(a["vague_flag"].mean()), 3) if n else np.nan,
                "speech_flagged": int(a["speech_flag"].sum()),
                "share_speech": round(float(a["speech_flag"].mean()), 3) if n else np.nan,
                "mean_vagueness": round(float(a["vagueness"].mean()), 3) if n else np.nan,
                "mean_speech_risk": round(float(a["speech_risk"].mean()), 3) if n else np.nan,
                "top_categories": "; ".join(
                    f"{c.category} ({c.provisions})" for c in cats.head(top).itertuples()
                ),
                "top_category_ids": "; ".join(
                    f"{c.category}: {' '.join(_short(p) for p in c.provision_ids.split())}"
                    for c in cats.head(top).itertuples()
                ),
                "vague_ids": _ids(_short(p) for p in a.loc[a["vague_flag"], "provision_id"]),
                "speech_ids": _ids(_short(p) for p in a.loc[a["speech_flag"], "provision_id"]),
                "article_ids": _ids(_short(p) for p in a["provision_id"]),
            }
        )
    return pd.DataFrame(rows)


def behind(scores: pd.DataFrame, doc_id: str, what: str) -> pd.DataFrame:
    """The article rows behind one number of the summary: 'articles', 'vague', 'speech' or a category."""
    a = articles(scores)
    a = a[a["doc_id"] == doc_id]
    if what == "articles":
        return a
    if what in ("vague", "speech"):
        return a[a[FLAG["vagueness" if what == "vague" else "speech_risk"]]]
    return with_category(a, what)


def group_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary pooled per comparison group and language (flag shares over all their articles)."""
    g = summary.groupby(["group", "lang"], sort=False).agg(
        laws=("doc_id", " ".join),
        articles=("articles", "sum"),
        vague_flagged=("vague_flagged", "sum"),
        speech_flagged=("speech_flagged", "sum"),
    )
    g["share_vague"] = (g["vague_flagged"] / g["articles"]).round(3)
    g["share_speech"] = (g["speech_flagged"] / g["articles"]).round(3)
    return g.reset_index()


def plot_summary(summary: pd.DataFrame) -> Any:
    """Share of articles flagged vague and speech-risk, per law of the comparison."""
    import matplotlib.pyplot as plt

    t = summary.iloc[::-1]
    labels = [f"{d} ({n})" for d, n in zip(t["doc_id"], t["articles"], strict=True)]
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(t) + 1.6))
    ax.barh(y + 0.2, t["share_vague"], 0.4, color=COLOURS["vagueness"], label="flagged vague")
    ax.barh(y - 0.2, t["share_speech"], 0.4, color=COLOURS["speech_risk"], label="flagged speech risk")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set(xlim=(0, 1), xlabel="share of articles (n in brackets)", title="Flagged articles per law")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig

"""evaluate stage: every system's gold predictions (+ scores, alignments) → metrics/eval.json, plots/.

metrics/eval.json is ``{system: {dimension: {lang: {metric: value}}}}`` on the held-out TEST
documents, systems model, lexicon, tfidf, frozen (all fitted by the train stage on the same splits,
flag thresholds fitted on dev). metrics/eval_extra.json holds the cross-lingual results (train on one
language, test on the other), the consistency of scores between aligned Vietnamese and English
articles, and the issue's targets with the margin by which each is met or missed. plots/ holds
confusion matrices, reliability diagrams and precision-recall curves (PNG, and CSV for `dvc plots`).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline import stage
from pipeline.inputs import read_table
from pipeline.io import atomic_path, write_json
from pipeline.metrics import agreement, confusion, flag_metrics, pr_curve, reliability
from pipeline.params import load_params
from pipeline.schema import ALIGNMENTS_SCHEMA, DIMENSIONS, LANGS, PREDICTIONS_SCHEMA, SCORES_SCHEMA

log = logging.getLogger(__name__)

SYSTEMS = ("model", "lexicon", "tfidf", "frozen")
BASELINES = ("lexicon", "tfidf", "frozen")
# Issue 4's targets: test macro-F1 of the flag per language, and the model's lead over the best baseline.
TARGET_F1 = {"speech_risk": 0.85, "vagueness": 0.80}
TARGET_LEAD = 0.05


@dataclass(frozen=True)
class EvaluateParams:
    """Section `evaluate` of params.yaml (``splits`` and ``crosslingual`` come from `base`)."""

    seed: int = 13
    splits: dict[str, list[str]] = field(default_factory=dict)
    crosslingual: list[dict[str, str]] = field(default_factory=list)
    split: str = "test"
    n_bins: int = 10
    plots: bool = True

    def __post_init__(self) -> None:
        if self.split not in ("dev", "test"):
            raise ValueError(f"evaluate.split: expected 'dev' or 'test', found {self.split!r}")
        if not 2 <= self.n_bins <= 100:
            raise ValueError(f"evaluate.n_bins: expected 2..100, found {self.n_bins}")


def read_predictions(path: str | Path) -> pd.DataFrame:
    """data/gold_predictions.parquet, checked against PREDICTIONS_SCHEMA."""
    return read_table(path, PREDICTIONS_SCHEMA, "gold predictions").to_pandas()


def system_table(
    preds: pd.DataFrame, split: str, n_bins: int, setting: str = "in_language"
) -> dict[str, Any]:
    """Predictions → {system: {dimension: {lang: metrics}}} for one split and setting."""
    df = preds[(preds["setting"] == setting) & (preds["split"] == split)]
    out: dict[str, Any] = {}
    for system in [s for s in SYSTEMS if s in set(df["system"])]:
        for d in DIMENSIONS:
            g = df[(df["system"] == system) & (df["dimension"] == d)]
            cells = {lg: g[g["lang"] == lg] for lg in LANGS if (g["lang"] == lg).any()}
            cells["all"] = g
            out.setdefault(system, {})[d] = {
                lg: flag_metrics(
                    c["gold"].to_numpy(),
                    c["prob"].to_numpy(),
                    c["flag"].to_numpy(),
                    c["level"].to_numpy() if system == "model" else None,
                    n_bins,
                )
                for lg, c in cells.items()
            }
    return out


def crosslingual_table(preds: pd.DataFrame, n_bins: int) -> dict[str, Any]:
    """{setting: {system: {dimension: metrics on the test language's test split}}}."""
    out: dict[str, Any] = {}
    for setting in sorted(s for s in set(preds["setting"]) if s != "in_language"):
        test_lang = setting.split("->")[1]
        table = system_table(preds[preds["lang"] == test_lang], "test", n_bins, setting)
        out[setting] = {
            s: {d: v[test_lang] for d, v in dims.items() if test_lang in v} for s, dims in table.items()
        }
    return out


def consistency(
    preds: pd.DataFrame, alignments: pd.DataFrame | None, scores: pd.DataFrame | None
) -> dict[str, Any]:
    """Agreement of scores between aligned Vietnamese and English articles.

    From data/scores.parquet over every aligned article pair where it is given, else from the
    model's gold predictions (dev and test articles whose translation is also labelled). The gold
    levels' own agreement on the labelled pairs is given beside it, as a ceiling.
    """
    if alignments is None or alignments.empty:
        return {"source": None, "note": "no alignments"}
    pairs = alignments[alignments["level"] == "article"][["vi_provision_id", "en_provision_id"]]
    out: dict[str, Any] = {}
    if scores is not None:
        src = scores.set_index("provision_id")
        source = "scores"
    else:
        m = preds[(preds["system"] == "model") & (preds["setting"] == "in_language")]
        src = m.pivot_table(index="provision_id", columns="dimension", values="prob")
        flags = m.pivot_table(index="provision_id", columns="dimension", values="flag", aggfunc="max")
        for d, f in (("vagueness", "vague_flag"), ("speech_risk", "speech_flag")):
            src[f] = flags[d].astype(bool) if d in flags else False
        source = "gold_predictions"
    p = pairs[pairs["vi_provision_id"].isin(src.index) & pairs["en_provision_id"].isin(src.index)]
    out["source"] = source
    for d, f in (("vagueness", "vague_flag"), ("speech_risk", "speech_flag")):
        if d not in src.columns:
            continue
        vi, en = src.loc[p["vi_provision_id"]], src.loc[p["en_provision_id"]]
        out[d] = agreement(
            vi[d].to_numpy(float), en[d].to_numpy(float), vi[f].to_numpy(bool), en[f].to_numpy(bool)
        )
    gold = preds[preds["setting"] == "in_language"].drop_duplicates(["provision_id", "dimension"])
    g = gold.pivot_table(index="provision_id", columns="dimension", values="gold")
    gp = pairs[pairs["vi_provision_id"].isin(g.index) & pairs["en_provision_id"].isin(g.index)]
    out["gold_level_agreement"] = {
        d: {
            "n_pairs": len(gp),
            "exact": round(
                float(
                    (
                        g.loc[gp["vi_provision_id"], d].to_numpy()
                        == g.loc[gp["en_provision_id"], d].to_numpy()
                    ).mean()
                ),
                4,
            )
            if len(gp)
            else None,
        }
        for d in DIMENSIONS
        if d in g.columns
    }
    return out


def targets(table: dict[str, Any]) -> dict[str, Any]:
    """Issue 4's targets against the test table, with the margin (positive = met)."""
    out: dict[str, Any] = {}
    model = table.get("model", {})
    for d, goal in TARGET_F1.items():
        for lg in LANGS:
            f = model.get(d, {}).get(lg, {}).get("macro_f1")
            out[f"{d}_{lg}_macro_f1>={goal}"] = {
                "value": f,
                "margin": None if f is None else round(f - goal, 4),
            }
        best = max(
            ((table[b][d]["all"]["macro_f1"] or 0.0, b) for b in BASELINES if b in table),
            default=(None, None),
        )
        f = model.get(d, {}).get("all", {}).get("macro_f1")
        lead = None if f is None or best[0] is None else round(f - best[0], 4)
        out[f"{d}_lead_over_best_baseline>={TARGET_LEAD}"] = {
            "model": f,
            "best_baseline": best[1],
            "baseline": best[0],
            "lead": lead,
            "margin": None if lead is None else round(lead - TARGET_LEAD, 4),
        }
    return out


# --- cross-validation ------------------------------------------------------------------------------

CV_SYSTEMS = ("model", "model_ensemble", "lexicon", "tfidf", "frozen")
CV_METRICS = ("macro_f1", "auroc", "spearman", "ece")
TARGET_ECE = 0.05
TARGET_SHARE_GAP = 0.10
MIN_LAW_ARTICLES = 20


def read_cv_predictions(path: str | Path) -> pd.DataFrame:
    df = pq.read_table(path).to_pandas()
    need = ("system", "seed", "fold", "provision_id", "doc_id", "lang", "dimension", "prob", "flag", "gold")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: expected columns {list(need)}, missing {missing}")
    # the seed ensemble of the model (seed -1) is the published recipe: a system of its own here
    df["system"] = np.where((df["system"] == "model") & (df["seed"] < 0), "model_ensemble", df["system"])
    return df


def _mean(values: list[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return round(float(np.mean(v)), 4) if v else None


def cv_table(cv: pd.DataFrame, n_bins: int) -> dict[str, Any]:
    """{system: {dimension: {lang: metrics}}}: means over folds and seeds, their macro-F1 spread, and the
    pooled out-of-fold macro-F1 and ECE (every article once per seed, averaged over seeds)."""
    out: dict[str, Any] = {}
    for system in [s for s in CV_SYSTEMS if s in set(cv["system"])]:
        for d in DIMENSIONS:
            g = cv[(cv["system"] == system) & (cv["dimension"] == d)]
            cells = {lg: g[g["lang"] == lg] for lg in LANGS if (g["lang"] == lg).any()}
            cells["all"] = g
            for lg, c in cells.items():
                per_fold = [
                    flag_metrics(
                        f["gold"].to_numpy(), f["prob"].to_numpy(), f["flag"].to_numpy(), None, n_bins
                    )
                    for _, f in c.groupby(["seed", "fold"], sort=True)
                ]
                pooled = [
                    flag_metrics(
                        f["gold"].to_numpy(), f["prob"].to_numpy(), f["flag"].to_numpy(), None, n_bins
                    )
                    for _, f in c.groupby("seed", sort=True)
                ]
                f1s = [m["macro_f1"] for m in per_fold if m["macro_f1"] is not None]
                cell: dict[str, Any] = {k: _mean([m[k] for m in per_fold]) for k in CV_METRICS}
                cell["macro_f1_sd"] = round(float(np.std(f1s)), 4) if f1s else None
                cell["macro_f1_oof"] = _mean([m["macro_f1"] for m in pooled])
                cell["ece_oof"] = _mean([m["ece"] for m in pooled])
                cell["n"] = int(len(c) // max(c["seed"].nunique(), 1))
                out.setdefault(system, {}).setdefault(d, {})[lg] = cell
    return out


def law_shares(
    cv: pd.DataFrame, scores: pd.DataFrame | None, min_articles: int = MIN_LAW_ARTICLES
) -> list[dict[str, Any]]:
    """Per law with >= ``min_articles`` gold articles: gold share, out-of-fold flag share (the published
    recipe) and, where data/scores.parquet is given, the published flag share of the same articles."""
    ens = cv[cv["system"] == "model_ensemble"]
    flags = {"vagueness": "vague_flag", "speech_risk": "speech_flag"}
    pub = scores.set_index("provision_id") if scores is not None else None
    out = []
    for doc, g in ens.groupby("doc_id", sort=True):
        n = g["provision_id"].nunique()
        if n < min_articles:
            continue
        row: dict[str, Any] = {"doc_id": doc, "n": int(n)}
        for d in DIMENSIONS:
            gd = g[g["dimension"] == d]
            cell = {
                "gold_share": round(float((gd["gold"] >= 2).mean()), 3),
                "oof_share": round(float(gd["flag"].mean()), 3),
            }
            if pub is not None and flags[d] in pub.columns:
                ids = [p for p in gd["provision_id"] if p in pub.index]
                if ids:
                    cell["published_share"] = round(float(pub.loc[ids, flags[d]].astype(bool).mean()), 3)
            row[d] = cell
        out.append(row)
    return out


def cv_targets(table: dict[str, Any], laws: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets on the cross-validated figures (margin: positive = met)."""
    out: dict[str, Any] = {}
    model = table.get("model_ensemble") or table.get("model", {})
    for d, goal in TARGET_F1.items():
        for lg in LANGS:
            f = model.get(d, {}).get(lg, {}).get("macro_f1_oof")
            out[f"cv_{d}_{lg}_macro_f1>={goal}"] = {
                "value": f,
                "margin": None if f is None else round(f - goal, 4),
            }
            e = model.get(d, {}).get(lg, {}).get("ece_oof")
            out[f"cv_{d}_{lg}_ece<={TARGET_ECE}"] = {
                "value": e,
                "margin": None if e is None else round(TARGET_ECE - e, 4),
            }
        best = max(
            (
                (table[b][d]["all"]["macro_f1_oof"] or 0.0, b)
                for b in BASELINES
                if b in table and d in table[b]
            ),
            default=(None, None),
        )
        f = model.get(d, {}).get("all", {}).get("macro_f1_oof")
        lead = None if f is None or best[0] is None else round(f - best[0], 4)
        out[f"cv_{d}_lead_over_best_baseline>={TARGET_LEAD}"] = {
            "model": f,
            "best_baseline": best[1],
            "baseline": best[0],
            "lead": lead,
            "margin": None if lead is None else round(lead - TARGET_LEAD, 4),
        }
    for key in ("oof_share", "published_share"):
        gaps = [
            (abs(r[d][key] - r[d]["gold_share"]), r["doc_id"], d)
            for r in laws
            for d in DIMENSIONS
            if key in r[d]
        ]
        worst = max(gaps, default=None)
        out[f"law_{key}_within_{TARGET_SHARE_GAP}_of_gold"] = {
            "laws": len(laws),
            "cells_met": sum(g <= TARGET_SHARE_GAP for g, _, _ in gaps),
            "cells": len(gaps),
            "worst": None
            if worst is None
            else {"gap": round(worst[0], 3), "doc_id": worst[1], "dimension": worst[2]},
        }
    return out


def write_cv_plots(cv: pd.DataFrame, out_dir: Path, n_bins: int, png: bool) -> int:
    """Reliability of the published recipe's out-of-fold probabilities, one CSV per language (dvc plots)."""
    ens = cv[cv["system"] == "model_ensemble"]
    n = 0
    for lg in LANGS:
        rel = []
        for d in DIMENSIONS:
            g = ens[(ens["lang"] == lg) & (ens["dimension"] == d)]
            if not len(g):
                continue
            y = (g["gold"].to_numpy() >= 2).astype(float)
            for b in reliability(g["prob"].to_numpy(), y, n_bins):
                rel.append({"dimension": d, **b})
        pd.DataFrame(rel, columns=["dimension", "bin", "confidence", "frequency", "count"]).to_csv(
            out_dir / f"cv_reliability_{lg}.csv", index=False
        )
        n += 1
        if png and rel:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(4.5, 4.5))
            ax.plot([0, 1], [0, 1], ":", color="grey")
            frame = pd.DataFrame(rel)
            for d, g in frame.groupby("dimension"):
                ax.plot(g["confidence"], g["frequency"], "o-", label=d)
            ax.set(
                xlabel="predicted P(level ≥ 2), out of fold",
                ylabel="observed frequency",
                title=f"reliability ({lg}, held-out laws)",
            )
            ax.legend()
            fig.tight_layout()
            fig.savefig(out_dir / f"cv_reliability_{lg}.png", dpi=100)
            plt.close(fig)
            n += 1
    return n


def write_plots(preds: pd.DataFrame, split: str, out_dir: Path, n_bins: int, png: bool) -> int:
    """Confusion matrices, reliability diagrams, precision-recall curves: CSV for dvc plots, PNG to read."""
    df = preds[(preds["setting"] == "in_language") & (preds["split"] == split)]
    rel, pr, conf = [], [], []
    for (system, d), g in df.groupby(["system", "dimension"], sort=True):
        y = g["gold"].to_numpy()
        for b in reliability(g["prob"].to_numpy(), (y >= 2).astype(float), n_bins):
            rel.append({"system": system, "dimension": d, **b})
        for pt in pr_curve(y, g["prob"].to_numpy()):
            pr.append({"system": system, "dimension": d, **pt})
        pred = g["level"].to_numpy() if system == "model" else g["flag"].to_numpy().astype(int) * 2
        actual = y if system == "model" else (y >= 2).astype(int) * 2
        for a, p in zip(actual, pred, strict=True):
            conf.append({"system": system, "dimension": d, "actual": int(a), "predicted": int(p)})
    pd.DataFrame(rel).to_csv(out_dir / "reliability.csv", index=False)
    pd.DataFrame(pr).to_csv(out_dir / "precision_recall.csv", index=False)
    pd.DataFrame(conf).to_csv(out_dir / "confusion.csv", index=False)
    n = 3
    if png:
        n += _png_plots(pd.DataFrame(rel), pd.DataFrame(pr), df, out_dir)
    return n


def _png_plots(rel: pd.DataFrame, pr: pd.DataFrame, df: pd.DataFrame, out_dir: Path) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 0
    for d in DIMENSIONS:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([0, 1], [0, 1], ":", color="grey")
        for system, g in rel[rel["dimension"] == d].groupby("system") if len(rel) else []:
            ax.plot(g["confidence"], g["frequency"], "o-", label=system)
        ax.set(xlabel="predicted P(level ≥ 2)", ylabel="observed frequency", title=f"reliability: {d}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"reliability_{d}.png", dpi=100)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        for system, g in pr[pr["dimension"] == d].groupby("system") if len(pr) else []:
            ax.plot(g["recall"], g["precision"], label=system)
        ax.set(
            xlabel="recall", ylabel="precision", title=f"precision-recall: {d}", xlim=(0, 1), ylim=(0, 1.02)
        )
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"precision_recall_{d}.png", dpi=100)
        plt.close(fig)
        g = df[(df["system"] == "model") & (df["dimension"] == d)]
        m = np.array(confusion(g["gold"].to_numpy(), g["level"].to_numpy(), [0, 1, 2, 3]))
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.imshow(m, cmap="Blues")
        for i in range(4):
            for j in range(4):
                ax.text(j, i, str(m[i, j]), ha="center", va="center")
        ax.set(
            xticks=range(4),
            yticks=range(4),
            xlabel="predicted level",
            ylabel="gold level",
            title=f"model: {d}",
        )
        fig.tight_layout()
        fig.savefig(out_dir / f"confusion_model_{d}.png", dpi=100)
        plt.close(fig)
        n += 3
    return n


def run(
    predictions_path: str | Path,
    out_path: str | Path,
    extra_path: str | Path,
    plots_dir: str | Path,
    params: EvaluateParams,
    scores_path: str | Path | None = None,
    alignments_path: str | Path | None = None,
    cv_path: str | Path | None = None,
) -> dict[str, Any]:
    """Read the predictions (and optionally scores and alignments), write the metrics and plots."""
    preds = read_predictions(predictions_path)
    table = system_table(preds, params.split, params.n_bins)
    if "model" not in table:
        raise ValueError(f"{predictions_path}: no model predictions on the {params.split} split")
    scores = None
    if scores_path and Path(scores_path).exists():
        scores = read_table(
            scores_path,
            SCORES_SCHEMA,
            "scores",
            columns=["provision_id", "level", "vagueness", "speech_risk", "vague_flag", "speech_flag"],
        ).to_pandas()
        scores = scores[scores["level"] == "article"]
    alignments = (
        read_table(alignments_path, ALIGNMENTS_SCHEMA, "alignments").to_pandas()
        if alignments_path and Path(alignments_path).exists()
        else None
    )
    extra = {
        "split": params.split,
        "crosslingual": crosslingual_table(preds, params.n_bins),
        "crosslingual_note": "train on the train split of one language, test on the test split of the other; "
        "model = the same recipe (cached lower layers, upper layers + heads fine-tuned) trained on one "
        "language only and calibrated on that language's dev; tfidf and frozen refit likewise",
        "consistency": consistency(preds, alignments, scores),
        "dev": system_table(preds, "dev", params.n_bins),
        "targets": targets(table),
    }
    cv = read_cv_predictions(cv_path) if cv_path and Path(cv_path).exists() else None
    if cv is not None:
        ct = cv_table(cv, params.n_bins)
        laws = law_shares(cv, scores)
        # the headline: metrics/eval.json's `cv` section (the fixed test split stays the top-level table)
        table = {**table, "cv": ct}
        extra["cv_per_law"] = laws
        extra["cv_targets"] = cv_targets(ct, laws)
    write_json(table, out_path)
    write_json(extra, extra_path)
    n_plots = 0
    if params.plots:
        with atomic_path(plots_dir, is_dir=True) as tmp:
            n_plots = write_plots(preds, params.split, tmp, params.n_bins, png=True)
            if cv is not None:
                n_plots += write_cv_plots(cv, tmp, params.n_bins, png=True)
    log.info("evaluated %d systems; %d plot files", len(table), n_plots)
    return {"systems": len(table), "plots": n_plots, "predictions": len(preds)}


PATHS = {
    "predictions": "data/gold_predictions.parquet",
    "cv": "data/cv_predictions.parquet",  # the cv stage's out-of-fold predictions (the `cv` section)
    "scores": "data/scores.parquet",
    "alignments": "data/alignments.parquet",
    "out": "metrics/eval.json",
    "extra": "metrics/eval_extra.json",
    "plots": "plots/eval",
}


def main(argv: list[str] | None = None) -> int:
    args = stage.arguments("overbroad evaluate", __doc__, PATHS, argv)
    params = load_params(EvaluateParams, "evaluate", args.params)
    return stage.execute(
        "evaluate",
        lambda: run(
            args.predictions, args.out, args.extra, args.plots, params, args.scores, args.alignments, args.cv
        ),
    )


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["evaluate", *sys.argv[1:]]))

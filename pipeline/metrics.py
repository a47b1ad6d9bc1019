"""Metrics of a flag probability against ordinal gold levels (pure functions, no I/O).

A system gives per provision and dimension a probability P(level >= 2) and a flag (the probability
at or above the dev-fitted threshold); the gold is the codebook level 0–3. Undefined values (AUROC
with one class present, Spearman of a constant) are ``None``, never NaN, so the JSON stays valid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import average_precision_score, cohen_kappa_score, precision_recall_curve, roc_auc_score

METRICS = ("macro_f1", "auroc", "spearman", "ece", "n")


def binary_macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the two classes of a binary flag (a class absent from both counts as F1 = 1)."""
    f1s = []
    for c in (True, False):
        tp = int(np.sum((pred == c) & (y == c)))
        fp = int(np.sum((pred == c) & (y != c)))
        fn = int(np.sum((pred != c) & (y == c)))
        f1s.append(1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def _num(x: float | None, nd: int = 4) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), nd)


def ece(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float | None:
    """Expected calibration error of P(flag) over ``n_bins`` equal-width bins (weighted |acc − conf|)."""
    if len(probs) == 0:
        return None
    bins = bin_index(probs, n_bins)
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.sum() / len(probs) * abs(float(y[m].mean()) - float(probs[m].mean()))
    return total


def bin_index(probs: np.ndarray, n_bins: int) -> np.ndarray:
    """Each probability's bin among ``n_bins`` equal-width bins of [0, 1] (1.0 falls in the last)."""
    return np.clip((np.asarray(probs) * n_bins).astype(int), 0, n_bins - 1)


def reliability(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    """Per non-empty bin: its mid-point, mean confidence, observed frequency and count."""
    bins = bin_index(probs, n_bins)
    out = []
    for b in range(n_bins):
        m = bins == b
        if m.any():
            out.append(
                {
                    "bin": (b + 0.5) / n_bins,
                    "confidence": float(probs[m].mean()),
                    "frequency": float(y[m].mean()),
                    "count": int(m.sum()),
                }
            )
    return out


def flag_metrics(
    gold: np.ndarray, probs: np.ndarray, flags: np.ndarray, levels: np.ndarray | None = None, n_bins: int = 10
) -> dict[str, Any]:
    """Gold levels [N], P(level>=2) [N], flags [N] (and predicted levels) → the metrics of one cell."""
    gold, probs, flags = np.asarray(gold), np.asarray(probs, dtype=float), np.asarray(flags, dtype=bool)
    y = gold >= 2
    n = len(gold)
    out: dict[str, Any] = {"macro_f1": None, "auroc": None, "spearman": None, "ece": None, "n": n}
    if n == 0:
        return out
    both = len(np.unique(y)) == 2
    tp, fp, fn = int((flags & y).sum()), int((flags & ~y).sum()), int((~flags & y).sum())
    out.update(
        macro_f1=_num(binary_macro_f1(y, flags)),
        auroc=_num(roc_auc_score(y, probs)) if both else None,
        spearman=_num(spearmanr(probs, gold).statistic) if np.ptp(probs) > 0 and np.ptp(gold) > 0 else None,
        ece=_num(ece(probs, y.astype(float), n_bins)),
        average_precision=_num(average_precision_score(y, probs)) if both else None,
        precision=_num(tp / (tp + fp)) if tp + fp else None,
        recall=_num(tp / (tp + fn)) if tp + fn else None,
        brier=_num(float(np.mean((probs - y) ** 2))),
        positives=int(y.sum()),
    )
    if levels is not None and (np.asarray(levels) >= 0).all():
        levels = np.asarray(levels)
        out["level_accuracy"] = _num(float((levels == gold).mean()))
        qwk = cohen_kappa_score(gold, levels, labels=[0, 1, 2, 3], weights="quadratic") if n > 1 else None
        out["qwk"] = _num(qwk) if qwk is not None else None
    return out


def pr_curve(gold: np.ndarray, probs: np.ndarray) -> list[dict[str, float]]:
    """Precision-recall points of the flag (empty when one class only)."""
    y = np.asarray(gold) >= 2
    if len(np.unique(y)) < 2:
        return []
    p, r, t = precision_recall_curve(y, probs)
    return [
        {"recall": float(rr), "precision": float(pp), "threshold": float(tt)}
        for pp, rr, tt in zip(p[:-1], r[:-1], t, strict=True)
    ]


def confusion(gold: np.ndarray, pred: np.ndarray, labels: list[int]) -> list[list[int]]:
    """Rows: gold label, columns: predicted label."""
    m = [[0] * len(labels) for _ in labels]
    pos = {lab: i for i, lab in enumerate(labels)}
    for g, p in zip(gold, pred, strict=True):
        if g in pos and p in pos:
            m[pos[int(g)]][pos[int(p)]] += 1
    return m


def agreement(a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray) -> dict[str, Any]:
    """Consistency of paired scores (e.g. a Vietnamese article and its English translation)."""
    n = len(a)
    out: dict[str, Any] = {
        "n_pairs": n,
        "pearson": None,
        "spearman": None,
        "mean_abs_diff": None,
        "flag_agreement": None,
    }
    if n == 0:
        return out
    if n > 2 and np.ptp(a) > 0 and np.ptp(b) > 0:
        out["pearson"] = _num(pearsonr(a, b).statistic)
        out["spearman"] = _num(spearmanr(a, b).statistic)
    out["mean_abs_diff"] = _num(float(np.mean(np.abs(np.asarray(a) - np.asarray(b)))))
    out["flag_agreement"] = _num(float(np.mean(np.asarray(fa) == np.asarray(fb))))
    return out

"""Calibration per language and dimension, fitted on out-of-fold predictions (pure functions).

A classifier's raw cumulative logits are mapped to probabilities, and a flag threshold is chosen, for
each (language, dimension): the two languages differ in drafting, in the lexicon's coverage and in
how often their laws restrict speech, so one mapping and one threshold fitted on a few dev articles
(the former recipe) over-flags English and under-flags Vietnamese.

Methods: ``platt`` (a scale and a shift on every cumulative logit, fitted by maximum likelihood on the
three cut targets; the order of the cuts is kept) and ``isotonic`` (a monotone curve per cut). The
threshold of the flag maximises its macro-F1 (``threshold: f1``) or is 0.5 on the calibrated
probability (``threshold: half``: flagged when level >= 2 is more likely than not).

:func:`cross_calibrate` gives every article a calibrated probability and flag from a calibration
fitted on the *other* folds' out-of-fold logits, so a method is judged on articles it never saw; the
cv stage chooses the method by that measure and fits the published calibration on all of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.isotonic import IsotonicRegression

from pipeline.nn.calibration import FLAG_CUT, apply_lang_entry, fit_threshold
from pipeline.nn.heads import N_CUTS
from pipeline.schema import DIMENSIONS

METHODS = ("platt", "isotonic")
THRESHOLDS = ("f1", "half")
MIN_SCALE = 1e-3  # a calibration must keep the model's order of the articles


def cut_targets(levels: np.ndarray) -> np.ndarray:
    """Gold levels [N] → [N, 3] binary targets level >= k, k = 1..3."""
    return (np.asarray(levels)[:, None] >= np.arange(1, N_CUTS + 1)[None, :]).astype(np.float64)


def fit_platt(logits: np.ndarray, levels: np.ndarray) -> tuple[float, float]:
    """Scale a > 0 and shift b minimising the NLL of the flag, sigmoid(a * z + b) for P(level >= 2).

    Fitted on the flag's cut (z = logits[:, FLAG_CUT]) and applied to all three cuts, which keeps them
    rank-consistent: the flag is what the dataset publishes and what ECE measures.
    """
    z = np.asarray(logits, dtype=np.float64)[:, FLAG_CUT]
    y = (np.asarray(levels) >= 2).astype(np.float64)
    if len(z) == 0 or y.min() == y.max():
        return 1.0, 0.0

    def nll(ab: np.ndarray) -> float:
        s = np.clip(ab[0] * z + ab[1], -40, 40)
        # log(1 + e^s) - y s, the stable form of the binary cross-entropy of sigmoid(s)
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    res = minimize(nll, np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
    a, b = float(res.x[0]), float(res.x[1])
    if not (math.isfinite(a) and math.isfinite(b)):
        return 1.0, 0.0
    return max(a, MIN_SCALE), b


def fit_isotonic(logits: np.ndarray, levels: np.ndarray) -> tuple[list[list[float]], list[list[float]]]:
    """Per cut a monotone curve from sigmoid(z) to the frequency of level >= k: (x, y) knots per cut."""
    y = cut_targets(levels)
    raw = 1.0 / (1.0 + np.exp(-np.clip(np.asarray(logits, dtype=np.float64), -60, 60)))
    xs, ys = [], []
    for k in range(N_CUTS):
        if len(raw) == 0 or np.ptp(raw[:, k]) == 0:
            xs.append([0.0, 1.0])
            ys.append([float(y[:, k].mean()) if len(y) else 0.0] * 2)
            continue
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw[:, k], y[:, k])
        xs.append([float(v) for v in iso.X_thresholds_])
        ys.append([float(v) for v in iso.y_thresholds_])
    return xs, ys


def fit_entry(logits: np.ndarray, levels: np.ndarray, method: str, threshold: str) -> dict[str, Any]:
    """One (language, dimension): logits [N, 3], gold levels [N] → a calibration entry with its threshold."""
    if method not in METHODS:
        raise ValueError(f"calibration method: expected one of {METHODS}, found {method!r}")
    if threshold not in THRESHOLDS:
        raise ValueError(f"calibration threshold: expected one of {THRESHOLDS}, found {threshold!r}")
    if method == "platt":
        a, b = fit_platt(logits, levels)
        entry: dict[str, Any] = {"method": "platt", "scale": round(a, 6), "shift": round(b, 6)}
    else:
        x, y = fit_isotonic(logits, levels)
        entry = {"method": "isotonic", "x": x, "y": y}
    p = apply_lang_entry({**entry, "threshold": 0.5}, np.asarray(logits, dtype=np.float64))[:, FLAG_CUT]
    t = 0.5 if threshold == "half" or len(p) == 0 else fit_threshold(p, np.asarray(levels) >= 2)
    entry["threshold"] = round(float(t), 6)
    entry["n"] = int(len(levels))
    return entry


def fit_by_lang(
    logits: np.ndarray, levels: np.ndarray, langs: Sequence[str], method: str, threshold: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """Logits [N, D, 3], levels [N, D], langs [N] → ``Calibration.by_lang`` for every language present."""
    langs = np.asarray(langs)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for lg in sorted(set(langs.tolist())):
        m = langs == lg
        out[lg] = {
            d: fit_entry(logits[m, j, :], levels[m, j], method, threshold) for j, d in enumerate(DIMENSIONS)
        }
    return out


@dataclass(frozen=True)
class CrossCalibrated:
    """Every article's calibrated P(level >= 2) [N, D] and flag [N, D], each from the other folds' fit."""

    prob: np.ndarray
    flag: np.ndarray
    threshold: np.ndarray


def cross_calibrate(
    logits: np.ndarray,
    levels: np.ndarray,
    langs: Sequence[str],
    folds: np.ndarray,
    method: str,
    threshold: str,
    per_lang: bool = True,
) -> CrossCalibrated:
    """Calibrate the articles of each fold with a calibration fitted on the other folds' logits.

    ``per_lang=False`` fits one calibration for both languages (the former recipe, for comparison).
    """
    langs = np.asarray(langs)
    folds = np.asarray(folds)
    n = len(levels)
    prob = np.zeros((n, len(DIMENSIONS)))
    flag = np.zeros((n, len(DIMENSIONS)), dtype=bool)
    th = np.zeros((n, len(DIMENSIONS)))
    keys = langs if per_lang else np.full(n, "all")
    for k in np.unique(folds):
        test, train = folds == k, folds != k
        for lg in np.unique(keys[test]):
            fit_rows, rows = train & (keys == lg), test & (keys == lg)
            if not fit_rows.any():
                fit_rows = train  # a language seen in no other fold: the other folds' pooled fit
            for j in range(len(DIMENSIONS)):
                e = fit_entry(logits[fit_rows, j, :], levels[fit_rows, j], method, threshold)
                p = apply_lang_entry(e, logits[rows, j, :])[:, FLAG_CUT]
                prob[rows, j], flag[rows, j], th[rows, j] = p, p >= e["threshold"], e["threshold"]
    return CrossCalibrated(prob, flag, th)

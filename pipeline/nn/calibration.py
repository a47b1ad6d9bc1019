"""Calibration: a temperature per dimension, then the flag threshold on the calibrated P(level >= 2)
that maximises the flag's macro-F1 (fitted on dev by the train stage); optionally, per language, a
Platt or isotonic map with its own threshold (fitted on out-of-fold logits by the cv stage,
pipeline.nn.oof_calibration). Kept in calibration.json beside the weights."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pipeline.metrics import binary_macro_f1
from pipeline.nn.heads import N_CUTS
from pipeline.schema import DIMENSIONS

FLAG_CUT = 1  # index of P(level >= 2), the probability the contract calls `vagueness` / `speech_risk`


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def fit_temperature(logits: np.ndarray, levels: np.ndarray, grid: int = 801) -> float:
    """Temperature T minimising the cumulative-binary NLL of ``logits / T`` ([N, 3] vs levels [N])."""
    if len(levels) == 0:
        return 1.0
    y = (levels[:, None] >= np.arange(1, N_CUTS + 1)[None, :]).astype(np.float64)
    best_t, best = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.05), math.log(20.0), grid)):
        p = np.clip(_sigmoid(logits / t), 1e-12, 1 - 1e-12)
        nll = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
        if nll < best - 1e-12:
            best_t, best = float(t), nll
    return best_t


def fit_threshold(probs: np.ndarray, flags: np.ndarray) -> float:
    """The probability threshold (flag = p >= t) that maximises the flag's macro-F1 on dev.

    Candidates are midpoints between consecutive distinct probabilities; ties go to the one closest
    to 0.5, so the threshold does not drift to an extreme on a small dev set.
    """
    if len(probs) == 0:
        return 0.5
    u = np.unique(probs)
    cands = np.concatenate([[u[0] - 1e-9], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-9]])
    best_t, best = 0.5, -1.0
    for t in cands:
        f = binary_macro_f1(flags.astype(bool), probs >= t)
        if f > best + 1e-12 or (abs(f - best) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best_t, best = float(t), f
    return float(np.clip(best_t, 0.0, 1.0))


CALIBRATION_METHODS = ("platt", "isotonic")


def _check_lang_entry(lang: str, d: str, e: dict[str, Any]) -> None:
    where = f"calibration.by_lang[{lang}][{d}]"
    if e.get("method") not in CALIBRATION_METHODS:
        raise ValueError(f"{where}.method: expected one of {CALIBRATION_METHODS}, found {e.get('method')!r}")
    th = e.get("threshold")
    if th is None or not 0 <= th <= 1:
        raise ValueError(f"{where}.threshold: expected in [0, 1], found {th}")
    if e["method"] == "platt":
        if not e.get("scale", 0) > 0:
            raise ValueError(
                f"{where}.scale: expected > 0 (a calibration keeps the order), found {e.get('scale')}"
            )
        if not math.isfinite(float(e.get("shift", math.nan))):
            raise ValueError(f"{where}.shift: expected a finite number, found {e.get('shift')}")
    else:
        xs, ys = e.get("x"), e.get("y")
        if not (isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys) == N_CUTS):
            raise ValueError(f"{where}: expected x and y lists of {N_CUTS} cuts, found {xs!r}, {ys!r}")
        for x, y in zip(xs, ys, strict=True):
            if len(x) != len(y) or not x or any(b < a for a, b in zip(x, x[1:], strict=False)):
                raise ValueError(f"{where}: expected increasing x of the length of y, found {x!r}, {y!r}")


@dataclass(frozen=True)
class Calibration:
    """Per-dimension temperature and flag threshold (fitted on dev), optionally per language.

    ``by_lang[lang][dimension]`` (fitted on out-of-fold predictions by the cv stage) overrides the
    global pair for texts of that language: ``platt`` maps every cumulative logit z to
    sigmoid(scale * z + shift), ``isotonic`` maps each cut's sigmoid(z) through a monotone
    piecewise-linear curve; each carries that language's flag threshold.
    """

    temperature: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 1.0))
    threshold: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0.5))
    by_lang: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for d in DIMENSIONS:
            t, th = self.temperature.get(d), self.threshold.get(d)
            if t is None or not t > 0:
                raise ValueError(f"calibration.temperature[{d}]: expected > 0, found {t}")
            if th is None or not 0 <= th <= 1:
                raise ValueError(f"calibration.threshold[{d}]: expected in [0, 1], found {th}")
        for lang, dims in self.by_lang.items():
            if set(dims) != set(DIMENSIONS):
                raise ValueError(
                    f"calibration.by_lang[{lang}]: expected {list(DIMENSIONS)}, found {sorted(dims)}"
                )
            for d in DIMENSIONS:
                _check_lang_entry(lang, d, dims[d])

    @classmethod
    def fit(cls, logits: np.ndarray, levels: np.ndarray) -> Calibration:
        """Dev logits [N, D, 3] and gold levels [N, D] → temperature, then threshold on calibrated P(>=2)."""
        temps, ths = {}, {}
        for j, d in enumerate(DIMENSIONS):
            temps[d] = fit_temperature(logits[:, j, :], levels[:, j])
            p = _sigmoid(logits[:, j, FLAG_CUT] / temps[d])
            ths[d] = fit_threshold(p, levels[:, j] >= 2)
        return cls(temps, ths)

    def _rows(self, n: int, langs: Sequence[str | None] | None) -> dict[str, np.ndarray]:
        if langs is None or not self.by_lang:
            return {}
        if len(langs) != n:
            raise ValueError(f"calibration: {n} rows but {len(langs)} langs")
        arr = np.asarray([lg if isinstance(lg, str) else "" for lg in langs])
        return {lg: arr == lg for lg in self.by_lang if (arr == lg).any()}

    def probs(self, logits: np.ndarray, langs: Sequence[str | None] | None = None) -> np.ndarray:
        """[N, D, 3] logits (and each row's language) → calibrated cumulative probabilities [N, D, 3]."""
        t = np.array([self.temperature[d] for d in DIMENSIONS])[None, :, None]
        out = _sigmoid(logits / t)
        for lg, m in self._rows(len(logits), langs).items():
            for j, d in enumerate(DIMENSIONS):
                out[m, j, :] = apply_lang_entry(self.by_lang[lg][d], logits[m, j, :])
        return out

    def thresholds(self, n: int, langs: Sequence[str | None] | None = None) -> np.ndarray:
        """[N, D] flag thresholds: each row's language's, else the global ones."""
        th = np.tile(np.array([self.threshold[d] for d in DIMENSIONS], dtype=float), (n, 1))
        for lg, m in self._rows(n, langs).items():
            th[m] = [self.by_lang[lg][d]["threshold"] for d in DIMENSIONS]
        return th

    def levels(self, probs: np.ndarray, langs: Sequence[str | None] | None = None) -> np.ndarray:
        """Calibrated cumulative probabilities [N, D, 3] → levels [N, D] consistent with the flag.

        Level >= 2 exactly when P(>=2) reaches the threshold (of the row's language where one was
        fitted); then 3 if P(>=3) >= 0.5; below the threshold, 1 if P(>=1) >= 0.5, else 0.
        """
        flag = probs[:, :, FLAG_CUT] >= self.thresholds(len(probs), langs)
        return np.where(flag, 2 + (probs[:, :, 2] >= 0.5), (probs[:, :, 0] >= 0.5).astype(int)).astype(int)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.by_lang:
            out.pop("by_lang")
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            {k: float(v) for k, v in data["temperature"].items()},
            {k: float(v) for k, v in data["threshold"].items()},
            dict(data.get("by_lang") or {}),
        )


def apply_lang_entry(entry: dict[str, Any], logits: np.ndarray) -> np.ndarray:
    """One language-and-dimension calibration applied to cumulative logits [N, 3] → probabilities [N, 3]."""
    if entry["method"] == "platt":
        return _sigmoid(float(entry["scale"]) * logits + float(entry["shift"]))
    raw = _sigmoid(logits)
    out = np.stack([np.interp(raw[:, k], entry["x"][k], entry["y"][k]) for k in range(N_CUTS)], axis=1)
    # P(level >= k) cannot rise with k: keep the cuts rank-consistent after separate curves.
    return np.minimum.accumulate(out, axis=1)

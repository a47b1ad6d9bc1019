"""Calibration fitted on dev: a temperature per dimension, then the flag threshold on the calibrated
P(level >= 2) that maximises the flag's macro-F1. Kept in calibration.json beside the weights."""

from __future__ import annotations

import math
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


@dataclass(frozen=True)
class Calibration:
    """Per-dimension temperature and flag threshold, fitted on dev."""

    temperature: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 1.0))
    threshold: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0.5))

    def __post_init__(self) -> None:
        for d in DIMENSIONS:
            t, th = self.temperature.get(d), self.threshold.get(d)
            if t is None or not t > 0:
                raise ValueError(f"calibration.temperature[{d}]: expected > 0, found {t}")
            if th is None or not 0 <= th <= 1:
                raise ValueError(f"calibration.threshold[{d}]: expected in [0, 1], found {th}")

    @classmethod
    def fit(cls, logits: np.ndarray, levels: np.ndarray) -> Calibration:
        """Dev logits [N, D, 3] and gold levels [N, D] → temperature, then threshold on calibrated P(>=2)."""
        temps, ths = {}, {}
        for j, d in enumerate(DIMENSIONS):
            temps[d] = fit_temperature(logits[:, j, :], levels[:, j])
            p = _sigmoid(logits[:, j, FLAG_CUT] / temps[d])
            ths[d] = fit_threshold(p, levels[:, j] >= 2)
        return cls(temps, ths)

    def probs(self, logits: np.ndarray) -> np.ndarray:
        """[N, D, 3] logits → calibrated cumulative probabilities [N, D, 3]."""
        t = np.array([self.temperature[d] for d in DIMENSIONS])[None, :, None]
        return _sigmoid(logits / t)

    def levels(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated cumulative probabilities [N, D, 3] → levels [N, D] consistent with the flag.

        Level >= 2 exactly when P(>=2) reaches the dev threshold; then 3 if P(>=3) >= 0.5; below
        the threshold, 1 if P(>=1) >= 0.5, else 0.
        """
        th = np.array([self.threshold[d] for d in DIMENSIONS])[None, :]
        flag = probs[:, :, FLAG_CUT] >= th
        return np.where(flag, 2 + (probs[:, :, 2] >= 0.5), (probs[:, :, 0] >= 0.5).astype(int)).astype(int)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            {k: float(v) for k, v in data["temperature"].items()},
            {k: float(v) for k, v in data["threshold"].items()},
        )

"""pipeline.nn.calibration: temperature and threshold fitting, levels consistent with flags."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.metrics import binary_macro_f1
from pipeline.nn.calibration import Calibration, fit_temperature, fit_threshold


def test_fit_threshold_separates_separable_probs():
    probs = np.array([0.1, 0.2, 0.3, 0.7, 0.8])
    y = np.array([0, 0, 0, 1, 1], bool)
    t = fit_threshold(probs, y)
    assert 0.3 < t <= 0.7
    assert binary_macro_f1(y, probs >= t) == 1.0


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 3, size=4000)
    levels = (rng.random(4000) < 1 / (1 + np.exp(-true_logit))).astype(int) * 2  # P(>=1)=P(>=2), P(>=3)=0
    logits = np.stack([true_logit * 2.0, true_logit * 2.0, np.full(4000, -40.0)], 1)  # over-confident by 2x
    t = fit_temperature(logits, levels)
    assert 1.7 < t < 2.3


def test_calibration_levels_agree_with_flags():
    cal = Calibration({"vagueness": 1.0, "speech_risk": 2.0}, {"vagueness": 0.3, "speech_risk": 0.6})
    logits = np.random.default_rng(1).normal(0, 3, size=(50, 2, 3))
    logits = np.sort(logits, axis=-1)[..., ::-1]  # rank-consistent
    probs = cal.probs(logits)
    levels = cal.levels(probs)
    assert ((levels >= 2) == (probs[:, :, 1] >= np.array([0.3, 0.6]))).all()
    assert Calibration.from_json(cal.to_json()) == cal


def test_calibration_rejects_bad_values():
    with pytest.raises(ValueError, match="temperature"):
        Calibration({"vagueness": 0.0, "speech_risk": 1.0}, {"vagueness": 0.5, "speech_risk": 0.5})

"""pipeline.nn.oof_calibration: Platt and isotonic per language, thresholds, held-out cross-calibration."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.nn.calibration import Calibration, apply_lang_entry
from pipeline.nn.oof_calibration import cross_calibrate, fit_by_lang, fit_entry, fit_platt


def _synthetic(n=4000, a=2.0, b=-1.0, seed=0):
    """Logits z whose true P(level >= 2) is sigmoid(a z + b); levels 0 or 2."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, n)
    y = rng.random(n) < 1 / (1 + np.exp(-(a * z + b)))
    logits = np.stack([z + 2, z, z - 2], axis=1)
    return logits, np.where(y, 2, 0)


def test_platt_recovers_the_scale_and_shift():
    logits, levels = _synthetic()
    a, b = fit_platt(logits, levels)
    assert a == pytest.approx(2.0, abs=0.2) and b == pytest.approx(-1.0, abs=0.2)


def test_platt_of_one_class_is_the_identity():
    logits, _ = _synthetic(100)
    assert fit_platt(logits, np.zeros(100, dtype=int)) == (1.0, 0.0)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrated_probabilities_are_monotone_in_the_logit_and_rank_consistent(method):
    logits, levels = _synthetic()
    e = fit_entry(logits, levels, method, "f1")
    grid = np.linspace(-6, 6, 200)
    p = apply_lang_entry(e, np.stack([grid + 2, grid, grid - 2], axis=1))
    assert (np.diff(p[:, 1]) >= -1e-12).all()
    assert (p[:, 0] >= p[:, 1] - 1e-12).all() and (p[:, 1] >= p[:, 2] - 1e-12).all()
    assert 0 <= e["threshold"] <= 1 and e["n"] == len(levels)


def test_half_threshold_is_half():
    logits, levels = _synthetic(500)
    assert fit_entry(logits, levels, "platt", "half")["threshold"] == 0.5


def test_by_lang_calibration_round_trips_and_differs_per_language():
    en, ly_en = _synthetic(800, a=1.0, b=1.0, seed=1)
    vi, ly_vi = _synthetic(800, a=1.0, b=-2.0, seed=2)
    logits = np.concatenate([en, vi])[:, None, :].repeat(2, axis=1)
    levels = np.concatenate([ly_en, ly_vi])[:, None].repeat(2, axis=1)
    langs = ["en"] * 800 + ["vi"] * 800
    cal = Calibration(by_lang=fit_by_lang(logits, levels, langs, "platt", "f1"))
    assert Calibration.from_json(cal.to_json()) == cal
    same = np.zeros((2, 2, 3))
    p = cal.probs(same, ["en", "vi"])
    assert p[0, 0, 1] > 0.6 and p[1, 0, 1] < 0.2  # the same logit means more in English here
    assert np.allclose(cal.probs(same), 0.5)  # no language: the global temperature


def test_cross_calibration_of_a_fold_never_reads_that_fold_s_labels():
    logits, levels = _synthetic(900)
    logits, levels = logits[:, None, :].repeat(2, axis=1), levels[:, None].repeat(2, axis=1)
    langs = np.array(["en", "vi"] * 450)
    folds = np.arange(900) % 3
    a = cross_calibrate(logits, levels, langs, folds, "platt", "f1")
    flipped = levels.copy()
    flipped[folds == 0] = 2 - flipped[folds == 0]
    b = cross_calibrate(logits, flipped, langs, folds, "platt", "f1")
    assert np.array_equal(a.prob[folds == 0], b.prob[folds == 0])
    assert not np.array_equal(a.prob[folds == 1], b.prob[folds == 1])


def test_a_bad_language_entry_is_rejected():
    with pytest.raises(ValueError, match="scale"):
        Calibration(
            by_lang={
                "en": {
                    d: {"method": "platt", "scale": -1.0, "shift": 0.0, "threshold": 0.5}
                    for d in ("vagueness", "speech_risk")
                }
            }
        )

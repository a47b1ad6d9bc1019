"""pipeline.metrics: values on literal tables, undefined cases are None, JSON-safe."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pipeline.metrics import (
    METRICS,
    agreement,
    bin_index,
    binary_macro_f1,
    confusion,
    ece,
    flag_metrics,
    pr_curve,
    reliability,
)


def test_perfect_system():
    gold = np.array([0, 1, 2, 3, 3, 0])
    probs = np.array([0.0, 0.1, 0.9, 1.0, 1.0, 0.05])
    m = flag_metrics(gold, probs, probs >= 0.5, levels=gold)
    assert m["macro_f1"] == 1.0 and m["auroc"] == 1.0 and m["n"] == 6
    assert m["spearman"] > 0.9 and m["level_accuracy"] == 1.0 and m["qwk"] == 1.0
    assert set(METRICS) <= set(m)


def test_one_class_gives_none_not_nan():
    m = flag_metrics(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.3]), np.array([False] * 3))
    assert m["auroc"] is None
    json.dumps(m, allow_nan=False)


def test_empty_cell():
    m = flag_metrics(np.array([]), np.array([]), np.array([], bool))
    assert m["n"] == 0 and m["macro_f1"] is None


# fmt: off
@pytest.mark.parametrize("probs, y, expected", [
    ([0.0, 1.0], [0, 1], 0.0),              # perfectly calibrated, confident
    ([0.9, 0.9], [0, 0], 0.9),              # confident and wrong
    ([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0], 0.0),
])
# fmt: on
def test_ece(probs, y, expected):
    assert math.isclose(ece(np.array(probs), np.array(y, float)), expected, abs_tol=1e-9)


def test_reliability_counts_sum_to_n():
    rng = np.random.default_rng(0)
    p = rng.random(100)
    bins = reliability(p, (rng.random(100) < p).astype(float), 10)
    assert sum(b["count"] for b in bins) == 100


def test_pr_curve_and_confusion():
    assert pr_curve(np.array([0, 0]), np.array([0.1, 0.2])) == []
    assert pr_curve(np.array([0, 2, 3]), np.array([0.1, 0.8, 0.9]))[0]["recall"] == 1.0
    assert confusion(np.array([0, 1, 2]), np.array([0, 2, 2]), [0, 1, 2, 3])[1] == [0, 0, 1, 0]


def test_agreement():
    a = agreement(
        np.array([0.1, 0.5, 0.9]), np.array([0.2, 0.5, 0.8]), np.array([0, 1, 1]), np.array([0, 1, 0])
    )
    assert a["n_pairs"] == 3 and a["pearson"] > 0.9 and math.isclose(a["flag_agreement"], 2 / 3, abs_tol=1e-4)
    assert agreement(np.array([]), np.array([]), np.array([]), np.array([]))["pearson"] is None


# fmt: off
@pytest.mark.parametrize("y, pred, expected", [
    ([1, 1, 0, 0], [1, 1, 0, 0], 1.0),
    ([1, 1, 0, 0], [0, 0, 1, 1], 0.0),
    ([1, 0, 0, 0], [1, 1, 0, 0], (2 / 3 + 0.8) / 2),
    ([0, 0], [0, 0], 1.0),
])
# fmt: on
def test_binary_macro_f1(y, pred, expected):
    assert math.isclose(binary_macro_f1(np.array(y, bool), np.array(pred, bool)), expected, rel_tol=1e-9)


# fmt: off
BIN_CASES = [
    # probabilities,              bins, expected bin of each
    ([0.0, 0.19, 0.2, 0.99, 1.0], 5,    [0, 0, 1, 4, 4]),   # 1.0 falls in the last bin
    ([0.05, 0.5, 0.95],           10,   [0, 5, 9]),
]
# fmt: on


@pytest.mark.parametrize(("probs", "bins", "expected"), BIN_CASES)
def test_bin_index(probs, bins, expected):
    assert bin_index(np.array(probs), bins).tolist() == expected

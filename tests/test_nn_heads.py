"""pipeline.nn.heads: ordinal targets, bag max, the loss, rank-consistent cumulative probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny import tiny_random_base

from pipeline.nn.classifier import Classifier
from pipeline.nn.heads import bag_max, ordinal_loss, ordinal_targets
from pipeline.nn.windows import WindowSpec

TEXTS = [
    "Whoever spreads false information against the State shall be punished.",
    "Người nào tuyên truyền chống Nhà nước thì bị phạt tù.",
    "This Act comes into force on 1 January.",
    " ".join(f"word{i}" for i in range(150)),
]


@pytest.fixture(scope="module")
def clf(tmp_path_factory) -> Classifier:
    base = tiny_random_base(tmp_path_factory.mktemp("base"), TEXTS)
    return Classifier.from_base(base, WindowSpec(max_length=32, overlap=4, prefix=""), device="cpu")


# fmt: off
@pytest.mark.parametrize("levels, expected", [
    ([0], [0, 0, 0]),
    ([1], [1, 0, 0]),
    ([2], [1, 1, 0]),
    ([3], [1, 1, 1]),
])
# fmt: on
def test_ordinal_targets(levels, expected):
    assert ordinal_targets(torch.tensor([levels])).squeeze().tolist() == [float(x) for x in expected]


def test_bag_max_takes_the_worst_window():
    scores = torch.tensor([[0.1, 2.0], [0.5, -1.0], [3.0, 0.0]])
    out = bag_max(scores, torch.tensor([0, 0, 1]), 2)
    assert out.tolist() == [[0.5, 2.0], [3.0, 0.0]]


def test_ordinal_loss_weights_zero_skip():
    logits = torch.zeros((2, 2, 3))
    levels = torch.tensor([[0, 0], [3, 3]])
    full = ordinal_loss(logits, levels)
    assert math.isclose(float(full), math.log(2), rel_tol=1e-6)
    confident = torch.tensor([[[-9.0] * 3] * 2, [[0.0] * 3] * 2])
    only_first = ordinal_loss(confident, levels, torch.tensor([1.0, 0.0]))
    assert float(only_first) < 1e-3


def test_heads_are_rank_consistent(clf):
    logits = clf.logits(TEXTS)
    p = 1 / (1 + np.exp(-logits))
    assert (np.diff(p, axis=-1) <= 1e-7).all()

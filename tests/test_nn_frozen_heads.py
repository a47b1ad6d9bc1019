"""pipeline.nn.frozen_heads: heads fitted on frozen window vectors, predictions, the averaged ensemble."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.nn.frozen_heads import HeadsFit, WindowVectors, average_heads, fit_heads, predict_heads
from pipeline.nn.heads import bag_max


def _data(n=60, h=8, seed=0):
    """n articles of 1-3 windows; an article is level 3 when one of its windows carries the signal."""
    rng = np.random.default_rng(seed)
    bag = np.repeat(np.arange(n), rng.integers(1, 4, n))
    vec = rng.normal(0, 1, (len(bag), h)).astype(np.float32)
    hot = rng.random(n) < 0.4
    first = np.searchsorted(bag, np.arange(n))
    vec[first[hot], 0] += 4.0  # the signal sits in one window only: max over windows finds it
    levels = np.where(hot, 3, 0)[:, None].repeat(2, axis=1)
    return WindowVectors(vec, None, bag), levels


def test_heads_learn_a_signal_carried_by_one_window():
    data, levels = _data()
    heads = fit_heads(data, levels, np.arange(60), HeadsFit(epochs=30, lr=1e-2), seed=1)
    logits = predict_heads(heads, data, np.arange(60))
    assert logits.shape == (60, 2, 3)
    flag = logits[:, 0, 1] > np.median(logits[:, 0, 1])
    assert (flag == (levels[:, 0] >= 2)).mean() >= 0.85


def test_same_seed_same_heads():
    data, levels = _data()
    fit = HeadsFit(epochs=2)
    a = predict_heads(fit_heads(data, levels, np.arange(40), fit, seed=3), data, np.arange(60))
    b = predict_heads(fit_heads(data, levels, np.arange(40), fit, seed=3), data, np.arange(60))
    assert np.array_equal(a, b)


def test_the_averaged_head_is_the_window_level_mean_of_its_members():
    data, levels = _data()
    members = [fit_heads(data, levels, np.arange(60), HeadsFit(epochs=1), seed=s) for s in range(3)]
    avg = average_heads(members)
    x = torch.from_numpy(data.vectors)
    with torch.no_grad():
        mean_window = torch.stack([m.window_scores(x) for m in members]).mean(0)
        expected = avg.cumulative(bag_max(mean_window, torch.from_numpy(data.bag), 60)).numpy()
    assert np.allclose(predict_heads(avg, data, np.arange(60)), expected, atol=1e-5)


def test_an_article_without_windows_cannot_be_fitted():
    data, levels = _data()
    gap = WindowVectors(data.vectors, None, np.where(data.bag >= 5, data.bag + 1, data.bag))
    with pytest.raises(ValueError, match="no windows"):
        fit_heads(gap, np.vstack([levels, levels[:1]]), [5], HeadsFit(epochs=1), seed=0)


@pytest.mark.parametrize("kw", [{"epochs": 0}, {"lr": 1.5}, {"dropout": 1.0}])
def test_fit_params_are_validated(kw):
    with pytest.raises(ValueError):
        HeadsFit(**kw)

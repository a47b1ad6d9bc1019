"""Ordinal heads trained on a frozen encoder's window vectors: fit, predict, average (the CPU default).

With every encoder layer frozen (``train.freeze_layers: 12`` on the 12-layer base), a window's input to
the heads is its mean-pooled final-layer vector, which never changes during training; the encoder runs
once over every gold window and each fold of a cross-validation, each seed and the fixed-split model
fit only the heads (a few thousand weights) in seconds. Grouped cross-validation on the gold set
chose this over fine-tuning the top layer (see models/classifier/README.md): held-out laws are
predicted as well at a small fraction of the cost.

The heads are those of :class:`pipeline.nn.heads.OrdinalHeads` (one score per dimension from the pooled
vector and the window's lexicon features, three CORAL cut biases), an article's score is the maximum
over its windows, and the loss is :func:`pipeline.nn.heads.ordinal_loss`, so a fitted head drops into a
:class:`~pipeline.nn.heads.TwoHeadModel` over the same encoder and scores exactly as it was trained.

:func:`average_heads` averages the weights of several heads. Because a head is linear up to the max
over windows, the averaged head is the ensemble that averages the members' window scores before the
max (the members share the frozen encoder, so the ensemble costs one head at scoring time).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pipeline.nn.heads import OrdinalHeads, bag_max, ordinal_loss
from pipeline.schema import DIMENSIONS


@dataclass(frozen=True)
class HeadsFit:
    """How the heads are fitted (from section ``train`` of params.yaml)."""

    epochs: int = 20
    batch_size: int = 16
    lr: float = 2e-3
    lexicon_lr: float = 2e-2
    weight_decay: float = 0.0
    dropout: float = 0.1
    warmup_ratio: float = 0.1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(
                f"heads fit: expected epochs >= 1 and batch_size >= 1, found {self.epochs}, {self.batch_size}"
            )
        for name in ("lr", "lexicon_lr"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"heads fit: {name} expected in (0, 1), found {getattr(self, name)}")
        for name in ("dropout", "warmup_ratio"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"heads fit: {name} expected in [0, 1), found {getattr(self, name)}")


@dataclass
class WindowVectors:
    """Frozen window vectors of a set of articles: [W, H] vectors, [W, F] lexicon features, bags."""

    vectors: np.ndarray  # [W, H] float32, mean-pooled final-layer states
    lex: np.ndarray | None  # [W, F] float32 lexicon features of each window, or None
    bag: np.ndarray  # [W] int: the article each window belongs to

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or len(self.bag) != len(self.vectors):
            raise ValueError(
                f"window vectors: expected [W, H] vectors and W bag indices, found {self.vectors.shape} "
                f"and {len(self.bag)}"
            )
        if self.lex is not None and len(self.lex) != len(self.vectors):
            raise ValueError(f"window vectors: {len(self.vectors)} windows but {len(self.lex)} lexicon rows")
        order = np.argsort(self.bag, kind="stable")
        self._order = order
        self._starts = np.searchsorted(self.bag[order], np.arange(self.n_articles + 1))

    @property
    def n_articles(self) -> int:
        return int(self.bag.max()) + 1 if len(self.bag) else 0

    def windows_of(self, articles: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Article indices → (their window indices, each window's position in ``articles``)."""
        wins, pos = [], []
        for k, a in enumerate(articles):
            w = self._order[self._starts[a] : self._starts[a + 1]]
            wins.append(w)
            pos.append(np.full(len(w), k))
        if not wins:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(wins), np.concatenate(pos)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """The heads' products are tiny: threads only add synchronisation (17x slower with 2 threads on a
    busy 2-core machine, measured), so they run on one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _batch(
    heads: OrdinalHeads, data: WindowVectors, articles: Sequence[int]
) -> torch.Tensor:  # [B, D, 3] cumulative logits
    wins, pos = data.windows_of(articles)
    x = torch.from_numpy(data.vectors[wins])
    lex = torch.from_numpy(data.lex[wins]) if data.lex is not None else None
    scores = bag_max(heads.window_scores(x, lex), torch.from_numpy(pos), len(articles))
    return heads.cumulative(scores)


def fit_heads(
    data: WindowVectors,
    levels: np.ndarray,
    idx: Sequence[int],
    fit: HeadsFit,
    seed: int,
    weights: np.ndarray | None = None,
) -> OrdinalHeads:
    """Fit fresh ordinal heads on articles ``idx`` (gold levels [N, D], optional per-article weights)."""
    idx = np.asarray(idx, dtype=np.int64)
    if len(idx) == 0:
        raise ValueError("fit_heads: no training articles")
    empty = [int(a) for a in idx if data._starts[a + 1] == data._starts[a]]
    if empty:
        raise ValueError(f"fit_heads: articles {empty[:5]} have no windows")
    torch.manual_seed(seed)
    n_lex = data.lex.shape[1] if data.lex is not None else 0
    heads = OrdinalHeads(data.vectors.shape[1], len(DIMENSIONS), dropout=fit.dropout, n_lex=n_lex)
    lex_params = list(heads.lex.parameters()) if heads.lex is not None else []
    lex_ids = {id(p) for p in lex_params}
    groups = [
        {
            "params": [p for p in heads.parameters() if id(p) not in lex_ids],
            "lr": fit.lr,
            "weight_decay": fit.weight_decay,
        }
    ]
    if lex_params:
        groups.append({"params": lex_params, "lr": fit.lexicon_lr, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups)
    per_epoch = math.ceil(len(idx) / fit.batch_size)
    steps = fit.epochs * per_epoch
    warm = int(fit.warmup_ratio * steps)

    def schedule(step: int) -> float:  # linear warm-up, then linear decay
        if step < warm:
            return (step + 1) / max(warm, 1)
        return max(0.0, (steps - step) / max(steps - warm, 1))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    lv = torch.from_numpy(np.asarray(levels, dtype=np.int64))
    wt = torch.from_numpy(
        np.ones(len(levels), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    )
    rng = np.random.default_rng(seed)
    heads.train()
    with one_thread():
        for _ in range(fit.epochs):
            order = idx[rng.permutation(len(idx))]
            for b in range(0, len(order), fit.batch_size):
                arts = order[b : b + fit.batch_size]
                loss = ordinal_loss(_batch(heads, data, arts), lv[arts], wt[arts])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(heads.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
    return heads.eval()


@torch.inference_mode()
def predict_heads(heads: OrdinalHeads, data: WindowVectors, idx: Sequence[int]) -> np.ndarray:
    """Articles ``idx`` → uncalibrated cumulative logits [n, D, 3] (max over each article's windows)."""
    was = heads.training
    heads.eval()
    with one_thread():
        out = (
            _batch(heads, data, list(idx)).float().numpy() if len(idx) else np.zeros((0, len(DIMENSIONS), 3))
        )
    heads.train(was)
    return out.astype(np.float32)


def average_heads(members: Sequence[OrdinalHeads]) -> OrdinalHeads:
    """The heads whose every weight is the mean of the members' (the window-level ensemble)."""
    if not members:
        raise ValueError("average_heads: no members")
    first = members[0]
    out = OrdinalHeads(first.score.in_features, first.score.out_features, dropout=0.0, n_lex=first.n_lex)
    states = [m.state_dict() for m in members]
    keys = set(states[0])
    for k, s in enumerate(states[1:], 2):
        if set(s) != keys or any(s[n].shape != states[0][n].shape for n in keys):
            raise ValueError(f"average_heads: member {k} has other weights than member 1")
    out.load_state_dict({n: torch.stack([s[n].float() for s in states]).mean(0) for n in keys})
    return out.eval()

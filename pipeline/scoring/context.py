"""In-context scoring: an article and all its clauses and points in one encoder pass, with exact token
contributions.

The classifier's heads are linear over a mean-pooled window (pipeline.nn.heads): a window's score is
``b + mean_t(W·h_t) + lexicon term``. That sum decomposes exactly into one contribution ``W·h_t`` per
token, which gives two things at the cost of encoding the article once:

* every clause and point is scored *in the context of its article*: its score is ``b + mean`` of the
  contributions of its own tokens (plus the lexicon term of its own text). A point such as
  "a) Làm, tàng trữ, phát tán … thông tin … có nội dung xuyên tạc" reads differently under the chapeau
  "nhằm chống Nhà nước" of Penal Code Art. 117(1) than alone, and its token states carry that context;
* model evidence without occlusion: the words whose tokens contribute most to a unit's score are the
  words that carry it (an exact decomposition of the linear head, not a gradient approximation).

The article's own score is exactly the classifier's (max over its windows), so articles, which the
gold labels and the evaluation concern, are scored as in training. Encoding each clause and point again
on its own would cost about twice as much for units that have no gold label to be checked against.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pipeline.nn.classifier import Classifier
from pipeline.nn.windows import make_windows, pad_batch
from pipeline.schema import DIMENSIONS


def window_batches(lengths: Sequence[int], batch_size: int, max_windows: int = 0) -> list[list[int]]:
    """The batches windows are encoded in: sorted by token length, so a batch pads to little more than
    its own windows, and filled up to ``batch_size`` full-length windows' worth of padded tokens (so
    that short windows go in larger batches, which the CPU's matrix products run more efficiently),
    at most ``max_windows`` windows (0: 8 × batch_size).

    The one place the scoring core decides batching; batch composition changes padding and so the
    last bits of the floats.
    """
    if not lengths:
        return []
    budget = batch_size * max(lengths)
    cap = max_windows or 8 * batch_size
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = [[]]
    for i in order:
        b = batches[-1]
        if b and (len(b) >= cap or (len(b) + 1) * lengths[i] > budget):
            batches.append([i])
        else:
            b.append(i)
    return batches


@dataclass(frozen=True)
class Item:
    """An article's text and language, and the character spans of its units inside that text."""

    text: str
    lang: str
    units: tuple[tuple[int, int], ...] = ()


@dataclass
class ItemResult:
    """Cumulative logits [D, 3] of the article and of each unit, and their token contributions."""

    article_logits: np.ndarray
    unit_logits: list[np.ndarray | None]  # None: the unit holds no token (empty text)
    tokens: np.ndarray  # [T, 2] character spans of the article's tokens (deduplicated over windows)
    contrib: np.ndarray  # [T, D] mean contribution W·h_t of each token


class ContextScorer:
    """Articles with their unit spans → article and unit logits plus per-token contributions."""

    def __init__(self, clf: Classifier, batch_size: int = 32):
        self.clf = clf
        self.batch_size = batch_size
        heads = clf.model.heads
        self.weight = heads.score.weight.detach().float().cpu()  # [D, H]
        self.bias = heads.score.bias.detach().float().cpu()  # [D]
        prefix = clf.spec.prefix or ""
        self.prefix_len = len(prefix)

    def _lex(self, texts: Sequence[str], lang: str) -> np.ndarray:
        """Lexicon term of the heads for each text: [N, D] (zeros when the heads read no lexicon)."""
        heads = self.clf.model.heads
        lexf = self.clf.lexicon_features
        if heads.lex is None or lexf is None:
            return np.zeros((len(texts), len(DIMENSIONS)), dtype=np.float32)
        feats = np.stack([lexf.features(t, lang) for t in texts]) if texts else np.zeros((0, lexf.size))
        w = heads.lex.weight.detach().float().cpu().numpy()  # [D, F]
        return (feats.astype(np.float32) @ w.T).astype(np.float32)

    def _cumulative(self, scores: np.ndarray) -> np.ndarray:
        """[N, D] scores → [N, D, 3] cumulative logits."""
        bias = self.clf.model.heads.bias.detach().float().cpu().numpy()  # [D, 3]
        return scores[:, :, None] + bias[None, :, :]

    @torch.inference_mode()
    def run(self, items: Sequence[Item], progress: bool = False) -> list[ItemResult]:
        from tqdm.auto import tqdm

        clf, tok, spec = self.clf, self.clf.tokenizer, self.clf.spec
        texts = [unicodedata.normalize("NFC", it.text or "") for it in items]
        windows = make_windows(texts, tok, spec)
        # Token spans of every window, in the coordinates of its item's text.
        spans: list[np.ndarray] = []
        for w in windows:
            off = np.asarray(w.offsets, dtype=np.int64).reshape(-1, 2)
            if len(off) != len(w.input_ids):
                raise RuntimeError("a window's offsets do not match its token ids")
            real = (off[:, 1] > off[:, 0]) & (off[:, 0] >= self.prefix_len)
            sp = np.where(real[:, None], off - self.prefix_len + w.start, -1)
            spans.append(sp)
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        win_scores = np.zeros((len(windows), len(DIMENSIONS)), dtype=np.float32)
        win_contrib: list[np.ndarray | None] = [None] * len(windows)
        batches = window_batches([len(w.input_ids) for w in windows], self.batch_size)
        for b in tqdm(batches, desc="score", unit="batch", disable=not progress):
            ids, mask = pad_batch([windows[i].input_ids for i in b], pad)
            hidden = clf.encode(ids.to(clf.device), mask.to(clf.device))
            contrib = (hidden.float().cpu() @ self.weight.T).numpy()  # [B, T, D]
            m = mask.numpy().astype(np.float32)
            pooled = (contrib * m[:, :, None]).sum(1) / np.clip(m.sum(1, keepdims=True), 1.0, None)
            for k, i in enumerate(b):
                n = len(windows[i].input_ids)
                win_scores[i] = pooled[k] + self.bias.numpy()
                win_contrib[i] = contrib[k, :n]
        # The lexicon term of each window (on the window's characters), as the classifier adds it.
        lexw = np.zeros_like(win_scores)
        if clf.model.heads.lex is not None and clf.lexicon_features is not None:
            feats = clf.lexicon_features.window_features(texts, [it.lang for it in items], windows)
            w = clf.model.heads.lex.weight.detach().float().cpu().numpy()
            lexw = feats.astype(np.float32) @ w.T
        win_scores = win_scores + lexw

        by_item: dict[int, list[int]] = {}
        for i, w in enumerate(windows):
            by_item.setdefault(w.text_index, []).append(i)
        results = []
        for ti, it in enumerate(items):
            idx = by_item.get(ti, [])
            art = win_scores[idx].max(axis=0) if idx else self.bias.numpy().copy()
            # Tokens of all windows, a token seen in two overlapping windows averaged.
            acc: dict[tuple[int, int], list[np.ndarray]] = {}
            for i in idx:
                sp, c = spans[i], win_contrib[i]
                assert c is not None
                for t in range(len(c)):
                    if sp[t, 0] >= 0:
                        acc.setdefault((int(sp[t, 0]), int(sp[t, 1])), []).append(c[t])
            keys = sorted(acc)
            tokens = np.asarray(keys, dtype=np.int64).reshape(-1, 2)
            contrib = (
                np.stack([np.mean(acc[k], axis=0) for k in keys])
                if keys
                else np.zeros((0, len(DIMENSIONS)), dtype=np.float32)
            )
            unit_texts = [texts[ti][s:e] for s, e in it.units]
            lexu = self._lex(unit_texts, it.lang)
            unit_logits: list[np.ndarray | None] = []
            for u, (s, e) in enumerate(it.units):
                inside = (tokens[:, 0] >= s) & (tokens[:, 1] <= e) if len(tokens) else np.zeros(0, bool)
                if not inside.any():
                    unit_logits.append(None)
                    continue
                score = self.bias.numpy() + contrib[inside].mean(axis=0) + lexu[u]
                unit_logits.append(self._cumulative(score[None, :])[0])
            results.append(ItemResult(self._cumulative(art[None, :])[0], unit_logits, tokens, contrib))
        return results

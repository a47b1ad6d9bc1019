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

Because the heads are linear, what a score needs of the encoder is a few mean states that do not depend
on the heads (:class:`ArticleStates`): each window's mean state (the article score), each unit's mean
token state (its score), and the token states (model evidence only). The cv stage encodes the gold
articles once through :meth:`ContextScorer.encode` and keeps the first two (:class:`StateCache`); the
score stage then encodes again only the articles not among them, and those whose evidence it needs.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pipeline.nn.classifier import Classifier
from pipeline.nn.heads import mean_pool
from pipeline.nn.windows import Window, make_windows, pad_batch
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


def article_sha(text: str, lang: str) -> str:
    """The key of an article's states: its language and (NFC) text, 16 hex digits of sha256."""
    text = unicodedata.normalize("NFC", text or "")
    return hashlib.sha256(f"{lang}\n{text}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Item:
    """An article's text and language, and the character spans of its units inside that text."""

    text: str
    lang: str
    units: tuple[tuple[int, int], ...] = ()


@dataclass
class ArticleStates:
    """What the linear heads need of the encoder for one article."""

    vectors: np.ndarray  # [W, H] mean final-layer state of each window (the classifier's pooling)
    units: list[np.ndarray | None]  # [H] mean state of each unit's tokens; None: no token inside
    tokens: np.ndarray | None = None  # [T, 2] character spans of the tokens (deduplicated over windows)
    states: np.ndarray | None = None  # [T, H] their states, a token in two windows averaged


class StateCache:
    """Articles' window vectors and unit states from an earlier encoding with the same encoder, by
    :func:`article_sha` (the cv stage writes them for the gold articles)."""

    def __init__(
        self, articles: Mapping[str, tuple[np.ndarray, Mapping[tuple[int, int], np.ndarray | None]]]
    ):
        self.articles = dict(articles)
        self.hits = 0  # articles scored from their states
        self.encoded_again = 0  # of those, encoded again for their model evidence

    def get(self, item: Item) -> ArticleStates | None:
        """The item's states when its text and every one of its units were encoded before."""
        found = self.articles.get(article_sha(item.text, item.lang))
        if found is None:
            return None
        vectors, units = found
        if any(u not in units for u in item.units):
            return None
        return ArticleStates(vectors, [units[u] for u in item.units])

    def __len__(self) -> int:
        return len(self.articles)


@dataclass
class ItemResult:
    """Cumulative logits [D, 3] of the article and of each unit, and their token contributions."""

    article_logits: np.ndarray
    unit_logits: list[np.ndarray | None]  # None: the unit holds no token (empty text)
    tokens: np.ndarray | None  # [T, 2] character spans of the article's tokens; None: from the cache
    contrib: np.ndarray | None  # [T, D] mean contribution W·h_t of each token; None: from the cache


class ContextScorer:
    """Articles with their unit spans → article and unit logits plus per-token contributions."""

    def __init__(self, clf: Classifier, batch_size: int = 32, cache: StateCache | None = None):
        self.clf = clf
        self.batch_size = batch_size
        self.cache = cache
        heads = clf.model.heads
        self.weight = heads.score.weight.detach().float().cpu().numpy()  # [D, H]
        self.bias = heads.score.bias.detach().float().cpu().numpy()  # [D]
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

    def _spans(self, w: Window) -> np.ndarray:
        """A window's token spans in its item's text; -1 for special and prefix tokens."""
        off = np.asarray(w.offsets, dtype=np.int64).reshape(-1, 2)
        if len(off) != len(w.input_ids):
            raise RuntimeError("a window's offsets do not match its token ids")
        real = (off[:, 1] > off[:, 0]) & (off[:, 0] >= self.prefix_len)
        return np.where(real[:, None], off - self.prefix_len + w.start, -1)

    @torch.inference_mode()
    def encode(
        self, items: Sequence[Item], keep_tokens: bool = True, progress: bool = False
    ) -> list[ArticleStates]:
        """Items → their states, in one encoder pass over all their windows (length-sorted batches)."""
        texts = [unicodedata.normalize("NFC", it.text or "") for it in items]
        windows = make_windows(texts, self.clf.tokenizer, self.clf.spec)
        return self.encode_windows(items, texts, windows, keep_tokens, progress)

    @torch.inference_mode()
    def encode_windows(
        self,
        items: Sequence[Item],
        texts: Sequence[str],
        windows: Sequence[Window],
        keep_tokens: bool,
        progress: bool = False,
        batches: Sequence[Sequence[int]] | None = None,
    ) -> list[ArticleStates]:
        """``windows`` of ``items`` → their states; ``batches`` (window indices) replaces
        :func:`window_batches` (the cv stage keeps the batches its vectors were always made in, so that
        they stay the same to the last bit)."""
        from tqdm.auto import tqdm

        clf, tok = self.clf, self.clf.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        hidden_size = int(clf.model.encoder.config.hidden_size)
        vectors = np.zeros((len(windows), hidden_size), dtype=np.float32)
        states: list[np.ndarray | None] = [None] * len(windows)
        if batches is None:
            batches = window_batches([len(w.input_ids) for w in windows], self.batch_size)
        for b in tqdm(batches, desc="encode", unit="batch", disable=not progress):
            b = list(b)
            ids, mask = pad_batch([windows[i].input_ids for i in b], pad)
            mask = mask.to(clf.device)
            states_t = clf.encode(ids.to(clf.device), mask)  # [B, T, H]
            vectors[b] = mean_pool(states_t, mask).cpu().numpy()  # the classifier's pooling
            hidden = states_t.cpu().numpy()
            for k, i in enumerate(b):
                states[i] = hidden[k, : len(windows[i].input_ids)]
        by_item: dict[int, list[int]] = {}
        for i, w in enumerate(windows):
            by_item.setdefault(w.text_index, []).append(i)
        out = []
        for ti, it in enumerate(items):
            idx = by_item.get(ti, [])
            spans = (
                np.concatenate([self._spans(windows[i]) for i in idx]) if idx else np.zeros((0, 2), np.int64)
            )
            h = (
                np.concatenate([states[i] for i in idx]).astype(np.float32)  # type: ignore[misc]
                if idx
                else np.zeros((0, hidden_size), np.float32)
            )
            real = spans[:, 0] >= 0
            # A token seen in two overlapping windows: its two states averaged.
            tokens, inverse = np.unique(spans[real], axis=0, return_inverse=True)
            tokens = tokens.reshape(-1, 2)
            inverse = np.asarray(inverse).reshape(-1)
            if len(tokens):
                order = np.argsort(inverse, kind="stable")
                counts = np.bincount(inverse, minlength=len(tokens))
                starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
                summed = np.add.reduceat(h[real][order], starts, axis=0)
                token_states = (summed / counts[:, None]).astype(np.float32)
            else:
                token_states = np.zeros((0, hidden_size), np.float32)
            units: list[np.ndarray | None] = []
            for s, e in it.units:
                inside = (tokens[:, 0] >= s) & (tokens[:, 1] <= e) if len(tokens) else np.zeros(0, bool)
                units.append(token_states[inside].mean(axis=0) if inside.any() else None)
            out.append(
                ArticleStates(
                    vectors[idx] if idx else np.zeros((0, hidden_size), np.float32),
                    units,
                    tokens if keep_tokens else None,
                    token_states if keep_tokens else None,
                )
            )
        return out

    def _window_lex(
        self, items: Sequence[Item], texts: Sequence[str], windows: Sequence[Window]
    ) -> np.ndarray:
        """The lexicon term of each window (on the window's characters), as the classifier adds it."""
        clf = self.clf
        if clf.model.heads.lex is None or clf.lexicon_features is None:
            return np.zeros((len(windows), len(DIMENSIONS)), dtype=np.float32)
        feats = clf.lexicon_features.window_features(texts, [it.lang for it in items], windows)
        w = clf.model.heads.lex.weight.detach().float().cpu().numpy()
        return (feats.astype(np.float32) @ w.T).astype(np.float32)

    def result(self, item: Item, text: str, st: ArticleStates, window_lex: np.ndarray) -> ItemResult:
        """An item's logits (and token contributions, when its token states are there) from its states."""
        if len(st.vectors) != len(window_lex):
            raise RuntimeError(
                f"an article's states hold {len(st.vectors)} windows, its text gives {len(window_lex)}"
            )
        if len(st.vectors):
            art = (st.vectors @ self.weight.T + self.bias + window_lex).max(axis=0)
        else:
            art = self.bias.copy()
        lexu = self._lex([text[s:e] for s, e in item.units], item.lang)
        unit_logits: list[np.ndarray | None] = []
        for u, v in enumerate(st.units):
            if v is None:
                unit_logits.append(None)
                continue
            score = self.bias + self.weight @ v + lexu[u]
            unit_logits.append(self._cumulative(score[None, :])[0])
        contrib = st.states @ self.weight.T if st.states is not None else None
        return ItemResult(self._cumulative(art[None, :])[0], unit_logits, st.tokens, contrib)

    @torch.inference_mode()
    def run(self, items: Sequence[Item], progress: bool = False, use_cache: bool = True) -> list[ItemResult]:
        """Items → results. An item whose states are in the cache is not encoded (its result then has no
        token contributions); ``use_cache=False`` encodes every item."""
        texts = [unicodedata.normalize("NFC", it.text or "") for it in items]
        windows = make_windows(texts, self.clf.tokenizer, self.clf.spec)
        lexw = self._window_lex(items, texts, windows)
        cache = self.cache
        found = [cache.get(it) if (cache is not None and use_cache) else None for it in items]
        if cache is not None and use_cache:
            cache.hits += sum(f is not None for f in found)
        elif cache is not None:
            cache.encoded_again += sum(cache.get(it) is not None for it in items)
        todo = [i for i, f in enumerate(found) if f is None]
        if todo:
            pos = {i: k for k, i in enumerate(todo)}
            sub = [
                Window(pos[w.text_index], w.start, w.end, w.input_ids, w.offsets)
                for w in windows
                if w.text_index in pos
            ]
            fresh = self.encode_windows(
                [items[i] for i in todo], [texts[i] for i in todo], sub, True, progress
            )
            for i, st in zip(todo, fresh, strict=True):
                found[i] = st
        by_item: dict[int, list[int]] = {}
        for i, w in enumerate(windows):
            by_item.setdefault(w.text_index, []).append(i)
        out = []
        for ti, it in enumerate(items):
            st = found[ti]
            assert st is not None
            out.append(self.result(it, texts[ti], st, lexw[by_item.get(ti, [])]))
        return out

"""Model evidence: which words of a provision carry its score, one method per ``attribution`` option.

- ``tokens`` (:func:`word_spans`): the words whose tokens contribute most to the unit's score in the
  linear heads (pipeline.scoring.context), standardised within the unit and averaged over 3-word
  phrases. Exact for the model, and free: the article was encoded once anyway.
- ``occlusion`` (:func:`occlusion_evidence`): the word windows whose removal lowers the probability
  most; works for any scorer (the lexicon scorer included) at one scoring pass per window.
- ``none``: lexicon evidence only.

A model span takes the codebook category of a lexicon marker of its dimension that it overlaps
(:func:`model_category`); otherwise its category is ``model_attribution``, not a codebook category.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from pipeline.schema import DIMENSIONS, Evidence

ATTRIBUTIONS = ("tokens", "occlusion", "none")
# Category of a model span that overlaps no lexicon marker of its dimension.
MODEL_CATEGORY = "model_attribution"
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


class TextScorer(Protocol):
    def score_texts(self, texts: Sequence[str], langs: Sequence[str]) -> list[dict[str, Any]]: ...


def word_spans(
    text: str,
    tokens: np.ndarray,
    contrib: np.ndarray,
    start: int,
    end: int,
    top_k: int,
    min_z: float = 1.0,
    width: int = 3,
) -> dict[str, list[tuple[int, int, float]]]:
    """The phrases of ``text[start:end]`` that carry each dimension's score.

    A word's weight is the mean contribution of its tokens, standardised over the unit; weights are
    averaged over ``width`` consecutive words, because the notions that carry a legal risk are phrases
    ("xuyên tạc lịch sử", "false statement of fact") and Vietnamese words are several syllables. Phrases
    whose average stands ``min_z`` standard deviations above the unit's mean are kept, overlapping ones
    merged, and the ``top_k`` strongest per dimension returned as (start, end, weight) in ``text``.
    """

    inside = (tokens[:, 0] >= start) & (tokens[:, 1] <= end) if len(tokens) else np.zeros(0, bool)
    if inside.sum() < 2:
        return {d: [] for d in DIMENSIONS}
    tk, cb = tokens[inside], contrib[inside]
    words = [(m.start() + start, m.end() + start) for m in _WORD.finditer(text[start:end])]
    if not words:
        return {d: [] for d in DIMENSIONS}
    # token → word, so a word's weight is the mean of its tokens' contributions
    wid = np.full(len(tk), -1)
    for k, (a, b) in enumerate(words):
        wid[(tk[:, 0] < b) & (tk[:, 1] > a)] = k
    width = max(1, min(width, len(words)))
    out: dict[str, list[tuple[int, int, float]]] = {}
    for j, d in enumerate(DIMENSIONS):
        mu, sd = float(cb[:, j].mean()), float(cb[:, j].std()) or 1.0
        z = (cb[:, j] - mu) / sd
        wz = np.array([z[wid == k].mean() if (wid == k).any() else 0.0 for k in range(len(words))])
        phrase = np.convolve(wz, np.ones(width) / width, mode="valid")  # phrase k = words k..k+width-1
        order = np.argsort(-phrase, kind="stable")
        merged: list[list[Any]] = []
        for k in order:
            if phrase[k] < min_z or len(merged) >= top_k:
                break
            a, b = words[k][0], words[k + width - 1][1]
            for m in merged:  # overlapping phrases join the stronger one already kept
                if a <= m[1] and m[0] <= b:
                    m[0], m[1] = min(m[0], a), max(m[1], b)
                    break
            else:
                merged.append([a, b, float(phrase[k])])
        out[d] = sorted((int(a), int(b), float(w)) for a, b, w in merged)
    return out


def occlusion_evidence(
    scorer: TextScorer,
    text: str,
    lang: str,
    base: dict[str, Any],
    dims: Sequence[str],
    window: int,
    top_k: int,
    min_drop: float,
    max_words: int,
    lexicon_spans: Sequence[Evidence] = (),
) -> list[Evidence]:
    """Word windows whose removal lowers a dimension's probability most → merged model spans.

    ``window`` words are removed at a time (the first ``max_words`` words only); the ``top_k``
    windows per dimension of ``dims`` that lower it by at least ``min_drop`` are kept and merged.
    """
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)][:max_words]
    if not words or not dims:
        return []
    windows = [(words[i][0], words[min(i + window, len(words)) - 1][1]) for i in range(0, len(words), window)]
    variants = [text[:s] + " " + text[e:] for s, e in windows]
    res = scorer.score_texts(variants, [lang] * len(variants))
    spans: list[Evidence] = []
    for d in dims:
        drops = sorted(
            ((float(base[d]) - float(r[d]), k) for k, r in enumerate(res)), key=lambda x: (-x[0], x[1])
        )
        picked = sorted(windows[k] for drop, k in drops[:top_k] if drop >= min_drop)
        for s, e in merge_intervals(picked):
            spans.append(Evidence(s, e, text[s:e], d, model_category(s, e, d, lexicon_spans), "model"))
    return spans


def merge_intervals(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted (start, end) intervals with overlapping or adjacent-by-whitespace ones merged."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def model_category(start: int, end: int, dimension: str, lexicon_spans: Sequence[Evidence]) -> str:
    """The category of the first lexicon span of ``dimension`` the span overlaps, else MODEL_CATEGORY."""
    for ev in lexicon_spans:
        if ev.dimension == dimension and ev.start < end and start < ev.end:
            return ev.category
    return MODEL_CATEGORY


def evidence_dict(e: Evidence | dict[str, Any]) -> dict[str, Any]:
    return dict(e) if isinstance(e, dict) else dict(e.__dict__)


def dedupe(evs: Sequence[Evidence | dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence without repeats (same span, dimension, category and source), sorted by position."""
    seen, out = set(), []
    for e in evs:
        d = evidence_dict(e)
        key = (d["start"], d["end"], d["dimension"], d["category"], d["source"])
        if key not in seen:
            seen.add(key)
            out.append(d)
    return sorted(out, key=lambda d: (d["start"], d["end"], d["dimension"]))

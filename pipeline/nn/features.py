"""The codebook lexicon as model input: a window's text → a small vector of lexicon features that the
heads read beside the encoder's pooled vector (pipeline.nn.heads)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.nn.windows import Window
from pipeline.schema import ALL_CATEGORIES, DIMENSIONS, LANGS

LEX_COUNT_CAP = 4  # marker-count features saturate at this many distinct markers


class LexiconFeatures:
    """A window's text → a small vector of codebook-lexicon features, concatenated to its pooled vector.

    Per codebook category: the noisy-or of the weights of the distinct markers found; per dimension:
    the lexicon score (noisy-or over all its markers) and the number of distinct markers found
    (capped at ``LEX_COUNT_CAP``, scaled to [0, 1]). Without a language (callers that pass no
    ``langs``) the element-wise maximum over both languages' features is used.
    """

    def __init__(self, lexicon: Any, path: str | Path):
        self.lexicon = lexicon
        self.path = Path(path)
        self.names = (
            [f"cat:{c}" for c in ALL_CATEGORIES]
            + [f"score:{d}" for d in DIMENSIONS]
            + [f"count:{d}" for d in DIMENSIONS]
        )
        self._cat = {c: i for i, c in enumerate(ALL_CATEGORIES)}

    @classmethod
    def load(cls, path: str | Path) -> LexiconFeatures:
        from pipeline.lexicon import Lexicon

        return cls(Lexicon.load(path), path)

    @property
    def size(self) -> int:
        return len(self.names)

    def features(self, text: str, lang: str | None) -> np.ndarray:
        """One text → [size] float32 features."""
        if lang not in LANGS:
            return np.max(np.stack([self.features(text, lg) for lg in LANGS]), axis=0)
        n_cat = len(ALL_CATEGORIES)
        out = np.zeros(self.size, dtype=np.float32)
        seen: set[str] = set()
        for m in self.lexicon.find(text, lang):
            mk = m.marker
            if mk.id in seen:
                continue
            seen.add(mk.id)
            c = self._cat[mk.category]
            out[c] = 1.0 - (1.0 - out[c]) * (1.0 - mk.weight)
            j = DIMENSIONS.index(mk.dimension)
            out[n_cat + j] = 1.0 - (1.0 - out[n_cat + j]) * (1.0 - mk.weight)
            out[n_cat + len(DIMENSIONS) + j] += 1.0
        counts = out[n_cat + len(DIMENSIONS) :]
        out[n_cat + len(DIMENSIONS) :] = np.minimum(counts, LEX_COUNT_CAP) / LEX_COUNT_CAP
        return out

    def window_features(
        self, texts: Sequence[str], langs: Sequence[str | None] | None, windows: Sequence[Window]
    ) -> np.ndarray:
        """Windows of ``texts`` → [W, size] features of each window's character span."""
        norm = [unicodedata.normalize("NFC", t or "") for t in texts]
        out = np.zeros((len(windows), self.size), dtype=np.float32)
        for i, w in enumerate(windows):
            lang = langs[w.text_index] if langs is not None else None
            out[i] = self.features(norm[w.text_index][w.start : w.end], lang)
        return out

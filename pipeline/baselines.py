"""The simple methods a reviewer tries first, on the same splits as the model.

- ``lexicon``: the noisy-or lexicon score of corpora/lexicon/lexicon.yaml, used as P(level >= 2);
- ``tfidf``: character 2–5-gram TF-IDF (word-bounded) + logistic regression on the flag (level >= 2);
- ``frozen``: the frozen base encoder's mean-pooled embeddings + logistic regression on the flag.

Each returns, per dimension, a probability of the flag; thresholds are fitted on dev by the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.lexicon import Lexicon
from pipeline.schema import DIMENSIONS

log = logging.getLogger(__name__)


def lexicon_probs(lexicon: Lexicon, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
    """Texts → [N, D] lexicon scores in [0, 1]."""
    out = np.zeros((len(texts), len(DIMENSIONS)))
    for i, (t, lang) in enumerate(zip(texts, langs, strict=True)):
        s = lexicon.scores(t, lang)
        out[i] = [s[d] for d in DIMENSIONS]
    return out


def _fit_predict(model_factory, x_train, y_train: np.ndarray, xs: Sequence) -> list[np.ndarray]:
    """Fit one binary classifier per dimension; predict P(flag) for each matrix of ``xs``."""
    outs = [np.zeros((x.shape[0], len(DIMENSIONS))) for x in xs]
    for j, d in enumerate(DIMENSIONS):
        y = y_train[:, j]
        if len(np.unique(y)) < 2:  # one class only: predict its prior, say so
            log.warning("baseline: %s has one class in training (%s); predicting the prior", d, y[:1])
            for o in outs:
                o[:, j] = float(y.mean()) if len(y) else 0.0
            continue
        clf = model_factory()
        clf.fit(x_train, y)
        for o, x in zip(outs, xs, strict=True):
            o[:, j] = clf.predict_proba(x)[:, 1]
    return outs


def tfidf_probs(
    train_texts: Sequence[str],
    y_train: np.ndarray,
    texts: Sequence[Sequence[str]],
    seed: int = 0,
    c: float = 4.0,
) -> list[np.ndarray]:
    """Char 2–5-gram TF-IDF + balanced logistic regression; y_train [N, D] booleans."""
    vec = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=200_000
    )
    x_train = vec.fit_transform(list(train_texts))
    xs = [vec.transform(list(t)) for t in texts]

    def factory() -> LogisticRegression:
        return LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)

    return _fit_predict(factory, x_train, y_train, xs)


def embedding_probs(
    x_train: np.ndarray, y_train: np.ndarray, xs: Sequence[np.ndarray], seed: int = 0, c: float = 0.5
) -> list[np.ndarray]:
    """Frozen embeddings + standardised, balanced logistic regression; y_train [N, D] booleans."""

    def factory():
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=seed),
        )

    return _fit_predict(factory, x_train, y_train, xs)

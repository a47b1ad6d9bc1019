"""Document-grouped folds of the gold set (pure functions).

A model that has read one article of a law has learnt that law's drafting, its definitions and often
the annotators' reading of it, so its score on a sibling article says little about an unseen law.
Folds are therefore made of whole documents, and a law and the project's translation of it (a
manifest entry's ``translation_of``) always fall in the same fold: otherwise the model would be
tested on the English text of an article it was trained on in Vietnamese.

Folds are balanced by scikit-learn's ``StratifiedGroupKFold`` on language x speech-risk flag, so
every fold holds both languages and both classes where the gold set allows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold


def document_groups(doc_ids: Sequence[str], translation_of: Mapping[str, str | None]) -> np.ndarray:
    """Each article's group: its document, or the original its document translates."""
    out = []
    for d in doc_ids:
        orig = translation_of.get(d)
        out.append(orig if isinstance(orig, str) and orig else d)
    return np.asarray(out, dtype=object)


def grouped_folds(groups: Sequence[str], strata: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Fold index 0..k-1 of every article: whole groups per fold, strata balanced as far as groups allow."""
    groups = np.asarray(groups, dtype=object)
    n_groups = len(set(groups.tolist()))
    if k < 2:
        raise ValueError(f"cv.folds: expected >= 2, found {k}")
    if n_groups < k:
        raise ValueError(
            f"cv.folds: {k} folds need at least {k} documents with gold labels, found {n_groups}"
        )
    folds = np.full(len(groups), -1, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, test) in enumerate(splitter.split(np.zeros(len(groups)), np.asarray(strata), groups)):
        folds[test] = i
    return folds


def check_folds(folds: np.ndarray, groups: Sequence[str]) -> None:
    """Every article in a fold, every group in one fold only (the invariant the metrics rely on)."""
    if (folds < 0).any():
        raise ValueError(f"folds: {int((folds < 0).sum())} articles in no fold")
    seen: dict[str, int] = {}
    for g, f in zip(groups, folds, strict=True):
        if seen.setdefault(g, int(f)) != int(f):
            raise ValueError(f"folds: document group {g!r} is in folds {seen[g]} and {int(f)}")

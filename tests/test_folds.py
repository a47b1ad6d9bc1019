"""pipeline.folds: document groups (a translation joins its original) and grouped folds."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.folds import check_folds, document_groups, grouped_folds


# fmt: off
@pytest.mark.parametrize("doc_ids, translation_of, expected", [
    (["vn-a", "vn-a-en", "sg-b"], {"vn-a-en": "vn-a"}, ["vn-a", "vn-a", "sg-b"]),
    (["vn-a-en"], {"vn-a-en": None}, ["vn-a-en"]),
    (["bulk.x"], {}, ["bulk.x"]),  # a bulk document not in documents.parquet: its own group
])
# fmt: on
def test_document_groups(doc_ids, translation_of, expected):
    assert document_groups(doc_ids, translation_of).tolist() == expected


def test_a_law_and_its_translation_share_a_fold_and_every_fold_is_used():
    docs = [f"d{i}" for i in range(12) for _ in range(5)] + ["d0-en"] * 5
    groups = document_groups(docs, {"d0-en": "d0"})
    strata = np.array(["en:True" if i % 3 == 0 else "vi:False" for i in range(len(docs))])
    folds = grouped_folds(groups, strata, k=5, seed=13)
    check_folds(folds, groups)
    assert set(folds.tolist()) == set(range(5))
    docs = np.asarray(docs)
    assert len(set(folds[docs == "d0"].tolist() + folds[docs == "d0-en"].tolist())) == 1
    assert (grouped_folds(groups, strata, k=5, seed=13) == folds).all()  # same seed, same folds


def test_too_few_documents_for_the_folds_is_an_error():
    with pytest.raises(ValueError, match="5 folds need at least 5 documents"):
        grouped_folds(np.array(["a", "a", "b"]), np.array(["x", "x", "x"]), k=5, seed=0)


def test_check_folds_rejects_a_group_split_across_folds():
    with pytest.raises(ValueError, match="is in folds 0 and 1"):
        check_folds(np.array([0, 1]), ["a", "a"])

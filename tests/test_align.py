"""align: units of a translation pair with the units of its original that have the same local id."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.align import AlignParams, align


def _p(pid: str, level: str) -> dict:
    return {
        "provision_id": pid,
        "doc_id": pid.split("/")[0],
        "article": pid.split("/")[1][4:],
        "level": level,
    }


# fmt: off
PROVISIONS = pd.DataFrame([
    _p("vi-law/art-1", "article"), _p("vi-law/art-1/cl-1", "clause"), _p("vi-law/art-1/cl-1/pt-đ", "point"),
    _p("vi-law/art-2", "article"),
    _p("en-law/art-1", "article"), _p("en-law/art-1/cl-1", "clause"), _p("en-law/art-1/cl-1/pt-đ", "point"),
    _p("en-law/art-3", "article"),      # only in the translation: not aligned
])
CASES = [
    # levels,                         expected (vi, en) pairs
    (("article",),                    [("vi-law/art-1", "en-law/art-1")]),
    (("article", "clause", "point"),  [("vi-law/art-1", "en-law/art-1"),
                                       ("vi-law/art-1/cl-1", "en-law/art-1/cl-1"),
                                       ("vi-law/art-1/cl-1/pt-đ", "en-law/art-1/cl-1/pt-đ")]),
]
# fmt: on


@pytest.mark.parametrize(("levels", "expected"), CASES)
def test_align_pairs_same_local_ids(levels: tuple[str, ...], expected: list[tuple[str, str]]) -> None:
    pairs = align(PROVISIONS, {"en-law": "vi-law"}, AlignParams(levels=levels))
    assert list(zip(pairs["vi_provision_id"], pairs["en_provision_id"], strict=True)) == expected


def test_bad_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="align.levels"):
        AlignParams(levels=("section",))


def test_bundled_translations_align_article_by_article(bundled: dict[str, Path]) -> None:
    pairs = pq.read_table(bundled["alignments"]).to_pandas()
    arts = pairs[pairs["level"] == "article"]
    by_doc = arts.groupby("en_doc_id").size().to_dict()
    # The whole Law on Cybersecurity (43 articles) and 26 Penal Code articles are translated.
    assert by_doc == {"vn-cybersecurity-law-2018-en": 43, "vn-penal-code-2015-en": 26}
    # Every clause and point of a translated article has its counterpart in the original.
    prov = pq.read_table(bundled["provisions"]).to_pandas()
    en_units = prov[prov["doc_id"].isin(by_doc)]
    assert len(pairs) == len(en_units)

"""Reference forms per drafting style, resolved against a small corpus; laws outside it stay unresolved."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.references import Catalog, Index, law_names, references_in_article
from pipeline.schema import provision_id

# The small corpus: doc → {article: {clause: [points]}}; "" as a clause holds points directly under
# the article (Singapore s 300's limbs).
CORPUS: dict[str, dict[str, dict[str, list[str]]]] = {
    "vn-a": {
        "5": {"1": ["a", "b", "c"], "2": []},
        "16": {"1": [], "2": []},
        "17": {"1": []},
        "20": {"1": [], "2": []},
        "108": {},
        "109": {},
        "110": {},
    },
    "vn-ais": {"29": {"1": []}},
    "vn-pc": {"108": {}, "109": {}, "110": {}, "117": {"1": [], "2": []}, "331": {"1": [], "2": []}},
    "vn-pc-old": {"108": {}, "117": {"1": []}},
    "vn-pc-en": {"117": {"1": []}},
    "vn-a-en": {"20": {"1": []}},
    "sg-a": {
        "8": {"1": ["a", "b"]},
        "8A": {},
        "10": {"1": ["a"], "2": []},
        "300": {"": ["a", "b", "c", "d"]},
    },
    "sg-pc": {"375": {}, "376": {}, "376A": {}, "377": {}, "377A": {}, "377B": {}, "377C": {}},
    "t-a": {str(n): {"1": [], "2": []} for n in range(1, 13)},
    "t-b": {"1": {}, "8": {"1": [], "2": []}},
    "us-a": {"2385": {}, "2386": {}},
    "us-b": {"1030": {"a": ["1", "2"], "c": []}},
}
STYLES = {
    "vn-a": "vn",
    "vn-ais": "vn",
    "vn-pc": "vn",
    "vn-pc-old": "vn",
    "vn-pc-en": "vn-en",
    "vn-a-en": "vn-en",
    "sg-a": "sg",
    "sg-pc": "sg",
    "t-a": "treaty",
    "t-b": "treaty",
    "us-a": "us",
    "us-b": "us",
}
MANIFEST: list[dict[str, Any]] = [
    {"id": "vn-a", "title": "Luật An ninh mạng, số 24/2018/QH14", "lang": "vi", "jurisdiction": "Viet Nam"},
    {
        "id": "vn-ais",
        "title": "Luật An toàn thông tin mạng số 86/2015/QH13",
        "lang": "vi",
        "jurisdiction": "Viet Nam",
        "cited_as": ["Law on Network Information Security"],
    },
    {
        "id": "vn-pc",
        "title": "Bộ luật Hình sự số 100/2015/QH13, sửa đổi, bổ sung theo Luật số 12/2017/QH14",
        "lang": "vi",
        "jurisdiction": "Viet Nam",
        "previous_version": "vn-pc-old",
    },
    {
        "id": "vn-pc-old",
        "title": "Bộ luật Hình sự số 100/2015/QH13",
        "lang": "vi",
        "jurisdiction": "Viet Nam",
    },
    {
        "id": "vn-pc-en",
        "title": "Penal Code No. 100/2015/QH13, unofficial English translation",
        "lang": "en",
        "jurisdiction": "Viet Nam",
        "translation_of": "vn-pc",
    },
    {
        "id": "vn-a-en",
        "title": "Law on Cybersecurity (Law No. 24/2018/QH14)",
        "lang": "en",
        "jurisdiction": "Viet Nam",
        "translation_of": "vn-a",
    },
    {"id": "sg-a", "title": "Computer Misuse Act 1993", "lang": "en", "jurisdiction": "Singapore"},
    {
        "id": "sg-pc",
        "title": "Penal Code 1871 (incl. s 298, 298A, 505)",
        "lang": "en",
        "jurisdiction": "Singapore",
    },
    {
        "id": "t-a",
        "title": "Convention on Cybercrime (ETS No. 185)",
        "lang": "en",
        "jurisdiction": "Council of Europe",
    },
    {
        "id": "t-b",
        "title": "Additional Protocol to the Convention on Cybercrime",
        "lang": "en",
        "jurisdiction": "Council of Europe",
        "local_names": {"Convention": "t-a"},
    },
    {"id": "us-a", "title": "18 U.S.C. Chapter 115 — Treason", "lang": "en", "jurisdiction": "United States"},
    {"id": "us-b", "title": "18 U.S.C. § 1030 — Fraud", "lang": "en", "jurisdiction": "United States"},
]


def _rows() -> list[dict[str, Any]]:
    rows = []
    for doc, arts in CORPUS.items():
        for art, clauses in arts.items():
            aid = provision_id(doc, art)
            rows.append(
                {
                    "provision_id": aid,
                    "doc_id": doc,
                    "level": "article",
                    "article": art,
                    "clause": None,
                    "point": None,
                    "parent_id": None,
                }
            )
            for cl, points in clauses.items():
                cid = provision_id(doc, art, cl or None) if cl else aid
                if cl:
                    rows.append(
                        {
                            "provision_id": cid,
                            "doc_id": doc,
                            "level": "clause",
                            "article": art,
                            "clause": cl,
                            "point": None,
                            "parent_id": aid,
                        }
                    )
                for pt in points:
                    rows.append(
                        {
                            "provision_id": provision_id(doc, art, cl or None, pt),
                            "doc_id": doc,
                            "level": "point",
                            "article": art,
                            "clause": cl or None,
                            "point": pt,
                            "parent_id": cid,
                        }
                    )
    return rows


ROWS = _rows()
INDEX = Index.from_rows(ROWS, STYLES, {"vn-pc-en": "vn-pc", "vn-a-en": "vn-a"})
CATALOG = Catalog.from_manifest(MANIFEST)


def refs(doc: str, article: str, text: str, clause: str | None = None) -> list[Any]:
    art = {
        "provision_id": provision_id(doc, article),
        "doc_id": doc,
        "article": article,
        "text": text,
        "char_start": 0,
    }
    units = []
    if clause is not None:
        units = [
            {
                "provision_id": provision_id(doc, article, clause),
                "clause": clause,
                "point": None,
                "char_start": 0,
                "char_end": len(text),
            }
        ]
    return references_in_article(art, units, STYLES[doc], CATALOG, INDEX)


# (citing doc, citing article, text, expected target ids; None: an unresolved reference)
# fmt: off
CASES = [
    # Vietnamese: same law
    ("vn-a", "20", "theo quy định tại khoản 1 Điều 17 của Luật này", ["vn-a/art-17/cl-1"]),
    ("vn-a", "20", "hành vi quy định tại Điều 16 của Luật này", ["vn-a/art-16"]),
    ("vn-a", "20", "quy định tại điểm a, b khoản 1 Điều 5", ["vn-a/art-5/cl-1/pt-a", "vn-a/art-5/cl-1/pt-b"]),
    ("vn-a", "20", "quy định tại khoản 1 và khoản 2 Điều 16", ["vn-a/art-16/cl-1", "vn-a/art-16/cl-2"]),
    ("vn-a", "20", "quy định tại khoản 2 Điều này", ["vn-a/art-20/cl-2"]),
    ("vn-a", "20", "các điều 108, 109 và 110", ["vn-a/art-108", "vn-a/art-109", "vn-a/art-110"]),
    ("vn-a", "20", "từ Điều 108 đến Điều 110", ["vn-a/art-108", "vn-a/art-109", "vn-a/art-110"]),
    ("vn-a", "20", "Điều 16 và hành vi quy định tại khoản 1 Điều 17", ["vn-a/art-16", "vn-a/art-17/cl-1"]),
    # Clauses listed after their article, and an article listed after a clause of another.
    ("vn-a", "20", "Điều 16, các khoản 1 và 2 (tội …)", ["vn-a/art-16/cl-1", "vn-a/art-16/cl-2"]),
    ("vn-a", "20", "quy định tại khoản 1 Điều 5, Điều 17", ["vn-a/art-5/cl-1", "vn-a/art-17"]),
    ("vn-a", "20", "quy định tại điểm a khoản 1, khoản 2 Điều 5",
     ["vn-a/art-5/cl-1/pt-a", "vn-a/art-5/cl-2"]),
    ("vn-a", "20", "quy định tại điểm a khoản 1, điểm c khoản 1 Điều 5",
     ["vn-a/art-5/cl-1/pt-a", "vn-a/art-5/cl-1/pt-c"]),
    # Vietnamese: other laws of the corpus, by name or number
    ("vn-a", "20", "theo quy định tại Điều 29 của Luật An toàn thông tin mạng", ["vn-ais/art-29"]),
    ("vn-a", "20", "các điều 108, 109 và 110 của Bộ luật Hình sự",
     ["vn-pc/art-108", "vn-pc/art-109", "vn-pc/art-110"]),
    ("vn-a", "20", "khoản 1 Điều 117 và khoản 2 Điều 331 của Bộ luật Hình sự",
     ["vn-pc/art-117/cl-1", "vn-pc/art-331/cl-2"]),
    ("vn-a", "20", "Điều 117 của Bộ luật Hình sự số 100/2015/QH13", ["vn-pc/art-117"]),
    ("vn-a", "20", "bị truy cứu trách nhiệm hình sự theo quy định của Bộ luật Hình sự", [("law", "vn-pc")]),
    # Traps: a law outside the corpus is never the citing law, even with a number the citing law has.
    ("vn-a", "20", "quy định tại Điều 5 của Luật Quảng cáo", [None]),
    ("vn-a", "20", "Bộ luật Hình sự số 15/1999/QH10 hết hiệu lực", [None]),
    ("vn-a", "20", "theo quy định của Luật Xử lý vi phạm hành chính và pháp luật khác", [None]),
    # Trap: "điểm yếu" (a weakness) and "khoản số" are words, not citations.
    ("vn-a", "20", "phát hiện điểm yếu, lỗ hổng bảo mật; khoản số", []),
    # English translation of Vietnamese law: the translation cites the translation, and the original
    # where the translation lacks the article.
    ("vn-a-en", "20", "the acts specified in Article 117 of the Penal Code", ["vn-pc-en/art-117"]),
    ("vn-a-en", "20", "the acts specified in Article 331 of the Penal Code", ["vn-pc/art-331"]),
    ("vn-a-en", "20", "Article 29 of the Law on Network Information Security and", ["vn-ais/art-29"]),
    ("vn-a-en", "20", "shall comply with the Law on National Defence and other laws", [None]),
    # Singapore
    ("sg-a", "10", "an offence under section 8A", ["sg-a/art-8A"]),
    ("sg-a", "10", "an offence under section 8(1)(a)", ["sg-a/art-8/cl-1/pt-a"]),
    ("sg-a", "10", "as mentioned in subsection (2)", ["sg-a/art-10/cl-2"]),
    ("sg-a", "10", "under subsection (1)(a)", ["sg-a/art-10/cl-1/pt-a"]),
    ("sg-a", "10", "within section 300(b) or (c)", ["sg-a/art-300/pt-b", "sg-a/art-300/pt-c"]),
    ("sg-a", "10", "an offence under sections 375 to 377B of the Penal Code 1871",
     ["sg-pc/art-375", "sg-pc/art-376", "sg-pc/art-376A", "sg-pc/art-377", "sg-pc/art-377A",
      "sg-pc/art-377B"]),
    ("sg-a", "10", "an offence under section 376 of the Penal Code", ["sg-pc/art-376"]),
    ("sg-a", "10", "(viii) the Protection from Harassment Act 2014; (ix) the Penal Code 1871;",
     [None, ("law", "sg-pc")]),
    ("sg-a", "10", "as defined in section 2(1) of the Vulnerable Adults Act 2018", [None]),
    # Treaties
    ("t-a", "12", "established in accordance with Articles 2 through 11 of this Convention",
     [f"t-a/art-{n}" for n in range(2, 12)]),
    ("t-a", "12", "Article 2, paragraph 1, and Article 4, paragraph 2", ["t-a/art-2/cl-1", "t-a/art-4/cl-2"]),
    ("t-b", "8", "Articles 1, 2 and 12 of the Convention shall "
                 "apply", ["t-a/art-1", "t-a/art-2", "t-a/art-12"]),
    # United States Code: "of this title" reaches the other Title 18 file of the corpus.
    ("us-a", "2385", "an offense under section 1030(a)(2) of this title", ["us-b/art-1030/cl-a/pt-2"]),
    ("us-a", "2385", "in violation of section 2386 of this title", ["us-a/art-2386"]),
]
# fmt: on


@pytest.mark.parametrize(("doc", "article", "text", "expected"), CASES)
def test_reference_forms(doc: str, article: str, text: str, expected: list[Any]) -> None:
    got = []
    for r in refs(doc, article, text):
        if r.target_level == "law" and r.resolved:
            got.append(("law", r.target_doc_id))
        else:
            got.append(r.target_id if r.resolved else None)
    assert got == expected


def test_unresolved_keeps_the_law_as_cited_and_no_target() -> None:
    (r,) = refs("vn-a", "20", "quy định tại Điều 5 của Luật Quảng cáo")
    assert (r.resolved, r.target_id, r.target_doc_id, r.law_text) == (False, None, None, "Luật Quảng cáo")


def test_offsets_are_in_the_source_text() -> None:
    text = "1. Theo quy định tại khoản 1 Điều 17 của Luật này."
    (r,) = refs("vn-a", "20", text, clause="1")
    assert r.source_id == "vn-a/art-20/cl-1"
    assert text[r.start : r.end] == r.text == "khoản 1 Điều 17 của Luật này"


def test_bare_clause_is_the_citing_article_s() -> None:
    (r,) = refs("vn-a", "16", "trường hợp quy định tại khoản 2")
    assert r.target_id == "vn-a/art-16/cl-2"


def test_missing_clause_resolves_to_the_article_not_exact() -> None:
    (r,) = refs("vn-a", "20", "quy định tại khoản 9 Điều 17")
    assert (r.target_id, r.resolved, r.exact) == ("vn-a/art-17", True, False)


def test_missing_article_is_unresolved() -> None:
    (r,) = refs("vn-a", "20", "quy định tại Điều 999")
    assert (r.target_id, r.target_doc_id, r.resolved) == (None, "vn-a", False)


# fmt: off
NAME_CASES = [
    ("Luật An ninh mạng, số 24/2018/QH14", ("Luật An ninh mạng",), ("24/2018/QH14",)),
    ("Bộ luật Hình sự số 100/2015/QH13, sửa đổi, bổ sung theo Luật số 12/2017/QH14", ("Bộ luật Hình sự",),
     ("100/2015/QH13",)),
    ("Computer Misuse Act 1993", ("Computer Misuse Act 1993", "Computer Misuse Act"), ()),
    ("Nghị định 72/2013/NĐ-CP về quản lý, cung cấp", ("Nghị định 72/2013/NĐ-CP",), ("72/2013/NĐ-CP",)),
]
# fmt: on


@pytest.mark.parametrize(("title", "names", "numbers"), NAME_CASES)
def test_law_names_from_titles(title: str, names: tuple[str, ...], numbers: tuple[str, ...]) -> None:
    assert law_names(title) == (names, numbers)


# "the Penal Code" is Singapore's in a Singapore act and Viet Nam's in a Vietnamese law's translation;
# "Bộ luật Hình sự" is the current version, not the one it replaced.
@pytest.mark.parametrize(
    ("text", "citing", "expected"),
    [
        ("Penal Code", "sg-a", "sg-pc"),
        ("the Penal Code", "vn-a-en", "vn-pc-en"),
        ("Bộ luật Hình sự", "vn-a", "vn-pc"),
    ],
)
def test_catalog_prefers_jurisdiction_language_and_current_version(
    text: str, citing: str, expected: str
) -> None:
    assert CATALOG.lookup(text, citing)[0] == expected


def test_every_resolved_target_exists() -> None:
    found = [r for doc, art, text, _ in CASES for r in refs(doc, art, text) if r.resolved and r.target_id]
    assert len(found) > 30
    assert all(r.target_id in INDEX.ids for r in found)

"""Penalty phrases per drafting style, the traps that are not deprivation of liberty, treaty thresholds."""

from __future__ import annotations

import pytest

from pipeline.penalties import Penalty, article_penalties, extract, format_years, parse_amount, summarise

# (style, text, penalty_max, un_serious_crime, budapest_extraditable)
# fmt: off
MAX_CASES = [
    # Vietnamese Penal Code 2015
    ("vn", "1. Người nào …, thì bị phạt tù từ 06 tháng đến 03 năm.", "3", False, True),
    ("vn", "Người nào lợi dụng …, thì bị phạt cảnh cáo, phạt cải tạo không giam giữ đến 03 năm hoặc phạt tù "
           "từ 06 tháng đến 03 năm.\n2. Phạm tội gây ảnh hưởng xấu …, thì bị phạt tù từ 02 năm đến 07 năm.",
     "7", True, True),
    ("vn", "1. Người tổ chức …, thì bị phạt tù từ 12 năm đến 20 năm, tù chung thân hoặc tử "
           "hình;", "death", True, True),
    ("vn", "4. Phạm tội …, thì bị phạt tù 20 năm hoặc tù chung thân.", "life", True, True),
    ("vn", "thì bị phạt tù từ 03 tháng đến 06 tháng.", "0.5", False, False),
    ("vn", "thì bị phạt tù từ trên 07 năm đến 15 năm.", "15", True, True),
    ("vn", "thì bị phạt tù đến 01 năm.", "1", False, True),
    # Traps: non-custodial reform, fines and bans are penalties, not deprivation of liberty.
    ("vn", "thì bị phạt tiền từ 10.000.000 đồng đến 30.000.000 đồng hoặc phạt cải tạo không giam giữ "
           "đến 02 năm.",
     None, False, False),
    ("vn", "3. Người phạm tội còn có thể bị phạt tiền từ 5.000.000 đồng đến 50.000.000 đồng, cấm đảm "
           "nhiệm chức "
           "vụ, cấm hành nghề hoặc làm công việc nhất định từ 01 năm đến 05 năm.", None, False, False),
    # Traps: the general part describes penalties without imposing them (Arts 9, 39, 66).
    ("vn", "c) Tội phạm rất nghiêm trọng là tội phạm … mà mức cao nhất của khung hình phạt do Bộ luật "
           "này quy "
           "định đối với tội ấy là từ trên 07 năm tù đến 15 năm tù;", None, None, None),
    ("vn", "Tù chung thân là hình phạt tù không thời hạn được áp dụng đối với người phạm tội đặc biệt nghiêm "
           "trọng, nhưng chưa đến mức bị xử phạt tử hình.", None, None, None),
    ("vn", "đã bị xử phạt vi phạm hành chính về hành vi này mà còn vi phạm, thu lợi bất chính từ "
           "50.000.000 đồng",
     None, None, None),
    # The project's English translations
    ("vn-en", "shall be liable to a warning, non-custodial reform for up to 03 years or imprisonment "
              "from 06 months "
              "to 03 years.", "3", False, True),
    ("vn-en", "shall be liable to imprisonment from 12 to 20 years, life imprisonment or the death penalty;",
     "death", True, True),
    ("vn-en", "shall be liable to non-custodial reform for up to 03 years.", None, False, False),
    ("vn-en", "shall be liable to imprisonment from 12 to 20 years, life imprisonment or a death sentence.",
     "death", True, True),
    # Singapore
    ("sg", "shall be punished with imprisonment for a term which may extend to 3 years, or with fine, "
           "or with both.",
     "3", False, True),
    ("sg", "shall be guilty of an offence and shall be liable on conviction to a fine not exceeding "
           "$50,000 or to "
           "imprisonment for a term not exceeding 5 years or to both.", "5", True, True),
    ("sg", "shall be punished with death.", "death", True, True),
    ("sg", "Whoever wages war against the Government is punishable with death or imprisonment for life.",
     "death", True, True),
    ("sg", "shall be punished with imprisonment for life, or with imprisonment for a term which may "
           "extend to "
           "10 years, and shall also be liable to fine.", "life", True, True),
    ("sg", "shall be punished with imprisonment for a term which may extend to one year, or with "
           "fine.", "1", False, True),
    ("sg", "shall be punished with imprisonment for a term which may extend to 6 "
           "months.", "0.5", False, False),
    ("sg", "shall be punished with imprisonment for a term of not less than 5 years and not more than "
           "20 years "
           "and shall also be liable to caning.", "20", True, True),
    # Trap: "an offence punishable with death or imprisonment for life" names another offence's penalty.
    ("sg", "Whoever abets the commission of an offence punishable with death or imprisonment for life, "
           "shall, if "
           "that offence is not committed, be punished with imprisonment for a term that may extend to "
           "20 years.",
     "20", True, True),
    # Trap: a penalty set by reference to another offence's is no term here.
    ("sg", "shall be punished with imprisonment for a term which may extend to one‑fourth part of the "
           "longest term "
           "provided for that offence.", None, None, None),
    # Trap: illustrations repeat penalties for imagined facts.
    ("sg", "shall be punished with imprisonment for a term which may extend to 2 years. Illustration A "
           "is liable "
           "to be punished with death.", "2", False, True),
    ("sg", "shall be liable on conviction to caning of not more than 12 strokes.", None, False, False),
    # United States Code
    ("us", "shall be fined under this title or imprisoned not more than five years, or "
           "both.", "5", True, True),
    ("us", "is guilty of treason and shall suffer death, or shall be imprisoned not less than five "
           "years and fined "
           "under this title but not less than $10,000;", "death", True, True),
    ("us", "(c) The punishment for an offense under subsection (a) is— (1) a fine under this title or "
           "imprisonment "
           "for not more than ten years, or both; (2) a fine or imprisonment for any term of years or "
           "for life.",
     "life", True, True),
    ("us", "shall be fined under this title or imprisoned not more than twenty years, or "
           "both.", "20", True, True),
    # Treaties set no penalties: the Budapest Convention's Art 24 threshold is not one.
    ("treaty", "Extradition shall apply to criminal offences punishable under the laws of both Parties "
               "concerned by "
               "deprivation of liberty for a maximum period of at least one year, or by a more severe "
               "penalty.",
     None, None, None),
]
# fmt: on


@pytest.mark.parametrize(("style", "text", "penalty_max", "serious", "extraditable"), MAX_CASES)
def test_penalty_max(
    style: str, text: str, penalty_max: str | None, serious: bool, extraditable: bool
) -> None:
    summary, _ = article_penalties(text, [], "doc/art-1", style)
    assert (summary.penalty_max, summary.un_serious_crime, summary.budapest_extraditable) == (
        penalty_max,
        serious,
        extraditable,
    )


# fmt: off
KIND_CASES = [
    ("vn", "thì bị phạt cảnh cáo, phạt cải tạo không giam giữ đến 03 năm hoặc phạt tù từ 06 tháng đến "
           "03 năm.",
     [("warning", None, None), ("non_custodial", None, 3.0), ("custodial", 0.5, 3.0)]),
    ("vn", "còn có thể bị cấm đảm nhiệm chức vụ nhất định từ 01 năm đến 05 năm.", [("ban", 1.0, 5.0)]),
    ("sg", "shall be punished with imprisonment for a term which may extend to 7 years, and shall also "
           "be liable "
           "to fine or to caning.",
     [("custodial", None, 7.0), ("fine", None, None), ("corporal", None, None)]),
    ("vn-en", "shall be liable to a fine from VND 30,000,000 to VND 200,000,000, non-custodial reform "
              "for up to 03 "
              "years or imprisonment from 06 months to 03 years:",
     [("fine", None, None), ("non_custodial", None, 3.0), ("custodial", 0.5, 3.0)]),
]
# fmt: on


@pytest.mark.parametrize(("style", "text", "expected"), KIND_CASES)
def test_penalty_kinds_and_terms(style: str, text: str, expected: list[tuple[str, float, float]]) -> None:
    got = [(p.kind, p.min_years, p.max_years) for p in extract(text, style)]
    assert got == expected


def test_offsets_point_at_the_words() -> None:
    text = "1. Người nào …, thì bị phạt tù từ 06 tháng đến 03 năm."
    (p,) = extract(text, "vn")
    assert text[p.start : p.end] == p.text == "tù từ 06 tháng đến 03 năm"


def test_fine_amounts() -> None:
    (p,) = extract("thì bị phạt tiền từ 30.000.000 đồng đến 200.000.000 đồng.", "vn")
    assert (p.amount_min, p.amount_max) == (30_000_000.0, 200_000_000.0)
    assert parse_amount("50,000") == 50_000.0
    assert parse_amount("1", "million") == 1_000_000.0


def test_the_clause_that_sets_the_maximum() -> None:
    text = (
        "1. Người nào …, thì bị phạt tù từ 05 năm đến 12 năm:\n2. Phạm tội …, thì bị phạt tù từ 10 "
        "năm đến 20 năm."
    )
    cut = text.index("2.")
    units = [("d/art-117/cl-1", 0, cut - 1), ("d/art-117/cl-2", cut, len(text))]
    summary, pairs = article_penalties(text, units, "d/art-117", "vn")
    assert summary.penalty_max == "20"
    assert summary.penalty_max_source == "d/art-117/cl-2"
    assert summary.penalty_max_text == "tù từ 10 năm đến 20 năm"
    assert summary.penalty_min_years == 5.0
    assert [src for src, _ in pairs] == ["d/art-117/cl-1", "d/art-117/cl-2"]


# Four years is the UN threshold itself: "at least four years".
@pytest.mark.parametrize(
    ("years", "serious", "extraditable"),
    [(4.0, True, True), (3.99, False, True), (1.0, False, True), (0.9, False, False)],
)
def test_treaty_thresholds(years: float, serious: bool, extraditable: bool) -> None:
    p = Penalty("custodial", None, years, None, None, "x", 0, 1)
    s = summarise([("d/art-1", p)])
    assert (s.un_serious_crime, s.budapest_extraditable) == (serious, extraditable)


@pytest.mark.parametrize(("years", "label"), [(7.0, "7"), (0.5, "0.5"), (0.25, "0.25"), (1 / 12, "0.08")])
def test_format_years(years: float, label: str) -> None:
    assert format_years(years) == label


def test_unknown_style_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="expected one of"):
        extract("x", "klingon")

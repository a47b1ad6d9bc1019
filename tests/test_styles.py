"""Drafting-style tables: label sequences, article order, heading patterns."""

from __future__ import annotations

import pytest

from pipeline.styles import STYLES, article_key, get_style, next_labels

# fmt: off
NEXT_CASES = [
    ("arabic", None, {"1"}),
    ("arabic", "1", {"2", "1A", "1a"}),
    ("arabic", "1A", {"2", "1B"}),
    ("alpha", None, {"a"}),
    ("alpha", "a", {"b", "aa"}),
    ("alpha", "aa", {"ab", "b"}),
    ("alpha", "h", {"i", "ha"}),
    ("upper", "A", {"B", "AA"}),
    ("vi_alpha", "d", {"đ", "e"}),
    ("vi_alpha", "đ", {"e"}),
    ("vi_alpha", "e", {"g", "f"}),
    ("vi_alpha", "i", {"k", "j"}),
    ("vi_alpha", "y", {"z"}),
]
# fmt: on


@pytest.mark.parametrize(("sequence", "prev", "expected"), NEXT_CASES)
def test_next_labels(sequence: str, prev: str | None, expected: set[str]) -> None:
    assert next_labels(sequence, prev) == expected


# fmt: off
ORDER_CASES = [("217", "217a"), ("217a", "217b"), ("217b", "218"), ("16A", "16AA"), ("16AA", "16B"),
               ("9", "10"), ("23d", "23đ"), ("23đ", "23e")]
# fmt: on


@pytest.mark.parametrize(("a", "b"), ORDER_CASES)
def test_article_order(a: str, b: str) -> None:
    assert article_key(a) < article_key(b)


# fmt: off
HEADING_CASES = [
    ("vn", "Điều 117. Tội làm, tàng trữ", ("117", "Tội làm, tàng trữ")),
    ("vn", "Điều 217a. Tội vi phạm", ("217a", "Tội vi phạm")),
    ("vn", "Điều 5 Chính sách của Nhà nước", ("5", "Chính sách của Nhà nước")),
    ("vn", "Điều 24:Nguyên tắc", ("24", "Nguyên tắc")),
    ("vn", "Điều 2.Đối tượng áp dụng", ("2", "Đối tượng áp dụng")),
    ("vn", "Điều 1.", ("1", "")),
    ("vn", "Điều 76 của Bộ luật này", None),
    ("vn", "Điều kiện kinh doanh", None),
    ("vn-en", "Article 292. (repealed)", ("292", "(repealed)")),
    ("treaty", "Article 19", ("19", "")),
    ("treaty", "- Article 3 - Illegal interception", ("3", "Illegal interception")),
    ("sg", "8A. —(1) Any person", ("8A", "")),
    ("sg", "(8) Any person", None),
    ("us", "§ 1030. Fraud and related activity", ("1030", "Fraud and related activity")),
]
# fmt: on


@pytest.mark.parametrize(("style", "line", "expected"), HEADING_CASES)
def test_article_headings(style: str, line: str, expected: tuple[str, str] | None) -> None:
    m = get_style(style).article.search(line)
    assert (m and (m.group("num"), m.group("title"))) == expected or (m is None and expected is None)


def test_unknown_style_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="expected one of"):
        get_style("civil")


def test_every_style_table_is_complete() -> None:
    for name, style in STYLES.items():
        assert style.name == name and style.clause and style.point
        assert "num" in style.article.groupindex and "title" in style.article.groupindex

"""Drafting style from the text: a table of first pages → style, and the evidence a person reads."""

from __future__ import annotations

import pytest

from pipeline.detect import detect_style, no_style_message

# fmt: off
CASES = [
    # lang, text,                                                                         style
    ("vi", "LUẬT\nĐiều 1. Phạm vi\nNội dung.\nĐiều 2. Đối tượng\n1. Cơ quan.\n",       "vn"),
    ("en", "LAW\nArticle 1. Scope\nThis Law.\nArticle 2. Acts\n1. Using:\nđ) fraud.\n", "vn-en"),
    ("en", "The States Parties have agreed as follows:\nArticle 1\n1. All peoples.\n"
           "Article 2\n1. Each State Party.\n(a) To ensure.\n",                            "treaty"),
    ("en", "Computer Misuse Act\nShort title\n1. This Act is the Computer Misuse Act.\n"
           "Interpretation\n2. —(1) In this Act — (a) x; (b) y.\n",                         "sg"),
    ("en", "§ 2381. Treason\nWhoever, owing allegiance.\n§ 2382. Misprision\nWhoever.\n", "us"),
    ("en", "CHAPTER I\nSection 1. Title. – This Act.\nSection 2. Policy. – The State.\n",  "ph"),
    ("en", "1. Short title\n(1) This Act.\n2. Definitions\n(1) In this Act.\n"
           "1[2A. Authority.__ (1) The Authority.\n3. Offences\n(1) Whoever.\n",              "pk"),
]
# fmt: on


@pytest.mark.parametrize(("lang", "text", "style"), CASES, ids=[c[2] for c in CASES])
def test_detects_the_style(lang: str, text: str, style: str) -> None:
    assert detect_style(text, lang).style == style


def test_evidence_names_the_winner_and_the_runner_up() -> None:
    choice = detect_style(CASES[1][1], "en")
    assert choice.evidence.startswith("vn-en: 2 article heading(s) in order, 1 marker(s); treaty: 2 article")
    assert choice.as_dict()["scores"]["vn-en"] == {"articles": 2, "rejected": 0, "markers": 1}


def test_no_style_is_a_clear_message() -> None:
    choice = detect_style("Một bài viết không có điều khoản nào.", "vi")
    assert choice.style is None
    assert no_style_message(choice).startswith(
        "no article headings of any known drafting style (no style finds an article heading); "
        "headings look like vn: 'Điều 1. Phạm vi điều chỉnh'"
    )

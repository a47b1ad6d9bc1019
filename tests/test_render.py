"""pipeline.render: the one highlighter (reports, notebooks) and the one template set (reports, cards)."""

from __future__ import annotations

import html
import re

import pytest

from pipeline.render import COLOURS, WITHHELD, environment, highlight, legend, md_cell, render


def ev(
    start: int, end: int, dimension: str = "vagueness", category: str = "c", source: str = "lexicon"
) -> dict:
    return {
        "start": start,
        "end": end,
        "text": "",
        "dimension": dimension,
        "category": category,
        "source": source,
    }


V, S, B = (f"background:{COLOURS[k]}" for k in ("vagueness", "speech_risk", "both"))

# fmt: off
HIGHLIGHT_CASES = [
    # text,     evidence,                                  dimension,     inline, expected
    ("a <b> c", [],                                        None,          False, "a &lt;b&gt; c"),
    ("x & y",   [ev(0, 1)],                                None,          False,
     '<mark class="vagueness" title="vagueness:c (lexicon)">x</mark> &amp; y'),
    ("abcd",    [ev(0, 3), ev(2, 4, "speech_risk")],       None,          False,
     '<mark class="vagueness" title="vagueness:c (lexicon)">ab</mark>'
     '<mark class="both" title="speech_risk:c (lexicon); vagueness:c (lexicon)">c</mark>'
     '<mark class="speech_risk" title="speech_risk:c (lexicon)">d</mark>'),
    ("abcd",    [ev(0, 3), ev(2, 4, "speech_risk")],       "speech_risk", False,
     'ab<mark class="speech_risk" title="speech_risk:c (lexicon)">cd</mark>'),
    ("abc",     [ev(0, 3, source="model")],                None,          True,
     f'<mark class="vagueness model" style="{V}" title="vagueness:c (model)">abc</mark>'),
    ("ab",      [ev(0, 2), ev(0, 2, "speech_risk")],       None,          True,
     f'<mark class="both" style="{B}" title="speech_risk:c (lexicon); vagueness:c (lexicon)">ab</mark>'),
    ("a\nb",    [ev(2, 3, "speech_risk")],                 None,          True,
     f'a\n<mark class="speech_risk" style="{S}" title="speech_risk:c (lexicon)">b</mark>'),
    ("abc",     [ev(2, 9)],                                None,          False, "abc"),  # past the end
    (None,      [ev(0, 1)],                                None,          True,  str(WITHHELD)),
]
# fmt: on


@pytest.mark.parametrize(("text", "evidence", "dimension", "inline", "expected"), HIGHLIGHT_CASES)
def test_highlight(text, evidence, dimension, inline, expected) -> None:
    assert str(highlight(text, evidence, dimension, inline)) == expected


NAUGHTY = [
    "",
    "<script>alert(1)</script>",
    "Điều 117. \"Tuyên truyền\" & 'chống' Nhà nước",
    "a\u0301\u200b\n\n",
]


@pytest.mark.parametrize("text", NAUGHTY)
@pytest.mark.parametrize("inline", [False, True])
def test_highlight_keeps_the_text_and_escapes_it(text: str, inline: bool) -> None:
    out = str(highlight(text, [ev(0, len(text))] if text else [], inline=inline))
    assert "<script>" not in out
    assert html.unescape(re.sub(r"<[^>]+>", "", out)) == text


def test_legend_names_every_colour() -> None:
    out = str(legend())
    assert all(f"background:{c}" in out and f">{k}</mark>" in out for k, c in COLOURS.items())


# fmt: off
MD_CASES = [
    ("a | b", "a \\| b"),
    ("two\nlines  here", "two lines here"),
    (None, ""),
]
# fmt: on


@pytest.mark.parametrize(("value", "expected"), MD_CASES)
def test_md_cell(value, expected) -> None:
    assert md_cell(value) == expected


def test_markdown_templates_are_not_escaped_and_html_ones_are() -> None:
    assert not environment(markdown=True).autoescape and environment().autoescape
    page = render("index.html.j2", docs=[], version="<v>", model_version="m", script="")
    assert "&lt;v&gt;" in page and "<v>" not in page

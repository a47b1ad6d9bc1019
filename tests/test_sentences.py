"""Sentence boundaries with spaCy's sentencizer."""

from __future__ import annotations

import pytest

from pipeline.sentences import sentence_spans

# fmt: off
CASES = [
    ("vi", "Điều này quy định. Người nào phạm tội thì bị phạt tù.",
     ["Điều này quy định.", "Người nào phạm tội thì bị phạt tù."]),
    ("en", "  Everyone has the right. This right shall be protected by law.  ",
     ["Everyone has the right.", "This right shall be protected by law."]),
    ("en", "No full stop", ["No full stop"]),
    ("en", "", []),
    ("vi", " \n ", []),
]
# fmt: on


@pytest.mark.parametrize(("lang", "text", "expected"), CASES)
def test_sentence_spans(lang: str, text: str, expected: list[str]) -> None:
    spans = sentence_spans(text, lang)
    assert [text[s:e] for s, e in spans] == expected
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="expected lang"):
        sentence_spans("x", "fr")

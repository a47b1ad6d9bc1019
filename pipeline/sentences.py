"""Sentence boundaries inside long provisions, with spaCy's rule-based sentencizer.

Later stages cut long units into model-sized windows at sentence ends. Vietnamese uses
``spacy.blank("vi")`` (its tokenizer needs pyvi), English ``spacy.blank("en")``; each pipeline is built
once per process.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pipeline.schema import LANGS


@lru_cache(maxsize=len(LANGS))
def _nlp(lang: str) -> Any:
    import spacy  # imported here: the segmenting path must not pay for spaCy

    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    return nlp


def sentence_spans(text: str, lang: str) -> list[tuple[int, int]]:
    """Text → (start, end) character offsets of its sentences, surrounding whitespace excluded."""
    if lang not in LANGS:
        raise ValueError(f"sentence_spans: expected lang in {list(LANGS)}, found {lang!r}")
    if not text.strip():
        return []
    spans = []
    for sent in _nlp(lang)(text).sents:
        start, end = sent.start_char, sent.end_char
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans

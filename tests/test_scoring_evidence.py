"""pipeline.scoring.evidence: token-contribution phrases, occlusion spans, merging, categories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_score import LEXICON_YAML

from pipeline.lexicon import Lexicon
from pipeline.schema import DIMENSIONS, Evidence
from pipeline.scoring import LexiconScorer
from pipeline.scoring.evidence import (
    MODEL_CATEGORY,
    merge_intervals,
    model_category,
    occlusion_evidence,
    word_spans,
)

# fmt: off
SPAN_CASES = [
    # contributions per word (one token a word), top_k, width → expected spans (word indices, inclusive)
    ([0, 0, 0, 9, 9, 9, 0, 0, 0, 0], 1, 3, [(3, 5)]),
    ([9, 9, 9, 0, 0, 0, 0, 0, 0, 0], 1, 3, [(0, 2)]),
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 3, 3, []),                  # nothing stands out
    ([0, 9, 0, 0, 0, 0, 0, 0, 9, 0], 2, 1, [(1, 1), (8, 8)]),
]
# fmt: on


@pytest.mark.parametrize(("weights", "top_k", "width", "expected"), SPAN_CASES)
def test_word_spans_pick_the_phrases_that_carry_the_score(weights, top_k, width, expected) -> None:
    words = [f"w{i}" for i in range(len(weights))]
    text = " ".join(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    tokens = np.array([(s, s + len(w)) for s, w in zip(starts, words, strict=True)])
    contrib = np.repeat(np.array(weights, dtype=float)[:, None], len(DIMENSIONS), axis=1)
    got = word_spans(text, tokens, contrib, 0, len(text), top_k, min_z=1.0, width=width)
    for d in DIMENSIONS:
        assert [(a, b) for a, b, _ in got[d]] == [(tokens[i][0], tokens[j][1]) for i, j in expected]


# fmt: off
MERGE_CASES = [
    ([], []),
    ([(0, 3)], [(0, 3)]),
    ([(5, 8), (0, 3)], [(0, 3), (5, 8)]),
    ([(0, 3), (4, 8)], [(0, 8)]),          # separated by one space: one span
    ([(0, 5), (2, 4)], [(0, 5)]),
]
# fmt: on


@pytest.mark.parametrize("spans, expected", MERGE_CASES)
def test_merge_intervals(spans: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    assert merge_intervals(spans) == expected


def test_occlusion_finds_the_marker(tmp_path: Path) -> None:
    (tmp_path / "lexicon.yaml").write_text(LEXICON_YAML, encoding="utf-8")
    lexicon = Lexicon.load(tmp_path / "lexicon.yaml")
    text = "Whoever publishes propaganda against the State commits an offence."
    scorer = LexiconScorer(lexicon)
    base = scorer.score_texts([text], ["en"])[0]
    spans = occlusion_evidence(
        scorer, text, "en", base, DIMENSIONS, 2, 3, 0.05, 200, lexicon.evidence(text, "en")
    )
    assert spans and all(text[e.start : e.end] == e.text for e in spans)
    assert any(e.dimension == "speech_risk" and e.category == "political_expression" for e in spans)


# fmt: off
CATEGORY_CASES = [
    # model span, dimension,   lexicon spans (start, end, dimension, category),  expected
    ((0, 5), "vagueness",   [(3, 9, "vagueness", "undefined_term")],             "undefined_term"),
    ((0, 5), "vagueness",   [(3, 9, "speech_risk", "incitement")],               MODEL_CATEGORY),
    ((0, 3), "vagueness",   [(3, 9, "vagueness", "undefined_term")],             MODEL_CATEGORY),  # touching
    ((4, 6), "speech_risk", [(0, 5, "speech_risk", "incitement"),
                             (5, 9, "speech_risk", "false_information")],        "incitement"),  # the first
]
# fmt: on


@pytest.mark.parametrize(("span", "dimension", "lexicon_spans", "expected"), CATEGORY_CASES)
def test_model_category(span, dimension, lexicon_spans, expected) -> None:
    lex = [Evidence(s, e, "x" * (e - s), d, c, "lexicon") for s, e, d, c in lexicon_spans]
    assert model_category(*span, dimension, lex) == expected

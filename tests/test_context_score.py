"""In-context scoring: one encoder pass per article gives the classifier's own article score, unit
scores from the unit's tokens, and an exact additive decomposition for evidence."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.context_score import ContextScorer, Item, predictions, word_spans
from pipeline.model import Classifier, WindowSpec, tiny_random_base
from pipeline.schema import DIMENSIONS

ARTICLE = (
    "1. Người nào có hành vi tuyên truyền xuyên tạc, phỉ báng chính quyền nhân dân, thì bị phạt tù.\n"
    "a) Làm, tàng trữ, phát tán thông tin có nội dung bịa đặt, gây hoang mang trong nhân dân;\n"
    "b) Làm, tàng trữ, phát tán tài liệu gây chiến tranh tâm lý.\n"
    "2. Phạm tội trong trường hợp đặc biệt nghiêm trọng, thì bị phạt tù từ 10 năm đến 20 năm."
)
EN = "Whoever communicates a false statement of fact likely to diminish public confidence shall be guilty."


def _spans(text: str) -> tuple[tuple[int, int], ...]:
    # the clauses and points of ARTICLE as the segmenter would cut them
    lines, out, pos = text.split("\n"), [], 0
    for line in lines:
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return tuple(out)


@pytest.fixture(scope="module")
def clf(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    base = tiny_random_base(tmp_path_factory.mktemp("base"), [ARTICLE, EN])
    # max_length 32 forces several overlapping windows over the article
    return Classifier.from_base(base, WindowSpec(max_length=32, overlap=4, prefix="passage: "), device="cpu")


def test_article_score_equals_the_classifiers(clf: Classifier) -> None:
    res = ContextScorer(clf, batch_size=4).run([Item(ARTICLE, "vi", _spans(ARTICLE)), Item(EN, "en")])
    expected = clf.logits([ARTICLE, EN], batch_size=4, langs=["vi", "en"])
    got = np.stack([r.article_logits for r in res])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_a_unit_covering_the_whole_text_of_a_single_window_matches_the_classifier(clf: Classifier) -> None:
    # Over one window, the mean of the body's token contributions differs from the window mean only by
    # the special and prefix tokens; the unit path must stay close and be finite.
    (res,) = ContextScorer(clf).run([Item(EN, "en", ((0, len(EN)),))])
    assert res.unit_logits[0] is not None and np.isfinite(res.unit_logits[0]).all()


def test_units_are_scored_and_tokens_slice_back(clf: Classifier) -> None:
    (res,) = ContextScorer(clf, batch_size=3).run([Item(ARTICLE, "vi", _spans(ARTICLE) + ((5, 5),))])
    assert all(lg is not None for lg in res.unit_logits[:-1])
    assert res.unit_logits[-1] is None  # an empty span holds no token
    assert res.contrib.shape == (len(res.tokens), len(DIMENSIONS))
    for a, b in res.tokens:
        assert 0 <= a < b <= len(ARTICLE) and ARTICLE[a:b].strip()
    preds = predictions(clf, np.stack([lg for lg in res.unit_logits if lg is not None]))
    for p in preds:
        assert all(0.0 <= p[d] <= 1.0 and p[f"{d}_level"] in (0, 1, 2, 3) for d in DIMENSIONS)


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

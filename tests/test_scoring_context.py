"""pipeline.scoring.context: one encoder pass per article gives the classifier's own article score,
unit scores from the unit's tokens, and an exact additive decomposition for evidence."""

from __future__ import annotations

import numpy as np
import pytest
from tiny import tiny_random_base

from pipeline.nn.classifier import Classifier
from pipeline.nn.windows import WindowSpec
from pipeline.schema import DIMENSIONS
from pipeline.scoring.context import ContextScorer, Item, StateCache, article_sha

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
    preds = clf.predictions(np.stack([lg for lg in res.unit_logits if lg is not None]))
    for p in preds:
        assert all(0.0 <= p[d] <= 1.0 and p[f"{d}_level"] in (0, 1, 2, 3) for d in DIMENSIONS)


@pytest.mark.parametrize(
    ("lengths", "batch_size", "expected"),
    [
        ([10, 3, 7, 3], 2, [[1, 3], [2, 0]]),  # budget 2 × 10 padded tokens: a third window (3 × 7) is over
        ([5, 5, 5, 5], 2, [[0, 1], [2, 3]]),  # equal lengths: plain batches of batch_size
        ([256, 20, 20, 20, 20, 20], 1, [[1, 2, 3, 4, 5], [0]]),  # short windows share one long one's budget
        ([], 4, []),
    ],
)
def test_window_batches_sort_and_fill_a_token_budget(lengths, batch_size, expected) -> None:
    from pipeline.scoring.context import window_batches

    got = window_batches(lengths, batch_size, max_windows=8)
    assert got == expected
    assert sorted(i for b in got for i in b) == list(range(len(lengths)))
    for b in got:  # no batch pads beyond batch_size longest windows, unless it is a single window
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= batch_size * max(lengths)


def _cache_of(ctx: ContextScorer, items: list[Item]) -> StateCache:
    states = ctx.encode(items, keep_tokens=False)
    return StateCache(
        {
            article_sha(it.text, it.lang): (st.vectors, dict(zip(it.units, st.units, strict=True)))
            for it, st in zip(items, states, strict=True)
        }
    )


def test_states_from_the_cache_score_as_encoding_does(clf: Classifier) -> None:
    items = [Item(ARTICLE, "vi", _spans(ARTICLE)), Item(EN, "en")]
    ctx = ContextScorer(clf, batch_size=4)
    cache = _cache_of(ctx, items)
    fresh = ctx.run(items)
    cached = ContextScorer(clf, batch_size=4, cache=cache).run(items)
    assert cache.hits == 2
    for f, c in zip(fresh, cached, strict=True):
        np.testing.assert_allclose(c.article_logits, f.article_logits, atol=1e-5)
        for fu, cu in zip(f.unit_logits, c.unit_logits, strict=True):
            np.testing.assert_allclose(cu, fu, atol=1e-5)
        assert c.tokens is None and c.contrib is None  # no token states kept: evidence needs encoding


@pytest.mark.parametrize(
    ("item", "hit"),
    [
        (Item(ARTICLE, "vi", _spans(ARTICLE)), True),
        (Item(ARTICLE, "vi", _spans(ARTICLE)[:2]), True),  # fewer units: each of them is known
        (Item(ARTICLE, "vi", ((0, 10),)), False),  # a unit never encoded
        (Item(ARTICLE, "en", _spans(ARTICLE)), False),  # another language's lexicon term and key
        (Item(ARTICLE + " ", "vi", _spans(ARTICLE)), False),  # another text
    ],
)
def test_the_cache_answers_only_for_the_same_text_and_known_units(
    clf: Classifier, item: Item, hit: bool
) -> None:
    ctx = ContextScorer(clf, batch_size=4)
    cache = _cache_of(ctx, [Item(ARTICLE, "vi", _spans(ARTICLE))])
    (res,) = ContextScorer(clf, batch_size=4, cache=cache).run([item])
    assert (res.tokens is None) is hit and cache.hits == int(hit)

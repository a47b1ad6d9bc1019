"""pipeline.scoring.reuse: an article is scored once; its copies (in the same rows, or known from an
earlier run) get its scores and keep their own ids and offsets."""

from __future__ import annotations

import pytest
from test_score import LEXICON_YAML, VI_TEXT, make_doc

from pipeline.lexicon import Lexicon
from pipeline.scoring import LexiconScorer, ScoringOptions, score_provisions
from pipeline.scoring.reuse import PROVISION_FIELDS, SCORE_FIELDS, article_key, articles_of, keyed_rows, plan
from pipeline.segmenter import SegmentOptions, segment_document

OPTIONS = ScoringOptions(levels=("article", "clause", "point"), attribution="occlusion", batch_size=2)


class CountingScorer(LexiconScorer):
    """The lexicon scorer, counting the texts it is asked to score."""

    def __init__(self, lexicon: Lexicon):
        super().__init__(lexicon)
        self.texts = 0

    def score_texts(self, texts, langs):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return super().score_texts(texts, langs)


@pytest.fixture
def lexicon(tmp_path) -> Lexicon:  # type: ignore[no-untyped-def]
    path = tmp_path / "lexicon.yaml"
    path.write_text(LEXICON_YAML, encoding="utf-8")
    return Lexicon.load(path)


def rows_of(doc_id: str, text: str = VI_TEXT, lang: str = "vi") -> list[dict]:
    doc = make_doc(doc_id, lang, text, "vn")
    return [p.to_dict() for p in segment_document(doc, SegmentOptions())]


def key_of(rows: list[dict], article: str) -> str:
    kids, _ = articles_of(rows)
    (a,) = [i for i in kids if rows[i]["article"] == article]
    return article_key(rows, a, kids[a])


# The same article in another document, or shifted inside a longer one, is the same article; another
# text, language or division into clauses is not.
SHIFTED = "LỜI NÓI ĐẦU DÀI HƠN\n" + VI_TEXT
RENUMBERED = VI_TEXT.replace("1. Tuyên truyền", "1 Tuyên truyền")
ANOTHER = VI_TEXT.replace("xuyên tạc", "bịa đặt")


@pytest.mark.parametrize(
    ("other", "lang", "same"),
    [
        (VI_TEXT, "vi", True),
        (SHIFTED, "vi", True),
        (VI_TEXT, "en", False),
        (ANOTHER, "vi", False),
        (RENUMBERED, "vi", False),
    ],
)
def test_article_key(other: str, lang: str, same: bool) -> None:
    assert (key_of(rows_of("a"), "2") == key_of(rows_of("b", other, lang), "2")) is same


def test_unchanged_articles_keep_their_key_when_a_neighbour_changes() -> None:
    a, b = rows_of("a"), rows_of("b", ANOTHER)
    assert key_of(a, "1") == key_of(b, "1") and key_of(a, "3") == key_of(b, "3")


def test_plan_scores_each_article_once() -> None:
    rows = rows_of("a") + rows_of("b", SHIFTED) + rows_of("c", ANOTHER)
    p = plan(rows)
    scored_articles = [rows[i]["doc_id"] for i in p.score if rows[i]["level"] == "article"]
    # a: three new articles; b: all three repeat a; c: only article 2 differs.
    assert scored_articles == ["a", "a", "a", "c"]
    assert p.reused == 5 and all(rows[p.copy_inside[i]]["doc_id"] == "a" for i in p.copy_inside)


def test_copies_get_the_scores_of_scoring_every_article(lexicon: Lexicon) -> None:
    rows = rows_of("a") + rows_of("b", SHIFTED) + rows_of("c", ANOTHER)
    every = CountingScorer(lexicon)
    once = CountingScorer(lexicon)
    # each document scored in a call of its own: nothing to copy, every article encoded
    full = [
        r
        for d in ("a", "b", "c")
        for r in score_provisions([x for x in rows if x["doc_id"] == d], every, lexicon, OPTIONS)
    ]
    reused = score_provisions(rows, once, lexicon, OPTIONS)
    assert once.texts < every.texts
    assert [r["provision_id"] for r in reused] == [r["provision_id"] for r in full]
    for r, f in zip(reused, full, strict=True):
        assert {k: r[k] for k in PROVISION_FIELDS} == {k: f[k] for k in PROVISION_FIELDS}
        assert {k: r[k] for k in SCORE_FIELDS} == {k: f[k] for k in SCORE_FIELDS}
        for e in r["evidence"]:  # evidence slices back into the copy's own text
            assert r["text"][e["start"] : e["end"]] == e["text"]


def test_known_rows_are_not_scored_again(lexicon: Lexicon) -> None:
    scorer = CountingScorer(lexicon)
    earlier = score_provisions(rows_of("a"), scorer, lexicon, OPTIONS)
    before = scorer.texts
    again = score_provisions(rows_of("b", SHIFTED), scorer, lexicon, OPTIONS, known=keyed_rows(earlier))
    assert scorer.texts == before  # nothing encoded
    assert [r["vagueness"] for r in again] == [r["vagueness"] for r in earlier]
    assert {r["doc_id"] for r in again} == {"b"}
    shift = len(SHIFTED) - len(VI_TEXT)
    assert [r["char_start"] for r in again] == [r["char_start"] + shift for r in earlier]


def test_rows_of_another_model_version_are_not_reused(lexicon: Lexicon) -> None:
    scorer = CountingScorer(lexicon)
    earlier = [replace_version(r) for r in score_provisions(rows_of("a"), scorer, lexicon, OPTIONS)]
    before = scorer.texts
    score_provisions(rows_of("b"), scorer, lexicon, OPTIONS, known=keyed_rows(earlier))
    assert scorer.texts > before


def replace_version(row: dict) -> dict:
    return {**row, "model_version": "another-model"}

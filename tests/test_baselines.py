"""pipeline.baselines: lexicon scores, TF-IDF and embedding logistic regressions."""

from __future__ import annotations

import numpy as np

from pipeline.baselines import embedding_probs, lexicon_probs, tfidf_probs
from pipeline.lexicon import Lexicon

LEX = """markers:
  - {id: against-state, dimension: speech_risk, category: political_expression, weight: 0.9,
     en: ["against the State"], vi: ["chống Nhà nước"]}
"""


def test_lexicon_probs(tmp_path):
    (tmp_path / "l.yaml").write_text(LEX, encoding="utf-8")
    lex = Lexicon.load(tmp_path / "l.yaml")
    p = lexicon_probs(
        lex, ["propaganda against the State", "tuyên truyền chống Nhà nước", "traffic"], ["en", "vi", "en"]
    )
    assert p.shape == (3, 2)
    assert p[:, 1].tolist() == [0.9, 0.9, 0.0] and (p[:, 0] == 0).all()


def test_tfidf_separates_a_toy_task():
    pos = ["propaganda against the state", "abusing democratic freedoms against the state"] * 5
    neg = ["the act comes into force", "the ministry shall issue forms"] * 5
    y = np.array([[True, True]] * 10 + [[False, False]] * 10)
    (p,) = tfidf_probs(pos + neg, y, [["speech against the state", "forms of the ministry"]])
    assert p[0, 1] > p[1, 1]


def test_single_class_predicts_prior():
    x = np.random.default_rng(0).normal(size=(10, 4))
    y = np.zeros((10, 2), bool)
    y[:5, 0] = True
    (p,) = embedding_probs(x, y, [x[:3]])
    assert (p[:, 1] == 0).all() and p.shape == (3, 2)

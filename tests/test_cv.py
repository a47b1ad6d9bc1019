"""pipeline.cv on a tiny corpus and a tiny random BERT: out-of-fold rows, folds, the published model."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from tiny import tiny_random_base

from pipeline.cv import CVParams, disagreements, law_table, load_cv_params, run
from pipeline.nn.classifier import Classifier
from pipeline.schema import DOCUMENTS_SCHEMA, PROVISIONS_SCHEMA, to_table
from pipeline.scoring.context import article_sha

VAGUE = {
    "en": "Whoever spreads false information against the State or other acts causing serious consequences",
    "vi": "Người nào tuyên truyền chống Nhà nước hoặc hành vi khác gây hậu quả nghiêm trọng",
}
PLAIN = {
    "en": "This Act comes into force on the date of its publication in the Gazette",
    "vi": "Luật này có hiệu lực thi hành kể từ ngày công bố",
}
LEXICON = """markers:
  - {id: false-info, dimension: speech_risk, category: false_information, weight: 0.8,
     en: ["false information"], vi: ["tuyên truyền chống Nhà nước"]}
  - {id: other-acts, dimension: vagueness, category: open_ended_list, weight: 0.6,
     en: ["other acts"], vi: ["hành vi khác"]}
"""
# vi-a-en translates vi-a: the two must share a fold
DOCS = {"vi-a": "vi", "vi-a-en": "en", "vi-b": "vi", "en-c": "en", "en-d": "en", "vi-e": "vi"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cv")
    rows, gold, docs = [], [], []
    for doc, lang in DOCS.items():
        docs.append({"doc_id": doc, "lang": lang, "translation_of": "vi-a" if doc == "vi-a-en" else None})
        for n in range(1, 7):
            text = (VAGUE[lang] if n % 2 else PLAIN[lang]) + f" {n}."
            pid = f"{doc}/art-{n}"
            rows.append(
                {
                    "provision_id": pid,
                    "doc_id": doc,
                    "lang": lang,
                    "level": "article",
                    "article": str(n),
                    "text": text,
                    "char_start": 0,
                    "char_end": len(text),
                }
            )
            lvl = 3 if n % 2 else 0
            gold.append(
                {
                    "provision_id": pid,
                    "doc_id": doc,
                    "lang": lang,
                    "vagueness": lvl,
                    "speech_risk": lvl,
                    "evidence": [],
                    "rationale": "test",
                    "annotator": "test",
                    "date": "2026-01-01",
                    "method": "manual",
                }
            )
    pq.write_table(to_table(rows, PROVISIONS_SCHEMA), tmp / "provisions.parquet")
    pq.write_table(to_table(docs, DOCUMENTS_SCHEMA), tmp / "documents.parquet")
    pq.write_table(to_table([], PROVISIONS_SCHEMA), tmp / "bulk.parquet")  # no bulk gold today
    (tmp / "gold.jsonl").write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gold))
    (tmp / "lexicon.yaml").write_text(LEXICON, encoding="utf-8")
    tiny_random_base(tmp / "base", [r["text"] for r in rows] + ["passage:"])
    params = CVParams(
        folds=3,
        seeds=2,
        max_length=32,
        overlap=4,
        freeze_layers=2,
        epochs=3,
        batch_size=4,
        threads=1,
        precision="fp32",
        min_law_articles=6,
        disagreements=5,
    )
    detail = run(
        [tmp / "provisions.parquet", tmp / "bulk.parquet"],
        tmp / "documents.parquet",
        tmp / "gold.jsonl",
        tmp / "lexicon.yaml",
        tmp / "base",
        tmp / "clf",
        tmp / "cv.parquet",
        tmp / "vectors.parquet",
        tmp / "cv.json",
        params,
    )
    return tmp, detail


def test_every_system_predicts_every_gold_article_once_per_seed_out_of_fold(corpus):
    tmp, _ = corpus
    cv = pq.read_table(tmp / "cv.parquet").to_pandas()
    assert set(cv["system"]) == {"model", "lexicon", "tfidf", "frozen"}
    assert set(cv.loc[cv["system"] == "model", "seed"]) == {-1, 0, 1}
    per = cv.groupby(["system", "seed", "dimension"])["provision_id"].agg(["count", "nunique"])
    assert (per["count"] == 36).all() and (per["nunique"] == 36).all()
    assert cv["prob"].between(0, 1).all()


def test_a_law_and_its_translation_are_in_one_fold_and_every_fold_is_used(corpus):
    tmp, detail = corpus
    cv = pq.read_table(tmp / "cv.parquet").to_pandas()
    by_doc = cv.groupby("doc_id")["fold"].nunique()
    assert (by_doc == 1).all()
    assert cv.loc[cv["doc_id"] == "vi-a", "fold"].iloc[0] == cv.loc[cv["doc_id"] == "vi-a-en", "fold"].iloc[0]
    assert sorted(set(cv["fold"])) == [0, 1, 2] and detail["ensemble_members"] == 6


def test_the_published_classifier_is_calibrated_per_language_and_scores_like_the_cv(corpus):
    tmp, detail = corpus
    clf = Classifier.load(tmp / "clf", device="cpu")
    assert set(clf.calibration.by_lang) == {"en", "vi"}
    assert clf.model_version == detail["model_version"]
    assert "Per law" in (tmp / "clf" / "README.md").read_text(encoding="utf-8")
    out = clf.score_texts([VAGUE["en"], PLAIN["en"]], ["en", "en"])
    assert out[0]["speech_risk"] > out[1]["speech_risk"]


def test_the_train_stage_reuses_the_vectors(corpus):
    from pipeline.train import TrainParams
    from pipeline.train import run as train_run

    tmp, _ = corpus
    splits = {"train": ["vi-a", "vi-a-en", "en-c"], "dev": ["vi-b", "en-d"], "test": ["vi-e"]}
    p = TrainParams(
        splits=splits,
        max_length=32,
        overlap=4,
        freeze_layers=2,
        epochs=2,
        batch_size=4,
        threads=1,
        precision="fp32",
        crosslingual=[],
    )
    m = train_run(
        [tmp / "provisions.parquet"],
        tmp / "gold.jsonl",
        tmp / "lexicon.yaml",
        tmp / "base",
        tmp / "split",
        tmp / "train.json",
        tmp / "train.parquet",
        p,
        tmp / "vectors.parquet",
    )
    assert m["vectors_reused"] is True and m["train_articles"] == 18


def test_law_table_and_disagreements():
    import pandas as pd

    arts = pd.DataFrame(
        {
            "provision_id": ["a/1", "a/2", "b/1"],
            "doc_id": ["a", "a", "b"],
            "lang": "en",
            "vagueness": [2, 0, 0],
            "speech_risk": [0, 0, 3],
            "text": ["x", "y", "z"],
        }
    )
    flag = np.array([[True, False], [True, False], [False, False]])
    prob = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.05]])
    laws = law_table(arts, flag, min_articles=2)
    assert [r["doc_id"] for r in laws] == ["a"]
    assert laws[0]["vagueness"] == {"gold_share": 0.5, "flag_share": 1.0, "gap": 0.5}
    worst = disagreements(arts, prob, flag, k=5)
    assert [(w["provision_id"], w["dimension"]) for w in worst] == [
        ("b/1", "speech_risk"),
        ("a/2", "vagueness"),
    ]


def test_recipe_keys_belong_in_train(tmp_path):
    (tmp_path / "params.yaml").write_text("cv: {epochs: 3}\n")
    with pytest.raises(ValueError, match="belong in section train"):
        load_cv_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("base: {seed: 5}\ntrain: {epochs: 3, lr: 0.1}\ncv: {seeds: 1}\n")
    p = load_cv_params(tmp_path / "params.yaml")
    assert (p.epochs, p.seeds, p.seed) == (3, 1, 5)


def test_an_article_encoded_again_for_its_units_keeps_its_cached_window_vectors(tmp_path):
    """A model fitted on cached vectors stays the same model when only unit states are added."""
    import pandas as pd

    from pipeline import cv
    from pipeline.nn.windows import WindowSpec

    text = "1. Người nào tuyên truyền chống Nhà nước.\n2. Người nào xuyên tạc lịch sử."
    base = tiny_random_base(tmp_path / "base", [text, "passage:"])
    clf = Classifier.from_base(base, WindowSpec(max_length=32, overlap=4), device="cpu")
    arts = pd.DataFrame({"provision_id": ["a", "b"], "text": [text, text + " "], "lang": ["vi", "vi"]})
    kept = np.full((1, clf.model.encoder.config.hidden_size), 7.0, dtype=np.float32)
    cache = {("a", article_sha(text, "vi")): (kept, None, {})}  # vectors of an earlier run, no units
    units = [((0, 41), (42, len(text))), ()]
    data, n, states = cv.vectors_with_cache(clf, arts, cache, units)
    assert n == 2  # a: for its units; b: new
    assert (data.vectors[data.windows_of([0])[0]] == 7.0).all()
    assert not (data.vectors[data.windows_of([1])[0]] == 7.0).any()
    assert set(states[0]) == set(units[0]) and all(v is not None for v in states[0].values())

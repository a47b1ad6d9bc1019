"""pipeline.train on a tiny randomly initialised BERT: a few steps, outputs, determinism, params."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from tiny import tiny_random_base

from pipeline.nn.classifier import Classifier
from pipeline.schema import PROVISIONS_SCHEMA, to_table
from pipeline.train import TrainParams, load_gold, run

VAGUE_EN = "Whoever spreads false information against the State or other acts causing serious consequences"
PLAIN_EN = "This Act comes into force on the date of its publication in the Gazette"
VAGUE_VI = "Người nào tuyên truyền chống Nhà nước hoặc hành vi khác gây hậu quả nghiêm trọng"
PLAIN_VI = "Luật này có hiệu lực thi hành kể từ ngày công bố"
LEXICON = """markers:
  - {id: false-info, dimension: speech_risk, category: false_information, weight: 0.8,
     en: ["false information"], vi: ["tuyên truyền chống Nhà nước"]}
  - {id: other-acts, dimension: vagueness, category: open_ended_list, weight: 0.6,
     en: ["other acts"], vi: ["hành vi khác"]}
"""
SPLITS = {"train": ["en-a", "vi-a"], "dev": ["en-b", "vi-b"], "test": ["en-c", "vi-c"]}


def _corpus(tmp_path):
    rows, gold = [], []
    for doc in [d for ds in SPLITS.values() for d in ds]:
        lang = doc[:2]
        vague, plain = (VAGUE_EN, PLAIN_EN) if lang == "en" else (VAGUE_VI, PLAIN_VI)
        for n in range(1, 5):
            text = (vague if n % 2 else plain) + f" {n}."
            pid = f"{doc}/art-{n}"
            rows.append(
                {
                    "provision_id": pid,
                    "doc_id": doc,
                    "lang": lang,
                    "level": "article",
                    "article": str(n),
                    "heading": f"Article {n}",
                    "text": text,
                    "char_start": 0,
                    "char_end": len(text),
                }
            )
            lvl = 3 if n % 2 else 0
            gold.append(_label(pid, doc, lang, lvl))
    pq.write_table(to_table(rows, PROVISIONS_SCHEMA), tmp_path / "provisions.parquet")
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gold))
    (tmp_path / "lexicon.yaml").write_text(LEXICON, encoding="utf-8")
    tiny_random_base(tmp_path / "base", [r["text"] + " " + r["heading"] for r in rows] + ["passage:"])
    return tmp_path


def _label(pid: str, doc: str, lang: str, level: int, **kw) -> dict:
    """A gold record as overbroad gold build writes it."""
    return {
        "provision_id": pid,
        "doc_id": doc,
        "lang": lang,
        "vagueness": level,
        "speech_risk": level,
        "evidence": [],
        "rationale": "test",
        "annotator": "test",
        "date": "2026-01-01",
        "method": "manual",
        **kw,
    }


def _params(**kw) -> TrainParams:
    base = {
        "seed": 7,
        "splits": SPLITS,
        "crosslingual": [{"train_lang": "en", "test_lang": "vi"}],
        "max_length": 32,
        "overlap": 4,
        "freeze_layers": 1,
        "epochs": 2,
        "batch_size": 4,
        "threads": 1,
    }
    return TrainParams(**{**base, **kw})


def _run(tmp_path, out: str, params: TrainParams) -> dict:
    return run(
        tmp_path / "provisions.parquet",
        tmp_path / "gold.jsonl",
        tmp_path / "lexicon.yaml",
        tmp_path / "base",
        tmp_path / out,
        tmp_path / f"{out}.json",
        tmp_path / f"{out}.parquet",
        params,
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _corpus(tmp_path_factory.mktemp("corpus"))


def test_train_writes_classifier_predictions_and_metrics(corpus):
    m = _run(corpus, "clf", _params())
    assert m["train_articles"] == 8 and m["dev_articles"] == 8 and m["test_articles"] == 8
    assert m["epochs"] == 2 and m["steps"] == 4 and len(m["history"]) == 2
    for f in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "heads.safetensors",
        "calibration.json",
        "overbroad.json",
        "README.md",
    ):
        assert (corpus / "clf" / f).exists(), f
    card = (corpus / "clf" / "README.md").read_text()
    assert "Intended use" in card and f"# overbroad classifier `{m['model_version']}`" in card
    assert "| model | vagueness |" in card  # the metrics tables of the template are filled in
    preds = pq.read_table(corpus / "clf.parquet").to_pandas()
    assert set(preds["system"]) == {"model", "lexicon", "tfidf", "frozen"}
    assert set(preds["setting"]) == {"in_language", "en->vi"}
    assert preds["prob"].between(0, 1).all()
    clf = Classifier.load(corpus / "clf", device="cpu")
    assert clf.model_version == m["model_version"]


def test_training_updates_the_upper_encoder_layers_only(corpus):
    from safetensors.torch import load_file

    _run(corpus, "clf_upd", _params(epochs=1))
    before = load_file(str(corpus / "base" / "model.safetensors"))
    after = load_file(str(corpus / "clf_upd" / "model.safetensors"))
    changed = {k for k in before if not (before[k] == after[k]).all()}
    assert any(k.startswith("encoder.layer.1.") for k in changed)
    assert not any(k.startswith(("encoder.layer.0.", "embeddings.")) for k in changed)


def test_same_seed_same_weights(corpus):
    a = _run(corpus, "clf_a", _params(crosslingual=[], epochs=1))
    b = _run(corpus, "clf_b", _params(crosslingual=[], epochs=1))
    assert a["model_version"] == b["model_version"]


def test_full_finetune_profile_runs(corpus):
    m = _run(
        corpus,
        "clf_gpu",
        _params(
            profile="gpu", gpu_max_length=32, gpu_epochs=1, gpu_batch_size=4, crosslingual=[], baselines=False
        ),
    )
    assert m["profile"] == "gpu" and m["steps"] == 2


# fmt: off
@pytest.mark.parametrize("kw, message", [
    ({"profile": "tpu"}, "profile"),
    ({"epochs": 0}, "epochs"),
    ({"splits": {"train": ["a"], "dev": ["a"], "test": ["b"]}}, "both"),
    ({"splits": {"train": ["a"], "dev": [], "test": ["b"]}}, "dev"),
    ({"crosslingual": [{"train_lang": "en", "test_lang": "en"}]}, "crosslingual"),
    ({"max_length": 8}, "max_length"),
    ({"lr": 2.0}, "lr"),
])
# fmt: on
def test_params_are_validated(kw, message):
    with pytest.raises(ValueError, match=message):
        _params(**kw)


def test_gold_with_bad_level_is_an_error(tmp_path):
    p = tmp_path / "gold.jsonl"
    p.write_text(json.dumps(_label("x/art-1", "x", "en", 0, vagueness=4)) + "\n")
    with pytest.raises(ValueError, match="vagueness expected an integer 0..3, found 4"):
        load_gold(p)


def test_missing_provisions_fail_past_threshold(corpus, tmp_path):
    gold = pd.read_json(corpus / "gold.jsonl", lines=True)
    gold["provision_id"] = gold["provision_id"] + "x"
    gold.to_json(tmp_path / "gold.jsonl", orient="records", lines=True, force_ascii=False)
    with pytest.raises(ValueError, match="not in provisions"):
        run(corpus / "provisions.parquet", tmp_path / "gold.jsonl", None, corpus / "base", tmp_path / "o",
            tmp_path / "o.json", tmp_path / "o.parquet", _params())


def test_saved_classifier_reproduces_the_cached_predictions(corpus):
    """Train predicts through cached lower-layer states; the saved model re-reads the text from scratch."""
    import numpy as np

    _run(corpus, "clf_eq", _params(crosslingual=[], epochs=1))
    preds = pq.read_table(corpus / "clf_eq.parquet").to_pandas()
    model = preds[(preds["system"] == "model") & (preds["dimension"] == "vagueness")]
    model = model.sort_values("provision_id")
    prov = pq.read_table(corpus / "provisions.parquet").to_pandas().set_index("provision_id")
    clf = Classifier.load(corpus / "clf_eq", device="cpu")
    texts = prov.loc[model["provision_id"], "text"].tolist()
    again = clf.score_texts(texts, prov.loc[model["provision_id"], "lang"].tolist())
    assert np.allclose([r["vagueness"] for r in again], model["prob"].to_numpy(), atol=1e-4)
    # callers that pass no languages (bench) get the same scores: no text has the other language's markers
    assert np.allclose([r["vagueness"] for r in clf.score_texts(texts)], model["prob"].to_numpy(), atol=1e-4)


def test_lexicon_features_are_trained_saved_and_optional(corpus):
    import numpy as np

    from pipeline.schema import MODEL_LEXICON_FILE as LEXICON_FILE

    _run(corpus, "clf_lex", _params(crosslingual=[], epochs=2))
    clf = Classifier.load(corpus / "clf_lex", device="cpu")
    assert (corpus / "clf_lex" / LEXICON_FILE).exists()
    assert clf.lexicon_features is not None and clf.model.heads.n_lex == clf.lexicon_features.size
    w = clf.model.heads.lex.weight.detach().numpy()
    assert np.abs(w).max() > 0  # started at zero, learned from the gold labels
    row = clf.score_texts([VAGUE_EN], ["en"])[0]
    assert 0 <= row["vagueness"] <= 1 and isinstance(row["vague_flag"], bool)

    m = _run(corpus, "clf_nolex", _params(crosslingual=[], epochs=1, lexicon_features=False))
    assert not (corpus / "clf_nolex" / LEXICON_FILE).exists()
    plain = Classifier.load(corpus / "clf_nolex", device="cpu")
    assert plain.lexicon_features is None and plain.model.heads.lex is None
    assert plain.model_version == m["model_version"]
    assert len(plain.score_texts([VAGUE_VI, PLAIN_VI], ["vi", "vi"])) == 2

"""pipeline.evaluate: eval.json's shape {system: {dimension: {lang: {metric}}}}, extras, plots."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.evaluate import SYSTEMS, EvaluateParams, run
from pipeline.metrics import METRICS
from pipeline.schema import ALIGNMENTS_SCHEMA, DIMENSIONS, PREDICTIONS_SCHEMA, to_table

SPLITS = {"train": ["a"], "dev": ["b"], "test": ["c", "c-en"]}


def _predictions(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for setting, systems in (("in_language", SYSTEMS), ("en->vi", ("model", "tfidf"))):
        for system in systems:
            for split, docs in (("dev", ["b"]), ("test", ["c", "c-en"])):
                for doc in docs:
                    lang = "en" if doc.endswith("en") or doc == "b" else "vi"
                    if setting != "in_language" and (split == "test") != (lang == "vi"):
                        continue
                    for n in range(12):
                        gold = n % 4
                        for d in DIMENSIONS:
                            p = float(np.clip(gold / 3 + rng.normal(0, 0.2), 0, 1))
                            rows.append(
                                {
                                    "setting": setting,
                                    "system": system,
                                    "provision_id": f"{doc}/art-{n}",
                                    "doc_id": doc,
                                    "lang": lang,
                                    "split": split,
                                    "dimension": d,
                                    "prob": p,
                                    "level": min(3, int(p * 4)) if system == "model" else -1,
                                    "flag": p >= 0.5,
                                    "threshold": 0.5,
                                    "gold": gold,
                                }
                            )
    pq.write_table(pa.Table.from_pylist(rows, schema=PREDICTIONS_SCHEMA), tmp_path / "preds.parquet")
    al = [
        {
            "vi_provision_id": f"c/art-{n}",
            "en_provision_id": f"c-en/art-{n}",
            "vi_doc_id": "c",
            "en_doc_id": "c-en",
            "article": str(n),
            "level": "article",
        }
        for n in range(12)
    ]
    pq.write_table(to_table(al, ALIGNMENTS_SCHEMA), tmp_path / "al.parquet")
    return tmp_path


@pytest.fixture()
def evaluated(tmp_path):
    _predictions(tmp_path)
    params = EvaluateParams(splits=SPLITS)
    counts = run(
        tmp_path / "preds.parquet",
        tmp_path / "eval.json",
        tmp_path / "extra.json",
        tmp_path / "plots",
        params,
        None,
        tmp_path / "al.parquet",
    )
    return tmp_path, counts


def test_eval_json_shape(evaluated):
    tmp_path, counts = evaluated
    table = json.loads((tmp_path / "eval.json").read_text())
    assert set(table) == set(SYSTEMS)
    for system in SYSTEMS:
        assert set(table[system]) == set(DIMENSIONS)
        for d in DIMENSIONS:
            assert set(table[system][d]) == {"en", "vi", "all"}
            for cell in table[system][d].values():
                assert set(METRICS) <= set(cell)
    assert table["model"]["vagueness"]["all"]["n"] == 24


def test_extras_and_plots(evaluated):
    tmp_path, counts = evaluated
    extra = json.loads((tmp_path / "extra.json").read_text())
    assert set(extra["crosslingual"]["en->vi"]) == {"model", "tfidf"}
    assert extra["crosslingual"]["en->vi"]["model"]["vagueness"]["n"] == 12
    assert extra["consistency"]["vagueness"]["n_pairs"] == 12
    assert extra["targets"]["vagueness_en_macro_f1>=0.8"]["value"] is not None
    for f in (
        "reliability.csv",
        "precision_recall.csv",
        "confusion.csv",
        "confusion_model_vagueness.png",
        "reliability_speech_risk.png",
        "precision_recall_vagueness.png",
    ):
        assert (tmp_path / "plots" / f).exists(), f


def test_params_validation():
    with pytest.raises(ValueError, match="split"):
        EvaluateParams(split="train")

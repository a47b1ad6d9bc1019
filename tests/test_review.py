"""Review loop: Label Studio tasks out, validated reviewer judgements in, merged into gold by gold build."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline import gold as gold_mod
from pipeline import review
from pipeline.inputs import check_gold_record
from pipeline.io import read_jsonl
from pipeline.schema import CATEGORIES, DIMENSIONS

FIXTURE = Path(__file__).parent / "fixtures" / "run"
SCORES = FIXTURE / "data" / "scores.parquet"
GOLD = FIXTURE / "corpora" / "annotations" / "gold.jsonl"
ROOT = Path(__file__).resolve().parents[1]
LS_VENV = ROOT / ".venv-ls"


@pytest.fixture(scope="module")
def articles() -> pd.DataFrame:
    return review.read_articles(SCORES)


@pytest.fixture(scope="module")
def known(articles: pd.DataFrame) -> dict[str, review.Known]:
    return {
        p: review.Known(d, lang, t)
        for p, d, lang, t in zip(
            articles["provision_id"], articles["doc_id"], articles["lang"], articles["text"], strict=True
        )
    }


def test_label_config_names_the_two_dimensions_with_levels_0_to_3():
    root = ET.fromstring(review.label_config())
    choices = {c.get("name"): [x.get("value") for x in c.findall("Choice")] for c in root.iter("Choices")}
    assert choices == {"vagueness": ["0", "1", "2", "3"], "speech_risk": ["0", "1", "2", "3"]}
    labels = [x.get("value") for x in root.find("Labels").findall("Label")]
    assert labels == [c for d in DIMENSIONS for c in CATEGORIES[d]]
    assert {t.get("name") for t in root.iter("Text")} == {"heading", "text"}


@pytest.mark.parametrize(
    ("how", "n", "expected"),
    [
        # closest to p = 0.5 on either dimension
        ("uncertain", 2, ["b", "c"]),
        # gold-labelled articles, largest |model - gold| summed over both dimensions first: c 4, d 3, a 1
        ("disagreement", 5, ["c", "d", "a"]),
        ("disagreement", 1, ["c"]),
        # level 3 in the model (a) or in gold (a, c, d)
        ("level3", 5, ["a", "c", "d"]),
    ],
)
def test_select(how: str, n: int, expected: list[str]):
    arts = pd.DataFrame(
        {
            "provision_id": ["a", "b", "c", "d"],
            "doc_id": ["x", "x", "y", "y"],
            "vagueness": [0.95, 0.52, 0.40, 0.10],
            "speech_risk": [0.90, 0.10, 0.20, 0.05],
            "vagueness_level": [3, 2, 1, 0],
            "speech_risk_level": [3, 0, 1, 0],
        }
    )
    gold = {
        "a": {"vagueness": 2, "speech_risk": 3},
        "c": {"vagueness": 3, "speech_risk": 3},
        "d": {"vagueness": 0, "speech_risk": 3},
    }
    assert review.select(arts, gold, review.ExportParams(how, n)) == expected


def test_sample_is_seeded_and_spreads_over_laws(articles: pd.DataFrame):
    p = review.ExportParams("sample", 8, seed=3)
    first, again = review.select(articles, {}, p), review.select(articles, {}, p)
    assert first == again and len(first) == 8 and len(set(first)) == 8
    docs = articles.set_index("provision_id").loc[first, "doc_id"]
    assert docs.nunique() == 8  # one per law before any law gets a second


def test_export_tasks_carry_text_ids_and_model_prediction(articles: pd.DataFrame):
    gold = review.read_gold(GOLD)
    tasks = review.export_tasks(
        pq.read_table(SCORES).to_pandas(),
        {"vn-penal-code-2015": "Bộ luật Hình sự"},
        gold,
        review.ExportParams("level3", 50),
    )
    assert tasks, "the fixture has level-3 articles"
    by_id = articles.set_index("provision_id")
    for t in tasks:
        d = t["data"]
        row = by_id.loc[d["provision_id"]]
        assert d["text"] == row["text"] and d["lang"] == row["lang"] and d["doc_id"] == row["doc_id"]
        res = {r["from_name"]: r for r in t["predictions"][0]["result"] if r["type"] == "choices"}
        assert res["vagueness"]["value"]["choices"] == [str(row["vagueness_level"])]
        assert res["speech_risk"]["value"]["choices"] == [str(row["speech_risk_level"])]
        for r in t["predictions"][0]["result"]:
            if r["type"] == "labels":
                v = r["value"]
                assert d["text"][v["start"] : v["end"]] == v["text"]
    law = {t["data"]["doc_id"]: t["data"]["law"] for t in tasks}
    assert law.get("vn-penal-code-2015") in (None, "Bộ luật Hình sự")


def _ann(pid: str, v="2", s="1", extra=(), **kw):
    result = [
        {"from_name": "vagueness", "to_name": "text", "type": "choices", "value": {"choices": [v]}},
        {"from_name": "speech_risk", "to_name": "text", "type": "choices", "value": {"choices": [s]}},
        *extra,
    ]
    ann = {
        "id": 7,
        "completed_by": {"id": 1, "email": "lawyer@example.org"},
        "result": result,
        "created_at": "2026-12-02T10:00:00Z",
    } | kw
    return {"id": 41, "data": {"provision_id": pid}, "annotations": [ann]}


PID = "vn-penal-code-2015/art-117"


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (_ann("no-such/art-1"), "task 41 (no-such/art-1): unknown provision 'no-such/art-1'"),
        (
            _ann(PID, v="4"),
            "task 41 (vn-penal-code-2015/art-117): vagueness expected one of ['0', '1', '2', '3'], "
            "found ['4']",
        ),
        (_ann(PID, s="high"), "speech_risk expected one of ['0', '1', '2', '3'], found ['high']"),
        (
            {
                "id": 41,
                "data": {"provision_id": PID},
                "annotations": [
                    {
                        "id": 9,
                        "completed_by": 1,
                        "result": [
                            {"from_name": "vagueness", "type": "choices", "value": {"choices": ["1"]}}
                        ],
                    }
                ],
            },
            "task 41 (vn-penal-code-2015/art-117): annotation 9: missing dimension(s) ['speech_risk']",
        ),
        (
            _ann(
                PID,
                extra=[
                    {
                        "from_name": "evidence",
                        "type": "labels",
                        "value": {"start": 5, "end": 99999, "labels": ["undefined_term"]},
                    }
                ],
            ),
            "evidence span 5:99999 is outside the article",
        ),
        (
            _ann(
                PID,
                extra=[
                    {
                        "from_name": "evidence",
                        "type": "labels",
                        "value": {"start": 0, "end": 5, "labels": ["dangerous_words"]},
                    }
                ],
            ),
            "evidence label 'dangerous_words' is not a codebook category",
        ),
        ({"id": 41, "text": "no data"}, "task 41: expected an object with 'data'"),
    ],
)
def test_import_errors_name_the_task(task, message, known):
    with pytest.raises(review.ReviewError) as e:
        review.parse_export([task], known)
    assert message in str(e.value)


def test_import_rejects_a_file_that_is_not_a_task_list(known):
    with pytest.raises(review.ReviewError, match="expected a JSON list of tasks"):
        review.parse_export({"tasks": []}, known)  # type: ignore[arg-type]


def test_import_reads_levels_evidence_reviewer_and_skips_cancelled(known):
    text = known[PID].text
    span = {
        "from_name": "evidence",
        "type": "labels",
        "value": {"start": 0, "end": 10, "text": text[:10], "labels": ["political_expression"]},
    }
    note = {
        "from_name": "rationale",
        "type": "textarea",
        "value": {"text": ["Propaganda against the State."]},
    }
    tasks = [
        _ann(PID, v="3", s="3", extra=[span, note]),
        _ann(PID, was_cancelled=True),
        {"id": 2, "data": {"provision_id": PID}},
    ]
    recs = review.parse_export(tasks, known)
    assert len(recs) == 1
    r = recs[0]
    assert (r["vagueness"], r["speech_risk"], r["annotator"], r["date"], r["method"]) == (
        3,
        3,
        "lawyer@example.org",
        "2026-12-02",
        "human_review",
    )
    assert r["evidence"] == [
        {
            "start": 0,
            "end": 10,
            "text": text[:10],
            "dimension": "speech_risk",
            "category": "political_expression",
        }
    ]
    assert r["rationale"] == "Propaganda against the State."
    assert review.parse_export(tasks, known, reviewer="Dr. X")[0]["annotator"] == "Dr. X"
    check_gold_record(r, "review")


def _gold_rec(pid, v, s, method="manual", annotator="ai-annotator-A"):
    return {
        "provision_id": pid,
        "doc_id": pid.split("/")[0],
        "lang": "vi",
        "vagueness": v,
        "speech_risk": s,
        "evidence": [],
        "rationale": "r",
        "annotator": annotator,
        "date": "2026-11-28",
        "method": method,
    }


def test_gold_build_merges_reviews_keeping_history():
    texts = {"d/art-1": "Điều một.", "d/art-2": "Điều hai.", "d/art-3": "Điều ba."}
    gold = [_gold_rec("d/art-1", 1, 1), _gold_rec("d/art-2", 2, 2, method="adjudicated")]
    reviews = [
        _gold_rec("d/art-1", 2, 3, "human_review", "rev-a") | {"date": "2026-12-02"},
        _gold_rec("d/art-1", 3, 3, "human_review", "rev-b") | {"date": "2026-12-03"},
        _gold_rec("d/art-3", 0, 0, "human_review", "rev-a") | {"date": "2026-12-02"},
    ]
    merged, counts = gold_mod.apply_reviews(gold, reviews, texts)
    by = {r["provision_id"]: r for r in merged}
    assert [r["provision_id"] for r in merged] == ["d/art-1", "d/art-2", "d/art-3"]
    a1 = by["d/art-1"]
    assert (a1["vagueness"], a1["speech_risk"], a1["annotator"], a1["method"]) == (
        3,
        3,
        "rev-b",
        "human_review",
    )
    assert [(h["annotator"], h["vagueness"]) for h in a1["history"]] == [("ai-annotator-A", 1), ("rev-a", 2)]
    assert by["d/art-2"] == gold[1]
    assert by["d/art-3"]["history"] == []
    assert counts == {"reviews": 3, "reviewed_changed": 2, "reviewed_evidence_kept": 2, "reviewed_new": 1}
    gold_mod.validate(merged, texts)


def test_gold_build_refuses_a_review_of_an_unknown_article():
    with pytest.raises(gold_mod.GoldError, match="d/art-9 is not an article"):
        gold_mod.apply_reviews([], [_gold_rec("d/art-9", 0, 0, "human_review")], {"d/art-1": "x"})


def test_review_agreement_vs_gold_and_model():
    reviews = [
        {"provision_id": "a", "lang": "vi", "vagueness": 2, "speech_risk": 3, "annotator": "r"},
        {"provision_id": "b", "lang": "en", "vagueness": 0, "speech_risk": 0, "annotator": "r"},
        {"provision_id": "c", "lang": "en", "vagueness": 1, "speech_risk": 2, "annotator": "r"},
    ]
    gold = {"a": {"vagueness": 2, "speech_risk": 3}, "b": {"vagueness": 1, "speech_risk": 0}}
    model = {
        "a": {"vagueness": 3, "speech_risk": 3},
        "b": {"vagueness": 0, "speech_risk": 0},
        "c": {"vagueness": 1, "speech_risk": 1},
    }
    out = review.review_agreement(reviews, gold, model)
    assert out["n_reviews"] == 3 and out["reviewers"] == ["r"]
    assert out["vs_gold"]["vagueness"]["all"]["n"] == 2
    assert out["vs_gold"]["vagueness"]["all"]["exact_agreement"] == 0.5
    assert out["vs_gold"]["speech_risk"]["vi"]["exact_agreement"] == 1.0
    en = out["vs_model"]["speech_risk"]["en"]
    assert (en["n"], en["exact_agreement"], en["flag_agreement"]) == (2, 0.5, 0.5)
    assert out["vs_gold"]["speech_risk"]["en"]["n"] == 1  # c has no gold label


def test_import_writes_review_file_and_agreement(tmp_path: Path, known):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([_ann(PID, v="3", s="3")]), encoding="utf-8")
    agreement = tmp_path / "agreement.json"
    agreement.write_text(json.dumps({"counts": {"labels": 15}}), encoding="utf-8")
    counts = review.run_import(str(export), str(SCORES), str(GOLD), tmp_path / "review", agreement)
    assert counts == {"reviews": 1}
    (written,) = (tmp_path / "review").glob("*.jsonl")
    assert read_jsonl(written)[0]["provision_id"] == PID
    report = json.loads(agreement.read_text(encoding="utf-8"))
    assert report["counts"] == {"labels": 15}  # the gold build's figures stay
    assert report["review"]["vs_model"]["vagueness"]["all"]["n"] == 1


@pytest.mark.slow
def test_label_studio_round_trip(tmp_path: Path, known):
    """A real Label Studio on 127.0.0.1: create a project, import tasks, annotate, export, import."""
    assert (LS_VENV / "bin" / "label-studio").exists(), "make test installs Label Studio into .venv-ls"
    tasks = review.export_tasks(
        pq.read_table(SCORES).to_pandas(), {}, review.read_gold(GOLD), review.ExportParams("uncertain", 3)
    )
    server = review.Server(LS_VENV, tmp_path / "ls")
    client = server.start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        project = client.create_project("overbroad test", review.label_config())
        assert client.import_tasks(project, tasks) == 3
        stored = client.tasks(project)
        assert sorted(t["data"]["provision_id"] for t in stored) == sorted(
            t["data"]["provision_id"] for t in tasks
        )
        target = stored[0]
        pid = target["data"]["provision_id"]
        client.annotate(
            target["id"],
            [
                {"from_name": "vagueness", "to_name": "text", "type": "choices", "value": {"choices": ["3"]}},
                {
                    "from_name": "speech_risk",
                    "to_name": "text",
                    "type": "choices",
                    "value": {"choices": ["2"]},
                },
                {
                    "from_name": "evidence",
                    "to_name": "text",
                    "type": "labels",
                    "value": {
                        "start": 0,
                        "end": 4,
                        "text": known[pid].text[:4],
                        "labels": ["undefined_term"],
                    },
                },
            ],
        )
        exported = client.export(project)
    finally:
        server.stop()
    assert server.proc is None
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    counts = review.run_import(
        str(path),
        str(SCORES),
        str(GOLD),
        tmp_path / "review",
        tmp_path / "agreement.json",
        reviewer="reviewer@overbroad.local",
    )
    assert counts == {"reviews": 1}
    (written,) = (tmp_path / "review").glob("*.jsonl")
    (rec,) = read_jsonl(written)
    assert (rec["provision_id"], rec["vagueness"], rec["speech_risk"]) == (pid, 3, 2)
    assert rec["evidence"][0]["category"] == "undefined_term" and rec["method"] == "human_review"
    shutil.rmtree(tmp_path / "ls", ignore_errors=True)

"""Reach summary (per-law table, serious risky offences, version summary) and its publication."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from test_score import write_fixture

from pipeline.io import write_parquet
from pipeline.publish import PublishParams, run
from pipeline.reach import ARTICLES_SCHEMA, card_section, reach_table, serious_risky, version_summary
from pipeline.schema import PENALTIES_SCHEMA, REFERENCES_SCHEMA, VERSIONS_SCHEMA, to_table
from pipeline.score import ScoreParams
from pipeline.score import run as score_run


def _art(
    pid: str, kinds: list[str], serious: bool | None, speech: bool | None, reached: list[str]
) -> dict[str, Any]:
    return {
        "provision_id": pid,
        "doc_id": pid.split("/")[0],
        "penalty_kinds": kinds,
        "un_serious_crime": serious,
        "speech_flag": speech,
        "vague_flag": False,
        "reached_from": reached,
        "penalty_max": "7" if serious else None,
    }


ARTS = [
    _art("pc/art-117", ["custodial"], True, True, ["cyber/art-16"]),
    _art("pc/art-331", ["custodial"], True, True, []),
    _art("pc/art-183", ["fine", "non_custodial"], False, True, []),
    _art("pc/art-200", ["custodial"], False, False, []),
    _art("pc/art-9", [], None, True, []),  # sets no penalty: not an offence
    _art("cyber/art-16", [], None, True, []),
]


def test_reach_table() -> None:
    (row,) = reach_table(ARTS)
    assert row == {
        "law": "pc",
        "offences": 4,
        "serious_crimes": 2,
        "reachable": 1,
        "law_named_by_cyber_law": 0,
        "speech_risk_offences": 3,
        "speech_serious": 2,
        "speech_serious_reachable": 1,
        "vague_offences": 0,
        "vague_serious": 0,
    }


def test_reach_table_without_scores_leaves_the_speech_columns_empty() -> None:
    (row,) = reach_table([{**a, "speech_flag": None, "vague_flag": None} for a in ARTS])
    assert (row["offences"], row["speech_risk_offences"], row["speech_serious"]) == (4, None, None)


def test_serious_risky_lists_what_reaches_them() -> None:
    got = [(r["provision_id"], r["reached_from"]) for r in serious_risky(ARTS)]
    assert got == [("pc/art-117", ["cyber/art-16"]), ("pc/art-331", [])]


VERSIONS = [
    {
        "old_doc_id": "old",
        "new_doc_id": "new",
        "article": "117",
        "status": "amended",
        "speech_risk_delta": 0.2,
        "speech_flag_old": False,
        "speech_flag_new": True,
        "penalty_max_old": "12",
        "penalty_max_new": "20",
    },
    {
        "old_doc_id": "old",
        "new_doc_id": "new",
        "article": "118",
        "status": "editorial",
        "speech_risk_delta": 0.0,
        "speech_flag_old": True,
        "speech_flag_new": True,
        "penalty_max_old": "7",
        "penalty_max_new": "7",
    },
    {
        "old_doc_id": "old",
        "new_doc_id": "new",
        "article": "217a",
        "status": "added",
        "speech_risk_delta": None,
        "speech_flag_old": None,
        "speech_flag_new": False,
        "penalty_max_old": None,
        "penalty_max_new": "5",
    },
]


def test_version_summary() -> None:
    (v,) = version_summary(VERSIONS)
    assert v["changed_in_substance"] == ["117", "217a"]
    assert (v["speech_risk_up"], v["speech_risk_down"], v["flag_gained"]) == (1, 0, ["117"])
    assert v["penalty_changed"] == [
        {"article": "117", "old": "12", "new": "20"},
        {"article": "217a", "old": None, "new": "5"},
    ]
    card = card_section(ARTS, [], VERSIONS)
    assert "Art 117 12→20" in card
    assert "Laws that set no penalty of their own: `cyber`." in card


def test_publish_joins_the_link_outputs_and_withholds_their_words(tmp_path: Path) -> None:
    paths = write_fixture(tmp_path)
    score_run(
        paths["provisions"],
        tmp_path / "no-model",
        paths["scores"],
        ScoreParams(scorer="lexicon", attribution="none"),
        paths["lexicon"],
    )
    secret_words = "zebra quartermaster clause"
    pen = [
        {
            "provision_id": "vn-test-law/art-2",
            "doc_id": "vn-test-law",
            "article": "2",
            "penalty_max": "7",
            "penalty_max_text": "tù từ 02 năm đến 07 năm",
            "un_serious_crime": True,
            "budapest_extraditable": True,
            "penalty_kinds": ["custodial"],
            "reached_from": [],
        },
        {
            "provision_id": "secret-act/art-1",
            "doc_id": "secret-act",
            "article": "1",
            "penalty_max": "5",
            "penalty_max_text": secret_words,
            "un_serious_crime": True,
            "penalty_kinds": ["custodial"],
        },
    ]
    refs = [
        {
            "source_id": "secret-act/art-2/cl-1",
            "source_doc_id": "secret-act",
            "target_id": "secret-act/art-1",
            "target_doc_id": "secret-act",
            "target_level": "article",
            "text": secret_words,
            "start": 0,
            "end": 5,
            "resolved": True,
            "exact": True,
        },
        {
            "source_id": "vn-test-law/art-2",
            "source_doc_id": "vn-test-law",
            "target_id": "vn-test-law/art-1",
            "target_doc_id": "vn-test-law",
            "target_level": "article",
            "text": "Điều 1",
            "start": 0,
            "end": 6,
            "resolved": True,
            "exact": True,
        },
    ]
    link = {
        "penalties": tmp_path / "pen.parquet",
        "references": tmp_path / "refs.parquet",
        "versions": tmp_path / "versions.parquet",
    }
    write_parquet(to_table(pen, PENALTIES_SCHEMA), link["penalties"])
    write_parquet(to_table(refs, REFERENCES_SCHEMA), link["references"])
    write_parquet(to_table(VERSIONS, VERSIONS_SCHEMA), link["versions"])
    out = tmp_path / "publish"
    run(
        paths["scores"],
        paths["documents"],
        out,
        PublishParams(version="1.0.0"),
        model_dir=tmp_path / "no-model",
        metrics_path=None,
        gold_path=None,
        link_paths=link,
    )
    arts = {r["provision_id"]: r for r in pq.read_table(out / "articles.parquet").to_pylist()}
    assert pq.read_schema(out / "articles.parquet").equals(ARTICLES_SCHEMA, check_metadata=False)
    assert (arts["vn-test-law/art-2"]["penalty_max"], arts["vn-test-law/art-2"]["un_serious_crime"]) == (
        "7",
        True,
    )
    assert (
        arts["secret-act/art-1"]["penalty_max"] == "5"
        and arts["secret-act/art-1"]["penalty_max_text"] is None
    )
    published_refs = pq.read_table(out / "references.parquet").to_pylist()
    assert [r["text"] for r in published_refs] == [None, "Điều 1"]
    assert pq.read_table(out / "versions.parquet").num_rows == 3
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "## Reach" in card and "`penalty_max`" in card
    assert "max penalty 7 years" in (out / "reports" / "vn-test-law.html").read_text(encoding="utf-8")
    for p in out.rglob("*"):
        if p.is_file() and p.suffix != ".parquet":
            assert secret_words not in p.read_text(encoding="utf-8", errors="replace"), p
    assert secret_words not in json.dumps(
        pq.read_table(out / "articles.parquet").to_pylist(), ensure_ascii=False
    )

"""Diff statuses between two versions of a law, changed clauses, score deltas, declared pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.cli import main as cli_main
from pipeline.io import write_parquet
from pipeline.schema import SCORES_SCHEMA, VERSIONS_SCHEMA, to_table
from pipeline.versions import compare, diff, normalise, run, status_counts, version_pairs

# (old text, new text, new heading, status)
# fmt: off
STATUS_CASES = [
    ("1. Người nào …, thì bị phạt tù từ 01 năm đến 05 năm.", "1. Người nào …, thì bị phạt tù từ 01 năm "
                                                             "đến 05 năm.",
     None, "unchanged"),
    # Editorial: two sources of one text differ in case, spacing, punctuation, tone-mark placement.
    ("Người nào  Tuyên truyền, xuyên tạc", "người nào tuyên truyền xuyên tạc", None, "editorial"),
    ("bảo đảm an toàn, hòa bình", "bảo đảm an toàn; hoà bình", None, "editorial"),
    ("thủy sản", "thuỷ sản", None, "editorial"),
    ("sỹ quan, kỹ thuật", "sĩ quan, kĩ thuật", None, "editorial"),
    # "quy" (rule) is not respelt: only a consonant and y.
    ("quy định", "qui định", None, "amended"),
    # Amended: a word or a number changed.
    ("thì bị phạt tù từ 02 năm đến 07 năm.", "thì bị phạt tù từ 03 năm đến 10 năm.", None, "amended"),
    ("Người nào tàng trữ", "Người nào tàng trữ hoặc phát tán", None, "amended"),
    (None, "1. Người nào …", None, "added"),
    ("1. Người nào …", None, None, "repealed"),
    ("1. Người nào …", "(bị bãi bỏ)", None, "repealed"),
    ("1. Người nào …", "", "(bị bãi bỏ)", "repealed"),
    ("1. Any person …", "(repealed)", None, "repealed"),
    # A number with no words and no repeal note is a gap in the source, not an amendment.
    ("1. Các tội phạm về chức vụ là …", "", "Khái niệm tội phạm về chức vụ", "text_missing"),
]
# fmt: on


@pytest.mark.parametrize(("old", "new", "heading", "status"), STATUS_CASES)
def test_status(old: str | None, new: str | None, heading: str | None, status: str) -> None:
    assert compare(old, new, heading) == status


def test_normalise_keeps_letters_and_diacritics_that_change_the_word() -> None:
    # "tù" (prison) and "tu" (to practise) are different words.
    assert normalise("phạt tù") != normalise("phạt tu")
    assert normalise("Hòa") == normalise("hoà")


def _rows(
    doc: str, arts: dict[str, dict[str, str]], scores: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    rows = []
    for art, units in arts.items():
        body = "\n".join(units.values())
        rows.append(
            {
                "provision_id": f"{doc}/art-{art}",
                "doc_id": doc,
                "level": "article",
                "article": art,
                "heading": f"Tội {art}",
                "text": body,
                "speech_risk": (scores or {}).get(art),
                "vagueness": (scores or {}).get(art),
                "speech_flag": (scores or {}).get(art, 0) >= 0.5,
            }
        )
        for local, text in units.items():
            rows.append(
                {
                    "provision_id": f"{doc}/art-{art}/{local}",
                    "doc_id": doc,
                    "level": "clause",
                    "article": art,
                    "heading": None,
                    "text": text,
                }
            )
    return rows


OLD = _rows(
    "pc-old",
    {
        "117": {
            "cl-1": "1. thì bị phạt tù từ 05 năm đến 12 năm:",
            "cl-2": "2. thì bị phạt tù từ 10 năm đến 20 năm.",
        },
        "118": {"cl-1": "1. Người nào, thì bị phạt tù."},
        "292": {"cl-1": "1. Người nào cung cấp dịch vụ …"},
    },
    {"117": 0.9, "118": 0.2, "292": 0.6},
)
NEW = _rows(
    "pc",
    {
        "117": {
            "cl-1": "1. thì bị phạt tù từ 05 năm đến 12 năm:",
            "cl-2": "2. thì bị phạt tù từ 10 năm đến 20 năm, tù chung thân.",
        },
        "118": {"cl-1": "1. Người nào thì bị phạt tù"},
        "217a": {"cl-1": "1. Người nào tổ chức trò chơi …"},
        "292": {},
    },
    {"117": 0.95, "118": 0.2, "217a": 0.3},
)


def test_diff_rows() -> None:
    rows = {r["article"]: r for r in diff(OLD, NEW, {"pc-old/art-117": "20"}, {"pc/art-117": "life"})}
    assert list(rows) == ["117", "118", "217a", "292"]
    assert rows["117"]["status"] == "amended"
    assert rows["117"]["changed_clauses"] == ["cl-2"]
    assert rows["117"]["speech_risk_delta"] == pytest.approx(0.05)
    assert (rows["117"]["penalty_max_old"], rows["117"]["penalty_max_new"]) == ("20", "life")
    assert rows["118"]["status"] == "editorial"
    assert rows["217a"]["status"] == "added"
    assert rows["217a"]["old_id"] is None and rows["217a"]["speech_risk_delta"] is None
    assert status_counts(rows.values()) == {
        "added": 1,
        "repealed": 0,
        "amended": 1,
        "editorial": 1,
        "unchanged": 0,
        "text_missing": 1,
    }


def test_diff_without_scores_has_no_deltas() -> None:
    old = [{**r, "speech_risk": None, "vagueness": None} for r in OLD]
    rows = diff(old, NEW)
    assert all(r["speech_risk_delta"] is None for r in rows)


def test_version_pairs() -> None:
    entries = [{"id": "pc", "lang": "vi", "previous_version": "pc-old"}, {"id": "pc-old", "lang": "vi"}]
    assert version_pairs(entries) == [("pc-old", "pc")]


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([{"id": "pc", "lang": "vi", "previous_version": "nope"}], "expected a manifest id"),
        ([{"id": "pc", "lang": "vi", "previous_version": "pc"}], "names the entry itself"),
        (
            [{"id": "pc", "lang": "vi", "previous_version": "pc-en"}, {"id": "pc-en", "lang": "en"}],
            "same language",
        ),
    ],
)
def test_version_pairs_errors_name_the_entry(entries: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        version_pairs(entries)


def _scores_file(tmp_path: Path) -> Path:
    rows = []
    for r in OLD + NEW:
        rows.append(
            {
                **r,
                "lang": "vi",
                "clause": r["provision_id"].rsplit("cl-", 1)[1] if r["level"] == "clause" else None,
                "char_start": 0,
                "char_end": len(r["text"]),
                "vagueness": r.get("vagueness") or 0.0,
                "speech_risk": r.get("speech_risk") or 0.0,
                "speech_flag": bool(r.get("speech_flag")),
                "vague_flag": False,
                "evidence": [],
                "model_version": "test",
            }
        )
    path = tmp_path / "scores.parquet"
    write_parquet(to_table(rows, SCORES_SCHEMA), path)
    return path


def test_versions_stage_writes_every_declared_pair_and_skips_absent_ones(tmp_path: Path) -> None:
    scores = _scores_file(tmp_path)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "documents:\n"
        "  - {id: pc, lang: vi, previous_version: pc-old}\n"
        "  - {id: pc-old, lang: vi}\n"
        "  - {id: other, lang: vi, previous_version: pc-old}\n",
        encoding="utf-8",
    )
    counts = run(scores, manifest, tmp_path / "versions.parquet")
    assert counts["pc-old -> pc"]["amended"] == 1
    assert counts["pc-old -> other"] == {"skipped": "no rows of other"}
    table = pq.read_table(tmp_path / "versions.parquet")
    assert table.schema.equals(VERSIONS_SCHEMA, check_metadata=False)
    rows = {r["article"]: r for r in table.to_pylist()}
    assert rows["117"]["speech_risk_delta"] == pytest.approx(0.05)


def test_overbroad_diff_prints_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scores = _scores_file(tmp_path)
    code = cli_main(["diff", "pc-old", "pc", "--scores", str(scores), "--changed"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [(r["article"], r["status"]) for r in lines] == [
        ("117", "amended"),
        ("118", "editorial"),
        ("217a", "added"),
        ("292", "text_missing"),
    ]
    assert lines[0]["changed_clauses"] == ["cl-2"]


def test_overbroad_diff_names_a_missing_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scores = _scores_file(tmp_path)
    assert cli_main(["diff", "pc-old", "nope", "--scores", str(scores)]) == 2
    assert "'nope'" in capsys.readouterr().err

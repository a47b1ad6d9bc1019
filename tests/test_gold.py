"""The gold set: schema, anchoring of quotes, agreement, and validation against the provisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.gold import agreement, anchor, article_texts, build, validate
from pipeline.inputs import GoldError, check_gold_record, read_gold
from pipeline.schema import DIMENSIONS

TEXT = "1. Người nào tuyên truyền  xuyên tạc lịch sử, phủ nhận thành tựu cách mạng.\n2. Người nào …"

# fmt: off
ANCHORS = [
    # quote,                              expected slice of TEXT (None: not found)
    ("xuyên tạc lịch sử",                 "xuyên tạc lịch sử"),
    ("tuyên truyền xuyên tạc",            "tuyên truyền  xuyên tạc"),   # tolerant of doubled spaces
    ("phủ nhận thành tựu",                "phủ nhận thành tựu"),
    ("không có trong văn bản",            None),
]
# fmt: on


@pytest.mark.parametrize(("quote", "expected"), ANCHORS)
def test_anchor(quote: str, expected: str | None) -> None:
    span = anchor(quote, TEXT)
    assert (TEXT[span[0] : span[1]] if span else None) == expected


def _rec(pid: str = "d/art-1", v: int = 2, s: int = 3, **kw) -> dict:
    r = {
        "provision_id": pid,
        "doc_id": pid.split("/")[0],
        "lang": "vi",
        "vagueness": v,
        "speech_risk": s,
        "evidence": [
            {"quote": "xuyên tạc lịch sử", "dimension": "speech_risk", "category": "protected_state_interest"}
        ],
        "rationale": "r",
        "annotator": "a",
        "date": "2026-11-28",
        "method": "manual",
    }
    r.update(kw)
    return r


# fmt: off
BAD_RECORDS = [
    (_rec(v=4),                                  "vagueness expected an integer 0..3"),
    (_rec(s="2"),                                "speech_risk expected an integer 0..3"),
    (_rec(lang="fr"),                            "lang expected one of"),
    (_rec(pid="other/art-1", doc_id="d"),        "is not an article of"),
    (_rec(method="lexicon"),                     "method expected one of"),
    (_rec(evidence=[{"quote": "x", "dimension": "vagueness", "category": "false_information"}]),
                                                 "is not a vagueness category"),
]
# fmt: on


@pytest.mark.parametrize(("record", "message"), BAD_RECORDS)
def test_bad_records_are_named(record: dict, message: str) -> None:
    with pytest.raises(GoldError, match=message):
        check_gold_record(record, "pass1/x.jsonl: record 1")


def test_build_anchors_and_adjudicates() -> None:
    adj = [
        {"provision_id": "d/art-1", "vagueness": 3, "speech_risk": 3, "reason": "stacked", "adjudicator": "x"}
    ]
    gold, counts = build([_rec()], adj, {"d/art-1": TEXT})
    (g,) = gold
    assert (g["vagueness"], g["speech_risk"], g["method"]) == (3, 3, "adjudicated")
    assert g["first_pass"] == {"vagueness": 2, "speech_risk": 3}
    ev = g["evidence"][0]
    assert TEXT[ev["start"] : ev["end"]] == ev["text"] == "xuyên tạc lịch sử"
    assert counts["adjudicated_changed"] == 1
    validate(gold, {"d/art-1": TEXT})


def test_a_later_adjudication_holds_and_the_earlier_stays_on_the_record() -> None:
    adj = [
        {
            "provision_id": "d/art-1",
            "vagueness": 3,
            "speech_risk": 3,
            "reason": "v1",
            "adjudicator": "x",
            "date": "2026-11-28",
        },
        {
            "provision_id": "d/art-1",
            "vagueness": 2,
            "speech_risk": 3,
            "reason": "codebook 1.1 rule R",
            "adjudicator": "y",
            "date": "2026-12-01",
            "codebook": "1.1",
        },
    ]
    (g,), counts = build([_rec()], adj, {"d/art-1": TEXT})
    assert (g["vagueness"], g["adjudicator"], g["codebook"]) == (2, "y", "1.1")
    assert g["earlier_adjudications"] == [
        {"vagueness": 3, "speech_risk": 3, "reason": "v1", "adjudicator": "x", "date": "2026-11-28"}
    ]
    assert g["first_pass"] == {"vagueness": 2, "speech_risk": 3} and counts["adjudicated_changed"] == 0


def test_validate_rejects_unknown_ids_and_bad_offsets() -> None:
    gold, _ = build([_rec()], [], {"d/art-1": TEXT})
    with pytest.raises(GoldError, match="is not an article"):
        validate(gold, {"d/art-2": TEXT})
    gold[0]["evidence"][0]["start"] += 1
    with pytest.raises(GoldError, match="does not slice"):
        validate(gold, {"d/art-1": TEXT})


def test_agreement_perfect_and_opposite() -> None:
    first = [_rec(f"d/art-{i}", v=i % 4, s=(i * 3) % 4) for i in range(12)]
    same = agreement(first, first)
    assert same["vagueness"]["all"]["kappa_quadratic"] == 1.0 and same["disagreements"] == []
    flipped = [dict(r, vagueness=3 - r["vagueness"]) for r in first]
    assert agreement(first, flipped)["vagueness"]["all"]["kappa_quadratic"] < 0


# The committed gold set, against the provisions as the segmenter cuts the bundled corpus today.


def test_committed_gold_set_is_valid(root: Path, bundled: dict[str, Path]) -> None:
    path = root / "corpora/annotations/gold.jsonl"
    gold = [g.to_dict() for g in read_gold(path)]
    validate(gold, article_texts(bundled["provisions"]), str(path))
    langs = [g["lang"] for g in gold]
    assert len(gold) >= 1000 and langs.count("vi") >= 400 and langs.count("en") >= 400
    # A flagged label (level >= 2) should point at the words that carry it.
    flagged = [(g, d) for g in gold for d in DIMENSIONS if g[d] >= 2]
    bare = [g["provision_id"] for g, d in flagged if not any(e["dimension"] == d for e in g["evidence"])]
    assert len(bare) <= 0.03 * len(flagged), bare


def test_bulk_labels_are_anchored_in_the_archive_segmentation(tmp_path: Path) -> None:
    from test_bulk import PHAP_DIEN_TEXT, make_archive

    from pipeline.gold import bulk_article_texts

    archive = make_archive(tmp_path / "vn-test-bulk.tar.xz", {"an-ninh__an-ninh-mang.txt": PHAP_DIEN_TEXT})
    doc = "vn-test-bulk.an-ninh__an-ninh-mang"
    texts = bulk_article_texts([archive], {doc, "vn-penal-code-2015"})
    assert sorted(texts) == [f"{doc}/art-1.11.LQ.1", f"{doc}/art-1.11.LQ.2", f"{doc}/art-1.11.NĐ.1.1"]
    assert "Tuyên truyền chống Nhà nước" in texts[f"{doc}/art-1.11.LQ.2"]
    with pytest.raises(GoldError, match="documents not in the archive"):
        bulk_article_texts([archive], {"vn-test-bulk.missing"})

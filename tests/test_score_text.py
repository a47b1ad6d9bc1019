"""pipeline.score_text: the JSON Lines contract; a malformed line is a one-line error, exit 2, no output."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from tiny import tiny_random_base

from pipeline.nn.classifier import Classifier
from pipeline.nn.windows import WindowSpec
from pipeline.score_text import InputError, parse_lines, run

LEX = """markers:
  - {id: against-state, dimension: speech_risk, category: political_expression, weight: 0.9,
     en: ["against the State"], vi: ["chống Nhà nước"]}
"""
GOOD = [
    {"id": "a", "text": "Propaganda against the State is punished.", "lang": "en"},
    {"id": 2, "text": "Tội tuyên truyền chống Nhà nước", "lang": "vi"},
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("st")
    base = tiny_random_base(tmp / "base", [g["text"] for g in GOOD])
    Classifier.from_base(base, WindowSpec(max_length=32, overlap=4, prefix=""), device="cpu").save(
        tmp / "clf"
    )
    (tmp / "lex.yaml").write_text(LEX, encoding="utf-8")
    return tmp


def _lines(recs):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)


def test_scores_and_lexicon_evidence(model_dir):
    out = io.StringIO()
    run(io.StringIO(_lines(GOOD)), out, model_dir / "clf", model_dir / "lex.yaml", attribution="occlusion")
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["a", 2]
    for r, g in zip(rows, GOOD, strict=True):
        assert set(r) == {
            "id",
            "vagueness",
            "speech_risk",
            "vagueness_level",
            "speech_risk_level",
            "vague_flag",
            "speech_flag",
            "evidence",
            "model_version",
        }
        assert 0 <= r["vagueness"] <= 1 and r["vagueness_level"] in range(4)
        lex = [e for e in r["evidence"] if e["source"] == "lexicon"]
        assert lex and g["text"][lex[0]["start"] : lex[0]["end"]] == lex[0]["text"]


# fmt: off
@pytest.mark.parametrize("bad, message", [
    ('{"id": 1, "text": "x", "lang": "en"}\n{not json\n', "stdin:2: malformed JSON"),
    ('{"id": 1, "text": "x"}\n', "stdin:1: missing field"),
    ('[1, 2]\n', "stdin:1: expected a JSON object"),
    ('{"id": 1, "text": "x", "lang": "fr"}\n', "stdin:1: 'lang'"),
    ('{"id": 1, "text": 5, "lang": "en"}\n', "stdin:1: 'text'"),
])
# fmt: on
def test_malformed_lines_name_the_line(bad, message):
    with pytest.raises(InputError, match=message):
        parse_lines(io.StringIO(bad))


def test_blank_lines_skipped_and_nfc():
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Điều")
    recs = parse_lines(["\n", json.dumps({"id": 1, "text": nfd, "lang": "vi"})])
    assert recs[0]["text"] == unicodedata.normalize("NFC", "Điều")


def test_cli_malformed_line_exit_2_nothing_written(model_dir):
    bad = _lines(GOOD) + "{oops\n"
    p = subprocess.run([sys.executable, "-m", "pipeline.cli", "score-text", "--model", str(model_dir / "clf"),
                        "--lexicon", str(model_dir / "lex.yaml")], input=bad, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.strip().count("\n") == 0 and "stdin:3" in p.stderr


def test_on_error_skip_names_the_bad_line_and_scores_the_others(model_dir):
    batch = _lines(GOOD[:1]) + "{oops\n" + _lines(GOOD[1:])
    out, err = io.StringIO(), io.StringIO()
    counts = run(
        io.StringIO(batch), out, model_dir / "clf", model_dir / "lex.yaml", on_error="skip", stderr=err
    )
    assert counts == {"records": 2, "skipped": 1}
    assert [json.loads(x)["id"] for x in out.getvalue().splitlines()] == ["a", 2]
    assert err.getvalue() == (
        "overbroad score-text: stdin:2: malformed JSON (Expecting property name enclosed in double quotes); "
        "skipped\n"
    )

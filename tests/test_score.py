"""score stage: scores, article aggregation, evidence invariants, atomic writes. No model, no download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.io import write_parquet
from pipeline.lexicon import Lexicon
from pipeline.schema import PROVISIONS_SCHEMA, SCORES_SCHEMA, Document, to_table, validate_frame
from pipeline.score import (
    LexiconScorer,
    ScoreParams,
    aggregate_articles,
    batches_by_length,
    merge_intervals,
    occlusion_evidence,
    run,
    score_provisions,
)
from pipeline.segment import SegmentParams, segment_document

LEXICON_YAML = """\
markers:
  - {id: social-order, dimension: vagueness, category: undefined_term, weight: 0.6,
     vi: ["trật tự, an toàn xã hội"], en: ["social order"]}
  - {id: serious, dimension: vagueness, category: evaluative_qualifier, weight: 0.6,
     vi: ["hậu quả nghiêm trọng"], en: ["serious consequences"]}
  - {id: propaganda, dimension: speech_risk, category: political_expression, weight: 0.9,
     vi: ["tuyên truyền chống Nhà nước"], en: ["propaganda against the State"]}
  - {id: false-info, dimension: speech_risk, category: false_information, weight: 0.7,
     vi: ["thông tin sai sự thật"], en: ["false information"]}
"""

VI_TEXT = """\
LUẬT THỬ NGHIỆM
Điều 1. Phạm vi điều chỉnh
Luật này quy định về bảo đảm trật tự, an toàn xã hội trên không gian mạng.
Điều 2. Hành vi bị nghiêm cấm
1. Tuyên truyền chống Nhà nước trên không gian mạng.
2. Đưa thông tin sai sự thật gây hậu quả nghiêm trọng, bao gồm:
a) Thông tin xuyên tạc;
b) Thông tin gây hoang mang trong nhân dân.
Điều 3. Hiệu lực thi hành
Luật này có hiệu lực từ ngày 01 tháng 01 năm 2030.
"""

# A document whose licence forbids redistribution: its words must never be published.
SECRET_TEXT = """\
SECRET ACT
Article 1
Whoever spreads false information about the zebra quartermaster shall be punished.
Article 2
1. Whoever publishes propaganda against the State in the lighthouse almanac commits an offence.
2. The minister may define further offences by order.
"""

MANIFEST_YAML = """\
documents:
  - {id: vn-test-law, path: raw/vi/vn-test-law.txt, lang: vi, title: "Luật thử nghiệm",
     jurisdiction: "Viet Nam", year: 2030, kind: law, official: true, licence: "public domain (test)",
     redistribute_text: true,
     source: "tests"}
  - {id: secret-act, path: raw/en/secret-act.txt, lang: en, title: "Secret Act", jurisdiction: "Nowhere",
     year: 2031, kind: law, official: true, licence: "all rights reserved (test)", redistribute_text: false,
     source: "tests"}
"""


def make_doc(doc_id: str, lang: str, text: str, style: str, redistribute: bool = True) -> Document:
    return Document.from_text(
        doc_id,
        lang,
        text,
        style,
        year=2030,
        kind="law",
        official=True,
        licence="test",
        redistribute_text=redistribute,
        source="tests",
        path=f"{doc_id}.txt",
    )


def fixture_provisions() -> list[dict[str, Any]]:
    rows = [
        p.to_dict() for p in segment_document(make_doc("vn-test-law", "vi", VI_TEXT, "vn"), SegmentParams())
    ]
    rows += [
        p.to_dict()
        for p in segment_document(make_doc("secret-act", "en", SECRET_TEXT, "treaty", False), SegmentParams())
    ]
    return rows


def write_fixture(tmp: Path) -> dict[str, Path]:
    """Lexicon, manifest and provisions of the two fixture laws under ``tmp``."""
    paths = {
        "lexicon": tmp / "lexicon.yaml",
        "manifest": tmp / "manifest.yaml",
        "provisions": tmp / "provisions.parquet",
        "scores": tmp / "scores.parquet",
    }
    paths["lexicon"].write_text(LEXICON_YAML, encoding="utf-8")
    paths["manifest"].write_text(MANIFEST_YAML, encoding="utf-8")
    write_parquet(to_table(fixture_provisions(), PROVISIONS_SCHEMA), paths["provisions"])
    return paths


@pytest.fixture
def lexicon(tmp_path: Path) -> Lexicon:
    p = tmp_path / "lexicon.yaml"
    p.write_text(LEXICON_YAML, encoding="utf-8")
    return Lexicon.load(p)


class ExplodingScorer(LexiconScorer):
    """Fails on its n-th batch: a score run interrupted midway."""

    def __init__(self, lexicon: Lexicon, fail_at: int, exc: type[BaseException] = RuntimeError):
        super().__init__(lexicon)
        self.calls, self.fail_at, self.exc = 0, fail_at, exc

    def score_texts(self, texts, langs):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls >= self.fail_at:
            raise self.exc("interrupted")
        return super().score_texts(texts, langs)


def test_fixture_segments_into_every_level() -> None:
    levels = {(r["doc_id"], r["level"]) for r in fixture_provisions()}
    assert ("vn-test-law", "point") in levels and ("secret-act", "clause") in levels


def test_scores_match_schema_and_cover_every_provision(tmp_path: Path) -> None:
    paths = write_fixture(tmp_path)
    counts = run(
        paths["provisions"],
        tmp_path / "no-model",
        paths["scores"],
        ScoreParams(scorer="lexicon", batch_size=2),
        paths["lexicon"],
    )
    table = pq.read_table(paths["scores"])
    validate_frame(table, SCORES_SCHEMA, "scores")
    assert table.schema.equals(SCORES_SCHEMA)
    assert counts["provisions"] == table.num_rows == len(fixture_provisions())
    assert set(table.column("model_version").to_pylist()) == {counts["model_version"]}


def test_every_evidence_span_slices_to_its_text(tmp_path: Path, lexicon: Lexicon) -> None:
    scorer = LexiconScorer(lexicon)
    rows = score_provisions(
        fixture_provisions(),
        scorer,
        lexicon,
        ScoreParams(attribution="occlusion", attribution_min_score=0.1, attribution_min_drop=0.01),
    )
    n = 0
    for r in rows:
        for e in r["evidence"]:
            assert r["text"][e["start"] : e["end"]] == e["text"], (r["provision_id"], e)
            assert e["source"] in ("lexicon", "model")
            n += 1
    assert n > 0
    assert any(e["source"] == "model" for r in rows for e in r["evidence"])


def test_article_covers_its_units(lexicon: Lexicon) -> None:
    rows = score_provisions(
        fixture_provisions(), LexiconScorer(lexicon), lexicon, ScoreParams(attribution="none")
    )
    by_id = {r["provision_id"]: r for r in rows}
    art = by_id["vn-test-law/art-2"]
    units = [r for r in rows if r["parent_id"] and r["provision_id"].startswith("vn-test-law/art-2/")]
    assert units
    for d in ("vagueness", "speech_risk"):
        assert art[d] == max([art[d]] + [u[d] for u in units])
        assert art[f"{d}_level"] >= max(u[f"{d}_level"] for u in units)
    # clause 1's marker appears in the article's evidence, shifted into the article's text
    assert any(e["category"] == "political_expression" for e in art["evidence"])
    assert by_id["vn-test-law/art-2/cl-1"]["speech_flag"] is True
    assert by_id["vn-test-law/art-3"]["vague_flag"] is False


# fmt: off
MERGE_CASES = [
    ([], []),
    ([(0, 3)], [(0, 3)]),
    ([(5, 8), (0, 3)], [(0, 3), (5, 8)]),
    ([(0, 3), (4, 8)], [(0, 8)]),          # separated by one space: one span
    ([(0, 5), (2, 4)], [(0, 5)]),
]
# fmt: on


@pytest.mark.parametrize("spans, expected", MERGE_CASES)
def test_merge_intervals(spans: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    assert merge_intervals(spans) == expected


def test_batches_by_length_cover_every_index_once() -> None:
    texts = ["a" * n for n in (5, 1, 9, 3, 7)]
    batches = batches_by_length(texts, 2)
    assert sorted(i for b in batches for i in b) == list(range(5))
    assert batches[0] == [2, 4]


def test_occlusion_finds_the_marker(lexicon: Lexicon) -> None:
    text = "Whoever publishes propaganda against the State commits an offence."
    scorer = LexiconScorer(lexicon)
    base = scorer.score_texts([text], ["en"])[0]
    spans = occlusion_evidence(
        scorer, text, "en", base, ScoreParams(attribution_window=2), lexicon.evidence(text, "en")
    )
    assert spans and all(text[e.start : e.end] == e.text for e in spans)
    assert any(e.dimension == "speech_risk" and e.category == "political_expression" for e in spans)


def test_empty_and_naughty_text(lexicon: Lexicon) -> None:
    rows = fixture_provisions()[:1]
    rows = [
        dict(rows[0], text=t, provision_id=f"x/art-{i}", article=str(i))
        for i, t in enumerate(["", "   ", "\u0000 ", "<script>alert(1)</script>", "Ṱ̺̺̕o͞ ̷i̲̬͇̪͙n̝̗͕v̟̜̘̦͟o̶̙̰̠kè"])
    ]
    out = score_provisions(rows, LexiconScorer(lexicon), lexicon, ScoreParams(attribution_min_score=0.0))
    assert len(out) == len(rows) and all(0.0 <= r["vagueness"] <= 1.0 for r in out)


def test_aggregate_keeps_units_unchanged() -> None:
    art = {
        "doc_id": "d",
        "article": "1",
        "level": "article",
        "provision_id": "d/art-1",
        "text": "ab cd",
        "char_start": 10,
        "vagueness": 0.1,
        "speech_risk": 0.2,
        "vagueness_level": 0,
        "speech_risk_level": 0,
        "evidence": [],
    }
    unit = {
        **art,
        "level": "clause",
        "provision_id": "d/art-1/cl-1",
        "text": "cd",
        "char_start": 13,
        "vagueness": 0.9,
        "vagueness_level": 3,
        "evidence": [
            {
                "start": 0,
                "end": 2,
                "text": "cd",
                "dimension": "vagueness",
                "category": "undefined_term",
                "source": "lexicon",
            }
        ],
    }
    a, u = aggregate_articles([art, unit])
    assert (a["vagueness"], a["vagueness_level"], a["speech_risk"]) == (0.9, 3, 0.2)
    assert a["evidence"][0]["start"] == 3 and a["text"][3:5] == "cd"
    assert u == unit


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_interrupted_run_leaves_previous_outputs_intact(
    tmp_path: Path, lexicon: Lexicon, exc: type[BaseException]
) -> None:
    paths = write_fixture(tmp_path)
    params = ScoreParams(scorer="lexicon", batch_size=2, attribution="none")
    run(paths["provisions"], tmp_path, paths["scores"], params, paths["lexicon"])
    before = paths["scores"].read_bytes()
    with pytest.raises(exc):
        run(
            paths["provisions"],
            tmp_path,
            paths["scores"],
            params,
            paths["lexicon"],
            scorer=ExplodingScorer(lexicon, fail_at=3, exc=exc),
        )
    assert paths["scores"].read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".scores.parquet")]


def test_params_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="score.batch_size"):
        ScoreParams(batch_size=0)
    with pytest.raises(ValueError, match="score.levels"):
        ScoreParams(levels=("chapter",))
    with pytest.raises(ValueError, match="score.scorer"):
        ScoreParams(scorer="oracle")


def tiny_classifier(path: Path) -> Path:
    """A tiny randomly initialised BERT classifier saved like models/classifier (no download)."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from pipeline.model import Classifier, WindowSpec

    torch.manual_seed(0)
    base = path / "base"
    words = sorted({w.lower() for w in (VI_TEXT + SECRET_TEXT).split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    base.mkdir(parents=True)
    (base / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(base / "vocab.txt")).save_pretrained(str(base))
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
    )
    BertModel(cfg).save_pretrained(str(base))
    clf = Classifier.from_base(base, WindowSpec(max_length=32, overlap=4, prefix=""), device="cpu")
    clf.save(path / "classifier")
    return path / "classifier"


def test_model_scorer_with_a_tiny_random_model(tmp_path: Path) -> None:
    paths = write_fixture(tmp_path)
    model_dir = tiny_classifier(tmp_path)
    params = ScoreParams(batch_size=4, device="cpu", attribution_min_score=0.0, attribution_min_drop=0.0)
    counts = run(paths["provisions"], model_dir, paths["scores"], params, paths["lexicon"])
    rows = pq.read_table(paths["scores"]).to_pylist()
    assert counts["provisions"] == len(rows) and len({r["model_version"] for r in rows}) == 1
    assert all(0.0 <= r["vagueness"] <= 1.0 and 0 <= r["speech_risk_level"] <= 3 for r in rows)
    assert all(r["text"][e["start"] : e["end"]] == e["text"] for r in rows for e in r["evidence"])
    assert any(e["source"] == "model" for r in rows for e in r["evidence"])

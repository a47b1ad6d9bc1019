"""score stage: the table it writes, atomic writes, params; and the shared fixture laws (two documents,
one withheld) that the scoring, publish, report and bulk tests use. No download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.io import write_parquet
from pipeline.lexicon import Lexicon
from pipeline.schema import (
    DOCUMENTS_SCHEMA,
    PROVISIONS_SCHEMA,
    SCORES_SCHEMA,
    Document,
    to_table,
    validate_frame,
)
from pipeline.score import ScoreParams, run
from pipeline.scoring import LexiconScorer
from pipeline.segmenter import SegmentOptions, segment_document

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


def make_doc(
    doc_id: str, lang: str, text: str, style: str, redistribute: bool = True, **meta: Any
) -> Document:
    fields: dict[str, Any] = {
        "year": 2030,
        "kind": "law",
        "official": True,
        "licence": "test",
        "source": "tests",
        "path": f"{doc_id}.txt",
    }
    return Document.from_text(doc_id, lang, text, style, redistribute_text=redistribute, **{**fields, **meta})


def fixture_documents() -> list[Document]:
    return [
        make_doc("vn-test-law", "vi", VI_TEXT, "vn", title="Luật thử nghiệm", licence="public domain (test)"),
        make_doc(
            "secret-act",
            "en",
            SECRET_TEXT,
            "treaty",
            False,
            title="Secret Act",
            licence="all rights reserved (test)",
        ),
    ]


def fixture_provisions() -> list[dict[str, Any]]:
    return [p.to_dict() for doc in fixture_documents() for p in segment_document(doc, SegmentOptions())]


def write_fixture(tmp: Path) -> dict[str, Path]:
    """Lexicon, documents and provisions of the two fixture laws under ``tmp``."""
    paths = {
        "lexicon": tmp / "lexicon.yaml",
        "documents": tmp / "documents.parquet",
        "provisions": tmp / "provisions.parquet",
        "scores": tmp / "scores.parquet",
    }
    paths["lexicon"].write_text(LEXICON_YAML, encoding="utf-8")
    write_parquet(to_table([d.__dict__ for d in fixture_documents()], DOCUMENTS_SCHEMA), paths["documents"])
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
        ScoreParams(scorer="lexicon", batch_size=2, attribution="occlusion"),
        paths["lexicon"],
    )
    table = pq.read_table(paths["scores"])
    validate_frame(table, SCORES_SCHEMA, "scores")
    assert table.schema.equals(SCORES_SCHEMA)
    assert counts["provisions"] == table.num_rows == len(fixture_provisions())
    assert set(table.column("model_version").to_pylist()) == {counts["model_version"]}


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
    with pytest.raises(
        ValueError, match="score.attribution: expected occlusion or none with scorer: lexicon"
    ):
        ScoreParams(scorer="lexicon", attribution="tokens")
    with pytest.raises(
        ValueError, match="score.attribution: expected occlusion or none with units: separate"
    ):
        ScoreParams(units="separate")
    with pytest.raises(ValueError, match="score.attribution: expected one of"):
        ScoreParams(attribution="gradients")


def tiny_classifier(path: Path) -> Path:
    """A tiny randomly initialised BERT classifier saved like models/classifier (no download)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from pipeline.nn.classifier import Classifier
    from pipeline.nn.windows import WindowSpec

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
    params = ScoreParams(batch_size=4, device="cpu", attribution_min_score=0.0, attribution_min_z=0.0)
    counts = run(paths["provisions"], model_dir, paths["scores"], params, paths["lexicon"])
    rows = pq.read_table(paths["scores"]).to_pylist()
    assert counts["provisions"] == len(rows) and len({r["model_version"] for r in rows}) == 1
    assert all(0.0 <= r["vagueness"] <= 1.0 and 0 <= r["speech_risk_level"] <= 3 for r in rows)
    assert all(r["text"][e["start"] : e["end"]] == e["text"] for r in rows for e in r["evidence"])
    assert any(e["source"] == "model" for r in rows for e in r["evidence"])

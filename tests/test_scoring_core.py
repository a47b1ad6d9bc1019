"""pipeline.scoring.core: one core behind every entry point (the score stage, score-text, the spaCy
component, bulk scoring), article aggregation, evidence invariants."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import spacy
import torch
from test_score import LEXICON_YAML, fixture_provisions, make_doc
from tiny import tiny_random_base

import pipeline.spacy_component  # noqa: F401  (registers the factory)
from pipeline import bulk, score, score_text
from pipeline.io import write_parquet
from pipeline.lang import clean_text
from pipeline.lexicon import Lexicon
from pipeline.nn.classifier import Classifier
from pipeline.nn.windows import WindowSpec
from pipeline.schema import DIMENSIONS, PROVISIONS_SCHEMA, to_table
from pipeline.scoring import LexiconScorer, ModelScorer, ScoringOptions, score_provisions, score_texts
from pipeline.scoring.core import aggregate_articles, batches_by_length
from pipeline.segmenter import SegmentOptions, segment_document

# Three articles without clauses or points: every entry point sees the same article texts.
LEAF_LAW = clean_text(
    "LUẬT THỬ NGHIỆM\n"
    "Điều 1. Tuyên truyền\n"
    "Người nào tuyên truyền chống Nhà nước trên không gian mạng thì bị phạt tù từ 5 năm đến 12 năm.\n"
    "Điều 2. Thông tin sai sự thật\n"
    "Người nào đưa thông tin sai sự thật gây hậu quả nghiêm trọng cho trật tự, an toàn xã hội thì bị phạt.\n"
    "Điều 3. Hiệu lực thi hành\n"
    "Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2030.\n",
    "vi",
)
COMPARED = ("vagueness", "speech_risk", "vagueness_level", "speech_risk_level", "vague_flag", "speech_flag")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("core")
    lexicon = tmp / "lexicon.yaml"
    lexicon.write_text(LEXICON_YAML, encoding="utf-8")
    base = tiny_random_base(tmp / "base", [LEAF_LAW, "passage:"])
    clf = Classifier.from_base(base, WindowSpec(max_length=24, overlap=4, prefix="passage: "), device="cpu")
    with torch.no_grad():  # high cumulative logits: both dimensions scored hot, so model spans exist
        clf.model.heads.bias.copy_(torch.tensor([[5.0, 2.0, -1.0]] * len(DIMENSIONS)))
        clf.model.heads.score.weight.normal_(0, 3.0, generator=torch.Generator().manual_seed(0))
    clf.save(tmp / "clf")
    return {"tmp": tmp, "lexicon": lexicon, "model": tmp / "clf"}


def _stage(setup: dict[str, Path]) -> list[dict]:
    doc = make_doc("vn-leaf-law", "vi", LEAF_LAW, "vn")
    rows = [p.to_dict() for p in segment_document(doc, SegmentOptions())]
    write_parquet(to_table(rows, PROVISIONS_SCHEMA), setup["tmp"] / "provisions.parquet")
    params = score.ScoreParams(device="cpu")
    score.run(
        setup["tmp"] / "provisions.parquet",
        setup["model"],
        setup["tmp"] / "scores.parquet",
        params,
        setup["lexicon"],
    )
    return pq.read_table(setup["tmp"] / "scores.parquet").to_pylist()


def _score_text(setup: dict[str, Path], texts: list[str]) -> list[dict]:
    stdin = io.StringIO(
        "".join(json.dumps({"id": i, "text": t, "lang": "vi"}) + "\n" for i, t in enumerate(texts))
    )
    out = io.StringIO()
    score_text.run(stdin, out, setup["model"], setup["lexicon"])
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _spacy(setup: dict[str, Path], texts: list[str]) -> list[dict]:
    nlp = spacy.blank("vi", config={"nlp": {"tokenizer": {"use_pyvi": False}}})
    nlp.add_pipe(
        "overbroad_scorer",
        config={"model": str(setup["model"]), "lexicon": str(setup["lexicon"]), "device": "cpu"},
    )
    out = []
    for doc in nlp.pipe(texts):
        out.append({k: getattr(doc._, k) for k in COMPARED} | {"evidence": doc._.evidence})
    return out


def _bulk(setup: dict[str, Path]) -> list[dict]:
    archive = setup["tmp"] / "vn-leaf-bulk.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        for name, data in (
            ("leaf-law.txt", LEAF_LAW.encode()),
            ("MANIFEST.json", json.dumps([{"file": "leaf-law.txt", "title": "leaf"}]).encode()),
        ):
            info = tarfile.TarInfo(f"vn-leaf-bulk/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    params = bulk.BulkParams(attribution="tokens", device="cpu")
    bulk.run([archive], setup["tmp"] / "bulk", params, setup["model"], setup["lexicon"])
    return pq.read_table(setup["tmp"] / "bulk/vn-leaf-bulk/chunk-00000.parquet").to_pylist()


def test_every_entry_point_gives_the_same_scores_flags_and_evidence(setup: dict[str, Path]) -> None:
    stage_rows = [r for r in _stage(setup) if r["level"] == "article"]
    texts = [r["text"] for r in stage_rows]
    assert len(texts) == 3
    assert any(e["source"] == "model" for r in stage_rows for e in r["evidence"])  # not vacuous
    assert any(e["source"] == "lexicon" for r in stage_rows for e in r["evidence"])
    bulk_rows = _bulk(setup)
    assert [r["text"] for r in bulk_rows] == texts
    entry_points = {
        "score-text": _score_text(setup, texts),
        "spacy": _spacy(setup, texts),
        "bulk": bulk_rows,
    }
    for name, rows in entry_points.items():
        assert len(rows) == len(stage_rows), name
        for want, got in zip(stage_rows, rows, strict=True):
            assert {k: got[k] for k in COMPARED} == {k: want[k] for k in COMPARED}, name
            assert got["evidence"] == want["evidence"], name


def test_score_texts_is_score_provisions_of_one_article_each(setup: dict[str, Path]) -> None:
    lexicon = Lexicon.load(setup["lexicon"])
    scorer = ModelScorer(setup["model"], device="cpu")
    texts = ["Người nào tuyên truyền chống Nhà nước thì bị phạt tù.", ""]
    rows = score_texts(texts, ["vi", "vi"], scorer, lexicon, ScoringOptions())
    assert [r["text"] for r in rows] == texts
    assert all(r["text"][e["start"] : e["end"]] == e["text"] for r in rows for e in r["evidence"])
    with pytest.raises(ValueError, match="2 texts but 1 langs"):
        score_texts(texts, ["vi"], scorer, lexicon, ScoringOptions())


@pytest.fixture
def lexicon(tmp_path: Path) -> Lexicon:
    p = tmp_path / "lexicon.yaml"
    p.write_text(LEXICON_YAML, encoding="utf-8")
    return Lexicon.load(p)


def test_every_evidence_span_slices_to_its_text(lexicon: Lexicon) -> None:
    options = ScoringOptions(attribution="occlusion", attribution_min_score=0.1, attribution_min_drop=0.01)
    rows = score_provisions(fixture_provisions(), LexiconScorer(lexicon), lexicon, options)
    spans = [(r, e) for r in rows for e in r["evidence"]]
    assert spans and any(e["source"] == "model" for _, e in spans)
    for r, e in spans:
        assert r["text"][e["start"] : e["end"]] == e["text"], (r["provision_id"], e)
        assert e["source"] in ("lexicon", "model")


def test_tokens_evidence_needs_the_model(lexicon: Lexicon) -> None:
    with pytest.raises(ValueError, match="'tokens' needs the model scorer"):
        score_provisions(fixture_provisions(), LexiconScorer(lexicon), lexicon, ScoringOptions())


def test_article_covers_its_units(lexicon: Lexicon) -> None:
    rows = score_provisions(
        fixture_provisions(), LexiconScorer(lexicon), lexicon, ScoringOptions(attribution="none")
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


def test_batches_by_length_cover_every_index_once() -> None:
    texts = ["a" * n for n in (5, 1, 9, 3, 7)]
    batches = batches_by_length(texts, 2)
    assert sorted(i for b in batches for i in b) == list(range(5))
    assert batches[0] == [2, 4]


def test_empty_and_naughty_text(lexicon: Lexicon) -> None:
    rows = fixture_provisions()[:1]
    rows = [
        dict(rows[0], text=t, provision_id=f"x/art-{i}", article=str(i))
        for i, t in enumerate(["", "   ", "\u0000 ", "<script>alert(1)</script>", "Ṱ̺̺̕o͞ ̷i̲̬͇̪͙n̝̗͕v̟̜̘̦͟o̶̙̰̠kè"])
    ]
    options = ScoringOptions(attribution="occlusion", attribution_min_score=0.0)
    out = score_provisions(rows, LexiconScorer(lexicon), lexicon, options)
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


def test_int8_scorer_scores_in_context(setup: dict[str, Path]) -> None:
    """score.int8 quantises the encoder only: the heads, which in-context scoring reads, stay fp32."""
    lexicon = Lexicon.load(setup["lexicon"])
    fp32 = ModelScorer(setup["model"], device="cpu")
    int8 = ModelScorer(setup["model"], device="cpu", int8=True)
    doc = make_doc("vn-leaf-law", "vi", LEAF_LAW, "vn")
    rows = [p.to_dict() for p in segment_document(doc, SegmentOptions())]
    want = score_provisions(rows, fp32, lexicon, ScoringOptions())
    got = score_provisions(rows, int8, lexicon, ScoringOptions())
    assert [r["provision_id"] for r in got] == [r["provision_id"] for r in want]
    assert all(abs(g[d] - w[d]) < 0.2 for g, w in zip(got, want, strict=True) for d in DIMENSIONS)


@pytest.mark.parametrize("attribution", ["tokens", "none"])
def test_cv_states_score_as_encoding_and_evidence_is_encoded_again(
    setup: dict[str, Path], attribution: str
) -> None:
    """The score stage's reuse of the cv stage's encoded gold articles (pipeline.scoring.context):
    the same scores, flags and evidence; an article whose leaves need model spans is encoded again."""
    from pipeline.scoring.context import ContextScorer, Item, StateCache, article_sha
    from pipeline.scoring.core import _parents

    lexicon = Lexicon.load(setup["lexicon"])
    doc = make_doc("vn-leaf-law", "vi", LEAF_LAW, "vn")
    rows = [p.to_dict() for p in segment_document(doc, SegmentOptions())]
    options = ScoringOptions(attribution=attribution)
    plain = ModelScorer(setup["model"], device="cpu")
    want = score_provisions(rows, plain, lexicon, options)
    articles = [r for r in rows if r["level"] == "article"]
    items = [Item(r["text"], r["lang"]) for r in articles]  # LEAF_LAW: articles without units
    states = ContextScorer(plain.classifier).encode(items, keep_tokens=False)
    cached = ModelScorer(setup["model"], device="cpu")
    cached.states = StateCache(
        {article_sha(it.text, it.lang): (st.vectors, {}) for it, st in zip(items, states, strict=True)}
    )
    got = score_provisions(rows, cached, lexicon, options)
    assert cached.states.hits == len(articles) and not _parents(rows)
    # the fixture's heads score every article hot: with token evidence, each is encoded again for it
    assert cached.states.encoded_again == (len(articles) if attribution == "tokens" else 0)
    exact = [k for k in COMPARED if k not in DIMENSIONS]
    for g, w in zip(got, want, strict=True):
        assert {k: g[k] for k in exact} == {k: w[k] for k in exact} and g["evidence"] == w["evidence"]
        assert all(abs(g[d] - w[d]) < 1e-6 for d in DIMENSIONS)


@pytest.mark.parametrize("same_encoder", [True, False])
def test_the_score_stage_reads_the_cv_stages_states(setup: dict[str, Path], same_encoder: bool) -> None:
    import pandas as pd

    from pipeline import cv
    from pipeline.nn.classifier import encoder_sha

    tmp = setup["tmp"]
    want = _stage(setup)  # writes provisions.parquet and scores it, encoding every article
    provisions = pq.read_table(tmp / "provisions.parquet").to_pandas()
    arts = provisions[provisions["level"] == "article"].reset_index(drop=True)
    # gold articles with the same text under two ids (a law printing another's article): one state each
    units = cv.unit_spans(provisions, arts, use_heading=False) * 2
    arts = pd.concat([arts, arts.assign(provision_id=arts["provision_id"] + "-copy")], ignore_index=True)
    clf = Classifier.load(setup["model"], device="cpu")
    data, n, states = cv.vectors_with_cache(clf, arts, {}, units)
    enc = encoder_sha(clf) if same_encoder else "another-encoder"
    write_parquet(cv.vectors_table(arts, data, clf.spec, False, "fp", enc), tmp / "vectors.parquet")
    hidden = int(clf.model.encoder.config.hidden_size)
    table = cv.unit_vectors_table(arts, states, hidden, clf.spec, False, "fp", enc)
    write_parquet(table, tmp / "units.parquet")
    counts = score.run(
        tmp / "provisions.parquet",
        setup["model"],
        tmp / "again.parquet",
        score.ScoreParams(device="cpu"),
        setup["lexicon"],
        vectors_path=tmp / "vectors.parquet",
        unit_vectors_path=tmp / "units.parquet",
    )
    assert n == 6 and counts.get("articles_from_cv_states", 0) == (3 if same_encoder else 0)
    got = pq.read_table(tmp / "again.parquet").to_pylist()
    assert [r["vague_flag"] for r in got] == [r["vague_flag"] for r in want]
    assert all(abs(g[d] - w[d]) < 1e-6 for g, w in zip(got, want, strict=True) for d in DIMENSIONS)

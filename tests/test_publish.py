"""publish stage: loadable Parquet, withheld text absent everywhere, card, checksums, hub push (mocked)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_score import SECRET_TEXT, write_fixture

from pipeline import publish
from pipeline.publish import PublishParams, run, strip_withheld
from pipeline.schema import SCORES_SCHEMA, GoldLabel
from pipeline.score import ScoreParams
from pipeline.score import run as score_run

GOLD = [
    {
        "provision_id": f"{doc}/art-{n}",
        "doc_id": doc,
        "lang": lang,
        "vagueness": n,
        "speech_risk": 3 - n,
        "evidence": [],
        "rationale": "read",
        "annotator": annotator,
        "date": "2026-01-01",
        "method": method,
    }
    for doc, lang, n, annotator, method in (
        ("vn-test-law", "vi", 1, "annotator-a", "manual"),
        ("vn-test-law", "vi", 2, "annotator-a", "adjudicated"),
        ("secret-act", "en", 1, "annotator-b", "manual"),
    )
]
# Distinctive words of the withheld fixture law: none of them may appear in a published file.
SECRET_WORDS = ("zebra quartermaster", "lighthouse almanac", "define further offences")


@pytest.fixture
def published(tmp_path: Path) -> dict[str, Path]:
    paths = write_fixture(tmp_path)
    score_run(
        paths["provisions"],
        tmp_path / "no-model",
        paths["scores"],
        ScoreParams(
            scorer="lexicon", attribution="occlusion", attribution_min_score=0.1, attribution_min_drop=0.01
        ),
        paths["lexicon"],
    )
    paths["publish"] = tmp_path / "publish"
    metrics = tmp_path / "eval.json"
    metrics.write_text(
        json.dumps(
            {
                "model": {
                    "vagueness": {
                        "all": {"macro_f1": 0.81, "auroc": 0.9, "spearman": 0.6, "ece": 0.04, "n": 120}
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    paths["gold"] = tmp_path / "annotations" / "gold.jsonl"
    paths["gold"].parent.mkdir()
    paths["gold"].write_text(
        "".join(json.dumps(g, ensure_ascii=False) + "\n" for g in GOLD), encoding="utf-8"
    )
    # other JSON Lines under the annotations folder (pass files, adjudications) are not gold labels
    (tmp_path / "annotations" / "pass1").mkdir()
    (tmp_path / "annotations" / "pass1" / "vi-1.jsonl").write_text(
        "".join(json.dumps(dict(g, annotator="first")) + "\n" for g in GOLD * 3), encoding="utf-8"
    )
    (tmp_path / "annotations" / "adjudication.jsonl").write_text('{"provision_id": "x"}\n', encoding="utf-8")
    run(
        paths["scores"],
        paths["documents"],
        paths["publish"],
        PublishParams(version="9.9.9"),
        model_dir=tmp_path / "no-model",
        metrics_path=metrics,
        gold_path=paths["gold"],
    )
    return paths


def test_parquet_loads_with_datasets_and_matches_schema(published: dict[str, Path]) -> None:
    import datasets

    out = published["publish"]
    for name, levels in (("articles", {"article"}), ("units", {"clause", "point"})):
        assert pq.read_schema(out / f"{name}.parquet").equals(SCORES_SCHEMA, check_metadata=False)
        ds = datasets.load_dataset(
            "parquet",
            data_files=str(out / f"{name}.parquet"),
            cache_dir=str(published["publish"].parent / "hf-cache"),
        )["train"]
        assert set(ds.column_names) == set(SCORES_SCHEMA.names)
        assert set(ds["level"]) == levels
        assert ds.num_rows == pq.read_metadata(out / f"{name}.parquet").num_rows > 0


def test_withheld_text_is_absent_from_every_published_file(published: dict[str, Path]) -> None:
    out = published["publish"]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {
        "articles.parquet",
        "units.parquet",
        "scores.csv",
        "README.md",
        "MODEL_CARD.md",
        "version.json",
        "SHA256SUMS",
        "documents.json",
        "index.html",
        "secret-act.html",
    } <= {p.name for p in files}
    for p in files:
        if p.suffix == ".parquet":
            t = pq.read_table(p)
            content = json.dumps(t.to_pylist(), ensure_ascii=False)
            rows = [r for r in t.to_pylist() if r["doc_id"] == "secret-act"]
            assert all(r["text"] is None and r["heading"] is None for r in rows)
            assert all(e["text"] is None for r in rows for e in r["evidence"])
            assert any(r["evidence"] for r in rows)  # the scores and categories are still there
        else:
            content = p.read_bytes().decode("utf-8", errors="replace")
        for w in SECRET_WORDS:
            assert w not in content, (p.name, w)
    # the other law keeps its text
    arts = pq.read_table(out / "articles.parquet").to_pylist()
    assert all(r["text"] for r in arts if r["doc_id"] == "vn-test-law")


def test_publish_refuses_to_leak(tmp_path: Path) -> None:
    secrets = {line for line in SECRET_TEXT.splitlines() if len(line) > 20}
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "x.csv").write_text("a," + next(iter(secrets)) + "\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="x.csv"):
        publish.check_no_withheld(folder, secrets)


def test_a_phrase_a_public_law_also_prints_is_not_a_secret() -> None:
    from pipeline.publish import secret_strings

    docs = {"pub": {"redistribute_text": True}, "sec": {"redistribute_text": False}}
    ev = [{"text": "public interest"}, {"text": "zebra quartermaster clause"}]
    rows = [
        {"doc_id": "pub", "text": "in the public interest of Singapore", "evidence": []},
        {"doc_id": "sec", "text": "a withheld sentence about the public interest", "evidence": ev},
    ]
    assert secret_strings(rows, docs) == {
        "a withheld sentence about the public interest",
        "zebra quartermaster clause",
    }


def test_unknown_document_is_withheld() -> None:
    rows = [
        {
            "doc_id": "not-in-manifest",
            "text": "words",
            "heading": "h",
            "part": None,
            "chapter": None,
            "section": None,
            "evidence": [{"text": "words"}],
        }
    ]
    out = strip_withheld(rows, {})
    assert out[0]["text"] is None and out[0]["evidence"][0]["text"] is None


def test_card_version_and_checksums(published: dict[str, Path]) -> None:
    out = published["publish"]
    card = (out / "README.md").read_text(encoding="utf-8")
    for needle in (
        "configs:",
        "articles.parquet",
        "## Sources",
        "all rights reserved (test)",
        "## Schema",
        "`speech_risk`",
        "## Metrics",
        "0.810",
        "## Limits",
        "## Intended uses",
        "## Out-of-scope uses",
        "## How to cite",
        "withheld",
    ):
        assert needle in card, needle
    version = json.loads((out / "version.json").read_text())
    assert version["version"] == "9.9.9" and version["articles"] > 0
    lines = (out / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == len([p for p in out.rglob("*") if p.is_file()]) - 1
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_card_counts_the_gold_labels_of_gold_jsonl_only(published: dict[str, Path]) -> None:
    card = (published["publish"] / "README.md").read_text(encoding="utf-8")
    assert "3 gold article labels (1 en, 2 vi; 1 adjudicated, 2 manual)" in card
    assert "Annotators: annotator-a; annotator-b." in card
    assert "Label distribution (vagueness / speech_risk, levels 0–3): [0, 2, 1, 0] / [0, 1, 2, 0]." in card


# fmt: off
GOLD_SUMMARY_CASES = [
    # labels (lang, method, annotator, vagueness),     n, by_lang,              methods
    ([],                                               0, {},                   {}),
    ([("en", "manual", "a", 0), ("vi", "manual", "b", 3)],
                                                       2, {"en": 1, "vi": 1},   {"manual": 2}),
]
# fmt: on


@pytest.mark.parametrize(("labels", "n", "by_lang", "methods"), GOLD_SUMMARY_CASES)
def test_gold_summary(labels, n, by_lang, methods) -> None:
    gold = [
        GoldLabel(f"d/art-{i}", "d", lang, v, 0, "r", who, "2026-01-01", method)
        for i, (lang, method, who, v) in enumerate(labels)
    ]
    summary = publish.gold_summary(gold)
    assert (summary["n"], summary["by_lang"], summary["methods"]) == (n, by_lang, methods)
    assert sum(summary["vagueness"]) == n and len(summary["vagueness"]) == 4


def test_failed_publish_leaves_previous_folder(
    published: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (published["publish"] / "SHA256SUMS").read_text()

    def boom(*a: Any, **k: Any) -> dict[str, int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish, "write_reports", boom)
    with pytest.raises(RuntimeError):
        run(
            published["scores"],
            published["documents"],
            published["publish"],
            PublishParams(version="10"),
            metrics_path=None,
            gold_path=None,
        )
    assert (published["publish"] / "SHA256SUMS").read_text() == before


class FakeApi:
    calls: list[tuple[str, dict[str, Any]]] = []

    def __init__(self, token: str | None = None):
        self.token = token

    def create_repo(self, repo_id: str, **kw: Any) -> None:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kw}))

    def upload_folder(self, **kw: Any) -> Any:
        self.calls.append(("upload_folder", kw))
        return type("Commit", (), {"commit_url": "https://huggingface.co/datasets/me/x/commit/1"})()


def test_push_to_hub_up_to_the_network_call(
    published: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_test")
    FakeApi.calls = []
    url = publish.push_to_hub(published["publish"], "me/overbroad")
    assert url.endswith("/commit/1")
    assert [c[0] for c in FakeApi.calls] == ["create_repo", "upload_folder"]
    assert FakeApi.calls[0][1]["repo_type"] == "dataset"
    assert FakeApi.calls[1][1]["folder_path"] == str(published["publish"])
    assert "9.9.9" in FakeApi.calls[1][1]["commit_message"]


def test_push_to_hub_needs_network_and_token(
    published: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="HF_HUB_OFFLINE"):
        publish.push_to_hub(published["publish"], "me/overbroad")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(RuntimeError, match="token"):
        publish.push_to_hub(published["publish"], "me/overbroad")


def test_pakistan_scores_are_published_and_its_text_never(
    tmp_path: Path, root: Path, bundled: dict[str, Path]
) -> None:
    """PECA 2016 (redistribute_text: false, licence unclear) through score and publish with the real
    manifest, as ingested: its rows and scores are there, not one sentence of the Act; the Philippine
    Act, public domain, keeps its text."""
    from test_score import LEXICON_YAML

    from pipeline.io import write_parquet

    keep = ("pk-peca-2016", "ph-cybercrime-prevention-act-2012")
    docs = {r["doc_id"]: r for r in pq.read_table(bundled["documents"]).to_pylist()}
    assert docs["pk-peca-2016"]["redistribute_text"] is False
    assert docs["ph-cybercrime-prevention-act-2012"]["redistribute_text"] is True
    pk_lines = {ln.strip() for ln in docs["pk-peca-2016"]["text"].splitlines() if len(ln.strip()) > 40}
    table = pq.read_table(bundled["provisions"]).to_pandas()
    table = table[table["doc_id"].isin(keep) & (table["level"] == "article")]
    provisions, scores = tmp_path / "provisions.parquet", tmp_path / "scores.parquet"
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), provisions)
    (tmp_path / "lexicon.yaml").write_text(LEXICON_YAML, encoding="utf-8")
    score_run(
        provisions,
        tmp_path / "no-model",
        scores,
        ScoreParams(scorer="lexicon", attribution="none"),
        tmp_path / "lexicon.yaml",
    )
    out = tmp_path / "publish"
    run(scores, bundled["documents"], out, PublishParams(version="9.9.9"), tmp_path / "no-model", None, None)
    arts = pq.read_table(out / "articles.parquet").to_pylist()
    pk = [r for r in arts if r["doc_id"] == "pk-peca-2016"]
    assert len(pk) == 92 and all(r["text"] is None and r["heading"] is None for r in pk)
    assert all(r["vagueness"] is not None for r in pk)
    assert all(r["text"] for r in arts if r["doc_id"] == "ph-cybercrime-prevention-act-2012")
    for p in out.rglob("*"):
        if p.is_file() and p.suffix != ".parquet":
            content = p.read_text(encoding="utf-8", errors="replace")
            leaked = [ln for ln in pk_lines if ln in content]
            assert not leaked, (p.name, leaked[:1])

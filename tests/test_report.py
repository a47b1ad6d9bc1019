"""HTML reports: they parse, hold every article, escape text, highlight evidence, withhold text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_score import write_fixture

from pipeline.publish import PublishParams, run
from pipeline.report import render_document
from pipeline.score import ScoreParams
from pipeline.score import run as score_run


class Collector(HTMLParser):
    """Rows' ids, marks and script tags of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.marks = 0
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "tr" and a.get("id"):
            self.ids.append(a["id"] or "")
        if tag == "mark":
            self.marks += 1
        assert not (tag in ("script", "link") and (a.get("src") or a.get("href"))), "no external resources"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture
def reports(tmp_path: Path) -> tuple[Path, list[dict]]:
    paths = write_fixture(tmp_path)
    params = ScoreParams(scorer="lexicon", attribution="occlusion")
    score_run(paths["provisions"], tmp_path, paths["scores"], params, paths["lexicon"])
    run(
        paths["scores"],
        paths["documents"],
        tmp_path / "publish",
        PublishParams(),
        model_dir=tmp_path / "none",
        metrics_path=None,
        gold_path=None,
    )
    return tmp_path / "publish" / "reports", pq.read_table(paths["scores"]).to_pylist()


def test_report_parses_and_holds_every_article(reports: tuple[Path, list[dict]]) -> None:
    folder, rows = reports
    for doc_id in {r["doc_id"] for r in rows}:
        p = Collector()
        p.feed((folder / f"{doc_id}.html").read_text(encoding="utf-8"))
        p.close()
        expected = {f"art-{r['article']}" for r in rows if r["doc_id"] == doc_id and r["level"] == "article"}
        assert set(p.ids) == expected
        assert "script" in p.tags
    index = Collector()
    index.feed((folder / "index.html").read_text(encoding="utf-8"))
    assert "vn-test-law.html" in (folder / "index.html").read_text(encoding="utf-8")
    assert "Secret Act" in "".join(index.text)


def test_report_highlights_evidence_and_withholds(reports: tuple[Path, list[dict]]) -> None:
    folder, _ = reports
    vn = (folder / "vn-test-law.html").read_text(encoding="utf-8")
    assert '<mark class="speech_risk"' in vn and "Tuyên truyền chống Nhà nước" in vn
    assert "public domain (test)" in vn  # provenance
    secret = (folder / "secret-act.html").read_text(encoding="utf-8")
    assert '<mark class="speech_risk" title=' not in secret and "withheld" in secret
    assert "speech_risk:false_information" in secret  # categories only
    assert "zebra" not in secret


def test_render_escapes_script_in_text() -> None:
    row = {
        "doc_id": "d",
        "level": "article",
        "article": "1",
        "heading": "<b>h</b>",
        "text": "<script>x()</script>",
        "vagueness": 0.5,
        "speech_risk": 0.1,
        "vagueness_level": 2,
        "speech_risk_level": 0,
        "vague_flag": True,
        "speech_flag": False,
        "evidence": [],
        "clause": None,
        "point": None,
    }
    page = render_document("d", [row], {"title": "T", "redistribute_text": True}, "v1")
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page
    assert "&lt;b&gt;h&lt;/b&gt;" in page

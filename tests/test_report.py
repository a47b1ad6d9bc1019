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


LONG_ID = (
    "vn-phap-dien.quoc-phong__mot-so-che-do-doi-voi-doi-tuong-tham-gia-chien-tranh-bao-ve-to-quoc-lam-"
    "nhiem-vu-quoc-te-o-cam-pu-chia-giup-ban-lao-sau-ngay-30-thang-4-nam-1975-co-tu-du-20-nam-tro-len-"
    "phuc-vu-trong-quan-doi-cong-an-da-phuc-vien-xuat-ngu-thoi-viec"
)


@pytest.mark.parametrize(
    ("doc_id", "same_name"),
    [
        ("vn-penal-code-2015", True),
        ("uk-online-safety-act-2023", True),
        (LONG_ID, False),  # a Pháp điển subject title in full: 256 bytes, over the 255 a file name may have
        ("vn-phap-dien." + "điều-kiện-" * 40, False),  # multi-byte letters: not cut inside a character
    ],
)
def test_report_file_names_fit_the_file_system(doc_id: str, same_name: bool) -> None:
    from pipeline.report import MAX_NAME_BYTES, report_name

    name = report_name(doc_id)
    assert name.endswith(".html") and len(name.encode()) <= MAX_NAME_BYTES
    assert (name == f"{doc_id}.html") == same_name
    assert name.encode().decode() == name
    if not same_name:  # two long ids that share the cut prefix keep apart
        assert report_name(doc_id + "-khac") != name


def test_long_document_ids_get_a_report_the_index_links(tmp_path: Path) -> None:
    from pipeline.report import report_name, write_reports

    row = {
        "doc_id": LONG_ID,
        "level": "article",
        "article": "1",
        "heading": "h",
        "text": "Điều 1. Phạm vi điều chỉnh.",
        "vagueness": 0.2,
        "speech_risk": 0.1,
        "vagueness_level": 0,
        "speech_risk_level": 0,
        "vague_flag": False,
        "speech_flag": False,
        "evidence": [],
        "clause": None,
        "point": None,
        "model_version": "v1",
    }
    write_reports([row], {LONG_ID: {"title": "T", "redistribute_text": True}}, tmp_path, "0.1.0")
    assert (tmp_path / report_name(LONG_ID)).is_file()
    assert f'href="{report_name(LONG_ID)}"' in (tmp_path / "index.html").read_text(encoding="utf-8")

"""bulk_publish: the bulk chunks → data/bulk/publish (parquet, summaries, card, reports, same-law check)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_bulk import PHAP_DIEN_TEXT, make_archive
from test_score import LEXICON_YAML, VI_TEXT

from pipeline.bulk import BulkParams
from pipeline.bulk import run as bulk_run
from pipeline.bulk_publish import BulkPublishParams, instrument_numbers, run, same_law_check, title_key
from pipeline.schema import BULK_SCORES_SCHEMA


@pytest.mark.parametrize(
    ("title", "year", "key"),
    [
        ("Luật An ninh mạng, số 24/2018/QH14", 2018, ("luat an ninh mang", 2018)),
        ("Luat-an-ninh-mang-2018-351416", None, ("luat an ninh mang", 2018)),
        ("Bộ luật Hình sự số 100/2015/QH13 (consolidated)", 2015, ("bo luat hinh su", 2015)),
        ("Bo-luat-hinh-su-2015-296661", None, ("bo luat hinh su", 2015)),
        ("An ninh mạng", None, None),  # a Pháp điển subject: no year, matched by provenance instead
    ],
)
def test_title_key(title: str, year: int | None, key: tuple[str, int] | None) -> None:
    assert title_key(title, year) == key


def test_instrument_numbers() -> None:
    assert instrument_numbers("Luật số 24/2018/QH14 An ninh mạng") == ["24/2018/qh14"]
    assert instrument_numbers("Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu") == ["13/2023/nd-cp"]


def _row(pid: str, doc: str, art: str, text: str, p: float, **kw) -> dict:
    return {
        "provision_id": pid,
        "doc_id": doc,
        "article": art,
        "text": text,
        "vagueness": p,
        "speech_risk": p,
        "vague_flag": p >= 0.5,
        "speech_flag": p >= 0.5,
        "provenance": None,
        "source_law": None,
        **kw,
    }


def test_same_law_check_compares_same_texts_by_title_and_by_provenance() -> None:
    main_docs = {"vn-cyber": {"lang": "vi", "title": "Luật An ninh mạng, số 24/2018/QH14", "year": 2018}}
    main = [
        _row("vn-cyber/art-1", "vn-cyber", "1", "Luật này quy định.", 0.2),
        _row("vn-cyber/art-8", "vn-cyber", "8", "Nghiêm cấm  xuyên tạc.", 0.9),
        _row("vn-cyber/art-9", "vn-cyber", "9", "Một văn bản khác.", 0.4),
    ]
    bulk_docs = {
        "vlc.luat-an-ninh-mang-2018-1": {"title": "Luat-an-ninh-mang-2018-1"},
        "pd.an-ninh": {"title": "An ninh"},
    }
    bulk = [
        _row(
            "vlc.luat-an-ninh-mang-2018-1/art-1",
            "vlc.luat-an-ninh-mang-2018-1",
            "1",
            "Luật này quy định.",
            0.2,
        ),
        _row(
            "vlc.luat-an-ninh-mang-2018-1/art-9", "vlc.luat-an-ninh-mang-2018-1", "9", "Văn bản sửa đổi.", 0.4
        ),
        _row(
            "pd.an-ninh/art-1.11.LQ.8",
            "pd.an-ninh",
            "1.11.LQ.8",
            "Nghiêm cấm xuyên tạc.",
            0.9004,
            provenance="Điều 8 Luật số 24/2018/QH14, có hiệu lực thi hành kể từ ngày 01/01/2019",
            source_law="Luật số 24/2018/QH14 An ninh mạng",
        ),
    ]
    check = same_law_check(bulk, bulk_docs, main, main_docs)
    assert check["compared"] == 2 and check["same_article_other_text"] == 1
    assert check["max_abs_dp"] == pytest.approx(0.0004, abs=1e-6) and check["ok"]
    assert check["laws"] == {"vn-cyber": ["pd.an-ninh", "vlc.luat-an-ninh-mang-2018-1"]}
    bulk[0]["vague_flag"] = True  # a flag that differs fails the check
    assert not same_law_check(bulk, bulk_docs, main, main_docs)["ok"]


def test_publish_writes_the_bulk_dataset(tmp_path: Path) -> None:
    lex = tmp_path / "lexicon.yaml"
    lex.write_text(LEXICON_YAML, encoding="utf-8")
    archive = make_archive(
        tmp_path / "vn-test-bulk.tar.xz",
        {
            "Luat-a-2018-1.txt": VI_TEXT,
            "Luat-b-2019-2.txt": VI_TEXT,
            "an-ninh__an-ninh-mang.txt": PHAP_DIEN_TEXT,
        },
    )
    params = BulkParams(
        docs_per_chunk=2, scorer="lexicon", scheduler="sync", levels=("article", "clause", "point")
    )
    bulk_run([archive], tmp_path / "chunks", params, "none", lex)
    out = tmp_path / "publish"
    counts = run(tmp_path / "chunks", out, BulkPublishParams(top_k=3), "none", None, None)
    assert counts["documents"] == 3 and counts["articles"] > 0 and counts["units"] > 0
    arts = pq.read_table(out / "articles.parquet")
    assert arts.schema.equals(BULK_SCORES_SCHEMA, check_metadata=False)
    assert set(arts.column("level").to_pylist()) == {"article"} and arts.num_rows == counts["articles"]
    laws = {r["source_law"] for r in arts.to_pylist() if r["doc_id"].endswith("an-ninh-mang")}
    assert "Luật số 24/2018/QH14 An ninh mạng ngày 12/06/2018 của Quốc hội" in laws
    with open(out / "documents.csv", encoding="utf-8") as fh:
        docs = list(csv.DictReader(fh))
    assert len(docs) == 3 and all((out / d["report"]).is_file() for d in docs)
    index = (out / "reports" / "index.html").read_text(encoding="utf-8")
    assert all(f"{d['doc_id']}.html" in index for d in docs)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "The 3 highest-risk provisions" in card and "No article of a main-corpus law" in card
    assert "SHA256SUMS" in {p.name for p in out.iterdir()}


def test_highest_risk_lists_each_text_once_with_its_other_copies() -> None:
    from pipeline.bulk_publish import highest_risk

    def art(pid: str, text: str, speech: float, vague: float = 0.5) -> dict:
        return {"provision_id": pid, "text": text, "speech_risk": speech, "vagueness": vague}

    articles = [
        art("vn-underthesea-vlc.bo-luat-hinh-su/art-117", "Điều 117. Tội tuyên truyền  chống Nhà nước", 0.99),
        art(
            "vn-phap-dien.hinh-su__hinh-su/art-16.1.LQ.117", "Điều 117. Tội tuyên truyền chống Nhà nước", 0.99
        ),
        art("vn-phap-dien.an-ninh-mang/art-1.11.LQ.8", "Điều 8. Các hành vi bị nghiêm cấm", 0.98),
        # Pháp điển's copy drops spaces the law has: still the same provision
        art("vn-underthesea-vlc.luat-an-ninh-mang/art-8", "Điều 8. Các hành vi bịnghiêm cấm", 0.97),
        art("vn-phap-dien.x/art-1", "Điều 1. Phạm vi điều chỉnh", 0.10),
        art("vn-phap-dien.y/art-2", "Điều 2. Đối tượng áp dụng", 0.20, 0.9),
    ]
    got = highest_risk(articles, 3)
    # ties in risk go by id: the Pháp điển copy (which names its source law) comes first
    assert [r["provision_id"] for r in got] == [
        "vn-phap-dien.hinh-su__hinh-su/art-16.1.LQ.117",
        "vn-phap-dien.an-ninh-mang/art-1.11.LQ.8",
        "vn-phap-dien.y/art-2",
    ]
    assert got[0]["also_in"] == ["vn-underthesea-vlc.bo-luat-hinh-su/art-117"]  # spaces aside
    assert got[1]["also_in"] == ["vn-underthesea-vlc.luat-an-ninh-mang/art-8"]
    assert got[2]["also_in"] == [] and len(highest_risk(articles, 10)) == 4

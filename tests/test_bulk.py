"""bulk scoring: Pháp điển labels, chunked and resumable runs on a tiny synthetic archive."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_score import LEXICON_YAML, VI_TEXT, ExplodingScorer

from pipeline.bulk import BulkParams, map_phap_dien, read_archive, read_provenance, run, segment_bulk
from pipeline.lexicon import Lexicon
from pipeline.schema import BULK_SCORES_SCHEMA

PHAP_DIEN_TEXT = """\
Chương I
NHỮNG QUY ĐỊNH CHUNG
Điều 1.11.LQ.1. Phạm vi điều chỉnh
(Điều 1 Luật số 24/2018/QH14 An ninh mạng ngày 12/06/2018 của Quốc hội)
Luật này quy định về bảo đảm trật tự, an toàn xã hội trên không gian mạng.
Điều 1.11.NĐ.1.1. Đối tượng áp dụng
(Điều 1 Nghị định số 13/2023/NĐ-CP)
1. Nghị định này áp dụng đối với:
a) Cơ quan, tổ chức;
b) Cá nhân.
Điều 36. Điều khoản được trích dẫn
2. Nội dung trích dẫn.
Điều 1.11.LQ.2. Giải thích từ ngữ
Tuyên truyền chống Nhà nước là hành vi bị nghiêm cấm.
"""


def make_archive(path: Path, docs: dict[str, str | bytes]) -> Path:
    name = path.name.removesuffix(".tar.xz")
    manifest = [{"file": f, "title": f.removesuffix(".txt")} for f in docs]
    with tarfile.open(path, "w:xz") as tar:
        for fname, text in [*docs.items(), ("MANIFEST.json", json.dumps(manifest))]:
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            info = tarfile.TarInfo(f"{name}/{fname}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Path]:
    lex = tmp_path / "lexicon.yaml"
    lex.write_text(LEXICON_YAML, encoding="utf-8")
    docs = {f"Luat-{i}.txt": VI_TEXT for i in range(4)} | {"an-ninh__an-ninh-mang.txt": PHAP_DIEN_TEXT}
    return {
        "archive": make_archive(tmp_path / "vn-test-bulk.tar.xz", docs),
        "lexicon": lex,
        "out": tmp_path / "bulk",
    }


def test_phap_dien_labels_are_mapped_with_same_length() -> None:
    mapped, mapping = map_phap_dien(PHAP_DIEN_TEXT)
    assert len(mapped) == len(PHAP_DIEN_TEXT)
    assert list(mapping.values()) == ["1.11.LQ.1", "1.11.NĐ.1.1", "1.11.LQ.2"]


def test_phap_dien_document_segments(corpus: dict[str, Path]) -> None:
    doc = next(d for d in read_archive(corpus["archive"]) if "an-ninh" in d.doc_id)
    assert doc.doc_id == "vn-test-bulk.an-ninh__an-ninh-mang"
    provs, _, prov = segment_bulk(doc, BulkParams(levels=("article", "clause", "point")).segment_options())
    ids = [p.provision_id for p in provs]
    assert ids[:3] == [
        f"{doc.doc_id}/art-1.11.LQ.1",
        f"{doc.doc_id}/art-1.11.NĐ.1.1",
        f"{doc.doc_id}/art-1.11.NĐ.1.1/cl-1",
    ]
    assert f"{doc.doc_id}/art-1.11.NĐ.1.1/cl-1/pt-a" in ids and f"{doc.doc_id}/art-1.11.LQ.2" in ids
    assert all(doc.text[p.char_start : p.char_end] == p.text for p in provs)
    # the quoted plain "Điều 36." stays inside the article that quotes it
    assert not any(p.article == "36" for p in provs)
    assert next(p for p in provs if p.article == "1.11.LQ.1").heading == "Phạm vi điều chỉnh"
    # the provenance line is kept apart, not scored as the law's words
    first = next(p for p in provs if p.article == "1.11.LQ.1")
    assert first.text.startswith("Luật này quy định")
    assert prov["1.11.LQ.1"].line.startswith("Điều 1 Luật số 24/2018/QH14 An ninh mạng")


@pytest.mark.parametrize(
    ("line", "known", "law"),
    [
        (
            "(Điều 1 Luật số 24/2018/QH14 An ninh mạng ngày 12/06/2018 của Quốc hội, có hiệu lực thi hành "
            "kể từ ngày 01/01/2019)\nLuật này",
            {},
            "Luật số 24/2018/QH14 An ninh mạng ngày 12/06/2018 của Quốc hội",
        ),
        (  # a later article of the same law prints its number only
            "(Điều 2 Luật số 24/2018/QH14, có hiệu lực thi hành kể từ ngày 01/01/2019)\nTrong Luật này",
            {"24/2018/QH14": "Luật số 24/2018/QH14 An ninh mạng ngày 12/06/2018 của Quốc hội"},
            "Luật số 24/2018/QH14 An ninh mạng ngày 12/06/2018 của Quốc hội",
        ),
        (  # doubly bracketed, a decree
            "((Điều 1 Nghị định số 114/2018/NĐ-CP về quản lý an toàn đập ngày 04/09/2018 của Chính phủ, "
            "có hiệu lực thi hành kể từ ngày 04/09/2018))\n1. Nghị định",
            {},
            "Nghị định số 114/2018/NĐ-CP về quản lý an toàn đập ngày 04/09/2018 của Chính phủ",
        ),
        (  # an ordinance printed without a number
            "(Điều 2 Pháp lệnh Về Quyền ưu đãi, miễn trừ dành cho cơ quan đại diện ngoại giao, có hiệu lực "
            "thi hành kể từ ngày 01/01/1994)\n1. Những đối tượng",
            {},
            "Pháp lệnh Về Quyền ưu đãi, miễn trừ dành cho cơ quan đại diện ngoại giao",
        ),
        ("1. Thông tư này áp dụng đối với người tham gia bảo hiểm y tế (số đông).", {}, None),
    ],
)
def test_provenance_line(line: str, known: dict[str, str], law: str | None) -> None:
    prov, skip = read_provenance(line, dict(known))
    if law is None:
        assert prov is None and skip == 0
    else:
        assert prov is not None and prov.source_law == law
        assert line[skip:] == line.split("\n", 1)[1]


def test_bulk_run_writes_chunks_and_resume_skips_done_ones(corpus: dict[str, Path]) -> None:
    params = BulkParams(docs_per_chunk=2, scorer="lexicon", scheduler="sync")
    counts = run([corpus["archive"]], corpus["out"], params, "no-model", corpus["lexicon"])
    chunks = sorted((corpus["out"] / "vn-test-bulk").glob("chunk-*.parquet"))
    assert counts["chunks"] == len(chunks) == 3 and counts["scored"] == 3 and counts["failed"] == 0
    rows = [r for c in chunks for r in pq.read_table(c).to_pylist()]
    assert pq.read_schema(chunks[0]).remove_metadata().equals(BULK_SCORES_SCHEMA)
    assert {r["level"] for r in rows} == {"article"} and counts["rows"] == len(rows) == 4 * 3 + 3
    mtimes = [c.stat().st_mtime_ns for c in chunks]
    again = run([corpus["archive"]], corpus["out"], params, "no-model", corpus["lexicon"])
    assert again["done_before"] == 3 and again["scored"] == 0
    assert [c.stat().st_mtime_ns for c in chunks] == mtimes
    report = json.loads((corpus["out"] / "vn-test-bulk" / "report.json").read_text())
    assert len(report["documents"]) == 5


def test_interrupted_bulk_resumes_from_the_last_finished_chunk(corpus: dict[str, Path]) -> None:
    # reuse off: the fixture's documents are copies of each other, which would not be scored again
    params = BulkParams(docs_per_chunk=2, scorer="lexicon", scheduler="sync", reuse=False)
    lexicon = Lexicon.load(corpus["lexicon"])
    with pytest.raises(KeyboardInterrupt):
        run(
            [corpus["archive"]],
            corpus["out"],
            params,
            "no-model",
            corpus["lexicon"],
            scorer=ExplodingScorer(lexicon, fail_at=2, exc=KeyboardInterrupt),
        )
    folder = corpus["out"] / "vn-test-bulk"
    assert [p.name for p in folder.iterdir()] == ["chunk-00000.parquet"]  # no half-written chunk
    counts = run([corpus["archive"]], corpus["out"], params, "no-model", corpus["lexicon"])
    assert counts["done_before"] == 1 and counts["scored"] == 2


def test_changed_params_redo_chunks(corpus: dict[str, Path]) -> None:
    run(
        [corpus["archive"]],
        corpus["out"],
        BulkParams(docs_per_chunk=2, scorer="lexicon", scheduler="sync"),
        "x",
        corpus["lexicon"],
    )
    counts = run(
        [corpus["archive"]],
        corpus["out"],
        BulkParams(docs_per_chunk=2, scorer="lexicon", levels=("article", "clause"), scheduler="sync"),
        "x",
        corpus["lexicon"],
    )
    assert counts["scored"] == 3 and counts["done_before"] == 0


def test_unreadable_file_is_reported_and_the_rest_scored(tmp_path: Path, corpus: dict[str, Path]) -> None:
    from test_ingest import cp1258

    docs = {"Luat-0.txt": VI_TEXT, "Luat-cu.txt": cp1258(VI_TEXT), "hong.txt": bytes(range(256)) * 8}
    archive = make_archive(tmp_path / "vn-mixed.tar.xz", docs)
    params = BulkParams(docs_per_chunk=2, scorer="lexicon", max_failed_fraction=0.5)
    counts = run([archive], corpus["out"], params, "no-model", corpus["lexicon"])
    assert counts["documents"] == 3 and counts["failed"] == 1
    report = {
        r["doc_id"]: r
        for r in json.loads((corpus["out"] / "vn-mixed" / "report.json").read_text())["documents"]
    }
    assert report["vn-mixed.hong"]["reason"].startswith(f"{archive}#hong.txt: binary file")
    rows = [
        r
        for c in sorted((corpus["out"] / "vn-mixed").glob("chunk-*.parquet"))
        for r in pq.read_table(c).to_pylist()
    ]
    # The Windows-1258 file is read by the same loader as everything else.
    assert {r["doc_id"] for r in rows} == {"vn-mixed.luat-0", "vn-mixed.luat-cu"}


def test_dask_cluster_of_two_workers_gives_the_single_process_rows(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    from dask.distributed import Client, LocalCluster

    params = BulkParams(docs_per_chunk=2, scorer="lexicon", levels=("article", "clause", "point"))
    one = run(
        [corpus["archive"]], tmp_path / "one", replace(params, scheduler="sync"), "x", corpus["lexicon"]
    )
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        two = run([corpus["archive"]], tmp_path / "two", params, "x", corpus["lexicon"], client=client)
    assert one["scored"] == two["scored"] == 3 and one["rows"] == two["rows"] > 15

    def rows(folder: Path) -> list[dict]:
        return [
            r
            for c in sorted(folder.glob("vn-test-bulk/chunk-*.parquet"))
            for r in pq.read_table(c).to_pylist()
        ]

    assert rows(tmp_path / "one") == rows(tmp_path / "two")
    laws = {r["source_law"] for r in rows(tmp_path / "two") if r["doc_id"].endswith("an-ninh-mang")}
    assert "Luật số 24/2018/QH14 An ninh mạng ngày 12/06/2018 của Quốc hội" in laws


def chunk_rows(folder: Path) -> list[dict]:
    return [r for c in sorted(folder.glob("*/chunk-*.parquet")) for r in pq.read_table(c).to_pylist()]


def test_repeated_articles_get_the_rows_of_scoring_each_copy(corpus: dict[str, Path], tmp_path: Path) -> None:
    params = BulkParams(
        docs_per_chunk=2, scorer="lexicon", scheduler="sync", levels=("article", "clause", "point")
    )
    lexicon = Lexicon.load(corpus["lexicon"])
    every = run([corpus["archive"]], tmp_path / "every", replace(params, reuse=False), "x", corpus["lexicon"])
    # Luat-1..3 repeat Luat-0 (Luat-1 in its chunk, the others in the next), and the codified article
    # 1.11.LQ.1 (its provenance line left out) is Luat-0's article 1 word for word: one copy is scored.
    once = run(
        [corpus["archive"]],
        tmp_path / "once",
        params,
        "x",
        corpus["lexicon"],
        scorer=ExplodingScorer(lexicon, fail_at=3),  # two batches: Luat-0 and the Pháp điển document
    )
    report = json.loads((tmp_path / "once" / "vn-test-bulk" / "report.json").read_text())["documents"]
    assert [r["reused_articles"] for r in report] == [0, 3, 3, 3, 1]
    assert every["reused_articles"] == 0 and once["reused_articles"] == 10
    assert chunk_rows(tmp_path / "every") == chunk_rows(tmp_path / "once")


def test_articles_the_score_stage_scored_are_not_encoded_again(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    from pipeline.io import write_parquet
    from pipeline.schema import SCORES_SCHEMA, to_table

    params = BulkParams(docs_per_chunk=2, scorer="lexicon", scheduler="sync")
    lexicon = Lexicon.load(corpus["lexicon"])
    run([corpus["archive"]], tmp_path / "first", replace(params, reuse=False), "x", corpus["lexicon"])
    scored = [r for r in chunk_rows(tmp_path / "first") if r["doc_id"] == "vn-test-bulk.luat-0"]
    for r in scored:  # the score stage's rows of the same law, under its own ids
        r["doc_id"], r["provision_id"] = "vn-law", r["provision_id"].replace("vn-test-bulk.luat-0", "vn-law")
    scores = tmp_path / "scores.parquet"
    write_parquet(to_table(scored, SCORES_SCHEMA), scores)
    # Only the Pháp điển document is new: one batch; a second would raise.
    counts = run(
        [corpus["archive"]],
        tmp_path / "second",
        params,
        "x",
        corpus["lexicon"],
        scorer=ExplodingScorer(lexicon, fail_at=2),
        scores_path=scores,
    )
    assert counts["reused_articles"] == 4 * 3 + 1
    assert chunk_rows(tmp_path / "first") == chunk_rows(tmp_path / "second")


def test_a_resumed_run_reuses_the_articles_of_the_chunks_done_before(corpus: dict[str, Path]) -> None:
    params = BulkParams(docs_per_chunk=2, scorer="lexicon", scheduler="sync")
    lexicon = Lexicon.load(corpus["lexicon"])
    # Chunk 0 scores Luat-0 (Luat-1 repeats it); chunk 1 repeats chunk 0 and needs no scoring; the run is
    # interrupted in chunk 2, the Pháp điển document.
    with pytest.raises(KeyboardInterrupt):
        run(
            [corpus["archive"]],
            corpus["out"],
            params,
            "x",
            corpus["lexicon"],
            scorer=ExplodingScorer(lexicon, fail_at=2, exc=KeyboardInterrupt),
        )
    # Resumed: codified article 1.11.LQ.1 is Luat-0's article 1, taken from the chunk done before; the
    # rest of the document is scored in one batch (a second would raise).
    counts = run(
        [corpus["archive"]],
        corpus["out"],
        params,
        "x",
        corpus["lexicon"],
        scorer=ExplodingScorer(lexicon, fail_at=2),
    )
    assert counts["done_before"] == 2 and counts["scored"] == 1 and counts["reused_articles"] == 1

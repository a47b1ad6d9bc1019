"""pipeline.gold_bulk: only the bulk documents that carry gold labels are segmented; none → empty table."""

from __future__ import annotations

import io
import json
import tarfile

import pyarrow.parquet as pq
import pytest

from pipeline.gold_bulk import labelled_bulk_docs, run

LAW = """LUẬT THỬ NGHIỆM

Điều 1. Phạm vi điều chỉnh
Luật này quy định về việc thử nghiệm.

Điều 2. Hành vi bị nghiêm cấm
Nghiêm cấm tuyên truyền chống Nhà nước và các hành vi khác.
"""


def _archive(path, files):
    with tarfile.open(path, "w:xz") as tar:
        manifest = [{"file": name, "title": name[:-4], "year": 2020} for name in files]
        for name, text in [*files.items(), ("MANIFEST.json", json.dumps(manifest))]:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"vlc/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


# fmt: off
@pytest.mark.parametrize("doc_ids, expected", [
    (["vn-penal-code-2015"], {}),
    (["vn-underthesea-vlc.luat-a", "vn-underthesea-vlc.luat-a", "vn-phap-dien.x"],
     {"vn-underthesea-vlc": {"vn-underthesea-vlc.luat-a"}, "vn-phap-dien": {"vn-phap-dien.x"}}),
])
# fmt: on
def test_labelled_bulk_docs(doc_ids, expected):
    gold = [{"doc_id": d} for d in doc_ids]
    assert labelled_bulk_docs(gold, ["vn-underthesea-vlc", "vn-phap-dien"]) == expected


def test_no_bulk_labels_write_an_empty_table_and_open_no_archive(tmp_path):
    (tmp_path / "gold.jsonl").write_text(json.dumps({"doc_id": "vn-penal-code-2015"}) + "\n")
    r = run(tmp_path / "gold.jsonl", [tmp_path / "vn-underthesea-vlc.tar.xz"], tmp_path / "o.parquet",
            tmp_path / "r.json")  # the archive does not exist: it must not be read
    assert r["documents"] == 0 and pq.read_table(tmp_path / "o.parquet").num_rows == 0


def test_labelled_documents_are_segmented_with_bulk_ids(tmp_path):
    arch = _archive(tmp_path / "vn-underthesea-vlc.tar.xz", {"luat-a.txt": LAW, "luat-b.txt": LAW})
    gold = {"doc_id": "vn-underthesea-vlc.luat-a", "provision_id": "vn-underthesea-vlc.luat-a/art-2"}
    (tmp_path / "gold.jsonl").write_text(json.dumps(gold) + "\n")
    r = run(tmp_path / "gold.jsonl", [arch], tmp_path / "o.parquet", tmp_path / "r.json")
    t = pq.read_table(tmp_path / "o.parquet").to_pandas()
    assert r["documents"] == 1
    assert t["provision_id"].tolist() == [f"vn-underthesea-vlc.luat-a/art-{n}" for n in (1, 2)]
    assert set(t["level"]) == {"article"} and "tuyên truyền" in t["text"].iloc[1]


def test_a_labelled_document_missing_from_its_archive_is_an_error(tmp_path):
    arch = _archive(tmp_path / "vn-underthesea-vlc.tar.xz", {"luat-a.txt": LAW})
    (tmp_path / "gold.jsonl").write_text(json.dumps({"doc_id": "vn-underthesea-vlc.luat-z"}) + "\n")
    with pytest.raises(ValueError, match="luat-z"):
        run(tmp_path / "gold.jsonl", [arch], tmp_path / "o.parquet", tmp_path / "r.json")

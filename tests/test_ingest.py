"""ingest: decoding, markup stripping, and the report of what was not ingested."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_manifest import VI, _entry, _manifest

from pipeline.ingest import DecodeError, IngestParams, decode, html_to_text, markdown_to_text, run
from pipeline.lang import clean_text

TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: base letters precomposed (ê, ơ, ư, ă), tones as combining marks."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in TONES)
        out.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES)) + tones)
    return "".join(out).encode("cp1258")


PARAMS = IngestParams(allow_network=False, min_chars=10)

# fmt: off
DECODE_CASES = [
    # bytes,                                   expected encoding
    (VI.encode("utf-8"),                       "utf-8"),
    (b"\xef\xbb\xbf" + VI.encode("utf-8"),     "utf-8-sig"),
    (VI.encode("utf-16"),                      "utf-16"),
    (VI.encode("utf-16-le"),                   "utf-16-le"),
    (cp1258("Điều 1. Tội phạm"),             "cp1258"),
]
# fmt: on


@pytest.mark.parametrize(("data", "encoding"), DECODE_CASES)
def test_decode_gives_the_same_text(data: bytes, encoding: str) -> None:
    text, enc = decode(data, PARAMS.encodings)
    assert enc == encoding
    assert clean_text(text, "vi").startswith("Điều 1.")


def test_cp1258_decodes_to_nfc() -> None:
    # cp1258 stores tones as combining marks: the text must come out NFC.
    text, _ = decode(cp1258("Điều 117. Tội tuyên truyền"), PARAMS.encodings)
    assert clean_text(text, "vi").strip() == unicodedata.normalize("NFC", "Điều 117. Tội tuyên truyền")


# fmt: off
BAD_BYTES = [
    (b"",                        "empty"),
    (b"   \n\n",                  "empty"),
    (bytes(range(256)) * 20,     "not text"),
]
# fmt: on


@pytest.mark.parametrize(("data", "message"), BAD_BYTES)
def test_decode_rejects_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode(data, PARAMS.encodings, "x.txt")


def test_nfd_and_nfc_input_agree() -> None:
    nfd = unicodedata.normalize("NFD", VI)
    assert clean_text(nfd, "vi") == clean_text(VI, "vi")


# fmt: off
MARKUP = [
    ("<html><body><h1>Điều 1. Tên</h1><p>Nội dung <b>đậm</b>.</p><script>x()</script></body></html>",
     "Điều 1. Tên\nNội dung đậm."),
    ("## Điều 1. Tên\n**Nội dung** với [liên kết](http://x).", "Điều 1. Tên\nNội dung với liên kết."),
]
# fmt: on


def test_markup_is_stripped() -> None:
    assert html_to_text(MARKUP[0][0]) == MARKUP[0][1]
    assert markdown_to_text(MARKUP[1][0]) == MARKUP[1][1]


def test_every_document_ends_in_the_output_or_the_report(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text(VI, encoding="utf-8")
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 50)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "old.txt").write_bytes(cp1258(VI))
    (tmp_path / "u16.txt").write_bytes(VI.encode("utf-16"))
    entries = [
        _entry("ok", "ok.txt"),
        _entry("bin", "bin.txt"),
        _entry("empty", "empty.txt"),
        _entry("old", "old.txt"),
        _entry("u16", "u16.txt"),
        _entry("net", None, url="https://example.invalid/x.pdf", format="pdf"),
    ]
    out, report = tmp_path / "docs.parquet", tmp_path / "report.json"
    params = IngestParams(allow_network=False, min_chars=10, max_failed_fraction=1.0)
    counts = run(_manifest(tmp_path, entries), out, report, params, root=tmp_path)
    assert counts == {"entries": 6, "ok": 3, "skipped": 1, "failed": 2, "warnings": 0}
    rows = json.loads(report.read_text())["documents"]
    assert {r["doc_id"]: r["status"] for r in rows} == {
        "ok": "ok",
        "bin": "failed",
        "empty": "failed",
        "old": "ok",
        "u16": "ok",
        "net": "skipped",
    }
    assert all(r.get("reason") for r in rows if r["status"] != "ok")
    docs = pq.read_table(out).to_pandas()
    assert sorted(docs["doc_id"]) == ["ok", "old", "u16"]
    assert all(unicodedata.is_normalized("NFC", t) for t in docs["text"])


def test_too_many_failures_stop_the_stage_and_keep_old_outputs(tmp_path: Path) -> None:
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 50)
    out = tmp_path / "docs.parquet"
    out.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="bin"):
        run(_manifest(tmp_path, [_entry("bin", "bin.txt")]), out, tmp_path / "r.json", PARAMS, root=tmp_path)
    assert out.read_bytes() == b"previous"


def test_pinned_download_is_served_from_the_cache(tmp_path: Path) -> None:
    import hashlib

    data = VI.encode("utf-8")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "net.txt").write_bytes(data)
    good = hashlib.sha256(data).hexdigest()
    entries = [_entry("net", None, url="https://example.invalid/net.txt", sha256=good)]
    params = IngestParams(allow_network=False, min_chars=10, cache_dir=str(cache))
    counts = run(
        _manifest(tmp_path, entries), tmp_path / "d.parquet", tmp_path / "r.json", params, root=tmp_path
    )
    assert counts["ok"] == 1
    entries[0]["sha256"] = "0" * 64
    params = IngestParams(allow_network=False, min_chars=10, cache_dir=str(cache), max_failed_fraction=1.0)
    run(_manifest(tmp_path, entries), tmp_path / "d.parquet", tmp_path / "r.json", params, root=tmp_path)
    row = json.loads((tmp_path / "r.json").read_text())["documents"][0]
    assert row["status"] == "skipped" and "sha256 mismatch" in row["reason"]

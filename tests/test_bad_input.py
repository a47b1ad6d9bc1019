"""Bad input of every kind: a clear message naming the file (and line), and nothing else lost.

Each file-level kind is tried twice: through the ingest stage, next to a good law that must still
reach documents.parquet while the bad one gets a report row with the message; and through
``overbroad segment FILE``, which must print the same message on stderr and exit 2. Manifest-level
kinds, an interrupted stage and a malformed ``score-text`` line are tried where they happen.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from fixture_files import make_pdf
from test_ingest import cp1258

from pipeline import ingest
from pipeline.ingest import IngestParams
from pipeline.score_text import InputError, parse_lines
from pipeline.segment import SegmentParams, main
from pipeline.segment import run as segment_run

LAW = (
    "LUẬT MẪU\nĐiều 1. Phạm vi điều chỉnh\nLuật này quy định về an ninh mạng và trách nhiệm của cơ quan, tổ "
    "chức.\nĐiều 2. Hành vi bị nghiêm cấm\n1. Tuyên truyền chống Nhà nước.\n2. Xuyên tạc lịch sử.\n"
)
PARAMS = IngestParams(allow_network=False, min_chars=50, max_failed_fraction=1.0)


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _sparse(path: Path, size: int) -> None:
    # A 200 MB file without writing 200 MB: the size is what the loader checks first.
    with path.open("wb") as fh:
        fh.truncate(size)


# fmt: off
# kind, file name, bytes (or a writer), message (a regex; {path} is the file, line numbers literal)
FILE_KINDS: list[tuple[str, str, bytes | Callable[[Path], None], str]] = [
    ("empty file", "empty.txt", b"",
     r"{path}: file is empty"),
    ("only whitespace", "blank.txt", b" \n\t\n\n",
     r"{path}: file is empty"),
    ("binary (a PNG)", "image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
     r"{path}: binary file \(\d+ control bytes"),
    ("truncated UTF-8", "cut.txt", (LAW + "Điều 3. Tạ").encode()[:-1],
     r"{path}: line 7: truncated UTF-8 \(the file ends inside a character"),
    ("mixed encodings", "mixed.txt", LAW.encode() + cp1258("Điều 3. Tội phạm"),
     r"{path}: line 7: mixed encodings: valid UTF-8 up to byte \d+, then byte 0x"),
    ("NUL bytes", "nul.txt", LAW.replace("Điều 2", "Điều\x002").encode(),
     r"{path}: line 4: NUL byte at offset \d+"),
    ("a 200 MB file", "huge.txt", lambda p: _sparse(p, 200_000_000),
     r"{path}: 190\.7 MiB, more than the 64 MiB limit for one law"),
    ("PDF without text", "scan.pdf", make_pdf([[], [], []]),
     r"{path}: the PDF has 3 page\(s\) but no text layer \(a scan\?\); run OCR"),
    ("corrupt PDF", "broken.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog",
     r"{path}: unreadable PDF \("),
    ("DOCX that is another ZIP", "law.docx", _zip({"data.csv": b"a,b\n", "readme.txt": b"x"}),
     r"{path}: a ZIP archive but not a Word document \(no word/document.xml; holds data.csv, readme.txt\)"),
    ("DOCX that is text", "fake.docx", LAW.encode(),
     r"{path}: named .docx but is not a DOCX file"),
    ("HTML of navigation only", "nav.html",
     b"<html><body><nav><a href='/'>Home</a></nav><footer>(c) 2024</footer></body></html>",
     r"{path}: the page holds only navigation, header and footer text, no body"),
    ("UTF-16 BOM, odd bytes", "u16.txt", b"\xff\xfe" + "Điều 1. A".encode("utf-16-le") + b"\x00",
     r"{path}: has a UTF-16 byte-order mark but is not UTF-16 \(truncated data"),
    ("no article headings", "essay.txt", ("Một bài viết về pháp luật, không điều khoản nào. " * 5).encode(),
     r"{path}: no article headings of any known drafting style"),
]
# fmt: on# fmt: on


def _write(path: Path, data: bytes | Callable[[Path], None]) -> None:
    if callable(data):
        data(path)
    else:
        path.write_bytes(data)


def _entry(doc_id: str, path: str, **kw) -> dict:
    e = {
        "id": doc_id,
        "path": path,
        "lang": "vi",
        "title": "T",
        "jurisdiction": "Viet Nam",
        "year": 2018,
        "kind": "law",
        "official": True,
        "licence": "public domain",
        "redistribute_text": True,
    }
    e.update(kw)
    return e


def _ingest(root: Path, entries: list[dict]) -> tuple[dict, dict[str, dict], list[str]]:
    manifest = root / "corpora" / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"documents": entries}, allow_unicode=True), encoding="utf-8")
    out, report = root / "data" / "documents.parquet", root / "data" / "ingest_report.json"
    counts = ingest.run(manifest, out, report, PARAMS, root=root)
    rows = {r["doc_id"]: r for r in json.loads(report.read_text(encoding="utf-8"))["documents"]}
    return counts, rows, pq.read_table(out).column("doc_id").to_pylist()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "corpora" / "raw" / "vi").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "corpora" / "raw" / "vi" / "good.txt").write_text(LAW, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("kind", "name", "data", "message"), FILE_KINDS, ids=[k[0] for k in FILE_KINDS])
def test_bad_file_in_the_ingest_stage(project: Path, kind: str, name: str, data, message: str) -> None:
    rel = f"corpora/raw/vi/{name}"
    _write(project / rel, data)
    counts, rows, ingested = _ingest(project, [_entry("good", "corpora/raw/vi/good.txt"), _entry("bad", rel)])
    assert ingested == ["good"]
    assert rows["bad"]["status"] == "failed"
    assert re.match(message.format(path=re.escape(str(project / rel))), rows["bad"]["reason"]), rows["bad"]
    assert counts["ok"] == 1 and counts["failed"] == 1


@pytest.mark.parametrize(("kind", "name", "data", "message"), FILE_KINDS, ids=[k[0] for k in FILE_KINDS])
def test_bad_file_in_the_segment_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, name: str, data, message: str
) -> None:
    path = tmp_path / name
    _write(path, data)
    assert main([str(path), "--lang", "vi"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert re.match("error: " + message.format(path=re.escape(str(path))), out.err), out.err
    assert out.err.count("\n") == 1


# fmt: off
# A wrong manifest entry: a failed row naming it; the good entry is still ingested.
MANIFEST_KINDS = [
    ("year of the wrong type", _entry("bad", "corpora/raw/vi/good.txt", year="2012"),
     r"manifest.yaml: entry 2 \('bad'\): year expected an integer, found '2012'"),
    ("flag of the wrong type", _entry("bad", "corpora/raw/vi/good.txt", redistribute_text="no"),
     r"entry 2 \('bad'\): redistribute_text expected true or false, found 'no'"),
    ("path outside corpora/",  _entry("bad", "data/elsewhere.txt"),
     r"entry 2 \('bad'\): path 'data/elsewhere.txt' is outside corpora/ \(the manifest's folder, .*\); "
     r"put the file under corpora/raw/"),
    ("path outside the project", _entry("bad", "../outside.txt"),
     r"entry 2 \('bad'\): path '../outside.txt' is outside corpora/ \(the manifest's folder, .*\); "
     r"put the file under corpora/raw/"),
    ("path to nothing",        _entry("bad", "corpora/raw/vi/missing.txt"),
     r"entry 2 \('bad'\): path 'corpora/raw/vi/missing.txt' points at nothing"),
    ("duplicate id",           _entry("good", "corpora/raw/vi/good.txt"),
     r"entry 2 \('good'\): duplicate id 'good' \(first used by entry 1\)"),
    ("missing field",
     {k: v for k, v in _entry("bad", "corpora/raw/vi/good.txt").items() if k != "licence"},
     r"entry 2 \('bad'\): missing required field\(s\) \['licence'\]"),
    ("unknown style",          _entry("bad", "corpora/raw/vi/good.txt", style="roman"),
     r"entry 2 \('bad'\): style expected one of"),
    ("not a mapping",          "corpora/raw/vi/good.txt",
     r"entry 2 \('corpora/raw/vi/good.txt'\): expected a mapping"),
]
# fmt: on


@pytest.mark.parametrize(("kind", "entry", "message"), MANIFEST_KINDS, ids=[k[0] for k in MANIFEST_KINDS])
def test_bad_manifest_entry(project: Path, kind: str, entry, message: str) -> None:
    (project.parent / "outside.txt").write_text(LAW, encoding="utf-8")
    (project / "data" / "elsewhere.txt").write_text(LAW, encoding="utf-8")
    counts, rows, ingested = _ingest(project, [_entry("good", "corpora/raw/vi/good.txt"), entry])
    assert ingested == ["good"]
    failed = [r for r in rows.values() if r["status"] == "failed"] if kind != "duplicate id" else []
    reason = (
        failed[0]["reason"]
        if failed
        else json.loads((project / "data" / "ingest_report.json").read_text(encoding="utf-8"))["documents"][
            0
        ]["reason"]
    )
    assert re.search(message, reason), reason
    assert counts["entries"] == 2 and counts["ok"] == 1 and counts["failed"] == 1


def test_url_with_a_wrong_sha256_is_skipped_and_named(project: Path) -> None:
    cache = project / ".cache"
    cache.mkdir()
    (cache / "net.txt").write_text(LAW, encoding="utf-8")
    entry = _entry("net", "", url="https://example.invalid/net.txt", sha256="0" * 64)
    del entry["path"]
    params = IngestParams(allow_network=False, min_chars=50, max_failed_fraction=1.0, cache_dir=str(cache))
    manifest = project / "corpora" / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"documents": [_entry("good", "corpora/raw/vi/good.txt"), entry]}))
    out, report = project / "data" / "d.parquet", project / "data" / "r.json"
    ingest.run(manifest, out, report, params, root=project)
    row = json.loads(report.read_text())["documents"][1]
    assert row["status"] == "skipped"
    assert re.match(
        r"sha256 mismatch for https://example.invalid/net.txt: expected 0{64}, found [0-9a-f]{64}",
        row["reason"],
    )
    assert pq.read_table(out).column("doc_id").to_pylist() == ["good"]


def test_interrupted_stage_keeps_the_previous_outputs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [_entry("good", "corpora/raw/vi/good.txt"), _entry("again", "corpora/raw/vi/good.txt")]
    _ingest(project, entries)
    out, report = project / "data" / "documents.parquet", project / "data" / "ingest_report.json"
    before = out.read_bytes(), report.read_bytes()
    real = ingest.load_document
    calls = []

    def interrupted(entry, params):
        calls.append(entry.doc_id)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C, or the machine going down, half-way through
        return real(entry, params)

    monkeypatch.setattr(ingest, "load_document", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _ingest(project, entries)
    assert (out.read_bytes(), report.read_bytes()) == before
    assert not [
        p for p in (project / "data").iterdir() if p.name not in ("documents.parquet", "ingest_report.json")
    ]


def test_segment_stage_records_a_document_it_cannot_segment_and_keeps_the_rest(project: Path) -> None:
    (project / "corpora" / "raw" / "vi" / "rep.txt").write_text(
        LAW + "Điều 2. Lặp lại\nNội dung.\n", encoding="utf-8"
    )
    entries = [
        _entry("good", "corpora/raw/vi/good.txt"),
        _entry("rep", "corpora/raw/vi/rep.txt"),
        # Read with the wrong style on purpose: no treaty article in a Vietnamese law.
        _entry("wrong", "corpora/raw/vi/good.txt", style="treaty"),
    ]
    _ingest(project, entries)
    report = project / "data" / "ingest_report.json"
    counts = segment_run(
        project / "data" / "documents.parquet",
        project / "data" / "provisions.parquet",
        SegmentParams(max_failed_fraction=0.5),
        report,
    )
    assert counts["segmented"] == 2 and counts["failed"] == 1 and counts["warnings"] == 1
    rows = {r["doc_id"]: r for r in json.loads(report.read_text(encoding="utf-8"))["documents"]}
    assert rows["wrong"]["segment_error"] == "no articles found (style treaty)"
    assert (
        "good.txt: manifest style 'treaty', but the text reads as 'vn' (vn: 2 article"
        in rows["wrong"]["warnings"][0]
    )
    assert rows["rep"]["segment_warnings"] == [
        "corpora/raw/vi/rep.txt: line 7: article 2 repeated (first at line 4); kept the first, "
        "the repeat stays in the text of article 2"
    ]
    ids = set(pq.read_table(project / "data" / "provisions.parquet").column("doc_id").to_pylist())
    assert ids == {"good", "rep"}


# fmt: off
SCORE_TEXT_KINDS = [
    ('{"id": 1, "text": "x", "lang": "en"}\n{not json\n',
     "stdin:2: malformed JSON (Expecting property name enclosed in double quotes)"),
    ('{"id": 1, "text": "x", "lang": "en"}\n[1]\n',
     "stdin:2: expected a JSON object, found list"),
    ('{"id": 1, "text": "x", "lang": "en"}\n{"id": 2, "lang": "en"}\n',
     "stdin:2: missing field(s) ['text']"),
    ('{"id": 1, "text": "x", "lang": "en"}\n{"id": 2, "text": "y", "lang": "fr"}\n',
     "stdin:2: 'lang' expected one of ['en', 'vi'], found 'fr'"),
    (b'{"id": 1, "text": "x", "lang": "en"}\n{"id": 2, "text": "\xff", "lang": "en"}\n',
     "stdin:2: not UTF-8 (invalid start byte at byte 19 of the line)"),
]
# fmt: on# fmt: on


@pytest.mark.parametrize(("batch", "message"), SCORE_TEXT_KINDS)
def test_score_text_bad_line_fails_or_is_skipped(batch: str | bytes, message: str) -> None:
    lines = io.BytesIO(batch) if isinstance(batch, bytes) else io.StringIO(batch)
    with pytest.raises(InputError) as err:
        parse_lines(lines)
    assert str(err.value) == message
    lines.seek(0)
    skipped: list[str] = []
    records = parse_lines(lines, on_error="skip", skipped=skipped)
    assert [r["id"] for r in records] == [1] and skipped == [message]


def test_the_table_has_at_least_twenty_kinds() -> None:
    kinds = len(FILE_KINDS) + len(MANIFEST_KINDS) + len(SCORE_TEXT_KINDS) + 3  # url, interrupt, segment
    assert kinds >= 20

"""The one loader: every format and encoding, tried as a user would with ``overbroad segment FILE``."""

from __future__ import annotations

import json
import textwrap
import unicodedata
from pathlib import Path

import pytest
from fixture_files import make_docx, make_pdf
from test_ingest import cp1258

from pipeline.loader import LoadError, decode, html_to_text, load_bytes, load_file, unwrap_lines
from pipeline.segment import main

LAW = """LUẬT MẪU
Chương I
NHỮNG QUY ĐỊNH CHUNG
Điều 1. Phạm vi điều chỉnh
Luật này quy định về an ninh mạng.
Điều 2. Hành vi bị nghiêm cấm
1. Sử dụng không gian mạng để thực hiện hành vi sau đây:
a) Tuyên truyền chống Nhà nước;
b) Xuyên tạc lịch sử.
2. Hành vi khác.
"""
LAW_IDS = ["art-1", "art-2", "art-2/cl-1", "art-2/cl-1/pt-a", "art-2/cl-1/pt-b", "art-2/cl-2"]

LAW_HTML = (
    "<!DOCTYPE html><html><head><title>Luật</title><style>p{}</style></head><body>"
    "<nav><a href='/'>Trang chủ</a> | <a href='/van-ban'>Văn bản</a></nav>"
    "<p><b>LUẬT MẪU</b></p><p>Chương I<br>NHỮNG QUY ĐỊNH CHUNG</p>"
    "<p><b>Điều 1.</b> Phạm vi điều chỉnh</p><p>Luật này quy định về <i>an ninh mạng</i>.</p>"
    "<h3>Điều <span>2</span>. Hành vi bị nghiêm cấm</h3>"
    "<ol><li>Sử dụng không gian mạng để thực hiện hành vi sau đây:<div>a) Tuyên truyền chống Nhà nước;</div>"
    "<div>b) Xuyên tạc lịch sử.</div></li><li>Hành vi khác.</li></ol>"
    "<footer>© 2024 Cổng thông tin</footer></body></html>"
)


def law_docx() -> bytes:
    # The clause numbers "1." "2." and point letters "a)" "b)" are Word's automatic numbering.
    return make_docx(
        [
            ("LUẬT MẪU", None),
            ("Chương I", None),
            ("NHỮNG QUY ĐỊNH CHUNG", None),
            ("Điều 1. Phạm vi điều chỉnh", None),
            ("Luật này quy định về an ninh mạng.", None),
            ("Điều 2. Hành vi bị nghiêm cấm", None),
            ("Sử dụng không gian mạng để thực hiện hành vi sau đây:", "clause"),
            ("Tuyên truyền chống Nhà nước;", "point"),
            ("Xuyên tạc lịch sử.", "point"),
            ("Hành vi khác.", "clause"),
        ]
    )


def law_pdf() -> bytes:
    # Two pages, a running header and page numbers, and a clause wrapped mid-sentence so that its
    # second line begins "2. …" as a new clause would.
    return make_pdf(
        [
            [
                "LUẬT MẪU — Quốc hội",
                "LUẬT MẪU",
                "Chương I",
                "NHỮNG QUY ĐỊNH CHUNG",
                "Điều 1. Phạm vi điều chỉnh",
                "Luật này quy định về an ninh mạng.",
                "Điều 2. Hành vi bị nghiêm cấm",
                "1. Sử dụng không gian mạng để thực hiện hành vi sau đây, trừ trường hợp quy định tại khoản",
                "2. Điều 5 của Luật này:",
                "- 1 -",
            ],
            [
                "LUẬT MẪU — Quốc hội",
                "a) Tuyên truyền chống Nhà nước;",
                "b) Xuyên tạc lịch sử.",
                "2. Hành vi khác.",
                "- 2 -",
            ],
            ["LUẬT MẪU — Quốc hội", "Điều 3. Hiệu lực", "Luật này có hiệu lực từ ngày ký.", "- 3 -"],
        ]
    )


TRANSLATION_IDS = ["art-1", "art-2", "art-2/cl-1", *(f"art-2/cl-1/pt-{x}" for x in "abcdđ")]
TRANSLATION = """LAW ON SAMPLES
Chapter I
GENERAL PROVISIONS
Article 1. Scope
This Law governs cybersecurity.
Article 2. Prohibited acts
1. Using cyberspace to:
a) Spread propaganda against the State;
b) Distort history;
c) Incite riots;
d) Humiliate others;
đ) Commit fraud.
"""


def _run(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[dict], str]:
    code = main([str(path), *extra])
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


# The table: what a new user gets from `overbroad segment FILE --lang …`.
# fmt: off
USER_TABLE = [
    # file name,       bytes,                                 --lang, expected provision ids (after "<id>/")
    ("law.docx",       law_docx,                              "vi",   LAW_IDS),
    ("law.html",       lambda: LAW_HTML.encode("utf-8"),      "vi",   LAW_IDS),
    ("law-1258.txt",   lambda: cp1258(LAW),                   "vi",   LAW_IDS),
    ("law-16.txt",     lambda: LAW.encode("utf-16"),          "vi",   LAW_IDS),
    ("law-16le.txt",   lambda: LAW.encode("utf-16-le"),       "vi",   LAW_IDS),
    ("law-nfd.txt",    lambda: unicodedata.normalize("NFD", LAW).encode(), "vi", LAW_IDS),
    ("law.pdf",        law_pdf,                               "vi",   [*LAW_IDS, "art-3"]),
    # An English translation named like a Vietnamese law: the text, not the name, decides the style.
    ("vn-sample-law.txt", lambda: TRANSLATION.encode(),       "en",   TRANSLATION_IDS),
]
# fmt: on


@pytest.mark.parametrize(("name", "data", "lang", "expected"), USER_TABLE, ids=[r[0] for r in USER_TABLE])
def test_user_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data, lang: str, expected: list[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(data())
    code, rows, err = _run(path, capsys, "--lang", lang, "--strict")
    assert (code, err) == (0, "")
    assert [r["provision_id"].split("/", 1)[1] for r in rows] == expected
    art2 = next(r for r in rows if r["provision_id"].endswith("/art-2"))
    assert art2["heading"] in ("Hành vi bị nghiêm cấm", "Prohibited acts")
    assert art2["chapter"] in ("Chương I — NHỮNG QUY ĐỊNH CHUNG", "Chapter I — GENERAL PROVISIONS")


def test_pdf_rejoins_a_wrapped_sentence_and_drops_page_furniture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "law.pdf"
    path.write_bytes(law_pdf())
    _, rows, _ = _run(path, capsys, "--lang", "vi")
    cl1 = next(r for r in rows if r["provision_id"].endswith("/art-2/cl-1"))
    # "2. Điều 5 của Luật này" continues clause 1's sentence; it is not clause 2.
    assert "quy định tại khoản 2. Điều 5 của Luật này:" in cl1["text"]
    text = load_file(path).text
    assert "— Quốc hội" not in text and "- 2 -" not in text


def test_repeated_article_warns_with_file_and_line_and_strict_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rep.txt"
    path.write_text("Điều 1. A\nx.\nĐiều 1. A\ny.\nĐiều 2. B\nz.\n", encoding="utf-8")
    code, rows, err = _run(path, capsys, "--lang", "vi")
    assert code == 0 and [r["article"] for r in rows] == ["1", "2"]
    assert err == (
        f"warning: {path}: line 3: article 1 repeated (first at line 1); kept the first, the repeat stays "
        "in the text of article 1\n"
    )
    code, rows, err = _run(path, capsys, "--lang", "vi", "--strict")
    assert code == 1 and len(rows) == 2 and "line 3: article 1 repeated" in err


def test_verbose_names_the_style_and_its_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "vn-x.txt"
    path.write_text(TRANSLATION, encoding="utf-8")
    code, _, err = _run(path, capsys, "--lang", "en", "-v")
    assert code == 0
    assert (
        f"info: {path}: style vn-en detected (vn-en: 2 article heading(s) in order, 1 marker(s); treaty:"
        in err
    )


def test_style_flag_overrides_detection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.txt"
    path.write_text(TRANSLATION, encoding="utf-8")
    _, rows, _ = _run(path, capsys, "--lang", "en", "--style", "treaty")
    # The treaty table does not know the Vietnamese letter "đ)": it stays in point d.
    assert [r["provision_id"].split("/", 1)[1] for r in rows][-1] == "art-2/cl-1/pt-d"


def test_scanned_pdf_says_it_has_no_text_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[], []]))
    code, rows, err = _run(path, capsys, "--lang", "vi")
    assert (code, rows) == (2, [])
    assert err == (
        f"error: {path}: the PDF has 2 page(s) but no text layer (a scan?); run OCR on it first "
        "(e.g. ocrmypdf) or supply the text\n"
    )


# fmt: off
DECODE_CASES = [
    # bytes,                                        encoding
    (LAW.encode(),                                  "utf-8"),
    (b"\xef\xbb\xbf" + LAW.encode(),                "utf-8-sig"),
    (LAW.encode("utf-16"),                          "utf-16"),
    (LAW.encode("utf-16-be"),                       "utf-16-be"),
    (LAW.encode("utf-32"),                          "utf-32"),
    (cp1258(LAW),                                   "cp1258"),
]
# fmt: on


@pytest.mark.parametrize(("data", "encoding"), DECODE_CASES)
def test_decode(data: bytes, encoding: str) -> None:
    text, enc = decode(data, "x.txt")
    assert enc == encoding
    assert unicodedata.normalize("NFC", text).lstrip("\ufeff") == LAW


def test_html_keeps_block_structure_and_drops_navigation() -> None:
    text = html_to_text(LAW_HTML)
    assert text.splitlines()[:4] == [
        "LUẬT MẪU",
        "Chương I",
        "NHỮNG QUY ĐỊNH CHUNG",
        "Điều 1. Phạm vi điều chỉnh",
    ]
    assert "Điều 2. Hành vi bị nghiêm cấm" in text and "1. Sử dụng" in text and "2. Hành vi khác." in text
    assert "Trang chủ" not in text and "©" not in text


# fmt: off
UNWRAP_CASES = [
    # lines,                                                          width, expected
    (["Điều 1. Tên", "Nội dung dài của điều này kéo dài tới", "cuối dòng."], 40,
     ["Điều 1. Tên", "Nội dung dài của điều này kéo dài tới cuối dòng."]),
    # A wrapped sentence whose next line looks like clause 2 is one sentence.
    (["1. Theo quy định tại khoản", "2. Điều 5."], 28, ["1. Theo quy định tại khoản 2. Điều 5."]),
    # A clause that ends a full line still ends there.
    (["1. Người nào vi phạm thì bị phạt tù.", "2. Hành vi khác."], 37,
     ["1. Người nào vi phạm thì bị phạt tù.", "2. Hành vi khác."]),
    # A short line (a heading, the end of a paragraph) is never joined.
    (["Chương I", "NHỮNG QUY ĐỊNH CHUNG"], 60, ["Chương I", "NHỮNG QUY ĐỊNH CHUNG"]),
    # A word hyphenated at the line end is put back together.
    (["the computer is used for informa-", "tion processing."], 33,
     ["the computer is used for informa-tion processing."]),
]
# fmt: on


@pytest.mark.parametrize(("lines", "width", "expected"), UNWRAP_CASES)
def test_unwrap_lines(lines: list[str], width: int, expected: list[str]) -> None:
    assert unwrap_lines(lines, width) == expected


def test_unwrap_undoes_textwrap() -> None:
    para = "1. Người nào thực hiện hành vi sau đây thì bị phạt tiền từ 10.000.000 đồng đến 50.000.000 đồng:"
    wrapped = textwrap.wrap(para, 30)
    assert len(wrapped) > 2 and unwrap_lines(wrapped, 30) == [para]


def test_load_bytes_reports_format_and_encoding() -> None:
    loaded = load_bytes(cp1258(LAW), "old.txt")
    assert (loaded.format, loaded.encoding, loaded.warnings) == ("txt", "cp1258", [])
    lost = load_bytes("Điều 1. A\nx \ufffd y\n".encode(), "lost.txt")
    assert lost.warnings == [
        "lost.txt: line 2: U+FFFD replacement character (text lost before it reached us)"
    ]


def test_load_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="file is empty"):
        load_bytes(b"", "e.txt")
    assert issubclass(LoadError, ValueError)


EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


@pytest.mark.parametrize(
    "name", ["sample-law.html", "sample-law.docx", "sample-law.md", "sample-law-cp1258.txt", "sample-law.pdf"]
)
def test_readme_examples(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, rows, err = _run(EXAMPLES / name, capsys, "--lang", "vi", "--strict")
    assert (code, err) == (0, "")
    expected = [*LAW_IDS, "art-3"] if name.endswith(".pdf") else LAW_IDS
    assert [r["provision_id"].split("/", 1)[1] for r in rows] == expected


def test_docx_article_headings_numbered_by_word(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "auto.docx"
    path.write_bytes(
        make_docx(
            [
                ("Phạm vi điều chỉnh", "article"),
                ("Luật này quy định về an ninh mạng.", None),
                ("Hành vi bị nghiêm cấm", "article"),
                ("Tuyên truyền chống Nhà nước.", "clause"),
                ("Xuyên tạc lịch sử.", "clause"),
            ]
        )
    )
    assert load_file(path).text.splitlines()[:3] == [
        "Điều 1. Phạm vi điều chỉnh",
        "Luật này quy định về an ninh mạng.",
        "Điều 2. Hành vi bị nghiêm cấm",
    ]
    _, rows, _ = _run(path, capsys, "--lang", "vi")
    assert [r["provision_id"].split("/", 1)[1] for r in rows] == [
        "art-1",
        "art-2",
        "art-2/cl-1",
        "art-2/cl-2",
    ]

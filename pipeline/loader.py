"""One loader for every way a law reaches the project: a file's bytes → its plain text.

Used by the ``segment`` CLI, the ingest stage and bulk scoring, so that a researcher's own file is
read the same way everywhere. Formats (.txt, .md, .html, .pdf with a text layer, .docx) and
encodings (UTF-8 with or without BOM, UTF-16 with or without BOM, UTF-32 with BOM, Windows-1258) are
detected from the bytes; the file's extension only tells Markdown from plain text. The text comes
out NFC whatever the source did (Windows-1258 stores Vietnamese tones as combining marks).

A PDF's text layer is put back into paragraphs: page numbers and running headers are dropped, and a
line the layout broke because it was full is joined to the next, so that "… theo quy định tại khoản"
/ "2 Điều này" does not read as a new clause 2. Every failure is a :class:`LoadError` whose message
names the file and, where the bytes say so, the line.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lang import clean_text, normalise  # noqa: F401  (clean_text: re-exported for the loader's callers)
from pipeline.styles import STYLES

log = logging.getLogger(__name__)

FORMATS = ("txt", "md", "html", "pdf", "docx")
DEFAULT_ENCODINGS = ("utf-8-sig", "utf-16", "cp1258")
# The longest bundled law (the Singapore Penal Code) is 0.5 MB of text; a PDF or DOCX of a large
# code is a few MB. Anything past this is not one law.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_EXT = {"htm": "html", "xhtml": "html", "markdown": "md", "text": "txt", "": "txt"}


class LoadError(ValueError):
    """A file could not be read as the text of a law; the message names the file (and line)."""


@dataclass(frozen=True)
class Loaded:
    """A file's text and how it was read."""

    text: str
    format: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


def too_big(name: str, size: int, max_bytes: int) -> str:
    return f"{name}: {size / 2**20:.1f} MiB, more than the {max_bytes / 2**20:.0f} MiB limit for one law"


def _line_of(data: bytes | str, offset: int) -> int:
    nl = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(nl, 0, offset) + 1  # type: ignore[arg-type]


# ---------------------------------------------------------------- encodings


def _looks_utf16_without_bom(sample: bytes) -> bool:
    # Latin and Vietnamese text in UTF-16 has a zero high byte in most code units.
    half = len(sample) / 2
    return half > 0 and max(sample[1::2].count(0), sample[0::2].count(0)) > 0.3 * half


def decode(
    data: bytes, name: str = "<bytes>", encodings: tuple[str, ...] | list[str] = DEFAULT_ENCODINGS
) -> tuple[str, str]:
    """Bytes → (text, encoding); LoadError naming the file, the byte and its line otherwise."""
    if not data.strip():
        raise LoadError(f"{name}: file is empty")
    for bom, enc in (
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as e:
                raise LoadError(
                    f"{name}: has a {enc.upper()} byte-order mark but is not {enc.upper()} "
                    f"({e.reason} at byte {e.start})"
                ) from None
    sample = data[:4096]
    if len(sample) >= 16 and b"\x00" in sample and _looks_utf16_without_bom(sample):
        enc = "utf-16-le" if sample[1::2].count(0) >= sample[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as e:
            raise LoadError(
                f"{name}: looks like UTF-16 without a byte-order mark but is not "
                f"({e.reason} at byte {e.start})"
            ) from None
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    if control > 0.05 * len(sample):
        raise LoadError(f"{name}: binary file ({control} control bytes in the first {len(sample)}), not text")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise LoadError(
            f"{name}: line {_line_of(data, nul)}: NUL byte at offset {nul} (a binary or corrupted file?)"
        )
    try:
        text = data.decode("utf-8-sig")
        return text, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError as e:
        bad, reason = e.start, e.reason
    line = _line_of(data, bad)
    if reason == "unexpected end of data":
        # A multi-byte sequence cut at the end: a download or copy that stopped early.
        raise LoadError(
            f"{name}: line {line}: truncated UTF-8 (the file ends inside a character at byte {bad}); "
            "was the download or copy cut short?"
        )
    # Valid multi-byte UTF-8 before the bad byte: the file mixes encodings (a cp1258 passage pasted
    # into a UTF-8 file). Decoding the whole as cp1258 would turn the UTF-8 part into mojibake.
    head = data[:bad].decode("utf-8", "ignore")
    # Three characters, so that a cp1258 "Đ“" (0xD0 0x93, valid UTF-8 by accident) does not count.
    if sum(ord(c) > 127 for c in head) >= 3:
        raise LoadError(
            f"{name}: line {line}: mixed encodings: valid UTF-8 up to byte {bad}, then byte "
            f"0x{data[bad]:02x} is not (re-save the file in one encoding)"
        )
    for enc in encodings:
        if enc.startswith(("utf-8", "utf-16", "utf-32")):
            continue
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return text, enc
    raise LoadError(
        f"{name}: line {line}: not valid UTF-8 (byte 0x{data[bad]:02x} at offset {bad}) "
        f"nor any of {list(encodings)}"
    )


def keep_lines(text: str, lang: str | None) -> str:
    """NFC, LF, trailing spaces trimmed, nothing else: line N stays line N of the file (for the CLI)."""
    text = normalise(text, lang)
    return "\n".join(re.sub(r"[ \t\u00a0]+$", "", line) for line in text.split("\n"))


# ---------------------------------------------------------------- HTML and Markdown

# Elements that start a line of their own; everything else (b, i, span, a, sup, …) runs on.
_BLOCK = {
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "caption",
}
_DROP = {"script", "style", "head", "noscript", "template", "svg", "button", "form", "iframe"}
# Page furniture, not the law: menus, banners, footers.
_FURNITURE = {"nav", "header", "footer", "menu"}


def html_to_text(markup: str, name: str = "<html>") -> str:
    """Visible text of an HTML page, one block element a line, inline elements joined into it."""
    from bs4 import BeautifulSoup, NavigableString, Tag

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    had_text = bool(soup.get_text(strip=True))
    for tag in soup.find_all(_FURNITURE):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": ["navigation", "banner", "contentinfo"]}):
        tag.decompose()
    parts: list[str] = []

    def walk(node: Tag) -> None:
        counter = 0
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:
                    parts.append(re.sub(r"\s+", " ", str(child)))
                continue
            if not isinstance(child, Tag):
                continue
            block = child.name in _BLOCK
            if block:
                parts.append("\n")
            if child.name == "li" and node.name == "ol":
                # An ordered list renders its numbers: "1." "2." are the law's clauses.
                counter += 1
                parts.append(f"{counter}. ")
            elif child.name in ("td", "th"):
                parts.append(" ")
            walk(child)
            if block:
                parts.append("\n")

    walk(soup)
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    text = "\n".join(line for line in lines if line)
    if not text.strip():
        if had_text:
            raise LoadError(f"{name}: the page holds only navigation, header and footer text, no body")
        raise LoadError(f"{name}: the HTML page has no visible text")
    return text


_MD_PATTERNS = [
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),  # heading markers
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # italic
    (re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.M), ""),  # table rules
    (re.compile(r"^\s*>\s?", re.M), ""),  # quotes
    (re.compile(r"<[^>\n]+>"), ""),  # inline html
]


def markdown_to_text(md: str) -> str:
    for pat, rep in _MD_PATTERNS:
        md = pat.sub(rep, md)
    md = md.replace("|", " ")
    return "\n".join(line.strip() for line in md.splitlines() if line.strip())


# ---------------------------------------------------------------- PDF

# A page number alone on its line: "12", "- 12 -", "Page 3", "Page 3 of 40", "3/40", "Trang 3".
_PAGE_NUMBER = re.compile(
    r"^[ \t]*(?:[-–—][ \t]*)?(?:(?:Page|PAGE|Trang|TRANG|p\.)[ \t]*)?\d{1,4}"
    r"(?:[ \t]*(?:/|of|trên)[ \t]*\d{1,4})?(?:[ \t]*[-–—])?[ \t]*$"
)
# A line that opens a unit in some drafting style: an article or structural heading, a clause or a
# point label at the line start. Built from the style tables, so a new style's labels count too.
_UNIT_STARTS: list[re.Pattern[str]] = []
for _s in STYLES.values():
    _UNIT_STARTS.append(_s.article)
    _UNIT_STARTS.extend(_s.inserted_article)
    _UNIT_STARTS.extend(r.pattern for r in _s.structural)
    _UNIT_STARTS.extend(r.pattern for r in (*_s.clause, *_s.point))
_ENDS_UNIT = re.compile(r"[.;:!?…)\]”\"'—]$")


def starts_unit(line: str) -> bool:
    """Does ``line`` open an article, a heading, a clause or a point in any drafting style?"""
    s = line.lstrip()
    return any(p.match(s) for p in _UNIT_STARTS)


def unwrap_lines(lines: list[str], width: int | None = None) -> list[str]:
    """Join lines a layout broke because they were full (the PDF's text layer) back into paragraphs.

    A break is a wrap when the next line's first word would not have fitted on the line (its length
    plus that word passes ``width``, by default the longest line). A wrapped line is joined to the
    next unless it ends a sentence and the next line opens a unit, so a sentence that wraps before
    "2. …" or "(a) …" stays one sentence, and a clause that ends a full line still ends there.
    """
    if not lines:
        return []
    width = width or max(len(line) for line in lines)
    out: list[str] = []
    for i, line in enumerate(lines):
        cur = line.strip()
        if out and out[-1] and cur:
            prev = out[-1]
            first = cur.split()[0]
            wrapped = len(prev) + 1 + len(first) > 0.9 * width
            after = lines[i + 1].strip() if i + 1 < len(lines) else ""
            # A title (no final punctuation) between the end of a sentence and the start of a unit is
            # a heading: a marginal note above "2. —(1) …", a treaty article's title.
            title = _ENDS_UNIT.search(prev) and not _ENDS_UNIT.search(cur) and after and starts_unit(after)
            if wrapped and not title and not (_ENDS_UNIT.search(prev) and starts_unit(cur)):
                out[-1] = prev + cur if prev.endswith("-") and prev[-2:-1].isalpha() else prev + " " + cur
                continue
        out.append(cur)
    return out


def _furniture(pages: list[list[str]]) -> set[str]:
    """Running headers and footers: a first or last line that recurs, digits aside, on most pages."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = {re.sub(r"\d+", "#", ln.strip()) for ln in (*lines[:2], *lines[-2:]) if ln.strip()}
        counts.update(edge)
    return {k for k, n in counts.items() if n >= max(3, len(pages) // 2)}


def pdf_to_text(data: bytes, name: str) -> str:
    """A PDF's text layer as paragraphs; LoadError for an unreadable PDF or one without text."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PdfStreamError

    # pypdf logs what it repairs ("EOF marker not found"); the LoadError below is what the user reads.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError(f"{name}: the PDF is encrypted; save an unencrypted copy first")
        pages = [(page.extract_text() or "").replace("\r\n", "\n").split("\n") for page in reader.pages]
    except LoadError:
        raise
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, OSError) as e:
        raise LoadError(f"{name}: unreadable PDF ({e})") from None
    if not any(line.strip() for lines in pages for line in lines):
        raise LoadError(
            f"{name}: the PDF has {len(pages)} page(s) but no text layer (a scan?); run OCR on it first "
            "(e.g. ocrmypdf) or supply the text"
        )
    furniture = _furniture(pages)
    kept: list[str] = []
    for lines in pages:
        # A page break is not a paragraph break: the last line of a page may wrap onto the next.
        while lines and not lines[-1].strip():
            lines.pop()
        for ln in lines:
            if _PAGE_NUMBER.match(ln) or re.sub(r"\d+", "#", ln.strip()) in furniture:
                continue
            kept.append(ln.rstrip())
    lengths = [len(ln) for ln in kept if ln.strip()]
    # The text width: long lines are full lines; a few over-long ones (tables) do not set it.
    width = int(statistics.quantiles(lengths, n=20)[-1]) if len(lengths) >= 20 else max(lengths)
    return "\n".join(unwrap_lines(kept, width))


# ---------------------------------------------------------------- DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_ROMAN_VALUES = [
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
]


def _roman(n: int) -> str:
    out = ""
    for v, s in _ROMAN_VALUES:
        while n >= v:
            out, n = out + s, n - v
    return out


def _format_number(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        s = ""
        while n > 0:
            n, r = divmod(n - 1, 26)
            s = chr(ord("a") + r) + s
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        return _roman(n).upper() if fmt == "upperRoman" else _roman(n)
    if fmt == "bullet":
        return ""
    return str(n)


class _Numbering:
    """Word's automatic numbering: the "1." and "a)" a paragraph shows but its text does not hold."""

    def __init__(self, document: object) -> None:
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}
        self.counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element  # type: ignore[attr-defined]
        except (NotImplementedError, KeyError, AttributeError):
            return
        abstract = {}
        for an in root.iter(f"{_W}abstractNum"):
            lv = {}
            for lvl in an.iter(f"{_W}lvl"):
                ilvl = int(lvl.get(f"{_W}ilvl", "0"))
                fmt = lvl.find(f"{_W}numFmt")
                txt = lvl.find(f"{_W}lvlText")
                start = lvl.find(f"{_W}start")
                lv[ilvl] = (
                    fmt.get(f"{_W}val") if fmt is not None else "decimal",
                    txt.get(f"{_W}val") if txt is not None else f"%{ilvl + 1}.",
                    int(start.get(f"{_W}val")) if start is not None else 1,
                )
            abstract[an.get(f"{_W}abstractNumId")] = lv
        for num in root.iter(f"{_W}num"):
            ref = num.find(f"{_W}abstractNumId")
            if ref is None:
                continue
            for ilvl, spec in abstract.get(ref.get(f"{_W}val"), {}).items():
                self.levels[(num.get(f"{_W}numId"), ilvl)] = spec

    def label(self, num_id: str, ilvl: int) -> str:
        if (num_id, ilvl) not in self.levels:
            return ""
        counters = self.counters.setdefault(num_id, [0] * 9)
        for lv in range(9):
            if counters[lv] == 0 and lv <= ilvl:
                counters[lv] = self.levels.get((num_id, lv), ("", "", 1))[2] - (0 if lv < ilvl else 1)
        counters[ilvl] += 1
        for lv in range(ilvl + 1, 9):
            counters[lv] = 0
        fmt, text, _ = self.levels[(num_id, ilvl)]
        if fmt == "bullet":
            return ""
        for lv in range(ilvl + 1):
            lfmt = self.levels.get((num_id, lv), ("decimal", "", 1))[0]
            text = text.replace(f"%{lv + 1}", _format_number(counters[lv], lfmt))
        return text


def _num_pr(paragraph: object) -> tuple[str, int] | None:
    """(numId, level) of a paragraph's numbering, set on the paragraph or on its style."""
    p = paragraph._p  # type: ignore[attr-defined]
    sources = [p.pPr]
    style = getattr(paragraph, "style", None)
    while style is not None:
        sources.append(style.element.pPr)
        style = style.base_style
    for ppr in sources:
        if ppr is None or ppr.numPr is None:
            continue
        num_id = ppr.numPr.numId
        ilvl = ppr.numPr.ilvl
        if num_id is not None and num_id.val != 0:
            return str(num_id.val), int(ilvl.val) if ilvl is not None else 0
    return None


def docx_to_text(data: bytes, name: str) -> str:
    """A .docx's paragraphs and tables in order, each paragraph's automatic number put back."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        raise LoadError(f"{name}: not a .docx (not a ZIP archive)") from None
    if "word/document.xml" not in names:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        raise LoadError(
            f"{name}: a ZIP archive but not a Word document "
            f"(no word/document.xml; holds {shown or 'nothing'})"
        )
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise LoadError(f"{name}: unreadable .docx ({e})") from None
    numbering = _Numbering(document)
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines: list[str] = []

    def paragraph(p: Paragraph) -> None:
        text = p.text.strip()
        if not text:
            return
        pr = _num_pr(p)
        label = numbering.label(*pr) if pr else ""
        lines.append(f"{label} {text}" if label else text)

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            paragraph(block)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                line = " ".join(dict.fromkeys(c for c in cells if c))
                if line:
                    lines.append(line)
    if not lines:
        raise LoadError(f"{name}: the Word document has no text")
    return "\n".join(lines)


# ---------------------------------------------------------------- the loader


def sniff_format(data: bytes, name: str, hint: str | None = None) -> str:
    """The format from the bytes: PDF and ZIP (DOCX) by their signatures, HTML by its tags."""
    ext = (hint or Path(name).suffix.lstrip(".")).lower()
    ext = _EXT.get(ext, ext)
    if data.startswith(b"%PDF-") or data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "docx"
    if ext in ("pdf", "docx"):
        raise LoadError(
            f"{name}: named .{ext} but is not a {ext.upper()} file (it starts with {data[:12]!r})"
        )
    if ext == "md":
        return "md"  # Markdown may hold inline HTML; its own rules strip it
    head = data[:2048].lower().replace(b"\x00", b"")
    if ext == "html" or re.search(rb"<!doctype html|<html[\s>]|<body[\s>]|<p[\s>]|<div[\s>]", head):
        return "html"
    if ext not in FORMATS:
        log.debug("%s: unknown extension %r, read as plain text", name, ext)
    return "txt"


def load_bytes(
    data: bytes,
    name: str,
    fmt: str | None = None,
    encodings: tuple[str, ...] | list[str] = DEFAULT_ENCODINGS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Loaded:
    """A file's bytes → its text (not yet cleaned), format and encoding; LoadError otherwise."""
    if len(data) > max_bytes:
        raise LoadError(too_big(name, len(data), max_bytes))
    kind = sniff_format(data, name, fmt)
    warnings: list[str] = []
    if kind == "pdf":
        return Loaded(pdf_to_text(data, name), "pdf", "pdf", warnings)
    if kind == "docx":
        return Loaded(docx_to_text(data, name), "docx", "docx", warnings)
    text, enc = decode(data, name, encodings)
    if "\ufffd" in text:
        pos = text.index("\ufffd")
        warnings.append(
            f"{name}: line {_line_of(text, pos)}: U+FFFD replacement character "
            "(text lost before it reached us)"
        )
    if kind == "html":
        return Loaded(html_to_text(text, name), "html", enc, warnings)
    if kind == "md":
        return Loaded(markdown_to_text(text), "md", enc, warnings)
    return Loaded(text, "txt", enc, warnings)


def load_file(
    path: str | Path,
    fmt: str | None = None,
    encodings: tuple[str, ...] | list[str] = DEFAULT_ENCODINGS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Loaded:
    """Read ``path`` with :func:`load_bytes`; the size is checked before anything is read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(too_big(str(path), size, max_bytes))
        if path.is_dir():
            raise LoadError(f"{path}: is a directory, not a file")
        data = path.read_bytes()
    except LoadError:
        raise
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except OSError as e:
        raise LoadError(f"{path}: cannot read ({e.strerror})") from None
    return load_bytes(data, str(path), fmt, encodings, max_bytes)

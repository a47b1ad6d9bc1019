"""ingest stage: corpora/manifest.yaml + raw files → data/documents.parquet + data/ingest_report.json.

Every manifest entry ends either as a row of documents.parquet or as a report row with the reason.
An unreadable file is reported and does not stop the others; a malformed manifest (an entry that
points at nothing, a duplicate id, a missing required field) is an error naming the entry.
"""

from __future__ import annotations

import argparse
import hashlib
import io as _io
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from pipeline.io import write_json, write_parquet
from pipeline.lang import normalise
from pipeline.params import load_params
from pipeline.schema import DOCUMENTS_SCHEMA, KINDS, LANGS, Document, to_table

log = logging.getLogger(__name__)

REQUIRED = ("id", "lang", "title", "jurisdiction", "year", "kind", "official", "licence", "redistribute_text")
STYLES = ("vn", "vn-en", "treaty", "sg", "us")
FORMATS = ("txt", "md", "html", "pdf", "docx")


class ManifestError(ValueError):
    """The manifest itself is wrong: the whole stage stops, naming the entry."""


class DecodeError(ValueError):
    """A file's bytes are not text in any encoding we accept."""


@dataclass(frozen=True)
class IngestParams:
    """Section `ingest` of params.yaml."""

    encodings: list[str] = field(default_factory=lambda: ["utf-8-sig", "utf-16", "cp1258"])
    cache_dir: str = ".cache/downloads"
    allow_network: bool = True
    download_timeout_s: float = 20.0
    min_chars: int = 200
    max_failed_fraction: float = 0.2

    def __post_init__(self) -> None:
        if not self.encodings:
            raise ValueError("ingest.encodings: expected at least one encoding, found none")
        for enc in self.encodings:
            try:
                "".encode(enc)
            except LookupError:
                raise ValueError(f"ingest.encodings: unknown encoding {enc!r}") from None
        if not 0 <= self.max_failed_fraction <= 1:
            raise ValueError(f"ingest.max_failed_fraction: expected 0..1, found {self.max_failed_fraction}")


@dataclass(frozen=True)
class Entry:
    """One manifest entry, checked."""

    meta: dict[str, Any]
    path: Path | None
    url: str | None
    sha256: str | None
    fmt: str

    @property
    def doc_id(self) -> str:
        return str(self.meta["id"])


# ---------------------------------------------------------------- manifest


def default_style(meta: dict[str, Any]) -> str:
    """The drafting style when the manifest names none."""
    if meta.get("lang") == "vi":
        return "vn"
    if meta.get("translation_of"):
        return "vn-en"
    jur = str(meta.get("jurisdiction", "")).lower()
    if meta.get("kind") in ("treaty", "declaration") or "treaty" in jur:
        return "treaty"
    if "united states" in jur:
        return "us"
    return "sg"


def read_manifest(path: str | Path, root: str | Path = ".") -> list[Entry]:
    """Parse and check the manifest; raise ManifestError naming the entry that is wrong."""
    path, root = Path(path), Path(root)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ManifestError(f"{path}: cannot read manifest ({e})") from None
    docs = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(docs, list):
        raise ManifestError(f"{path}: expected a top-level 'documents' list, found {type(data).__name__}")
    seen: set[str] = set()
    entries = []
    for i, meta in enumerate(docs, 1):
        where = f"{path}: entry {i} ({meta.get('id', '?') if isinstance(meta, dict) else meta!r})"
        if not isinstance(meta, dict):
            raise ManifestError(f"{where}: expected a mapping")
        missing = [k for k in REQUIRED if meta.get(k) in (None, "")]
        if missing:
            raise ManifestError(f"{where}: missing required field(s) {missing}")
        doc_id = str(meta["id"])
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", doc_id):
            raise ManifestError(f"{where}: id must be lowercase letters, digits, '.', '_' or '-'")
        if doc_id in seen:
            raise ManifestError(f"{where}: duplicate id {doc_id!r}")
        seen.add(doc_id)
        if meta["lang"] not in LANGS:
            raise ManifestError(f"{where}: lang expected one of {LANGS}, found {meta['lang']!r}")
        if meta["kind"] not in KINDS:
            raise ManifestError(f"{where}: kind expected one of {KINDS}, found {meta['kind']!r}")
        for flag in ("official", "redistribute_text"):
            if not isinstance(meta[flag], bool):
                raise ManifestError(f"{where}: {flag} expected true or false, found {meta[flag]!r}")
        if not isinstance(meta["year"], int):
            raise ManifestError(f"{where}: year expected an integer, found {meta['year']!r}")
        style = meta.setdefault("style", default_style(meta))
        if style not in STYLES:
            raise ManifestError(f"{where}: style expected one of {STYLES}, found {style!r}")
        has_path, has_url = bool(meta.get("path")), bool(meta.get("url"))
        if has_path == has_url:
            raise ManifestError(f"{where}: expected exactly one of 'path' or 'url'")
        file_path = None
        if has_path:
            file_path = root / str(meta["path"])
            if not file_path.is_file():
                raise ManifestError(f"{where}: path {meta['path']!r} points at nothing")
        sha = meta.get("sha256")
        if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", str(sha)):
            raise ManifestError(f"{where}: sha256 expected 64 hex digits, found {sha!r}")
        fmt = str(
            meta.get("format") or Path(str(meta.get("path") or meta.get("url"))).suffix.lstrip(".") or "txt"
        )
        fmt = {"htm": "html", "markdown": "md", "text": "txt"}.get(fmt.lower(), fmt.lower())
        if fmt not in FORMATS:
            raise ManifestError(f"{where}: format expected one of {FORMATS}, found {fmt!r}")
        tr = meta.get("translation_of")
        entries.append(Entry(meta, file_path, meta.get("url"), sha, fmt))
        if tr is not None and not isinstance(tr, str):
            raise ManifestError(f"{where}: translation_of expected a document id, found {tr!r}")
    ids = {e.doc_id for e in entries}
    for e in entries:
        tr = e.meta.get("translation_of")
        if tr and tr not in ids:
            raise ManifestError(f"{path}: entry {e.doc_id}: translation_of {tr!r} is not a manifest id")
    return entries


# ---------------------------------------------------------------- decoding and extraction


def decode(data: bytes, encodings: list[str], name: str = "<bytes>") -> tuple[str, str]:
    """Bytes → (text, encoding). UTF-8 (BOM or not), UTF-16 with a BOM, then Windows-1258.

    Older Vietnamese files are often Windows-1258 (cp1258); cp1258 decodes almost any byte string, so
    it is tried last and accepted only when the result looks like text.
    """
    if not data.strip():
        raise DecodeError(f"{name}: file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise DecodeError(
                f"{name}: has a UTF-16 byte-order mark but is not UTF-16 ({e.reason})"
            ) from None
    if b"\x00" in data[:4096] and _looks_utf16_without_bom(data):
        # Latin text in UTF-16 has a zero high byte: at odd offsets in little-endian, even in big-endian.
        sample = data[:4096]
        enc = "utf-16-le" if sample[1::2].count(0) >= sample[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as e:
            raise DecodeError(
                f"{name}: looks like UTF-16 without a byte-order mark but is not ({e.reason})"
            ) from None
    for enc in encodings:
        if enc.startswith("utf-16"):
            continue
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text, enc
    raise DecodeError(f"{name}: not text in any of the encodings {encodings} (binary file?)")


def _looks_utf16_without_bom(data: bytes) -> bool:
    sample = data[:4096]
    zeros_odd = sample[1::2].count(0)
    zeros_even = sample[0::2].count(0)
    return max(zeros_odd, zeros_even) > 0.3 * (len(sample) / 2)


def _looks_like_text(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t") or ch == "\ufffd")
    return bad / len(sample) < 0.01


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block element a line."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "noscript"]):
        tag.decompose()
    text = soup.get_text("\n")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


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


def pdf_to_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(_io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as e:
        raise DecodeError(f"{name}: unreadable PDF ({e})") from None
    text = "\n".join(pages)
    if not text.strip():
        raise DecodeError(f"{name}: PDF has no text layer (scanned? OCR it first)")
    return text


def docx_to_text(data: bytes, name: str) -> str:
    import zipfile

    import docx

    try:
        document = docx.Document(_io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise DecodeError(f"{name}: unreadable .docx ({e})") from None
    return "\n".join(p.text for p in document.paragraphs if p.text.strip())


def extract_text(data: bytes, fmt: str, params: IngestParams, name: str) -> tuple[str, str]:
    """Raw bytes of a file of format ``fmt`` → (plain text, encoding or format used)."""
    if fmt == "pdf":
        return pdf_to_text(data, name), "pdf"
    if fmt == "docx":
        return docx_to_text(data, name), "docx"
    text, enc = decode(data, params.encodings, name)
    if fmt == "html":
        return html_to_text(text), enc
    if fmt == "md":
        return markdown_to_text(text), enc
    return text, enc


def clean_text(text: str, lang: str) -> str:
    """NFC, LF, trailing spaces trimmed, runs of blank lines collapsed."""
    text = normalise(text, lang)
    lines = [re.sub(r"[ \t\u00a0]+$", "", line) for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# ---------------------------------------------------------------- downloads


def fetch(entry: Entry, params: IngestParams) -> tuple[bytes | None, str | None, str | None]:
    """Return (bytes, sha256 seen, reason skipped). Cached once; sha256 checked when pinned."""
    assert entry.url is not None
    cache = Path(params.cache_dir)
    target = cache / f"{entry.doc_id}.{entry.fmt}"
    if target.exists():
        data = target.read_bytes()
    else:
        if not params.allow_network:
            return None, None, f"download of {entry.url} needed, but ingest.allow_network is false"
        try:
            req = urllib.request.Request(entry.url, headers={"User-Agent": "overbroad-ingest/0.1"})
            with urllib.request.urlopen(req, timeout=params.download_timeout_s) as resp:
                data = resp.read()
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            return None, None, f"could not download {entry.url}: {getattr(e, 'reason', e)}"
        cache.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    seen = hashlib.sha256(data).hexdigest()
    if entry.sha256 and seen != entry.sha256:
        return None, seen, f"sha256 mismatch for {entry.url}: expected {entry.sha256}, found {seen}"
    return data, seen, None


# ---------------------------------------------------------------- the stage


def load_document(entry: Entry, params: IngestParams) -> tuple[Document | None, dict[str, Any]]:
    """One manifest entry → (Document or None, its report row)."""
    meta = entry.meta
    row: dict[str, Any] = {
        "doc_id": entry.doc_id,
        "lang": meta["lang"],
        "source": str(entry.path or entry.url),
        "format": entry.fmt,
    }
    if entry.url:
        data, seen, reason = fetch(entry, params)
        row["sha256"] = seen
        if data is None:
            row.update(status="skipped", reason=reason)
            return None, row
        if not entry.sha256:
            row["warning"] = f"unpinned download; pin it with sha256: {seen}"
    else:
        assert entry.path is not None
        try:
            data = entry.path.read_bytes()
        except OSError as e:
            row.update(status="failed", reason=f"{entry.path}: cannot read ({e.strerror})")
            return None, row
    name = str(entry.path or entry.url)
    try:
        raw, enc = extract_text(data, entry.fmt, params, name)
    except DecodeError as e:
        row.update(status="failed", reason=str(e))
        return None, row
    text = clean_text(raw, meta["lang"])
    if len(text.strip()) < params.min_chars:
        row.update(status="failed", reason=f"{name}: only {len(text.strip())} characters of text")
        return None, row
    row.update(status="ok", encoding=enc, characters=len(text), bytes=len(data))
    doc = Document(
        doc_id=entry.doc_id,
        lang=meta["lang"],
        title=str(meta["title"]),
        jurisdiction=str(meta["jurisdiction"]),
        year=int(meta["year"]),
        kind=str(meta["kind"]),
        official=bool(meta["official"]),
        licence=str(meta["licence"]),
        redistribute_text=bool(meta["redistribute_text"]),
        source=str(meta.get("source_url") or meta.get("url") or meta.get("source") or ""),
        path=str(meta.get("path") or meta.get("url")),
        style=str(meta["style"]),
        text=text,
        translation_of=meta.get("translation_of"),
    )
    return doc, row


def run(
    manifest: str | Path,
    out_path: str | Path,
    report_path: str | Path,
    params: IngestParams,
    root: str | Path = ".",
) -> dict[str, int]:
    """Ingest every manifest entry; write documents and the report; return counts."""
    entries = read_manifest(manifest, root)
    docs, report = [], []
    for entry in tqdm(entries, desc="ingest", unit="doc", disable=None):
        doc, row = load_document(entry, params)
        report.append(row)
        if doc is not None:
            docs.append(doc)
        else:
            log.warning("%s: %s (%s)", entry.doc_id, row["status"], row["reason"])
    counts = {
        "entries": len(entries),
        "ok": sum(r["status"] == "ok" for r in report),
        "skipped": sum(r["status"] == "skipped" for r in report),
        "failed": sum(r["status"] == "failed" for r in report),
    }
    if entries and counts["failed"] / len(entries) > params.max_failed_fraction:
        failed = [f"{r['doc_id']}: {r['reason']}" for r in report if r["status"] == "failed"]
        raise RuntimeError(
            f"ingest: {counts['failed']} of {len(entries)} documents failed "
            f"(more than ingest.max_failed_fraction={params.max_failed_fraction}):\n" + "\n".join(failed)
        )
    write_parquet(to_table([d.__dict__ for d in docs], DOCUMENTS_SCHEMA), out_path)
    write_json({"counts": counts, "documents": report}, report_path)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overbroad ingest", description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default="corpora/manifest.yaml")
    ap.add_argument("--out", default="data/documents.parquet")
    ap.add_argument("--report", default="data/ingest_report.json")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params = load_params(IngestParams, "ingest", args.params)
    try:
        counts = run(args.manifest, args.out, args.report, params)
    except ManifestError as e:
        log.error("%s", e)
        return 2
    log.info("ingest: %s", counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

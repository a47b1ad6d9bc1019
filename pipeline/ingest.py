"""ingest stage: corpora/manifest.yaml + raw files → data/documents.parquet + data/ingest_report.json.

Every manifest entry ends either as a row of documents.parquet or as a report row with the reason.
An unreadable file is reported and does not stop the others; a malformed manifest (an entry that
points at nothing, a duplicate id, a missing required field) is an error naming the entry.
"""

from __future__ import annotations

import hashlib
import io as _io
import logging
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipeline import stage
from pipeline.io import write_json, write_parquet
from pipeline.lang import clean_text
from pipeline.manifest import read_manifest
from pipeline.params import load_params
from pipeline.schema import DOCUMENTS_SCHEMA, Document, ManifestEntry, to_table

log = logging.getLogger(__name__)


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


# ---------------------------------------------------------------- downloads


def fetch(entry: ManifestEntry, params: IngestParams) -> tuple[bytes | None, str | None, str | None]:
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


def load_document(entry: ManifestEntry, params: IngestParams) -> tuple[Document | None, dict[str, Any]]:
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
        source=str(meta.get("source") or ""),
        source_url=meta.get("source_url") or meta.get("url"),
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


PATHS = {
    "manifest": "corpora/manifest.yaml",
    "out": "data/documents.parquet",
    "report": "data/ingest_report.json",
}


def main(argv: list[str] | None = None) -> int:
    args = stage.arguments("overbroad ingest", __doc__, PATHS, argv)
    params = load_params(IngestParams, "ingest", args.params)
    return stage.execute("ingest", lambda: run(args.manifest, args.out, args.report, params))


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["ingest", *sys.argv[1:]]))

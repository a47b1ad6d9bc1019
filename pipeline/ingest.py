"""ingest stage: corpora/manifest.yaml + raw files → data/documents.parquet + data/ingest_report.json.

Every manifest entry ends either as a row of documents.parquet or as a report row with the reason.
An unreadable file is reported and does not stop the others; so is a malformed entry (one that points
at nothing or outside the project, a repeated id, a missing field or one of the wrong type), as a
failed row naming the entry. Only a manifest that is not a list of documents stops the stage.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipeline import stage
from pipeline.detect import detect_style, no_style_message
from pipeline.io import write_json, write_parquet
from pipeline.loader import (
    FORMATS,
    LoadError,
    clean_text,
    html_to_text,
    load_bytes,
    markdown_to_text,
    too_big,
)
from pipeline.loader import decode as _decode
from pipeline.manifest import ManifestError, check_manifest, read_manifest
from pipeline.params import load_params
from pipeline.schema import DOCUMENTS_SCHEMA, Document, ManifestEntry, to_table

log = logging.getLogger(__name__)

__all__ = ["FORMATS", "ManifestError", "clean_text", "html_to_text", "markdown_to_text", "read_manifest"]

# A file's bytes are not the text of a law (pipeline.loader says why, naming the file and line).
DecodeError = LoadError


@dataclass(frozen=True)
class IngestParams:
    """Section `ingest` of params.yaml."""

    encodings: list[str] = field(default_factory=lambda: ["utf-8-sig", "utf-16", "cp1258"])
    cache_dir: str = ".cache/downloads"
    allow_network: bool = True
    download_timeout_s: float = 20.0
    min_chars: int = 200
    max_failed_fraction: float = 0.2
    max_bytes: int = 64 * 1024 * 1024

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
    """Bytes → (text, encoding): :func:`pipeline.loader.decode` (kept here for its callers)."""
    return _decode(data, name, encodings)


def extract_text(data: bytes, fmt: str, params: IngestParams, name: str) -> tuple[str, str, list[str]]:
    """Raw bytes of a file → (plain text, encoding or format used, warnings): the shared loader."""
    loaded = load_bytes(data, name, fmt, params.encodings, params.max_bytes)
    return loaded.text, loaded.encoding, loaded.warnings


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
            size = entry.path.stat().st_size
            if size > params.max_bytes:
                row.update(status="failed", reason=too_big(str(entry.path), size, params.max_bytes))
                return None, row
            data = entry.path.read_bytes()
        except OSError as e:
            row.update(status="failed", reason=f"{entry.path}: cannot read ({e.strerror})")
            return None, row
    name = str(entry.path or entry.url)
    try:
        raw, enc, warnings = extract_text(data, entry.fmt, params, name)
    except LoadError as e:
        row.update(status="failed", reason=str(e))
        return None, row
    text = clean_text(raw, meta["lang"])
    if len(text.strip()) < params.min_chars:
        row.update(status="failed", reason=f"{name}: only {len(text.strip())} characters of text")
        return None, row
    choice = detect_style(text, meta["lang"])
    style = meta.get("style") or choice.style
    if style is None:
        row.update(
            status="failed", reason=f"{name}: {no_style_message(choice)}", style_detection=choice.as_dict()
        )
        return None, row
    if meta.get("style") and choice.style not in (None, style):
        warnings.append(
            f"{name}: manifest style {style!r}, but the text reads as {choice.style!r} ({choice.evidence})"
        )
    row.update(
        status="ok",
        encoding=enc,
        characters=len(text),
        bytes=len(data),
        style=style,
        style_source="manifest" if meta.get("style") else "detected",
        style_detection=choice.as_dict(),
        warnings=warnings,
    )
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
        style=str(style),
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
    entries, problems = check_manifest(manifest, root)
    docs, report = [], list(problems)
    for row in problems:
        log.warning("%s: failed (%s)", row["doc_id"], row["reason"])
    for entry in tqdm(entries, desc="ingest", unit="doc", disable=None):
        doc, row = load_document(entry, params)
        report.append(row)
        if doc is not None:
            docs.append(doc)
            for w in row.get("warnings", []):
                log.warning("%s: %s", entry.doc_id, w)
        else:
            log.warning("%s: %s (%s)", entry.doc_id, row["status"], row["reason"])
    counts = {
        "entries": len(report),
        "ok": sum(r["status"] == "ok" for r in report),
        "skipped": sum(r["status"] == "skipped" for r in report),
        "failed": sum(r["status"] == "failed" for r in report),
        "warnings": sum(len(r.get("warnings", [])) for r in report),
    }
    if report and counts["failed"] / len(report) > params.max_failed_fraction:
        failed = [f"{r['doc_id']}: {r['reason']}" for r in report if r["status"] == "failed"]
        raise RuntimeError(
            f"ingest: {counts['failed']} of {len(report)} documents failed "
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
    def extra(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--strict", action="store_true", help="exit 1 when any document has warnings")

    args = stage.arguments("overbroad ingest", __doc__, PATHS, argv, extra)
    params = load_params(IngestParams, "ingest", args.params)
    counts: dict[str, int] = {}

    def go() -> dict[str, int]:
        counts.update(run(args.manifest, args.out, args.report, params))
        return counts

    code = stage.execute("ingest", go)
    return 1 if code == 0 and args.strict and counts.get("warnings") else code


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["ingest", *sys.argv[1:]]))

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
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

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
from pipeline.params import load_params
from pipeline.schema import DOCUMENTS_SCHEMA, KINDS, LANGS, Document, to_table
from pipeline.styles import STYLES as _STYLE_TABLES

log = logging.getLogger(__name__)

REQUIRED = ("id", "lang", "title", "jurisdiction", "year", "kind", "official", "licence", "redistribute_text")
STYLES = tuple(_STYLE_TABLES)
__all__ = ["FORMATS", "clean_text", "html_to_text", "markdown_to_text"]


class ManifestError(ValueError):
    """The manifest itself is wrong: the whole stage stops, naming the entry."""


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


def read_manifest(path: str | Path, root: str | Path = ".") -> list[Entry]:
    """Parse and check the manifest; raise ManifestError naming the first entry that is wrong."""
    entries, problems = check_manifest(path, root)
    if problems:
        raise ManifestError(problems[0]["reason"])
    return entries


def check_manifest(path: str | Path, root: str | Path = ".") -> tuple[list[Entry], list[dict[str, Any]]]:
    """Parse the manifest: (the entries that are right, a failed report row for each that is not).

    A wrong entry (a field of the wrong type, a path outside the project or to nothing, a repeated
    id) is reported and does not stop the others; a file that is not a manifest at all raises.
    """
    path, root = Path(path), Path(root)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ManifestError(f"{path}: cannot read manifest ({e})") from None
    docs = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(docs, list):
        raise ManifestError(f"{path}: expected a top-level 'documents' list, found {type(data).__name__}")
    seen: dict[str, int] = {}
    entries: list[Entry] = []
    problems: list[dict[str, Any]] = []
    for i, meta in enumerate(docs, 1):
        try:
            entry = _check_entry(path, root, i, meta, seen)
        except ManifestError as e:
            doc_id = meta.get("id") if isinstance(meta, dict) else None
            problems.append(
                {
                    "doc_id": str(doc_id) if doc_id not in (None, "") else f"entry-{i}",
                    "source": f"{path}: entry {i}",
                    "status": "failed",
                    "reason": str(e),
                }
            )
            continue
        entries.append(entry)
    ids = {e.doc_id for e in entries}
    kept = []
    for e in entries:
        tr = e.meta.get("translation_of")
        if tr and tr not in ids:
            problems.append(
                {
                    "doc_id": e.doc_id,
                    "source": f"{path}: entry {e.doc_id}",
                    "status": "failed",
                    "reason": f"{path}: entry {e.doc_id}: translation_of {tr!r} is not a manifest id",
                }
            )
            continue
        kept.append(e)
    return kept, problems


def _check_entry(path: Path, root: Path, i: int, meta: Any, seen: dict[str, int]) -> Entry:
    """One manifest entry checked, or ManifestError naming it."""
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
        raise ManifestError(f"{where}: duplicate id {doc_id!r} (first used by entry {seen[doc_id]})")
    seen[doc_id] = i
    if meta["lang"] not in LANGS:
        raise ManifestError(f"{where}: lang expected one of {LANGS}, found {meta['lang']!r}")
    if meta["kind"] not in KINDS:
        raise ManifestError(f"{where}: kind expected one of {KINDS}, found {meta['kind']!r}")
    for flag in ("official", "redistribute_text"):
        if not isinstance(meta[flag], bool):
            raise ManifestError(f"{where}: {flag} expected true or false, found {meta[flag]!r}")
    if not isinstance(meta["year"], int) or isinstance(meta["year"], bool):
        raise ManifestError(f"{where}: year expected an integer, found {meta['year']!r}")
    # Without a style the text decides (pipeline.detect), once it is read.
    style = meta.get("style")
    if style is not None and style not in STYLES:
        raise ManifestError(f"{where}: style expected one of {STYLES}, found {style!r}")
    has_path, has_url = bool(meta.get("path")), bool(meta.get("url"))
    if has_path == has_url:
        raise ManifestError(f"{where}: expected exactly one of 'path' or 'url'")
    file_path = None
    if has_path:
        file_path = root / str(meta["path"])
        # The corpus is what the manifest's folder (corpora/) holds: a file elsewhere (../, /home/…)
        # would not travel with the repository, nor be covered by SOURCES.md.
        folder = path.parent.resolve()
        if not file_path.resolve().is_relative_to(folder):
            raise ManifestError(
                f"{where}: path {meta['path']!r} is outside {folder.name}/ (the manifest's folder, "
                f"{folder}); put the file under {folder.name}/raw/"
            )
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
    if tr is not None and not isinstance(tr, str):
        raise ManifestError(f"{where}: translation_of expected a document id, found {tr!r}")
    return Entry(meta, file_path, meta.get("url"), sha, fmt)


# ---------------------------------------------------------------- decoding and extraction


def decode(data: bytes, encodings: list[str], name: str = "<bytes>") -> tuple[str, str]:
    """Bytes → (text, encoding): :func:`pipeline.loader.decode` (kept here for its callers)."""
    return _decode(data, name, encodings)


def extract_text(data: bytes, fmt: str, params: IngestParams, name: str) -> tuple[str, str, list[str]]:
    """Raw bytes of a file → (plain text, encoding or format used, warnings): the shared loader."""
    loaded = load_bytes(data, name, fmt, params.encodings, params.max_bytes)
    return loaded.text, loaded.encoding, loaded.warnings


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overbroad ingest", description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default="corpora/manifest.yaml")
    ap.add_argument("--out", default="data/documents.parquet")
    ap.add_argument("--report", default="data/ingest_report.json")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--strict", action="store_true", help="exit 1 when any document has warnings")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params = load_params(IngestParams, "ingest", args.params)
    try:
        counts = run(args.manifest, args.out, args.report, params)
    except ManifestError as e:
        log.error("%s", e)
        return 2
    log.info("ingest: %s", counts)
    return 1 if args.strict and counts["warnings"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

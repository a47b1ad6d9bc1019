"""The one reader of corpora/manifest.yaml: every entry checked, its drafting style filled in.

Ingest is its one caller; the stages after it read ingest's copy of the metadata in
data/documents.parquet. An error names the entry, what was expected and what was found.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pipeline.schema import FORMATS, KINDS, LANGS, MANIFEST_REQUIRED, ManifestEntry
from pipeline.styles import STYLES, default_style


class ManifestError(ValueError):
    """The manifest itself is wrong: the whole stage stops, naming the entry."""


def read_manifest(path: str | Path, root: str | Path = ".") -> list[ManifestEntry]:
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
        missing = [k for k in MANIFEST_REQUIRED if meta.get(k) in (None, "")]
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
        style = meta.setdefault(
            "style",
            default_style(
                doc_id, meta["lang"], meta.get("translation_of"), meta.get("kind"), meta.get("jurisdiction")
            ),
        )
        if style not in STYLES:
            raise ManifestError(f"{where}: style expected one of {tuple(STYLES)}, found {style!r}")
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
        if tr is not None and not isinstance(tr, str):
            raise ManifestError(f"{where}: translation_of expected a document id, found {tr!r}")
        entries.append(ManifestEntry(meta, file_path, meta.get("url"), sha, fmt))
    ids = {e.doc_id for e in entries}
    for e in entries:
        tr = e.meta.get("translation_of")
        if tr and tr not in ids:
            raise ManifestError(f"{path}: entry {e.doc_id}: translation_of {tr!r} is not a manifest id")
    return entries

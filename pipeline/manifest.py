"""The one reader of corpora/manifest.yaml: every entry checked.

Ingest is its one caller; the stages after it read ingest's copy of the metadata in
data/documents.parquet. An error names the entry, what was expected and what was found. An entry
without a ``style`` is given the style its text reads as (pipeline.detect), once the text is read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.schema import FORMATS, KINDS, LANGS, MANIFEST_REQUIRED, ManifestEntry
from pipeline.styles import STYLES


class ManifestError(ValueError):
    """The manifest itself is wrong: the whole stage stops, naming the entry."""


def read_manifest(path: str | Path, root: str | Path = ".") -> list[ManifestEntry]:
    """Parse and check the manifest; raise ManifestError naming the first entry that is wrong."""
    entries, problems = check_manifest(path, root)
    if problems:
        raise ManifestError(problems[0]["reason"])
    return entries


def check_manifest(
    path: str | Path, root: str | Path = "."
) -> tuple[list[ManifestEntry], list[dict[str, Any]]]:
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
    entries: list[ManifestEntry] = []
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


def _check_entry(path: Path, root: Path, i: int, meta: Any, seen: dict[str, int]) -> ManifestEntry:
    """One manifest entry checked, or ManifestError naming it."""
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
        raise ManifestError(f"{where}: style expected one of {tuple(STYLES)}, found {style!r}")
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
    return ManifestEntry(meta, file_path, meta.get("url"), sha, fmt)


def manifest_metadata(path: str | Path) -> list[dict[str, Any]]:
    """The entries' metadata as written, for the stages after ingest that need fields ingest does not
    copy (the link and versions stages: ``previous_version``, ``cited_as``, ``local_names``).

    Lenient by design: the entries were checked by :func:`read_manifest` at ingest; here only the
    shape is checked, so that a document ingest reported as failed still has its names.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ManifestError(f"{path}: cannot read manifest ({e})") from None
    docs = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(docs, list) or not all(isinstance(e, dict) and "id" in e for e in docs):
        raise ManifestError(f"{path}: expected a top-level 'documents' list of mappings with an 'id'")
    return docs

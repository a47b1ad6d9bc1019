"""The bulk Vietnamese corpora's archives: reading them into Documents and segmenting them.

Shared by the bulk pipeline, gold build (labels on bulk articles) and training (the texts of those
labelled articles), so that every one of them cuts a bulk document into the same provisions with the
same stable ids (``<archive>.<file slug>/art-<label>``).

Bộ Pháp điển (the Ministry of Justice's codification) numbers articles by their place in the code,
``Điều 1.11.LQ.1.`` (topic 1, subject 11, a law's article 1) or ``Điều 1.11.NĐ.1.1.`` (a decree's
article inserted under it), which the ``vn`` style does not read as article headings. They are mapped
here: each such label is replaced, in a copy of the text and with the same length, by an increasing
placeholder number the ``vn`` style does read; the provisions are then given their printed label back.
Offsets and unit texts are those of the original text.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.loader import LoadError, clean_text, load_bytes
from pipeline.schema import Document, Provision, provision_id
from pipeline.segmenter import SegmentError, SegmentOptions, segment
from pipeline.styles import (
    PHAP_DIEN_CITED_UNIT,
    PHAP_DIEN_HEADING,
    PHAP_DIEN_IN_FORCE,
    PHAP_DIEN_INSTRUMENT,
    PHAP_DIEN_PLACEHOLDER_BASE,
    PHAP_DIEN_PROVENANCE,
)

# Provenance of the bundled archives (their MANIFEST.json lists files, not licences).
PROVENANCE: dict[str, dict[str, str]] = {
    "vn-phap-dien": {
        "source": "Bộ Pháp điển điện tử (Ministry of Justice codification, phapdien.moj.gov.vn) via "
        "diepxuan/diepxuan.github.io (van-ban/*.md)",
        "licence": "Vietnamese legal normative documents are excluded from copyright protection "
        "(Vietnam IP Law, Art. 15); public domain.",
        "kind": "code",
    },
    "vn-underthesea-vlc": {
        "source": "undertheseanlp/underthesea CP_Vietnamese-VLC (crawled from thuvienphapluat.vn)",
        "licence": "Vietnamese legal normative documents are excluded from copyright protection "
        "(Vietnam IP Law, Art. 15); public domain. Corpus redistributed by underthesea (Apache-2.0).",
        "kind": "law",
    },
}
_FALLBACK_PROVENANCE = {"source": "", "licence": "unknown", "kind": "law"}


# --- reading archives ----------------------------------------------------------------------------


def archive_name(path: str | Path) -> str:
    name = Path(path).name
    for suffix in (".tar.xz", ".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", s.lower()).strip("-.") or "doc"


def read_archive(path: str | Path, unreadable: list[dict[str, Any]] | None = None) -> list[Document]:
    """A tar of .txt files + MANIFEST.json → Documents (NFC, cleaned), in manifest order.

    A file the loader cannot read raises ValueError naming it, or, given ``unreadable``, is appended
    there as a failed report row and left out (the other documents of the archive go on).
    """
    name = archive_name(path)
    prov = PROVENANCE.get(name, _FALLBACK_PROVENANCE)
    files: dict[str, bytes] = {}
    manifest: list[dict[str, Any]] | None = None
    with tarfile.open(path) as tar:
        for m in tar:
            if not m.isfile():
                continue
            fh = tar.extractfile(m)
            if fh is None:
                continue
            base = Path(m.name).name
            if base == "MANIFEST.json":
                manifest = json.loads(fh.read().decode("utf-8"))
            elif base.endswith(".txt"):
                files[base] = fh.read()
    if manifest is None:
        raise ValueError(f"{path}: no MANIFEST.json in the archive")
    if not isinstance(manifest, list):
        raise ValueError(f"{path}: MANIFEST.json expected a list of entries, found {type(manifest).__name__}")
    docs = []
    for i, entry in enumerate(manifest, 1):
        fname = entry.get("file") if isinstance(entry, dict) else None
        if not fname or fname not in files:
            raise ValueError(f"{path}: MANIFEST.json entry {i} names {fname!r}, which is not in the archive")
        stem = Path(fname).stem
        try:
            raw = load_bytes(files[fname], f"{path}#{fname}").text
        except LoadError as e:
            if unreadable is None:
                raise ValueError(str(e)) from None
            unreadable.append({"doc_id": f"{name}.{_slug(stem)}", "status": "failed", "reason": str(e)})
            continue
        docs.append(
            Document(
                doc_id=f"{name}.{_slug(stem)}",
                lang="vi",
                title=str(entry.get("title") or stem),
                jurisdiction="Viet Nam",
                year=int(entry.get("year") or _year(stem) or 0),
                kind=prov["kind"],
                official=True,
                licence=prov["licence"],
                redistribute_text=True,
                source=f"{prov['source']} ({entry.get('source_path') or fname})",
                path=f"{path}#{fname}",
                style="vn",
                text=clean_text(raw, "vi"),
            )
        )
    return docs


def _year(stem: str) -> int | None:
    m = re.search(r"(?<!\d)(19[4-9]\d|20[0-4]\d)(?!\d)", stem)
    return int(m.group(1)) if m else None


# --- segmenting, Pháp điển labels included ---------------------------------------------------------


def map_phap_dien(text: str) -> tuple[str, dict[str, str]]:
    """Replace Pháp điển article labels by same-length placeholders; return (text, placeholder → label)."""
    mapping: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        num = str(PHAP_DIEN_PLACEHOLDER_BASE + len(mapping))
        label = m.group(2)
        if len(num) > len(label):
            raise SegmentError(f"Pháp điển label {label!r} is too short to map")
        mapping[num] = label
        return m.group(1) + num + " " * (len(label) - len(num)) + "."

    return PHAP_DIEN_HEADING.sub(repl, text), mapping


@dataclass(frozen=True)
class Provenance:
    """Where a codified article comes from: its line as printed, and the instrument's full name."""

    line: str
    source_law: str | None


def read_provenance(body: str, known: dict[str, str]) -> tuple[Provenance | None, int]:
    """The provenance line opening a Pháp điển article body → (provenance, characters it takes).

    ``known`` maps an instrument's number to its full name as first printed in the document (later
    lines print the number only); it is updated with the names this line prints.
    """
    m = PHAP_DIEN_PROVENANCE.match(body)
    if not m:
        return None, 0
    line = m.group(1).strip()
    law = None
    for inst in PHAP_DIEN_INSTRUMENT.finditer(line):
        kind, number, rest = inst.group(1), inst.group(2), inst.group(3).strip()
        name = f"{kind} số {number}" + (f" {rest}" if rest else "")
        if rest and number not in known:
            known[number] = name
        law = law or known.get(number, name)
    if law is None:
        law = PHAP_DIEN_IN_FORCE.sub("", PHAP_DIEN_CITED_UNIT.sub("", line)).strip() or None
    end = m.end()
    while end < len(body) and body[end] in " \t\n":
        end += 1
    return Provenance(line, law), end


def segment_bulk(
    doc: Document, params: SegmentOptions
) -> tuple[list[Provision], list[str], dict[str, Provenance]]:
    """A bulk document → its provisions (Pháp điển labels restored), the segmenter's warnings, and the
    provenance of each codified article by article label.

    A codified article's provenance line is not the law's words: the article's text starts after it
    (so that an article scores as the same article in the law as enacted), and the line is kept in the
    ``provenance`` and ``source_law`` columns.
    """
    mapped, mapping = map_phap_dien(doc.text)
    if not mapping:
        seg = segment(doc, params)
        return seg.provisions, seg.issues, {}
    seg = segment(dataclasses.replace(doc, text=mapped), params)
    out = []
    known: dict[str, str] = {}
    provenance: dict[str, Provenance] = {}
    for p in seg.provisions:
        art = mapping.get(p.article, p.article)
        parent = None
        if p.level == "clause" or (p.level == "point" and p.clause is None):
            parent = provision_id(doc.doc_id, art)
        elif p.level == "point":
            parent = provision_id(doc.doc_id, art, p.clause)
        start = p.char_start
        if p.level == "article":
            prov, skip = read_provenance(doc.text[p.char_start : p.char_end], known)
            if prov is not None:
                provenance[art] = prov
                start = min(p.char_start + skip, p.char_end)
        # The placeholder only stood in the heading; the unit text is the original's.
        out.append(
            dataclasses.replace(
                p,
                article=art,
                provision_id=provision_id(doc.doc_id, art, p.clause, p.point),
                parent_id=parent,
                char_start=start,
                text=doc.text[start : p.char_end],
            )
        )
    return out, seg.issues, provenance

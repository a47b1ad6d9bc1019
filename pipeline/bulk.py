"""bulk scoring: the large Vietnamese corpora in corpora/bulk/*.tar.xz → data/bulk/<archive>/chunk-*.parquet.

Outside the default ``dvc repro`` (the ``bulk`` stage is frozen; run ``overbroad bulk`` or
``dvc unfreeze bulk && dvc repro bulk``). Each archive is a tar of .txt files and a MANIFEST.json;
its documents are ingested, segmented and scored in chunks of ``docs_per_chunk`` documents. Every chunk is
written atomically with a fingerprint (its documents, the params and the model version) in the Parquet
metadata, so a rerun skips the chunks already done and redoes only those whose inputs changed.

Bộ Pháp điển (the Ministry of Justice's codification) numbers articles by their place in the code,
``Điều 1.11.LQ.1.`` (topic 1, subject 11, a law's article 1) or ``Điều 1.11.NĐ.1.1.`` (a decree's
article inserted under it), which the ``vn`` style does not read as article headings. They are mapped
here: each such label is replaced, in a copy of the text and with the same length, by an increasing
placeholder number the ``vn`` style does read; the provisions are then given their printed label back.
Offsets and unit texts are those of the original text.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline.io import atomic_path, write_json
from pipeline.loader import LoadError, clean_text, load_bytes
from pipeline.params import load_params
from pipeline.schema import LEVELS, SCORES_SCHEMA, Document, Provision, provision_id, to_table
from pipeline.score import DEFAULT_LEXICON, LexiconScorer, ScoreParams, Scorer, load_scorer, model_version
from pipeline.score import score_provisions as _score_provisions
from pipeline.segment import SegmentError, SegmentParams, segment

log = logging.getLogger(__name__)

DEFAULT_ARCHIVES = ("corpora/bulk/vn-phap-dien.tar.xz", "corpora/bulk/vn-underthesea-vlc.tar.xz")
FINGERPRINT_KEY = b"overbroad.fingerprint"

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

# "Điều 1.11.LQ.1." / "Điều 1.11.NĐ.1.1." / "Điều 4.1.TT.4.24a.": topic.subject.(LQ law | NĐ decree |
# TT circular | …).article, then the period that ends the label.
PHAP_DIEN_HEADING = re.compile(r"^([ \t]*Điều[ \t]+)(\d+(?:\.\d+)*\.[A-ZĐa-zđ]+(?:\.\d+[a-zđ]?)+)\.", re.M)
# Placeholders start above any article number a law prints, so that a plain "Điều 36." quoted inside a
# Pháp điển article is out of order and stays in the text of the article that quotes it.
_PLACEHOLDER_BASE = 10_000_000


@dataclass(frozen=True)
class BulkParams:
    """Section ``bulk`` of params.yaml."""

    docs_per_chunk: int = 8
    levels: tuple[str, ...] = ("article",)
    scorer: str = "model"
    batch_size: int = 64
    attribution: str = "none"
    device: str = "auto"
    max_failed_fraction: float = 0.2
    seed: int = 13

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        if self.docs_per_chunk < 1:
            raise ValueError(f"bulk.docs_per_chunk: expected a positive integer, found {self.docs_per_chunk}")
        if not 0.0 <= self.max_failed_fraction <= 1.0:
            raise ValueError(
                f"bulk.max_failed_fraction: expected a number in [0, 1], found {self.max_failed_fraction}"
            )
        self.score_params()  # validates scorer, levels, batch size, attribution

    def score_params(self) -> ScoreParams:
        return ScoreParams(
            scorer=self.scorer,
            batch_size=self.batch_size,
            levels=self.levels,
            attribution=self.attribution,
            device=self.device,
            seed=self.seed,
        )

    def segment_params(self) -> SegmentParams:
        levels = tuple(lv for lv in LEVELS if lv in self.levels or lv == "article")
        return SegmentParams(levels=levels)


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
        num = str(_PLACEHOLDER_BASE + len(mapping))
        label = m.group(2)
        if len(num) > len(label):
            raise SegmentError(f"Pháp điển label {label!r} is too short to map")
        mapping[num] = label
        return m.group(1) + num + " " * (len(label) - len(num)) + "."

    return PHAP_DIEN_HEADING.sub(repl, text), mapping


def segment_bulk(doc: Document, params: SegmentParams) -> tuple[list[Provision], list[str]]:
    """A bulk document → its provisions (Pháp điển labels restored) and the segmenter's warnings."""
    mapped, mapping = map_phap_dien(doc.text)
    if not mapping:
        seg = segment(doc, params)
        return seg.provisions, seg.issues
    seg = segment(dataclasses.replace(doc, text=mapped), params)
    out = []
    for p in seg.provisions:
        art = mapping.get(p.article, p.article)
        parent = None
        if p.level == "clause" or (p.level == "point" and p.clause is None):
            parent = provision_id(doc.doc_id, art)
        elif p.level == "point":
            parent = provision_id(doc.doc_id, art, p.clause)
        # The placeholder only stood in the heading; the unit text is the original's.
        out.append(
            dataclasses.replace(
                p,
                article=art,
                provision_id=provision_id(doc.doc_id, art, p.clause, p.point),
                parent_id=parent,
                text=doc.text[p.char_start : p.char_end],
            )
        )
    return out, seg.issues


# --- chunks --------------------------------------------------------------------------------------


def chunk_fingerprint(docs: Sequence[Document], params: BulkParams, version: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(dataclasses.asdict(params), sort_keys=True, default=list).encode())
    h.update(version.encode())
    for d in docs:
        h.update(d.doc_id.encode())
        h.update(hashlib.sha256(d.text.encode()).digest())
    return h.hexdigest()


def chunk_done(path: Path, fingerprint: str) -> bool:
    """True when ``path`` is a complete chunk file written for the same inputs."""
    if not path.is_file():
        return False
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError):
        return False
    return meta.get(FINGERPRINT_KEY, b"").decode() == fingerprint


def score_chunk(
    docs: Sequence[Document], scorer: Scorer, params: BulkParams, lexicon: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Documents → (score rows, one report row per document)."""
    rows: list[dict[str, Any]] = []
    report = []
    for d in docs:
        try:
            provs, issues = segment_bulk(d, params.segment_params())
        except SegmentError as e:
            report.append({"doc_id": d.doc_id, "status": "failed", "reason": str(e)})
            log.warning("%s: %s", d.doc_id, e)
            continue
        rows.extend(p.to_dict() for p in provs)
        report.append(
            {
                "doc_id": d.doc_id,
                "status": "ok",
                "title": d.title,
                "source": d.source,
                "articles": sum(p.level == "article" for p in provs),
                "warnings": len(issues),
            }
        )
    scored = _score_provisions(rows, scorer, lexicon, params.score_params()) if rows else []
    return scored, report


def run(
    archives: Sequence[str | Path],
    out_dir: str | Path,
    params: BulkParams,
    model_dir: str | Path,
    lexicon_path: str | Path | None = DEFAULT_LEXICON,
    scorer: Scorer | None = None,
) -> dict[str, Any]:
    """Score every archive chunk by chunk into ``out_dir``; skip chunks already done; return counts."""
    from pipeline.lexicon import Lexicon
    from pipeline.seed import seed_everything

    seed_everything(params.seed)
    lexicon = (
        Lexicon.load(lexicon_path) if lexicon_path is not None and Path(lexicon_path).is_file() else None
    )
    if scorer is not None:
        version = scorer.version
    elif params.scorer == "lexicon":
        if lexicon is None:
            raise FileNotFoundError(f"{lexicon_path}: bulk.scorer is 'lexicon' but there is no lexicon")
        scorer = LexiconScorer(lexicon)
        version = scorer.version
    else:
        if not Path(model_dir).is_dir():
            raise FileNotFoundError(
                f"{model_dir}: classifier directory not found (or set bulk.scorer: lexicon)"
            )
        version = model_version(model_dir)  # the model itself is loaded only if a chunk needs it
    out_dir = Path(out_dir)
    counts: dict[str, Any] = {
        "chunks": 0,
        "done_before": 0,
        "scored": 0,
        "documents": 0,
        "failed": 0,
        "rows": 0,
    }
    for archive in archives:
        name = archive_name(archive)
        unreadable: list[dict[str, Any]] = []
        docs = read_archive(archive, unreadable)
        for row in unreadable:
            log.warning("%s", row["reason"])
        k = params.docs_per_chunk
        chunks = [docs[i : i + k] for i in range(0, len(docs), k)]
        report: list[dict[str, Any]] = list(unreadable)
        counts["documents"] += len(docs) + len(unreadable)
        for ci, chunk in enumerate(tqdm(chunks, desc=f"bulk {name}", unit="chunk", disable=None)):
            path = out_dir / name / f"chunk-{ci:05d}.parquet"
            fp = chunk_fingerprint(chunk, params, version)
            counts["chunks"] += 1
            if chunk_done(path, fp):
                counts["done_before"] += 1
                report.extend(
                    json.loads((pq.read_schema(path).metadata or {}).get(b"overbroad.report", b"[]"))
                )
                continue
            if scorer is None:
                scorer = load_scorer(
                    params.scorer,
                    model_dir,
                    lexicon_path or DEFAULT_LEXICON,
                    params.device,
                    batch_size=params.batch_size,
                )
            rows, chunk_report = score_chunk(chunk, scorer, params, lexicon)
            table = to_table(rows, SCORES_SCHEMA)
            table = table.replace_schema_metadata(
                {FINGERPRINT_KEY: fp.encode(), b"overbroad.report": json.dumps(chunk_report).encode()}
            )
            with atomic_path(path) as tmp:
                pq.write_table(table, tmp)
            counts["scored"] += 1
            report.extend(chunk_report)
        # Chunks of an earlier run with more documents are stale: remove them so the folder is one run.
        for stale in sorted((out_dir / name).glob("chunk-*.parquet"))[len(chunks) :]:
            stale.unlink()
        failed = sum(r["status"] == "failed" for r in report)
        counts["failed"] += failed
        counts["rows"] += sum(
            pq.read_metadata(p).num_rows for p in sorted((out_dir / name).glob("chunk-*.parquet"))
        )
        write_json(
            {"archive": str(archive), "model_version": version, "documents": report},
            out_dir / name / "report.json",
        )
        total = len(docs) + len(unreadable)
        if total and failed / total > params.max_failed_fraction:
            raise SegmentError(
                f"{archive}: {failed} of {total} documents could not be read or segmented "
                f"(more than bulk.max_failed_fraction={params.max_failed_fraction}); "
                f"see {out_dir / name / 'report.json'}"
            )
    write_json(counts, out_dir / "summary.json")
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overbroad bulk", description=__doc__.splitlines()[0])
    ap.add_argument("archives", nargs="*", default=list(DEFAULT_ARCHIVES))
    ap.add_argument("--out", default="data/bulk")
    ap.add_argument("--model", default="models/classifier")
    ap.add_argument("--lexicon", default=DEFAULT_LEXICON)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params = load_params(BulkParams, "bulk", args.params)
    try:
        counts = run(args.archives, args.out, params, args.model, args.lexicon)
    except (FileNotFoundError, ValueError, RuntimeError, tarfile.TarError) as e:
        log.error("bulk: %s", e)
        return 2
    log.info("bulk: %s", counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""bulk scoring: the large Vietnamese corpora in corpora/bulk/*.tar.xz → data/bulk/<archive>/chunk-*.parquet.

Outside ``dvc repro`` (no stage of dvc.yaml): run ``overbroad bulk``. Each archive is a tar of .txt
files and a MANIFEST.json; its documents are ingested, segmented and scored in chunks of
``docs_per_chunk`` documents. Every chunk is
written atomically with a fingerprint (its documents, the params and the model version) in the Parquet
metadata, so a rerun skips the chunks already done and redoes only those whose inputs changed.

Bộ Pháp điển (the Ministry of Justice's codification) numbers articles by their place in the code,
``Điều 1.11.LQ.1.`` (topic 1, subject 11, a law's article 1) or ``Điều 1.11.NĐ.1.1.`` (a decree's
article inserted under it), which the ``vn`` style does not read as article headings (the pattern is
styles.PHAP_DIEN_HEADING). Each such label is replaced, in a copy of the text and with the same length,
by an increasing placeholder number the ``vn`` style does read; the provisions are then given their
printed label back. Offsets and unit texts are those of the original text. Scoring is the scoring
core's (pipeline.scoring), as in the score stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline import stage
from pipeline.archives import archive_name, map_phap_dien, read_archive, segment_bulk  # noqa: F401
from pipeline.inputs import read_model_dir
from pipeline.io import atomic_path, write_json
from pipeline.lexicon import Lexicon
from pipeline.params import load_params
from pipeline.schema import LEVELS, SCORES_SCHEMA, Document, to_table
from pipeline.scoring import LexiconScorer, Scorer, ScoringOptions, load_scorer, score_provisions
from pipeline.segmenter import SegmentError, SegmentOptions

log = logging.getLogger(__name__)

DEFAULT_LEXICON = "corpora/lexicon/lexicon.yaml"
DEFAULT_ARCHIVES = ("corpora/bulk/vn-phap-dien.tar.xz", "corpora/bulk/vn-underthesea-vlc.tar.xz")
FINGERPRINT_KEY = b"overbroad.fingerprint"


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
        if self.scorer not in ("model", "lexicon"):
            raise ValueError(f"bulk.scorer: expected 'model' or 'lexicon', found {self.scorer!r}")
        if self.scorer == "lexicon" and self.attribution == "tokens":
            raise ValueError(
                "bulk.attribution: expected occlusion or none with scorer: lexicon, found 'tokens'"
            )
        self.options()  # validates levels, batch size, attribution

    def options(self) -> ScoringOptions:
        """The scoring core's options (in-context units, as the score stage)."""
        return ScoringOptions(levels=self.levels, batch_size=self.batch_size, attribution=self.attribution)

    def segment_options(self) -> SegmentOptions:
        levels = tuple(lv for lv in LEVELS if lv in self.levels or lv == "article")
        return SegmentOptions(levels=levels)


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
            provs, issues = segment_bulk(d, params.segment_options())
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
    scored = score_provisions(rows, scorer, lexicon, params.options()) if rows else []
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
        # the model itself is loaded only if a chunk needs it
        version = read_model_dir(model_dir).model_version
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
                    params.scorer, model_dir, lexicon, params.device, batch_size=params.batch_size
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
    def extra(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("archives", nargs="*", default=list(DEFAULT_ARCHIVES))

    paths = {"out": "data/bulk", "model": "models/classifier", "lexicon": DEFAULT_LEXICON}
    args = stage.arguments("overbroad bulk", __doc__, paths, argv, extra)
    params = load_params(BulkParams, "bulk", args.params)
    return stage.execute(
        "bulk",
        lambda: run(args.archives, args.out, params, args.model, args.lexicon),
        errors=(tarfile.TarError,),
    )


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["bulk", *sys.argv[1:]]))

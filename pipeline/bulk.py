"""bulk scoring: the Vietnamese corpora in corpora/bulk/*.tar.xz → data/bulk/chunks/<archive>/chunk-*.parquet.

A pipeline of its own, outside the default ``dvc repro``: ``dvc repro bulk/dvc.yaml`` (this stage, then
pipeline.bulk_publish), or ``overbroad bulk``. Each archive is a tar of .txt files and a
MANIFEST.json; its documents are ingested, segmented and scored (articles and units, with evidence)
in chunks of ``docs_per_chunk`` documents. A chunk is the unit of work that Dask distributes
(``bulk.scheduler``: a LocalCluster by default, or a running scheduler's address). Every chunk is
written atomically, as it finishes, with a fingerprint (its documents, the params and the model
version) in the Parquet metadata, so a rerun skips the chunks already done and redoes only those
whose inputs changed; the output is persistent in DVC, so an interrupted run resumes.

Bộ Pháp điển (the Ministry of Justice's codification) numbers articles by their place in the code,
``Điều 1.11.LQ.1.`` (topic 1, subject 11, a law's article 1) or ``Điều 1.11.NĐ.1.1.`` (a decree's
article inserted under it), which the ``vn`` style does not read as article headings (the pattern is
styles.PHAP_DIEN_HEADING). Each such label is replaced, in a copy of the text and with the same length,
by an increasing placeholder number the ``vn`` style does read; the provisions are then given their
printed label back. Offsets and unit texts are those of the original text. Scoring is the scoring
core's (pipeline.scoring), as in the score stage. Each codified article opens with a provenance line
(which law, decree or circular it comes from; styles.PHAP_DIEN_PROVENANCE): it is kept in the
``provenance`` and ``source_law`` columns and left out of the scored text.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import tarfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline import stage
from pipeline.archives import (  # noqa: F401 (map_phap_dien: re-exported)
    _FALLBACK_PROVENANCE,
    PROVENANCE,
    Provenance,
    archive_name,
    map_phap_dien,
    read_archive,
    read_provenance,
    segment_bulk,
)
from pipeline.inputs import read_model_dir
from pipeline.io import atomic_path, write_json
from pipeline.lexicon import Lexicon
from pipeline.nn.precision import check_precision
from pipeline.params import load_params
from pipeline.schema import BULK_SCORES_SCHEMA, LEVELS, Document, to_table
from pipeline.scoring import LexiconScorer, Scorer, ScoringOptions, load_scorer, reuse, score_provisions
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
    precision: str = "auto"  # pipeline.nn.precision: auto, fp32 or bf16
    threads: int = 0  # torch threads per worker; 0: this machine's cores shared among local workers
    # Dask: "local" starts a LocalCluster of ``workers`` processes on this machine, "sync" scores in
    # this process without Dask, anything else is a running scheduler's address (tcp://host:8786).
    scheduler: str = "local"
    workers: int = 1
    max_failed_fraction: float = 0.2
    # An article already scored (by the score stage, or in another chunk) takes those scores instead of
    # being encoded again (pipeline.scoring.reuse): the same numbers, up to the floats' last bits.
    reuse: bool = True
    seed: int = 13

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        check_precision(self.precision, "bulk.precision")
        if self.workers < 1 or self.threads < 0:
            raise ValueError(
                f"bulk.workers/threads: expected >= 1 and >= 0, found {self.workers}/{self.threads}"
            )
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
        return ScoringOptions(
            levels=self.levels, batch_size=self.batch_size, attribution=self.attribution, reuse=self.reuse
        )

    def segment_options(self) -> SegmentOptions:
        levels = tuple(lv for lv in LEVELS if lv in self.levels or lv == "article")
        return SegmentOptions(levels=levels)


# --- chunks --------------------------------------------------------------------------------------

# How the chunks are run, not what they contain: left out of a chunk's fingerprint.
ENGINE_FIELDS = ("scheduler", "workers", "threads", "reuse")


def chunk_fingerprint(docs: Sequence[Document], params: BulkParams, version: str) -> str:
    h = hashlib.sha256()
    fields = {k: v for k, v in dataclasses.asdict(params).items() if k not in ENGINE_FIELDS}
    h.update(json.dumps(fields, sort_keys=True, default=list).encode())
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


def chunk_rows(
    docs: Sequence[Document], params: BulkParams
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[tuple[str, str], Provenance]]:
    """Documents → (their provision rows at ``bulk.levels``, one report row per document, the provenance
    of each codified article by (doc_id, article))."""
    rows: list[dict[str, Any]] = []
    report = []
    origin: dict[tuple[str, str], Provenance] = {}
    for d in docs:
        try:
            provs, issues, prov = segment_bulk(d, params.segment_options())
        except SegmentError as e:
            report.append({"doc_id": d.doc_id, "status": "failed", "reason": str(e)})
            log.warning("%s: %s", d.doc_id, e)
            continue
        rows.extend(p.to_dict() for p in provs if p.level in params.levels)
        origin.update({(d.doc_id, art): v for art, v in prov.items()})
        report.append(
            {
                "doc_id": d.doc_id,
                "status": "ok",
                "title": d.title,
                "source": d.source,
                "year": d.year,
                "articles": sum(p.level == "article" for p in provs),
                "warnings": len(issues),
            }
        )
    return rows, report, origin


def article_keys(docs: Sequence[Document], params: BulkParams) -> set[str]:
    """The keys (pipeline.scoring.reuse) of the articles of ``docs``, as a chunk of them is scored."""
    rows, _, _ = chunk_rows(docs, params)
    kids, _ = reuse.articles_of(rows)
    return {reuse.article_key(rows, a, k) for a, k in kids.items()}


def score_chunk(
    docs: Sequence[Document],
    scorer: Scorer,
    params: BulkParams,
    lexicon: Any,
    known: dict[str, list[dict[str, Any]]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Documents → (score rows with their provenance columns, one report row per document).

    An article already scored (``known``: article key → rows, from the score stage or another chunk) or
    repeated inside the chunk is not encoded again (pipeline.scoring.reuse); the report rows say how many
    articles of each document were so reused.
    """
    rows, report, origin = chunk_rows(docs, params)
    scored = score_provisions(rows, scorer, lexicon, params.options(), known) if rows else []
    by_doc: Counter[str] = Counter()
    if params.reuse:
        p = reuse.plan(rows, known)
        by_doc.update(rows[a]["doc_id"] for a in [*p.copy_known, *p.copy_inside])
    for rep in report:
        if rep["status"] == "ok":
            rep["reused_articles"] = by_doc.get(rep["doc_id"], 0)
    for r in scored:  # a clause or point comes from where its article comes from
        o = origin.get((r["doc_id"], r["article"]))
        r["source_law"] = o.source_law if o else None
        r["provenance"] = o.line if o else None
    return scored, report


# --- the engine: chunks as Dask tasks --------------------------------------------------------------


@dataclass(frozen=True)
class ScorerSpec:
    """What a worker needs to build the scorer itself (a model is loaded once per worker process)."""

    kind: str
    model_dir: str
    lexicon_path: str | None
    device: str
    precision: str
    threads: int
    batch_size: int


_WORKER_CACHE: dict[Any, Any] = {}


def _lexicon_for(path: str | None) -> Lexicon | None:
    if path is None or not Path(path).is_file():
        return None
    key = ("lexicon", path)
    if key not in _WORKER_CACHE:
        _WORKER_CACHE[key] = Lexicon.load(path)
    return _WORKER_CACHE[key]


def _scorer_for(spec: ScorerSpec) -> Scorer:
    if spec not in _WORKER_CACHE:
        _WORKER_CACHE[spec] = load_scorer(
            spec.kind,
            spec.model_dir,
            _lexicon_for(spec.lexicon_path),
            spec.device,
            batch_size=spec.batch_size,
            precision=spec.precision,
            threads=spec.threads,
        )
    return _WORKER_CACHE[spec]


def chunk_task(
    docs: Sequence[Document],
    spec: ScorerSpec,
    params: BulkParams,
    known: dict[str, list[dict[str, Any]]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One chunk on whichever worker Dask gives it to: (score rows, report rows)."""
    from pipeline.seed import seed_everything

    seed_everything(params.seed)
    return score_chunk(docs, _scorer_for(spec), params, _lexicon_for(spec.lexicon_path), known)


class Known:
    """The scored rows of the articles that chunks still to be scored repeat, by article key
    (pipeline.scoring.reuse): seeded from the score stage's rows and the chunks already done, and fed
    with each chunk as it finishes, so that an article is encoded once in the whole run."""

    def __init__(self, wanted: dict[int, set[str]], version: str):
        self.wanted = wanted  # position of a chunk still to score → its article keys
        self.version = version
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self._need: Counter[str] = Counter(k for keys in wanted.values() for k in keys)

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Keep the articles of ``rows`` (scored rows) that a chunk still to score repeats."""
        rows = [r for r in rows if r.get("model_version") == self.version]
        for key, group in reuse.keyed_rows(rows).items():
            if self._need.get(key) and key not in self.rows:
                self.rows[key] = [{f: r.get(f) for f in SCORE_FIELDS_AND_IDS} for r in group]

    def take(self, position: int) -> dict[str, list[dict[str, Any]]]:
        """The known rows chunk ``position`` can use; forgets what no later chunk needs."""
        keys = self.wanted.pop(position, set())
        out = {k: self.rows[k] for k in keys if k in self.rows}
        for k in keys:
            self._need[k] -= 1
            if self._need[k] <= 0:
                self._need.pop(k, None)
                self.rows.pop(k, None)
        return out


# The fields of a known row a copy needs: its scores, and what the key of its article is made of.
SCORE_FIELDS_AND_IDS = (
    "provision_id",
    "doc_id",
    "article",
    "level",
    "lang",
    "text",
    "char_start",
    "char_end",
    "parent_id",
    *reuse.SCORE_FIELDS,
)


def dask_client(params: BulkParams) -> Any:
    """A Dask client: a LocalCluster of ``bulk.workers`` processes, or the scheduler at ``bulk.scheduler``."""
    from dask.distributed import Client, LocalCluster

    if params.scheduler == "local":
        cluster = LocalCluster(
            n_workers=params.workers,
            threads_per_worker=1,  # one chunk at a time per worker; torch uses the worker's threads
            processes=True,
            dashboard_address=None,
            silence_logs=logging.WARNING,
        )
        return Client(cluster)
    return Client(params.scheduler)


@dataclass
class _Chunk:
    archive: str
    index: int
    path: Path
    fingerprint: str
    docs: list[Document]


def _write_chunk(c: _Chunk, rows: list[dict[str, Any]], report: list[dict[str, Any]]) -> None:
    table = to_table(rows, BULK_SCORES_SCHEMA).replace_schema_metadata(
        {FINGERPRINT_KEY: c.fingerprint.encode(), REPORT_KEY: json.dumps(report).encode()}
    )
    with atomic_path(c.path) as tmp:
        pq.write_table(table, tmp)


REPORT_KEY = b"overbroad.report"


def run(
    archives: Sequence[str | Path],
    out_dir: str | Path,
    params: BulkParams,
    model_dir: str | Path,
    lexicon_path: str | Path | None = DEFAULT_LEXICON,
    scorer: Scorer | None = None,
    client: Any = None,
    scores_path: str | Path | None = None,
) -> dict[str, Any]:
    """Score every archive chunk by chunk into ``out_dir``; skip chunks already done; return counts.

    With ``bulk.reuse``, an article already scored (by the score stage, in ``scores_path``, or in a chunk
    finished earlier) is not encoded again: it takes those rows' scores (pipeline.scoring.reuse).

    Chunks not done yet are Dask tasks (``bulk.scheduler``; ``client`` overrides it), written as they
    finish, so an interrupted run keeps every finished chunk. A ``scorer`` given here (a test double)
    scores in this process.
    """
    from pipeline.seed import seed_everything

    seed_everything(params.seed)
    lexicon = _lexicon_for(str(lexicon_path)) if lexicon_path is not None else None
    if scorer is not None:
        version = scorer.version
    elif params.scorer == "lexicon":
        if lexicon is None:
            raise FileNotFoundError(f"{lexicon_path}: bulk.scorer is 'lexicon' but there is no lexicon")
        version = LexiconScorer(lexicon).version
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
        "reused_articles": 0,
    }
    plan: dict[str, list[_Chunk]] = {}
    reports: dict[tuple[str, int], list[dict[str, Any]]] = {}
    unreadable: dict[str, list[dict[str, Any]]] = {}
    todo: list[_Chunk] = []
    for archive in archives:
        name = archive_name(archive)
        # A member the loader cannot read is a failed report row; the rest of the archive is scored.
        unreadable[name] = []
        docs = read_archive(archive, unreadable[name])
        for row in unreadable[name]:
            log.warning("%s", row["reason"])
        counts["documents"] += len(docs) + len(unreadable[name])
        k = params.docs_per_chunk
        plan[str(archive)] = []
        for ci, i in enumerate(range(0, len(docs), k)):
            chunk = docs[i : i + k]
            c = _Chunk(name, ci, out_dir / name / f"chunk-{ci:05d}.parquet", "", chunk)
            c.fingerprint = chunk_fingerprint(chunk, params, version)
            plan[str(archive)].append(c)
            counts["chunks"] += 1
            if chunk_done(c.path, c.fingerprint):
                counts["done_before"] += 1
                meta = pq.read_schema(c.path).metadata or {}
                reports[(name, ci)] = json.loads(meta.get(REPORT_KEY, b"[]"))
            else:
                todo.append(c)
    known = _known(todo, plan, params, version, scores_path) if params.reuse else None
    bar = tqdm(total=len(todo), desc="bulk", unit="chunk", disable=None)

    def finish(c: _Chunk, rows: list[dict[str, Any]], rep: list[dict[str, Any]]) -> None:
        _write_chunk(c, rows, rep)
        reports[(c.archive, c.index)] = rep
        counts["scored"] += 1
        counts["reused_articles"] += sum(r.get("reused_articles", 0) for r in rep)
        if known is not None:
            known.add(rows)
        bar.update(1)

    def known_for(position: int) -> dict[str, list[dict[str, Any]]] | None:
        return known.take(position) if known is not None else None

    if todo and (scorer is not None or (client is None and params.scheduler == "sync")):
        if scorer is None:
            scorer = _scorer_for(_spec(params, model_dir, lexicon_path))
        for pos, c in enumerate(todo):
            finish(c, *score_chunk(c.docs, scorer, params, lexicon, known_for(pos)))
    elif todo:
        from dask.distributed import wait

        own = client is None
        client = dask_client(params) if own else client
        try:
            n_workers = _n_workers(client)
            spec = _spec(params, model_dir, lexicon_path, workers=n_workers)
            # A few chunks in flight per worker, not all at once: a chunk is given the rows of the
            # articles it repeats from the chunks finished before it is submitted.
            window = 2 * n_workers
            pending: dict[Any, _Chunk] = {}
            queue = list(enumerate(todo))
            while queue or pending:
                while queue and len(pending) < window:
                    pos, c = queue.pop(0)
                    key = f"bulk-{c.archive}-{c.index}-{c.fingerprint[:12]}"
                    fut = client.submit(chunk_task, c.docs, spec, params, known_for(pos), key=key)
                    pending[fut] = c
                done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
                for fut in done:
                    c = pending.pop(fut)
                    finish(c, *fut.result())
        finally:
            if own:
                cluster = getattr(client, "cluster", None)
                client.close()
                if cluster is not None:
                    cluster.close()
    bar.close()
    for archive, chunks in plan.items():
        name = archive_name(archive)
        report = unreadable[name] + [r for c in chunks for r in reports[(name, c.index)]]
        # Chunks of an earlier run with more documents are stale: remove them so the folder is one run.
        for stale in sorted((out_dir / name).glob("chunk-*.parquet"))[len(chunks) :]:
            stale.unlink()
        failed = sum(r["status"] == "failed" for r in report)
        counts["failed"] += failed
        counts["rows"] += sum(
            pq.read_metadata(p).num_rows for p in sorted((out_dir / name).glob("chunk-*.parquet"))
        )
        write_json(
            {
                "archive": archive,
                "model_version": version,
                "provenance": PROVENANCE.get(name, _FALLBACK_PROVENANCE),
                "documents": report,
            },
            out_dir / name / "report.json",
        )
        n_docs = sum(len(c.docs) for c in chunks) + len(unreadable[name])
        if n_docs and failed / n_docs > params.max_failed_fraction:
            raise SegmentError(
                f"{archive}: {failed} of {n_docs} documents could not be read or segmented "
                f"(more than bulk.max_failed_fraction={params.max_failed_fraction}); "
                f"see {out_dir / name / 'report.json'}"
            )
    write_json(counts, out_dir / "summary.json")
    return counts


def _known(
    todo: Sequence[_Chunk],
    plan: dict[str, list[_Chunk]],
    params: BulkParams,
    version: str,
    scores_path: str | Path | None,
) -> Known:
    """The articles the chunks still to score repeat, with the rows already scored for them: the score
    stage's (same model version) and those of the chunks done in an earlier run."""
    wanted = {pos: article_keys(c.docs, params) for pos, c in enumerate(todo)}
    known = Known(wanted, version)
    if scores_path is not None and Path(scores_path).is_file():
        table = pq.read_table(scores_path, columns=list(SCORE_FIELDS_AND_IDS))
        known.add([r for r in table.to_pylist() if r["level"] in params.levels])
    waiting = {id(c) for c in todo}
    for chunks in plan.values():
        for c in chunks:
            if id(c) not in waiting and c.path.is_file():
                known.add(pq.read_table(c.path, columns=list(SCORE_FIELDS_AND_IDS)).to_pylist())
    log.info("bulk: %d articles of the chunks to score are known already", len(known.rows))
    return known


def _n_workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:  # a scheduler that does not answer yet: assume one worker per machine
        return 1


def _spec(
    params: BulkParams, model_dir: str | Path, lexicon_path: str | Path | None, workers: int = 1
) -> ScorerSpec:
    from pipeline.nn.precision import cores

    # Local workers share this machine's cores; a remote worker's own count is not known here.
    threads = params.threads or (max(1, cores() // workers) if params.scheduler in ("local", "sync") else 0)
    return ScorerSpec(
        params.scorer,
        str(model_dir),
        str(lexicon_path) if lexicon_path is not None else None,
        params.device,
        params.precision,
        threads,
        params.batch_size,
    )


def main(argv: list[str] | None = None) -> int:
    def extra(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("archives", nargs="*", default=list(DEFAULT_ARCHIVES))

    paths = {
        "out": "data/bulk/chunks",
        "model": "models/classifier",
        "lexicon": DEFAULT_LEXICON,
        "scores": "data/scores.parquet",
    }
    args = stage.arguments("overbroad bulk", __doc__, paths, argv, extra)
    params = load_params(BulkParams, "bulk", args.params)
    return stage.execute(
        "bulk",
        lambda: run(args.archives, args.out, params, args.model, args.lexicon, scores_path=args.scores),
        errors=(tarfile.TarError,),
    )


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["bulk", *sys.argv[1:]]))

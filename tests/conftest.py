"""Shared fixtures. Tests never download: the hub is offline for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled corpus ingested and segmented once per session (in-process, a few seconds)."""
    from pipeline.align import AlignParams
    from pipeline.align import run as align_run
    from pipeline.ingest import IngestParams
    from pipeline.ingest import run as ingest_run
    from pipeline.params import load_params
    from pipeline.segment import SegmentParams
    from pipeline.segment import run as segment_run

    out = tmp_path_factory.mktemp("bundled")
    paths = {
        "documents": out / "documents.parquet",
        "report": out / "ingest_report.json",
        "provisions": out / "provisions.parquet",
        "alignments": out / "alignments.parquet",
    }
    ingest_run(
        ROOT / "corpora/manifest.yaml",
        paths["documents"],
        paths["report"],
        IngestParams(allow_network=False),
        root=ROOT,
    )
    segment_run(
        paths["documents"], paths["provisions"], load_params(SegmentParams, "segment", ROOT / "params.yaml")
    )
    align_run(paths["provisions"], paths["documents"], paths["alignments"], AlignParams())
    return paths

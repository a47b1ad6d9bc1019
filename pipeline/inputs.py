"""The one reader of each input the stages share, validating at the boundary.

- :func:`read_gold`: corpora/annotations/gold.jsonl → :class:`~pipeline.schema.GoldLabel` records;
- :func:`read_model_dir`: models/classifier → :class:`~pipeline.schema.ModelDir` (version, windowing,
  calibration), without loading torch;
- :func:`read_table`: a Parquet table of the pipeline, checked against its schema.

The manifest's one reader is pipeline.manifest (ingest reads it; later stages read ingest's copy in
data/documents.parquet). Every error names the file and the entry, line or column, with what was
expected and what was found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.io import read_jsonl
from pipeline.schema import (
    CATEGORIES,
    DIMENSIONS,
    GOLD_METHODS,
    GOLD_REQUIRED,
    LANGS,
    MODEL_CALIBRATION_FILE,
    MODEL_CONFIG_FILE,
    MODEL_FILES,
    MODEL_LEXICON_FILE,
    GoldLabel,
    ModelDir,
    SchemaError,
    validate_frame,
)


class GoldError(ValueError):
    """The gold set or an annotation file is malformed; the message names the file and record."""


# ---------------------------------------------------------------- tables


def read_table(path: str | Path, schema: pa.Schema, what: str, columns: list[str] | None = None) -> pa.Table:
    """A Parquet table checked against ``schema`` (SchemaError naming the column otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    table = pq.read_table(path, columns=columns)
    validate_frame(table, pa.schema([f for f in schema if columns is None or f.name in columns]), f"{path}")
    return table


# ---------------------------------------------------------------- gold


def check_gold_record(r: Any, where: str) -> None:
    """Raise GoldError unless ``r`` is a well-formed label record (evidence as quotes or spans)."""
    if not isinstance(r, dict):
        raise GoldError(f"{where}: expected a JSON object, found {type(r).__name__}")
    missing = [k for k in GOLD_REQUIRED if k not in r]
    if missing:
        raise GoldError(f"{where}: missing field(s) {missing}")
    if r["lang"] not in LANGS:
        raise GoldError(f"{where}: lang expected one of {LANGS}, found {r['lang']!r}")
    if not str(r["provision_id"]).startswith(f"{r['doc_id']}/art-"):
        raise GoldError(f"{where}: provision_id {r['provision_id']!r} is not an article of {r['doc_id']!r}")
    for d in DIMENSIONS:
        if not isinstance(r[d], int) or isinstance(r[d], bool) or not 0 <= r[d] <= 3:
            raise GoldError(f"{where}: {d} expected an integer 0..3, found {r[d]!r}")
    if r["method"] not in GOLD_METHODS:
        raise GoldError(f"{where}: method expected one of {GOLD_METHODS}, found {r['method']!r}")
    for i, ev in enumerate(r.get("evidence") or []):
        d = ev.get("dimension")
        if d not in DIMENSIONS:
            raise GoldError(f"{where}: evidence {i}: dimension expected one of {DIMENSIONS}, found {d!r}")
        if ev.get("category") not in CATEGORIES[d]:
            raise GoldError(f"{where}: evidence {i}: category {ev.get('category')!r} is not a {d} category")


_GOLD_FIELDS = tuple(GoldLabel.__dataclass_fields__)


def read_gold(path: str | Path) -> list[GoldLabel]:
    """gold.jsonl → one checked label per article, in file order; duplicate ids are an error.

    Keys beyond :class:`~pipeline.schema.GoldLabel`'s fields are left out of the records.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: gold labels not found (overbroad gold build writes them)")
    out: list[GoldLabel] = []
    seen: set[str] = set()
    for i, r in enumerate(read_jsonl(path), 1):
        where = f"{path}: record {i}"
        check_gold_record(r, where)
        if r["provision_id"] in seen:
            raise GoldError(f"{where}: duplicate provision_id {r['provision_id']!r}")
        seen.add(r["provision_id"])
        out.append(GoldLabel(**{k: r[k] for k in _GOLD_FIELDS if k in r}))
    return out


# ---------------------------------------------------------------- the classifier directory


def read_model_dir(path: str | Path) -> ModelDir:
    """A trained classifier directory → what it declares (FileNotFoundError or SchemaError otherwise)."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: classifier directory not found (run the train stage)")
    for f in MODEL_FILES:
        if not (path / f).exists():
            raise FileNotFoundError(f"{path}: not a trained classifier (missing {f})")
    cfg = _json(path / MODEL_CONFIG_FILE)
    calib = _json(path / MODEL_CALIBRATION_FILE)
    for key, kind in (("model_version", str), ("window", dict)):
        if not isinstance(cfg.get(key), kind):
            raise SchemaError(
                f"{path / MODEL_CONFIG_FILE}: {key!r} expected {kind.__name__}, found {cfg.get(key)!r}"
            )
    lexf = cfg.get("lexicon_features")
    if lexf and not (path / MODEL_LEXICON_FILE).exists():
        raise FileNotFoundError(
            f"{path}: the heads read lexicon features but {MODEL_LEXICON_FILE} is missing"
        )
    tables: dict[str, dict[str, float]] = {}
    for key in ("temperature", "threshold"):
        table = calib.get(key)
        numbers = isinstance(table, dict) and all(isinstance(table.get(d), (int, float)) for d in DIMENSIONS)
        if not numbers:
            raise SchemaError(
                f"{path / MODEL_CALIBRATION_FILE}: {key!r} expected a number per dimension "
                f"{list(DIMENSIONS)}, found {table!r}"
            )
        tables[key] = {k: float(v) for k, v in table.items()}
    return ModelDir(
        path=path,
        model_version=cfg["model_version"],
        window=cfg["window"],
        lexicon_features=list(lexf) if lexf else None,
        temperature=tables["temperature"],
        threshold=tables["threshold"],
        params=cfg.get("params") or {},
        by_lang=dict(calib.get("by_lang") or {}),
    )


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SchemaError(f"{path}: malformed JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data

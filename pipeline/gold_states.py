"""The cv stage's tables of gold article states: written by cv, read back by cv (its cache) and by the
score stage (so that a gold article is encoded once in a ``dvc repro``).

``data/gold_vectors.parquet``: one row per window of every gold article (provision_id, text_sha,
window, vector, lex); ``data/gold_unit_vectors.parquet``: one row per clause or point of every gold
article (provision_id, text_sha, unit_start, unit_end, has_tokens, vector: the unit's mean token state,
zeros when it holds no token). Both carry in their metadata the windowing, ``use_heading``, the cv
stage's ``fingerprint`` (base weights, windowing, number format, lexicon) and ``encoder_sha``
(pipeline.nn.classifier.encoder_sha), which the score stage checks before it trusts them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.nn.windows import WindowSpec
from pipeline.scoring.context import StateCache, article_sha

log = logging.getLogger(__name__)

# (provision_id, text_sha): a gold article as the cv stage saw it
Key = tuple[str, str]
UnitStates = dict[tuple[int, int], "np.ndarray | None"]


# --- writing ---------------------------------------------------------------------------------------


def metadata(spec: WindowSpec, use_heading: bool, fingerprint: str, encoder: str) -> dict[str, str]:
    return {
        "window": json.dumps(asdict(spec)),
        "use_heading": json.dumps(use_heading),
        "fingerprint": fingerprint,
        "encoder_sha": encoder,  # pipeline.nn.classifier.encoder_sha: the score stage checks it
    }


def _fixed(values: np.ndarray, width: int) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float32()), width)


def windows_table(
    provision_ids: Sequence[str],
    texts: Sequence[str],
    langs: Sequence[str],
    vectors: np.ndarray,
    lex: np.ndarray | None,
    bag: np.ndarray,
    meta: dict[str, str],
) -> pa.Table:
    """One row per window: ``bag[w]`` is the article (index into the sequences) of window ``w``."""
    shas = [article_sha(t, lg) for t, lg in zip(texts, langs, strict=True)]
    seen = [0] * len(shas)
    window = []  # a window's place in its article, in the order the windows are given
    for b in bag:
        window.append(seen[b])
        seen[b] += 1
    cols: dict[str, Any] = {
        "provision_id": pa.array([provision_ids[b] for b in bag], pa.string()),
        "text_sha": pa.array([shas[b] for b in bag], pa.string()),
        "window": pa.array(window, pa.int64()),
        "vector": _fixed(vectors, vectors.shape[1]),
    }
    if lex is not None:
        cols["lex"] = _fixed(lex, lex.shape[1])
    return pa.table(cols).replace_schema_metadata(meta)


def units_table(
    provision_ids: Sequence[str],
    texts: Sequence[str],
    langs: Sequence[str],
    states: Sequence[UnitStates],
    hidden: int,
    meta: dict[str, str],
) -> pa.Table:
    """One row per unit of every article, in span order (zeros and has_tokens false for a unit that
    holds no token)."""
    pid, sha, s0, e0, has, vec = [], [], [], [], [], []
    for p, t, lg, st in zip(provision_ids, texts, langs, states, strict=True):
        key = article_sha(t, lg)
        for (a, b), v in sorted(st.items()):
            pid.append(p)
            sha.append(key)
            s0.append(a)
            e0.append(b)
            has.append(v is not None)
            vec.append(np.zeros(hidden, np.float32) if v is None else np.asarray(v, np.float32))
    flat = np.concatenate(vec) if vec else np.zeros(0, np.float32)
    table = pa.table(
        {
            "provision_id": pa.array(pid, pa.string()),
            "text_sha": pa.array(sha, pa.string()),
            "unit_start": pa.array(s0, pa.int64()),
            "unit_end": pa.array(e0, pa.int64()),
            "has_tokens": pa.array(has, pa.bool_()),
            "vector": _fixed(flat, hidden),
        }
    )
    return table.replace_schema_metadata(meta)


# --- reading ---------------------------------------------------------------------------------------


def table_meta(table: pa.Table) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}


def matrix(table: pa.Table, column: str = "vector") -> np.ndarray:
    """A fixed-size list column as one [N, H] float32 array (no Python floats)."""
    col = table.column(column).combine_chunks()
    if len(col) == 0:
        return np.zeros((0, 0), np.float32)
    return col.values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(col), -1)


def read_windows(table: pa.Table) -> dict[Key, tuple[np.ndarray, np.ndarray | None]]:
    """(provision_id, text_sha) → (its window vectors [W, H] in window order, their lexicon features)."""
    ids = table.select(["provision_id", "text_sha", "window"]).to_pydict()
    vec = matrix(table)
    lex = matrix(table, "lex") if "lex" in table.column_names else None
    rows: dict[Key, list[tuple[int, int]]] = {}
    for i, (pid, sha, w) in enumerate(zip(ids["provision_id"], ids["text_sha"], ids["window"], strict=True)):
        rows.setdefault((pid, sha), []).append((int(w), i))
    out: dict[Key, tuple[np.ndarray, np.ndarray | None]] = {}
    for key, ws in rows.items():
        order = [i for _, i in sorted(ws)]
        out[key] = (vec[order], lex[order] if lex is not None else None)
    return out


def read_units(table: pa.Table) -> dict[Key, UnitStates]:
    """(provision_id, text_sha) → {(unit_start, unit_end): mean state, or None if it holds no token}."""
    cols = table.select(["provision_id", "text_sha", "unit_start", "unit_end", "has_tokens"]).to_pydict()
    out: dict[Key, UnitStates] = {}
    names = ("provision_id", "text_sha", "unit_start", "unit_end", "has_tokens")
    for pid, sha, s0, e0, has, v in zip(*(cols[c] for c in names), matrix(table), strict=True):
        out.setdefault((pid, sha), {})[(int(s0), int(e0))] = v if has else None
    return out


Cached = tuple[np.ndarray, "np.ndarray | None", UnitStates]


def read_cache(path: str | Path, fingerprint: str, units_path: str | Path | None = None) -> dict[Key, Cached]:
    """The cv stage's own cache: the tables of a previous run with the same fingerprint, as
    (provision_id, text_sha) → (window vectors, their lexicon features, unit states); empty if none."""
    if not Path(path).exists():
        return {}
    table = pq.read_table(path)
    if table_meta(table).get("fingerprint") != fingerprint or "text_sha" not in table.column_names:
        return {}
    units: dict[Key, UnitStates] = {}
    if units_path is not None and Path(units_path).exists():
        ut = pq.read_table(units_path)
        if table_meta(ut).get("fingerprint") == fingerprint:
            units = read_units(ut)
    return {key: (v, lx, units.get(key, {})) for key, (v, lx) in read_windows(table).items()}


def state_cache(vectors_path: str | Path, unit_vectors_path: str | Path, encoder: str) -> StateCache | None:
    """The gold articles' states by article text, for the score stage (pipeline.scoring.context);
    None when a table is missing or was made by another encoder (weights, tokenizer, windowing, number
    format) or with headings (the score stage reads the text alone)."""
    if not Path(vectors_path).is_file() or not Path(unit_vectors_path).is_file():
        return None
    win = pq.read_table(vectors_path, columns=["provision_id", "text_sha", "window", "vector"])
    units = pq.read_table(unit_vectors_path)
    for path, table in ((vectors_path, win), (unit_vectors_path, units)):
        meta = table_meta(table)
        if meta.get("encoder_sha") != encoder or json.loads(meta.get("use_heading", "false")):
            log.info("%s: made by another encoder (or with headings); every article is encoded", path)
            return None
    # Two gold articles with the same text (a law's article printed again in another law) have the
    # same states: the first one's are kept.
    owner: dict[str, str] = {}
    windows = read_windows(win)
    for pid, sha in windows:
        owner.setdefault(sha, pid)
    unit_states = read_units(units)
    return StateCache(
        {sha: (windows[(pid, sha)][0], unit_states.get((pid, sha), {})) for sha, pid in owner.items()}
    )

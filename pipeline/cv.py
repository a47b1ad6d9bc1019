"""cv stage: every gold label predicted out of fold, by laws it never saw → the published classifier.

Document-grouped k-fold cross-validation over all gold articles (pipeline.folds: a law and its
translation in the same fold). The encoder runs once over every gold window (its states are frozen,
so they are the same in every fold); per fold and seed the ordinal heads are fitted on the other
folds (pipeline.frozen_heads) and predict the fold. The baselines (lexicon, char TF-IDF + LR, frozen
encoder + LR) are refitted per fold on the same folds. Every system's out-of-fold scores are then
calibrated per language and dimension by :func:`pipeline.calibrate.cross_calibrate` (each fold by a
calibration fitted on the others); the calibration method is chosen by that measure.

The published classifier (models/classifier) is the encoder with the average of all fold-and-seed
heads (a window-level ensemble, one head's cost to score) and the per-language calibration fitted
on the ensemble's out-of-fold logits. Outputs: data/cv_predictions.parquet (every system's
out-of-fold rows, for the evaluate stage), data/gold_vectors.parquet (the frozen window vectors,
read by the train stage instead of encoding again), metrics/cv.json (detail: candidates, per-law
shares, largest disagreements, timings; not a DVC metric) and the model card.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from pipeline import gold_states, stage
from pipeline.baselines import embedding_probs, lexicon_probs, tfidf_probs
from pipeline.folds import check_folds, document_groups, grouped_folds
from pipeline.gold_states import Cached, UnitStates
from pipeline.inputs import read_gold as read_gold_labels
from pipeline.io import atomic_path, write_json, write_parquet
from pipeline.lexicon import Lexicon
from pipeline.metrics import binary_macro_f1, ece
from pipeline.nn.calibration import FLAG_CUT, Calibration
from pipeline.nn.classifier import Classifier, encoder_sha
from pipeline.nn.features import LexiconFeatures
from pipeline.nn.frozen_heads import HeadsFit, WindowVectors, average_heads, fit_heads, predict_heads
from pipeline.nn.oof_calibration import METHODS, THRESHOLDS, cross_calibrate, fit_by_lang
from pipeline.nn.precision import PRECISIONS, use_cores
from pipeline.nn.windows import WindowSpec, length_buckets, make_windows
from pipeline.params import from_dict, read_params
from pipeline.schema import DIMENSIONS, LANGS, PROVISIONS_SCHEMA, validate_frame
from pipeline.scoring.context import ContextScorer, Item, article_sha
from pipeline.seed import seed_everything

log = logging.getLogger(__name__)

SYSTEMS = ("model", "lexicon", "tfidf", "frozen")
ENSEMBLE_SEED = -1  # the seed column of the seed-ensemble's rows
MAX_MISSING_GOLD = 0.05
# The train-section keys the cross-validated recipe reads (the rest concern the fixed-split stage).
RECIPE_KEYS = (
    "max_length",
    "overlap",
    "prefix",
    "use_heading",
    "freeze_layers",
    "epochs",
    "batch_size",
    "head_lr",
    "lexicon_lr",
    "dropout",
    "warmup_ratio",
    "lexicon_features",
    "threads",
    "precision",
)
CV_PREDICTIONS_SCHEMA = pa.schema(
    [
        ("system", pa.string()),
        ("seed", pa.int32()),  # -1: the model's seed ensemble (the published recipe)
        ("fold", pa.int32()),
        ("provision_id", pa.string()),
        ("doc_id", pa.string()),
        ("group", pa.string()),
        ("lang", pa.string()),
        ("dimension", pa.string()),
        ("raw", pa.float64()),  # the uncalibrated score (logit of P(level >= 2))
        ("prob", pa.float64()),  # calibrated out of fold
        ("flag", pa.bool_()),
        ("threshold", pa.float64()),
        ("gold", pa.int8()),
    ]
)


@dataclass(frozen=True)
class CVParams:
    """Section ``cv`` of params.yaml, plus the model recipe from ``train`` and ``base.seed``."""

    seed: int = 13
    folds: int = 5
    seeds: int = 3  # model seeds per fold; the published heads average all folds x seeds
    calibration: str = "auto"  # platt | isotonic | auto (the one with the lower out-of-fold ECE)
    threshold: str = "f1"  # f1: flag threshold maximising macro-F1; half: 0.5 on the calibrated probability
    # one calibration per language (true), one for both (false), or auto: the lower out-of-fold ECE
    per_lang: bool | str = "auto"
    n_bins: int = 10
    min_law_articles: int = 20  # laws in the per-law flag-share table
    disagreements: int = 20
    baselines: bool = True
    # the recipe (section train)
    max_length: int = 256
    overlap: int = 32
    prefix: str = "passage: "
    use_heading: bool = False
    freeze_layers: int = 12
    epochs: int = 20
    batch_size: int = 16
    head_lr: float = 2e-3
    lexicon_lr: float = 2e-2
    dropout: float = 0.1
    warmup_ratio: float = 0.1
    lexicon_features: bool = True
    threads: int = 2
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.folds < 2 or self.seeds < 1:
            raise ValueError(f"cv.folds >= 2 and cv.seeds >= 1 expected, found {self.folds}, {self.seeds}")
        if self.calibration not in (*METHODS, "auto"):
            raise ValueError(f"cv.calibration: expected auto or one of {METHODS}, found {self.calibration!r}")
        if self.per_lang not in (True, False, "auto"):
            raise ValueError(f"cv.per_lang: expected true, false or auto, found {self.per_lang!r}")
        if self.threshold not in THRESHOLDS:
            raise ValueError(f"cv.threshold: expected one of {THRESHOLDS}, found {self.threshold!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"train.precision: expected one of {PRECISIONS}, found {self.precision!r}")
        if not 2 <= self.n_bins <= 100 or self.min_law_articles < 1 or self.disagreements < 0:
            raise ValueError("cv.n_bins 2..100, cv.min_law_articles >= 1, cv.disagreements >= 0 expected")
        WindowSpec(self.max_length, self.overlap, self.prefix)
        self.heads_fit()

    def heads_fit(self) -> HeadsFit:
        return HeadsFit(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.head_lr,
            lexicon_lr=self.lexicon_lr,
            dropout=self.dropout,
            warmup_ratio=self.warmup_ratio,
        )


def load_cv_params(path: str | Path) -> CVParams:
    """Sections ``cv`` and (the recipe keys of) ``train`` of params.yaml, with ``base.seed``."""
    data = read_params(path)
    section = dict(data.get("cv") or {})
    recipe_in_cv = sorted(set(section) & set(RECIPE_KEYS))
    if recipe_in_cv:
        raise ValueError(f"{path}:cv: {recipe_in_cv} belong in section train (one recipe for train and cv)")
    train = data.get("train") or {}
    section.update({k: train[k] for k in RECIPE_KEYS if k in train})
    if "seed" in (data.get("base") or {}):
        section.setdefault("seed", data["base"]["seed"])
    return from_dict(CVParams, section, where=f"{path}:cv")


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def article_text(text: str, heading: str | None, use_heading: bool) -> str:
    """The text the model reads for an article (as the train stage: the heading on a line above)."""
    if use_heading and isinstance(heading, str) and heading.strip():
        return f"{heading.strip()}\n{text}"
    return text


def read_gold(path: str | Path) -> pd.DataFrame:
    """gold.jsonl (through the one gold reader) → provision_id, doc_id, lang and the two levels."""
    cols = ["provision_id", "doc_id", "lang", *DIMENSIONS]
    return pd.DataFrame([{k: getattr(g, k) for k in cols} for g in read_gold_labels(path)], columns=cols)


def gold_articles(
    provisions: pd.DataFrame, gold: pd.DataFrame, use_heading: bool
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Gold labels joined to their article texts (provisions of the bundled and the bulk corpora)."""
    arts = (
        provisions[provisions["level"] == "article"].drop_duplicates("provision_id").set_index("provision_id")
    )
    found = gold["provision_id"].isin(arts.index)
    n_missing = int((~found).sum())
    if len(gold) and n_missing / len(gold) > MAX_MISSING_GOLD:
        raise ValueError(
            f"{n_missing} of {len(gold)} gold labels name articles found in no provisions table "
            f"(e.g. {gold.loc[~found, 'provision_id'].head(3).tolist()}); "
            f"expected at most {MAX_MISSING_GOLD:.0%}"
        )
    df = gold[found].reset_index(drop=True).copy()
    df["text"] = [
        article_text(arts.at[p, "text"], arts.at[p, "heading"], use_heading) for p in df["provision_id"]
    ]
    return df, {"gold": len(gold), "gold_missing_provision": n_missing, "articles": len(df)}


# ---------------------------------------------------------------------------------------------
# Encoding once
# ---------------------------------------------------------------------------------------------


Units = tuple[tuple[int, int], ...]


def unit_spans(provisions: pd.DataFrame, arts: pd.DataFrame, use_heading: bool) -> list[Units]:
    """Each gold article's clauses and points as character spans of its text: the units the score stage
    scores in the article's context (none when the model reads a heading above the text)."""
    if use_heading or not len(arts):
        return [() for _ in range(len(arts))]
    art = (
        provisions[provisions["level"] == "article"].drop_duplicates("provision_id").set_index("provision_id")
    )
    units = provisions[provisions["level"] != "article"]
    by_article: dict[tuple[str, str], set[tuple[int, int]]] = {}
    for doc, a, s0, e0 in zip(
        units["doc_id"], units["article"], units["char_start"], units["char_end"], strict=True
    ):
        by_article.setdefault((doc, a), set()).add((int(s0), int(e0)))
    out = []
    for pid in arts["provision_id"]:
        r = art.loc[pid]
        a0 = int(r["char_start"])
        out.append(
            tuple(sorted((s0 - a0, e0 - a0) for s0, e0 in by_article.get((r["doc_id"], r["article"]), ())))
        )
    return out


def encode_windows(
    clf: Classifier,
    texts: list[str],
    langs: list[str],
    batch_size: int = 32,
    units: list[Units] | None = None,
) -> tuple[WindowVectors, list[UnitStates]]:
    """Articles → their windows' mean final-layer vectors and lexicon features, and the mean state of each
    unit's tokens, in one encoder pass (the scoring core's, pipeline.scoring.context)."""
    texts = [unicodedata.normalize("NFC", t or "") for t in texts]
    units = units if units is not None else [() for _ in texts]
    items = [Item(t, lg, u) for t, lg, u in zip(texts, langs, units, strict=True)]
    windows = make_windows(texts, clf.tokenizer, clf.spec)
    clf.model.encoder.eval()
    # length_buckets: the batches this stage's vectors have always been made in (same vectors, same model)
    batches = length_buckets([len(w.input_ids) for w in windows], batch_size)
    ctx = ContextScorer(clf, batch_size)
    states = ctx.encode_windows(items, texts, windows, keep_tokens=False, progress=True, batches=batches)
    order = sorted(range(len(windows)), key=lambda i: (windows[i].text_index, i))
    windows = [windows[i] for i in order]
    vec = (
        np.concatenate([st.vectors for st in states]).astype(np.float32)
        if states
        else np.zeros((0, int(clf.model.encoder.config.hidden_size)), np.float32)
    )
    lex = (
        clf.lexicon_features.window_features(texts, langs, windows).astype(np.float32)
        if clf.lexicon_features is not None
        else None
    )
    bag = np.asarray([w.text_index for w in windows], dtype=np.int64)
    unit_states = [dict(zip(it.units, st.units, strict=True)) for it, st in zip(items, states, strict=True)]
    return WindowVectors(vec, lex, bag), unit_states


def encoder_fingerprint(
    base: str | Path, spec: WindowSpec, use_heading: bool, precision: str, lexicon: str | Path | None
) -> str:
    """What a window vector depends on besides its text: the base weights and tokenizer, the windowing,
    the number format and the lexicon of the lexicon features."""
    h = hashlib.sha256(json.dumps([asdict(spec), use_heading, precision]).encode())
    for f in sorted(Path(base).iterdir()):
        if f.is_file() and f.suffix in (".json", ".safetensors", ".model", ".txt"):
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
    if lexicon is not None and Path(lexicon).exists():
        h.update(Path(lexicon).read_bytes())
    return h.hexdigest()[:16]


def vectors_with_cache(
    clf: Classifier,
    arts: pd.DataFrame,
    cache: dict[tuple[str, str], Cached],
    units: list[Units] | None = None,
) -> tuple[WindowVectors, int, list[UnitStates]]:
    """Every article's window vectors and unit states: from the cache where its text (and every unit
    of it) is unchanged, else encoded now."""
    units = units if units is not None else [() for _ in range(len(arts))]
    keys = [
        (p, article_sha(t, lg))
        for p, t, lg in zip(arts["provision_id"], arts["text"], arts["lang"], strict=True)
    ]
    need = [i for i, k in enumerate(keys) if k not in cache or any(u not in cache[k][2] for u in units[i])]
    fresh, fresh_units = (
        encode_windows(
            clf,
            [arts["text"].iloc[i] for i in need],
            [arts["lang"].iloc[i] for i in need],
            units=[units[i] for i in need],
        )
        if need
        else (None, [])
    )
    pos = {i: k for k, i in enumerate(need)}
    vecs, lexs, bag, states = [], [], [], []
    for i, key in enumerate(keys):
        if i in pos and key in cache:
            # encoded again for its unit states only: its window vectors stay those the heads were fitted
            # on (a new pass in other batches would change their last bits, and so the model)
            v, lx, _ = cache[key]
            us = fresh_units[pos[i]]
        elif i in pos:
            assert fresh is not None
            w = fresh.windows_of([pos[i]])[0]
            v, lx, us = fresh.vectors[w], fresh.lex[w] if fresh.lex is not None else None, fresh_units[pos[i]]
        else:
            v, lx, us = cache[key]
        vecs.append(v)
        lexs.append(lx)
        bag.append(np.full(len(v), i))
        states.append({u: us[u] for u in units[i]})
    with_lex = clf.lexicon_features is not None
    data = WindowVectors(
        np.concatenate(vecs).astype(np.float32),
        np.concatenate(lexs).astype(np.float32) if with_lex else None,
        np.concatenate(bag).astype(np.int64),
    )
    return data, len(need), states


def vectors_table(
    arts: pd.DataFrame,
    data: WindowVectors,
    spec: WindowSpec,
    use_heading: bool,
    fingerprint: str = "",
    encoder: str = "",
) -> pa.Table:
    """The frozen window vectors as a table (one row per window; pipeline.gold_states)."""
    return gold_states.windows_table(
        arts["provision_id"].tolist(),
        arts["text"].tolist(),
        arts["lang"].tolist(),
        data.vectors,
        data.lex,
        data.bag,
        gold_states.metadata(spec, use_heading, fingerprint, encoder),
    )


def unit_vectors_table(
    arts: pd.DataFrame,
    states: list[UnitStates],
    hidden: int,
    spec: WindowSpec,
    use_heading: bool,
    fingerprint: str = "",
    encoder: str = "",
) -> pa.Table:
    """The mean token state of every unit of every gold article (one row per unit;
    pipeline.gold_states), for the score stage's in-context unit scores."""
    return gold_states.units_table(
        arts["provision_id"].tolist(),
        arts["text"].tolist(),
        arts["lang"].tolist(),
        states,
        hidden,
        gold_states.metadata(spec, use_heading, fingerprint, encoder),
    )


# ---------------------------------------------------------------------------------------------
# The pure core
# ---------------------------------------------------------------------------------------------


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def as_cumulative(flag_logit: np.ndarray) -> np.ndarray:
    """A baseline's [N, D] logits of P(flag) → [N, D, 3] with the flag at the cut the calibration reads."""
    out = np.repeat(flag_logit[:, :, None], 3, axis=2)
    return out


def model_oof(
    data: WindowVectors, levels: np.ndarray, folds: np.ndarray, params: CVParams
) -> tuple[np.ndarray, np.ndarray, list[Any], dict[str, float]]:
    """Out-of-fold logits per seed [S, N, D, 3], of the seed ensemble [N, D, 3], the fold ensembles."""
    fit = params.heads_fit()
    n = len(levels)
    per_seed = np.zeros((params.seeds, n, len(DIMENSIONS), 3), dtype=np.float32)
    ens = np.zeros((n, len(DIMENSIONS), 3), dtype=np.float32)
    members: list[Any] = []
    t0 = time.perf_counter()
    for k in tqdm(range(params.folds), desc="cv folds", unit="fold"):
        train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fold_heads = []
        for s in range(params.seeds):
            h = fit_heads(data, levels, train, fit, seed=params.seed + 1000 * s + k)
            per_seed[s, test] = predict_heads(h, data, test)
            fold_heads.append(h)
        avg = average_heads(fold_heads)
        ens[test] = predict_heads(avg, data, test)
        members += fold_heads
    return per_seed, ens, members, {"model_fit_seconds": round(time.perf_counter() - t0, 1)}


def baseline_oof(
    arts: pd.DataFrame, data: WindowVectors, lexicon: Lexicon | None, folds: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """Out-of-fold [N, D] P(flag) of the lexicon, TF-IDF and frozen-encoder baselines."""
    texts = arts["text"].tolist()
    y = arts[list(DIMENSIONS)].to_numpy() >= 2
    frozen = (
        np.stack([data.vectors[data.windows_of([i])[0]].mean(0) for i in range(len(arts))])
        if len(arts)
        else np.zeros((0, data.vectors.shape[1]))
    )
    out: dict[str, np.ndarray] = {}
    if lexicon is not None:
        out["lexicon"] = lexicon_probs(lexicon, texts, arts["lang"].tolist())
    tf, fr = np.zeros(y.shape), np.zeros(y.shape)
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        (tf[test],) = tfidf_probs(
            [texts[i] for i in np.flatnonzero(train)],
            y[train],
            [[texts[i] for i in np.flatnonzero(test)]],
            seed=seed,
        )
        (fr[test],) = embedding_probs(frozen[train], y[train], [frozen[test]], seed=seed)
    out["tfidf"], out["frozen"] = tf, fr
    return out


def cell_metrics(y: np.ndarray, prob: np.ndarray, flag: np.ndarray, n_bins: int) -> dict[str, Any]:
    """Flag macro-F1, ECE and shares of one set of articles."""
    return {
        "macro_f1": round(binary_macro_f1(y, flag), 4) if len(y) else None,
        "ece": round(ece(prob, y.astype(float), n_bins), 4) if len(y) else None,
        "gold_share": round(float(y.mean()), 4) if len(y) else None,
        "flag_share": round(float(flag.mean()), 4) if len(y) else None,
        "n": int(len(y)),
    }


def choose_calibration(
    logits: np.ndarray, levels: np.ndarray, langs: np.ndarray, folds: np.ndarray, params: CVParams
) -> tuple[str, bool, dict[str, Any]]:
    """Each candidate (method x per language or pooled) judged on held-out folds: calibrated on the
    other folds, its mean per-language ECE on this one; ``auto`` takes the lowest."""
    table: dict[str, Any] = {}
    for method in METHODS:
        for per_lang in (True, False):
            cc = cross_calibrate(logits, levels, langs, folds, method, params.threshold, per_lang)
            cell: dict[str, Any] = {}
            for j, d in enumerate(DIMENSIONS):
                y = levels[:, j] >= 2
                cell[d] = {
                    lg: cell_metrics(
                        y[langs == lg], cc.prob[langs == lg, j], cc.flag[langs == lg, j], params.n_bins
                    )
                    for lg in LANGS
                    if (langs == lg).any()
                }
            eces = [v["ece"] for dd in cell.values() for v in dd.values() if v["ece"] is not None]
            cell["mean_ece"] = round(float(np.mean(eces)), 4) if eces else None
            table[f"{method}{'/lang' if per_lang else '/global'}"] = cell
    methods = METHODS if params.calibration == "auto" else (params.calibration,)
    scopes = (True, False) if params.per_lang == "auto" else (bool(params.per_lang),)
    cands = [(m, pl) for m in methods for pl in scopes]
    m, pl = min(
        cands,
        key=lambda c: (table[f"{c[0]}{'/lang' if c[1] else '/global'}"]["mean_ece"] or 1.0, cands.index(c)),
    )
    return m, pl, table


def oof_rows(
    system: str,
    seed: int,
    arts: pd.DataFrame,
    folds: np.ndarray,
    groups: np.ndarray,
    raw: np.ndarray,
    cc: Any,
) -> list[dict[str, Any]]:
    rows = []
    for i, r in enumerate(arts.itertuples(index=False)):
        for j, d in enumerate(DIMENSIONS):
            rows.append(
                {
                    "system": system,
                    "seed": seed,
                    "fold": int(folds[i]),
                    "provision_id": r.provision_id,
                    "doc_id": r.doc_id,
                    "group": str(groups[i]),
                    "lang": r.lang,
                    "dimension": d,
                    "raw": float(raw[i, j]),
                    "prob": float(cc.prob[i, j]),
                    "flag": bool(cc.flag[i, j]),
                    "threshold": float(cc.threshold[i, j]),
                    "gold": int(getattr(r, d)),
                }
            )
    return rows


def law_table(arts: pd.DataFrame, flag: np.ndarray, min_articles: int) -> list[dict[str, Any]]:
    """Per law with at least ``min_articles`` gold articles: gold share vs out-of-fold flag share."""
    out = []
    for doc, idx in arts.groupby("doc_id").indices.items():
        if len(idx) < min_articles:
            continue
        row: dict[str, Any] = {"doc_id": doc, "lang": arts["lang"].iloc[idx[0]], "n": len(idx)}
        for j, d in enumerate(DIMENSIONS):
            g = float((arts[d].to_numpy()[idx] >= 2).mean())
            f = float(flag[idx, j].mean())
            row[d] = {"gold_share": round(g, 3), "flag_share": round(f, 3), "gap": round(f - g, 3)}
        out.append(row)
    return sorted(out, key=lambda r: (-r["n"], r["doc_id"]))


def disagreements(arts: pd.DataFrame, prob: np.ndarray, flag: np.ndarray, k: int) -> list[dict[str, Any]]:
    """The ``k`` (article, dimension) pairs whose out-of-fold probability is furthest from the gold flag."""
    cand = []
    for j, d in enumerate(DIMENSIONS):
        y = arts[d].to_numpy() >= 2
        for i in range(len(arts)):
            if bool(flag[i, j]) != bool(y[i]):
                cand.append((abs(float(prob[i, j]) - float(y[i])), i, j))
    cand.sort(key=lambda c: (-c[0], arts["provision_id"].iloc[c[1]], c[2]))
    out = []
    for gap, i, j in cand[:k]:
        d = DIMENSIONS[j]
        out.append(
            {
                "provision_id": arts["provision_id"].iloc[i],
                "lang": arts["lang"].iloc[i],
                "dimension": d,
                "gold_level": int(arts[d].iloc[i]),
                "prob": round(float(prob[i, j]), 3),
                "gap": round(gap, 3),
                "text": " ".join(str(arts["text"].iloc[i]).split())[:160],
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# The I/O shell
# ---------------------------------------------------------------------------------------------


def read_provisions(paths: list[str | Path]) -> pd.DataFrame:
    frames = []
    for p in paths:
        if p is None or not Path(p).exists():
            continue
        t = pq.read_table(p).to_pandas()
        if len(t):
            validate_frame(t, PROVISIONS_SCHEMA, str(p))
        frames.append(t)
    if not frames:
        raise FileNotFoundError(f"no provisions table among {paths}")
    return pd.concat(frames, ignore_index=True)


def read_translations(documents_path: str | Path | None) -> dict[str, str | None]:
    if documents_path is None or not Path(documents_path).exists():
        return {}
    docs = pq.read_table(documents_path, columns=["doc_id", "translation_of"]).to_pandas()
    return dict(zip(docs["doc_id"], docs["translation_of"], strict=True))


def run(
    provisions_paths: list[str | Path],
    documents_path: str | Path | None,
    gold_path: str | Path,
    lexicon_path: str | Path | None,
    base_path: str | Path,
    out_dir: str | Path,
    predictions_path: str | Path,
    vectors_path: str | Path,
    detail_path: str | Path,
    params: CVParams,
    unit_vectors_path: str | Path | None = None,
) -> dict[str, Any]:
    """Cross-validate every system; write OOF predictions, the vectors (with ``unit_vectors_path``, the
    gold articles' unit states too, for the score stage), the published classifier, detail."""
    t0 = time.perf_counter()
    use_cores(params.threads)  # torch threads, and malloc keeps freed activations (precision.py)
    seed_everything(params.seed)
    provisions = read_provisions(provisions_paths)
    arts, counts = gold_articles(provisions, read_gold(gold_path), params.use_heading)
    lexicon = Lexicon.load(lexicon_path) if lexicon_path else None
    if params.lexicon_features and lexicon is None:
        raise ValueError("train.lexicon_features: true needs a lexicon")
    spec = WindowSpec(params.max_length, params.overlap, params.prefix)
    lexf = LexiconFeatures(lexicon, lexicon_path) if params.lexicon_features and lexicon_path else None
    clf = Classifier.from_base(base_path, spec, dropout=0.0, lexicon_features=lexf)
    n_layers = int(clf.model.encoder.config.num_hidden_layers)
    if params.freeze_layers < n_layers:
        raise ValueError(
            f"train.freeze_layers: the cv stage cross-validates the frozen-encoder recipe "
            f"(freeze_layers = {n_layers}), found {params.freeze_layers}; fine-tuning upper layers was "
            f"cross-validated once and lost (models/classifier/README.md); use the train stage's gpu profile"
        )
    precision = clf.set_precision(params.precision)
    t_enc = time.perf_counter()
    fingerprint = encoder_fingerprint(base_path, spec, params.use_heading, precision, lexicon_path)
    units = unit_spans(provisions, arts, params.use_heading)
    cache = gold_states.read_cache(vectors_path, fingerprint, unit_vectors_path)
    data, n_encoded, unit_states = vectors_with_cache(clf, arts, cache, units)
    counts["encoded_articles"] = n_encoded  # the others' vectors were unchanged since the last run
    t_enc = time.perf_counter() - t_enc
    enc = encoder_sha(clf)
    write_parquet(vectors_table(arts, data, spec, params.use_heading, fingerprint, enc), vectors_path)
    if unit_vectors_path is not None:
        hidden = int(clf.model.encoder.config.hidden_size)
        table = unit_vectors_table(arts, unit_states, hidden, spec, params.use_heading, fingerprint, enc)
        write_parquet(table, unit_vectors_path)
        counts["unit_vectors"] = table.num_rows

    groups = document_groups(arts["doc_id"].tolist(), read_translations(documents_path))
    levels = arts[list(DIMENSIONS)].to_numpy().astype(np.int64)
    strata = (arts["lang"] + ":" + (arts["speech_risk"] >= 2).astype(str)).to_numpy()
    folds = grouped_folds(groups, strata, params.folds, params.seed)
    check_folds(folds, groups)
    langs = arts["lang"].to_numpy()

    per_seed, ens, members, timing = model_oof(data, levels, folds, params)
    method, per_lang, candidates = choose_calibration(ens, levels, langs, folds, params)
    rows: list[dict[str, Any]] = []
    cc_ens = cross_calibrate(ens, levels, langs, folds, method, params.threshold, per_lang)
    rows += oof_rows("model", ENSEMBLE_SEED, arts, folds, groups, ens[:, :, FLAG_CUT], cc_ens)
    for s in range(params.seeds):
        cc = cross_calibrate(per_seed[s], levels, langs, folds, method, params.threshold, per_lang)
        rows += oof_rows("model", s, arts, folds, groups, per_seed[s, :, :, FLAG_CUT], cc)
    t_base = time.perf_counter()
    if params.baselines:
        for name, probs in baseline_oof(arts, data, lexicon, folds, params.seed).items():
            z = _logit(probs)
            cc = cross_calibrate(as_cumulative(z), levels, langs, folds, method, params.threshold, per_lang)
            rows += oof_rows(name, 0, arts, folds, groups, z, cc)
    t_base = time.perf_counter() - t_base

    # The published classifier: every fold-and-seed head averaged, calibrated per language on the
    # seed ensemble's out-of-fold logits.
    heads = average_heads(members)
    by_lang = fit_by_lang(ens, levels, langs, method, params.threshold) if per_lang else {}
    if not per_lang:  # one calibration for both languages, stored under each
        pooled = fit_by_lang(ens, levels, np.full(len(langs), "all"), method, params.threshold)["all"]
        by_lang = dict.fromkeys(sorted(set(langs.tolist())), pooled)
    # A text of no known language falls back to a global temperature and threshold.
    glob = Calibration.fit(ens, levels)
    calib = Calibration(glob.temperature, glob.threshold, by_lang)
    clf.model.heads = heads
    clf.calibration = calib
    laws = law_table(arts, cc_ens.flag, params.min_law_articles)
    worst = disagreements(arts, cc_ens.prob, cc_ens.flag, params.disagreements)
    summary = {
        d: {
            lg: cell_metrics(levels[m, j] >= 2, cc_ens.prob[m, j], cc_ens.flag[m, j], params.n_bins)
            for lg, m in [
                *((lg, langs == lg) for lg in LANGS if (langs == lg).any()),
                ("all", np.ones(len(langs), bool)),
            ]
        }
        for j, d in enumerate(DIMENSIONS)
    }
    recipe = {k: getattr(params, k) for k in RECIPE_KEYS}
    with atomic_path(out_dir, is_dir=True) as tmp:
        version = clf.save(tmp, extra={"cv": asdict(params), "calibration_method": method})
        (tmp / "README.md").write_text(
            model_card(version, params, counts, method, per_lang, summary, laws, worst, len(members)),
            encoding="utf-8",
        )
    write_parquet(pa.Table.from_pylist(rows, schema=CV_PREDICTIONS_SCHEMA), predictions_path)
    seconds = time.perf_counter() - t0
    detail = {
        "seconds": round(seconds, 1),
        "encode_seconds": round(t_enc, 1),
        "baseline_seconds": round(t_base, 1),
        **timing,
        "precision": precision,
        "model_version": version,
        **counts,
        "windows": int(len(data.bag)),
        "folds": {str(k): sorted(set(groups[folds == k].tolist())) for k in range(params.folds)},
        "fold_articles": np.bincount(folds, minlength=params.folds).tolist(),
        "recipe": recipe,
        "calibration_method": method,
        "calibration_per_lang": per_lang,
        "calibration_candidates": candidates,
        "final_config_oof": summary,
        "per_law": laws,
        "disagreements": worst,
        "ensemble_members": len(members),
    }
    write_json(detail, detail_path)
    log.info(
        "cv: %d articles, %d folds x %d seeds in %.1f s (%s)",
        len(arts),
        params.folds,
        params.seeds,
        seconds,
        method,
    )
    return detail


def _table(summary: dict[str, Any]) -> str:
    lines = [
        "| dimension | lang | macro-F1 | ECE | gold share | flag share | n |",
        "|---|---|---|---|---|---|---|",
    ]
    for d, cells in summary.items():
        for lg, c in cells.items():
            lines.append(
                f"| {d} | {lg} | {c['macro_f1']} | {c['ece']} | {c['gold_share']} | "
                f"{c['flag_share']} | {c['n']} |"
            )
    return "\n".join(lines)


def model_card(
    version: str,
    params: CVParams,
    counts: dict[str, Any],
    method: str,
    per_lang: bool,
    summary: dict[str, Any],
    laws: list[dict[str, Any]],
    worst: list[dict[str, Any]],
    n_members: int,
) -> str:
    """The published classifier's README.md: recipe, CV figures per language, per-law shares, errors."""
    law_lines = [
        "| law | lang | n | vagueness gold | vagueness flagged | speech gold | speech flagged |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in laws:
        v, s = r["vagueness"], r["speech_risk"]
        law_lines.append(
            f"| {r['doc_id']} | {r['lang']} | {r['n']} | {v['gold_share']} | {v['flag_share']} | "
            f"{s['gold_share']} | {s['flag_share']} |"
        )
    scope = "one per language and dimension" if per_lang else "one per dimension for both languages"
    err_lines = ["| provision | dimension | gold level | P(level >= 2) | text |", "|---|---|---|---|---|"]
    for w in worst:
        err_lines.append(
            f"| {w['provision_id']} | {w['dimension']} | {w['gold_level']} | {w['prob']} | "
            f"{w['text'].replace('|', '/')} |"
        )
    return f"""---
language: [en, vi]
license: apache-2.0
tags: [legal, text-classification, ordinal-regression, overbroad]
---
# overbroad classifier `{version}`

Scores a criminal or cyber-law provision, in English or Vietnamese, for **vagueness** and
**political-speech risk** (codebook in corpora/annotations/CODEBOOK.md, levels 0–3). Outputs per
dimension the calibrated probability that the level is >= 2, a predicted level and a flag.

## Intended use
Research and triage: ranking provisions for a lawyer's reading, comparing laws, studying drafting.
**Not** a legal opinion, not a decision about any person, not for enforcement or content moderation.

## Recipe (chosen by document-grouped cross-validation)
The base encoder (models/base, multilingual-e5-small) is frozen; each window of at most
{params.max_length} tokens is mean-pooled and, with its lexicon features, read by two CORAL-style
ordinal heads; an article's score is the maximum over its windows. The published heads are the
average of {n_members} heads ({params.folds} folds x {params.seeds} seeds, each fitted on the other
folds' {counts["articles"]} gold articles for {params.epochs} epochs), which scores as one head.
Calibration ({method}, {scope}, chosen by the lower out-of-fold ECE among platt and isotonic,
per language and pooled; metrics/cv.json `calibration_candidates`), fitted on the out-of-fold
logits of the seed ensemble; flag threshold `{params.threshold}`.

## Cross-validated figures (out of fold, whole laws held out; a law and its translation together)

{_table(summary)}

Every system's table (mean over folds and seeds, with the spread) is in metrics/eval.json (`cv`).

## Per law (>= {params.min_law_articles} gold articles): gold share at level >= 2 vs out-of-fold flag share

{chr(10).join(law_lines)}

## The {len(worst)} largest out-of-fold disagreements

{chr(10).join(err_lines)}

Readings of these (model wrong / label wrong / codebook unclear) are in docs/flags-errors.md.

## Limits
- A small gold set labelled by few annotators; laws differ widely in how often they restrict speech,
  so a law never seen in training is the hard case these figures measure.
- Trained on Vietnamese and Singaporean, US and treaty texts; other legal systems are out of
  distribution. The English translations of Vietnamese laws are the project's own.
- Article level: clause and point scores come from the same heads but were not labelled.
"""


PATHS = {
    "provisions": "data/provisions.parquet",
    "gold_bulk": "data/gold_bulk_provisions.parquet",
    "documents": "data/documents.parquet",
    "gold": "corpora/annotations/gold.jsonl",
    "lexicon": "corpora/lexicon/lexicon.yaml",
    "base": "models/base",
    "out": "models/classifier",
    "predictions": "data/cv_predictions.parquet",
    "vectors": "data/gold_vectors.parquet",
    "unit_vectors": "data/gold_unit_vectors.parquet",
    "detail": "metrics/cv.json",
}


def main(argv: list[str] | None = None) -> int:
    args = stage.arguments("overbroad cv", __doc__, PATHS, argv)
    params = load_cv_params(args.params)

    def go() -> dict[str, Any]:
        d = run(
            [args.provisions, args.gold_bulk],
            args.documents,
            args.gold,
            args.lexicon,
            args.base,
            args.out,
            args.predictions,
            args.vectors,
            args.detail,
            params,
            args.unit_vectors,
        )
        out = {k: d[k] for k in ("seconds", "model_version", "articles", "calibration_method")}
        print(json.dumps(out))
        return out

    return stage.execute("cv", go)


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["cv", *sys.argv[1:]]))

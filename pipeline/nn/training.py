"""The training loop: windows of the gold articles encoded once, batches of whole articles (all their
windows), the ordinal loss on the max over windows, AdamW with warm-up and linear decay through
Hugging Face Accelerate, the best dev epoch kept.

The CPU profile freezes the embeddings and the lower ``freeze_layers`` layers: they run once over
every window (no dropout there, so their outputs never change) and the upper layers and heads train on
those cached states. ``freeze_layers: 0`` fine-tunes every weight.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from pipeline.metrics import binary_macro_f1
from pipeline.nn.calibration import FLAG_CUT, fit_threshold
from pipeline.nn.classifier import Classifier
from pipeline.nn.heads import TwoHeadModel, mean_pool, ordinal_loss
from pipeline.nn.precision import autocast
from pipeline.nn.windows import length_buckets, make_windows, pad_batch
from pipeline.schema import DIMENSIONS
from pipeline.seed import seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    """What one training run needs to know (the train stage fills it from its params)."""

    seed: int
    epochs: int
    batch_size: int  # articles per batch
    lr: float  # encoder layers
    head_lr: float
    lexicon_lr: float  # the heads' lexicon-feature weights
    weight_decay: float
    warmup_ratio: float
    freeze_layers: int  # 0: every weight trained
    select_best_epoch: bool


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
    loop: LoopSettings,
    desc: str = "train",
) -> tuple[TwoHeadModel, dict[str, Any]]:
    """Fine-tune a copy of ``clf.model`` on ``train_idx`` with Accelerate; pick the best dev epoch.

    Returns the trained model (unwrapped, eval mode) and a history of loss and dev macro-F1.
    """
    from accelerate import Accelerator

    from_layer = loop.freeze_layers
    seed_everything(loop.seed)
    model = copy.deepcopy(clf.model)
    model.encoder.requires_grad_(from_layer == 0)
    if from_layer > 0:
        for layer in model.layers()[from_layer:]:
            layer.requires_grad_(True)
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    lex_params = list(model.heads.lex.parameters()) if model.heads.lex is not None else []
    lex_ids = {id(p) for p in lex_params}
    groups = [
        {"params": encoder_params, "lr": loop.lr, "weight_decay": loop.weight_decay},
        {
            "params": [p for p in model.heads.parameters() if id(p) not in lex_ids],
            "lr": loop.head_lr,
            "weight_decay": 0.0,
        },
    ]
    if lex_params:  # a few [0, 1] features: their weights need a larger step to matter within a few epochs
        groups.append({"params": lex_params, "lr": loop.lexicon_lr, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups)
    pad = clf.tokenizer.pad_token_id or 0
    lengths = [sum(len(enc.input_ids[w]) for w in enc.bags[a]) for a in train_idx]
    sampler = BagBatches(lengths, loop.batch_size, loop.seed)
    collate = Collate(enc, levels, weights, pad)
    train_list = list(train_idx)
    # the sampler yields positions in train_list; collate maps them back to article indices
    loader = torch.utils.data.DataLoader(
        range(len(train_list)),
        batch_sampler=sampler,
        collate_fn=lambda pos: collate([train_list[i] for i in pos]),
    )
    steps = loop.epochs * len(sampler)
    warm = int(loop.warmup_ratio * steps)

    def schedule(step: int) -> float:  # linear warm-up, then linear decay
        if step < warm:
            return (step + 1) / max(warm, 1)
        return max(0.0, (steps - step) / max(steps - warm, 1))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    best_f1, best_state, history = -1.0, None, []
    dev_levels = levels[list(dev_idx)]
    for epoch in range(loop.epochs):
        sampler.set_epoch(epoch)
        model.train()
        total, n = 0.0, 0
        bar = tqdm(
            loader,
            desc=f"{desc} epoch {epoch + 1}/{loop.epochs}",
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
            if not loop.select_best_epoch or score > best_f1:
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

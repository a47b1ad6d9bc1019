"""How a text becomes model windows: overlapping token windows that cover every character,
dynamic padding and length-bucketed batches.

A provision longer than the encoder's ``max_length`` is read in windows of ``max_length`` tokens
overlapping by ``overlap`` tokens; its score is the maximum over its windows (pipeline.nn.heads).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class WindowSpec:
    """How a text is cut into model windows."""

    max_length: int = 256
    overlap: int = 32
    prefix: str = "passage: "

    def __post_init__(self) -> None:
        if not 16 <= self.max_length <= 8192:
            raise ValueError(f"max_length: expected 16..8192, found {self.max_length}")
        if not 0 <= self.overlap < self.max_length // 2:
            raise ValueError(f"overlap: expected 0..max_length/2, found {self.overlap}")


@dataclass(frozen=True)
class Window:
    """One window of a text: the character span it covers, its token ids (special tokens included) and
    each token's character span in the window's input (``prefix + text[start:end]``; (0, 0) for the
    special tokens)."""

    text_index: int
    start: int
    end: int
    input_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...] = field(default=(), compare=False, repr=False)


def make_windows(texts: Sequence[str], tokenizer: Any, spec: WindowSpec) -> list[Window]:
    """Texts → overlapping windows of at most ``spec.max_length`` tokens, covering every character.

    Tokenises in two batch calls (every text, then every window), which a fast tokenizer runs in
    parallel and which give the same ids as one call per text.
    """
    if not texts:
        return []
    prefix_len = len(tokenizer(spec.prefix, add_special_tokens=False)["input_ids"]) if spec.prefix else 0
    n_special = tokenizer.num_special_tokens_to_add(pair=False)
    body = spec.max_length - n_special - prefix_len - 4  # slack: re-tokenising a cut may add a piece
    if body < 8:
        raise ValueError(
            f"max_length {spec.max_length} leaves {body} tokens for text after prefix and specials"
        )
    step = body - spec.overlap
    norm = [unicodedata.normalize("NFC", raw or "") for raw in texts]
    enc = tokenizer(norm, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    cuts: list[tuple[int, int, int]] = []
    for ti, text in enumerate(norm):
        offsets = [o for o in enc["offset_mapping"][ti] if o[1] > o[0]]
        starts = list(range(0, max(len(offsets) - spec.overlap, 1), step)) if offsets else [0]
        for s in starts:
            chunk = offsets[s : s + body]
            a, b = (chunk[0][0], chunk[-1][1]) if chunk else (0, len(text))
            cuts.append((ti, a, b))
    wins = tokenizer(
        [spec.prefix + norm[ti][a:b] for ti, a, b in cuts],
        truncation=True,
        max_length=spec.max_length,
        add_special_tokens=True,
        return_offsets_mapping=True,
    )
    return [
        Window(ti, a, b, tuple(ids), tuple((int(x), int(y)) for x, y in off))
        for (ti, a, b), ids, off in zip(cuts, wins["input_ids"], wins["offset_mapping"], strict=True)
    ]


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists → (input_ids, attention_mask), padded to the longest (dynamic padding)."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def length_buckets(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None = None
) -> list[list[int]]:
    """Indices grouped into batches of similar length; batch order shuffled when ``rng`` is given."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    if rng is not None:  # shuffle within runs of similar length so epochs differ, then the batches
        noise = rng.random(len(lengths)) * 8
        order = np.argsort(np.asarray(lengths) + noise, kind="stable")
    batches = [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches

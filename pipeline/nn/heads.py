"""The network: an encoder read in windows, mean pooling, and two CORAL-style ordinal heads.

Per dimension the heads give one score per window and three cumulative logits sharing it,
``logit_k = s + b_k`` for P(level >= k), k = 1..3, so the three probabilities are rank-consistent. A
provision's score is the maximum over its windows (the codebook: an article is as vague as its worst
clause), which also makes training a max-pooling multiple-instance objective.
"""

from __future__ import annotations

import torch
from torch import nn

from pipeline.schema import DIMENSIONS

N_CUTS = 3  # cumulative logits P(level >= k), k = 1, 2, 3


class OrdinalHeads(nn.Module):
    """Pooled vector → per dimension one score and three rank-consistent cumulative logits."""

    def __init__(self, hidden: int, n_dims: int = len(DIMENSIONS), dropout: float = 0.1, n_lex: int = 0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(hidden, n_dims)
        # biases b_1 > b_2 > b_3 at start, so P(>=1) > P(>=2) > P(>=3)
        self.bias = nn.Parameter(torch.tensor([[1.0, -1.0, -2.5]] * n_dims))
        self.n_lex = n_lex
        # the lexicon-feature half of the concatenated [pooled; lexicon] input (zero at start)
        self.lex = nn.Linear(n_lex, n_dims, bias=False) if n_lex else None
        if self.lex is not None:
            nn.init.zeros_(self.lex.weight)

    def window_scores(self, pooled: torch.Tensor, lex: torch.Tensor | None = None) -> torch.Tensor:
        """[W, H] (and [W, n_lex] lexicon features) → [W, D] scores."""
        out = self.score(self.dropout(pooled))
        if self.lex is not None:
            if lex is None:
                raise ValueError(f"these heads read {self.n_lex} lexicon features per window; none given")
            out = out + self.lex(lex.to(out.dtype))
        return out

    def cumulative(self, scores: torch.Tensor) -> torch.Tensor:
        """[B, D] scores → [B, D, 3] logits of P(level >= k)."""
        return scores.unsqueeze(-1) + self.bias.unsqueeze(0)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def bag_max(window_scores: torch.Tensor, bag_index: torch.Tensor, n_bags: int) -> torch.Tensor:
    """[W, D] window scores → [n_bags, D]: each text's score is the max over its windows."""
    out = torch.full(
        (n_bags, window_scores.shape[1]), -torch.inf, dtype=window_scores.dtype, device=window_scores.device
    )
    idx = bag_index.unsqueeze(1).expand_as(window_scores)
    return out.scatter_reduce(0, idx, window_scores, reduce="amax", include_self=True)


def extended_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, T] 0/1 → [B, 1, 1, T] additive mask that eager and SDPA attention both accept."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class TwoHeadModel(nn.Module):
    """Encoder + ordinal heads. ``forward`` takes windows and returns per-text cumulative logits.

    With ``from_layer > 0`` it takes precomputed hidden states of layer ``from_layer`` instead of
    token ids (the CPU profile trains only the upper layers, whose inputs do not change).
    """

    def __init__(self, encoder: nn.Module, dropout: float = 0.1, n_lex: int = 0):
        super().__init__()
        self.encoder = encoder
        self.heads = OrdinalHeads(int(encoder.config.hidden_size), dropout=dropout, n_lex=n_lex)

    def layers(self) -> nn.ModuleList:
        enc = getattr(self.encoder, "encoder", None)
        layers = getattr(enc, "layer", None)
        if not isinstance(layers, nn.ModuleList):
            raise ValueError(
                f"freezing lower layers needs a BERT-like encoder with encoder.layer, found "
                f"{type(self.encoder).__name__}; use freeze_layers: 0"
            )
        return layers

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def pooled_from(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, from_layer: int
    ) -> torch.Tensor:
        ext = extended_mask(attention_mask, hidden.dtype)
        for layer in self.layers()[from_layer:]:
            out = layer(hidden, attention_mask=ext)
            hidden = out[0] if isinstance(out, tuple) else out
        return mean_pool(hidden, attention_mask)

    def forward(
        self,
        attention_mask: torch.Tensor,
        bag_index: torch.Tensor,
        n_bags: int,
        input_ids: torch.Tensor | None = None,
        hidden: torch.Tensor | None = None,
        from_layer: int = 0,
        lex: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Windows → [n_bags, D, 3] cumulative logits (max over each text's windows)."""
        if hidden is not None:
            pooled = self.pooled_from(hidden, attention_mask, from_layer)
        else:
            pooled = self.pooled(input_ids, attention_mask)
        scores = bag_max(self.heads.window_scores(pooled, lex), bag_index, n_bags)
        return self.heads.cumulative(scores)


def ordinal_targets(levels: torch.Tensor) -> torch.Tensor:
    """[B, D] levels 0..3 → [B, D, 3] binary targets level >= k."""
    ks = torch.arange(1, N_CUTS + 1, device=levels.device)
    return (levels.unsqueeze(-1) >= ks).to(torch.float32)


def ordinal_loss(
    logits: torch.Tensor, levels: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean binary cross-entropy of the cumulative logits; ``weight`` [B] per example (0 = skip)."""
    loss = nn.functional.binary_cross_entropy_with_logits(logits, ordinal_targets(levels), reduction="none")
    per = loss.mean(dim=(1, 2))
    if weight is None:
        return per.mean()
    return (per * weight).sum() / weight.sum().clamp(min=1e-8)

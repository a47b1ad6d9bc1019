"""The two-head ordinal classifier shared by train, score and score-text.

An encoder (any Hugging Face ``AutoModel``; by default the converted multilingual-e5-small) reads a
provision in windows of ``max_length`` tokens; each window is mean-pooled (as e5 was trained) and
mapped to one score per dimension. The ordinal head is CORAL-style: three cumulative logits per
dimension share that score and differ by a bias, ``logit_k = s + b_k`` for P(level >= k), k = 1..3,
so the three probabilities are rank-consistent. A provision's score is the maximum over its windows
(the codebook: an article is as vague as its worst clause), which also makes training a max-pooling
multiple-instance objective. Temperature scaling and the flag thresholds are fitted on dev and kept
in calibration.json beside the weights.

The public API used by the other stages: :meth:`Classifier.load`, :meth:`Classifier.score_texts`,
:meth:`Classifier.attribute`, and :meth:`Classifier.save`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from pipeline.schema import ALL_CATEGORIES, DIMENSIONS, LANGS

log = logging.getLogger(__name__)

N_CUTS = 3  # cumulative logits P(level >= k), k = 1, 2, 3
FLAG_CUT = 1  # index of P(level >= 2), the probability the contract calls `vagueness` / `speech_risk`
HEADS_FILE = "heads.safetensors"
CALIBRATION_FILE = "calibration.json"
CONFIG_FILE = "overbroad.json"
LEXICON_FILE = "lexicon.yaml"  # the lexicon the heads' lexicon features were trained with


# ---------------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------------


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
    """One window of a text: the character span it covers and its token ids (special tokens included)."""

    text_index: int
    start: int
    end: int
    input_ids: tuple[int, ...]


def make_windows(texts: Sequence[str], tokenizer: Any, spec: WindowSpec) -> list[Window]:
    """Texts → overlapping windows of at most ``spec.max_length`` tokens, covering every character."""
    prefix_len = len(tokenizer(spec.prefix, add_special_tokens=False)["input_ids"]) if spec.prefix else 0
    n_special = tokenizer.num_special_tokens_to_add(pair=False)
    body = spec.max_length - n_special - prefix_len - 4  # slack: re-tokenising a cut may add a piece
    if body < 8:
        raise ValueError(
            f"max_length {spec.max_length} leaves {body} tokens for text after prefix and specials"
        )
    step = body - spec.overlap
    out: list[Window] = []
    for ti, raw in enumerate(texts):
        text = unicodedata.normalize("NFC", raw or "")
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = [o for o in enc["offset_mapping"] if o[1] > o[0]]
        starts = list(range(0, max(len(offsets) - spec.overlap, 1), step)) if offsets else [0]
        for s in starts:
            chunk = offsets[s : s + body]
            a, b = (chunk[0][0], chunk[-1][1]) if chunk else (0, len(text))
            ids = tokenizer(
                spec.prefix + text[a:b], truncation=True, max_length=spec.max_length, add_special_tokens=True
            )["input_ids"]
            out.append(Window(ti, a, b, tuple(ids)))
    return out


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


# ---------------------------------------------------------------------------------------------
# Lexicon features
# ---------------------------------------------------------------------------------------------

LEX_COUNT_CAP = 4  # marker-count features saturate at this many distinct markers


class LexiconFeatures:
    """A window's text → a small vector of codebook-lexicon features, concatenated to its pooled vector.

    Per codebook category: the noisy-or of the weights of the distinct markers found; per dimension:
    the lexicon score (noisy-or over all its markers) and the number of distinct markers found
    (capped at ``LEX_COUNT_CAP``, scaled to [0, 1]). Without a language (callers that pass no
    ``langs``) the element-wise maximum over both languages' features is used.
    """

    def __init__(self, lexicon: Any, path: str | Path):
        self.lexicon = lexicon
        self.path = Path(path)
        self.names = (
            [f"cat:{c}" for c in ALL_CATEGORIES]
            + [f"score:{d}" for d in DIMENSIONS]
            + [f"count:{d}" for d in DIMENSIONS]
        )
        self._cat = {c: i for i, c in enumerate(ALL_CATEGORIES)}

    @classmethod
    def load(cls, path: str | Path) -> LexiconFeatures:
        from pipeline.lexicon import Lexicon

        return cls(Lexicon.load(path), path)

    @property
    def size(self) -> int:
        return len(self.names)

    def features(self, text: str, lang: str | None) -> np.ndarray:
        """One text → [size] float32 features."""
        if lang not in LANGS:
            return np.max(np.stack([self.features(text, lg) for lg in LANGS]), axis=0)
        n_cat = len(ALL_CATEGORIES)
        out = np.zeros(self.size, dtype=np.float32)
        seen: set[str] = set()
        for m in self.lexicon.find(text, lang):
            mk = m.marker
            if mk.id in seen:
                continue
            seen.add(mk.id)
            c = self._cat[mk.category]
            out[c] = 1.0 - (1.0 - out[c]) * (1.0 - mk.weight)
            j = DIMENSIONS.index(mk.dimension)
            out[n_cat + j] = 1.0 - (1.0 - out[n_cat + j]) * (1.0 - mk.weight)
            out[n_cat + len(DIMENSIONS) + j] += 1.0
        counts = out[n_cat + len(DIMENSIONS) :]
        out[n_cat + len(DIMENSIONS) :] = np.minimum(counts, LEX_COUNT_CAP) / LEX_COUNT_CAP
        return out

    def window_features(
        self, texts: Sequence[str], langs: Sequence[str | None] | None, windows: Sequence[Window]
    ) -> np.ndarray:
        """Windows of ``texts`` → [W, size] features of each window's character span."""
        norm = [unicodedata.normalize("NFC", t or "") for t in texts]
        out = np.zeros((len(windows), self.size), dtype=np.float32)
        for i, w in enumerate(windows):
            lang = langs[w.text_index] if langs is not None else None
            out[i] = self.features(norm[w.text_index][w.start : w.end], lang)
        return out


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def fit_temperature(logits: np.ndarray, levels: np.ndarray, grid: int = 801) -> float:
    """Temperature T minimising the cumulative-binary NLL of ``logits / T`` ([N, 3] vs levels [N])."""
    if len(levels) == 0:
        return 1.0
    y = (levels[:, None] >= np.arange(1, N_CUTS + 1)[None, :]).astype(np.float64)
    best_t, best = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.05), math.log(20.0), grid)):
        p = np.clip(_sigmoid(logits / t), 1e-12, 1 - 1e-12)
        nll = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
        if nll < best - 1e-12:
            best_t, best = float(t), nll
    return best_t


def binary_macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the two classes of a binary flag (a class absent from both counts as F1 = 1)."""
    f1s = []
    for c in (True, False):
        tp = int(np.sum((pred == c) & (y == c)))
        fp = int(np.sum((pred == c) & (y != c)))
        fn = int(np.sum((pred != c) & (y == c)))
        f1s.append(1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def fit_threshold(probs: np.ndarray, flags: np.ndarray) -> float:
    """The probability threshold (flag = p >= t) that maximises the flag's macro-F1 on dev.

    Candidates are midpoints between consecutive distinct probabilities; ties go to the one closest
    to 0.5, so the threshold does not drift to an extreme on a small dev set.
    """
    if len(probs) == 0:
        return 0.5
    u = np.unique(probs)
    cands = np.concatenate([[u[0] - 1e-9], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-9]])
    best_t, best = 0.5, -1.0
    for t in cands:
        f = binary_macro_f1(flags.astype(bool), probs >= t)
        if f > best + 1e-12 or (abs(f - best) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best_t, best = float(t), f
    return float(np.clip(best_t, 0.0, 1.0))


CALIBRATION_METHODS = ("platt", "isotonic")


def _check_lang_entry(lang: str, d: str, e: dict[str, Any]) -> None:
    where = f"calibration.by_lang[{lang}][{d}]"
    if e.get("method") not in CALIBRATION_METHODS:
        raise ValueError(f"{where}.method: expected one of {CALIBRATION_METHODS}, found {e.get('method')!r}")
    th = e.get("threshold")
    if th is None or not 0 <= th <= 1:
        raise ValueError(f"{where}.threshold: expected in [0, 1], found {th}")
    if e["method"] == "platt":
        if not e.get("scale", 0) > 0:
            raise ValueError(
                f"{where}.scale: expected > 0 (a calibration keeps the order), found {e.get('scale')}"
            )
        if not math.isfinite(float(e.get("shift", math.nan))):
            raise ValueError(f"{where}.shift: expected a finite number, found {e.get('shift')}")
    else:
        xs, ys = e.get("x"), e.get("y")
        if not (isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys) == N_CUTS):
            raise ValueError(f"{where}: expected x and y lists of {N_CUTS} cuts, found {xs!r}, {ys!r}")
        for x, y in zip(xs, ys, strict=True):
            if len(x) != len(y) or not x or any(b < a for a, b in zip(x, x[1:], strict=False)):
                raise ValueError(f"{where}: expected increasing x of the length of y, found {x!r}, {y!r}")


@dataclass(frozen=True)
class Calibration:
    """Per-dimension temperature and flag threshold (fitted on dev), optionally per language.

    ``by_lang[lang][dimension]`` (fitted on out-of-fold predictions by the cv stage) overrides the
    global pair for texts of that language: ``platt`` maps every cumulative logit z to
    sigmoid(scale * z + shift), ``isotonic`` maps each cut's sigmoid(z) through a monotone
    piecewise-linear curve; each carries that language's flag threshold.
    """

    temperature: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 1.0))
    threshold: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0.5))
    by_lang: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for d in DIMENSIONS:
            t, th = self.temperature.get(d), self.threshold.get(d)
            if t is None or not t > 0:
                raise ValueError(f"calibration.temperature[{d}]: expected > 0, found {t}")
            if th is None or not 0 <= th <= 1:
                raise ValueError(f"calibration.threshold[{d}]: expected in [0, 1], found {th}")
        for lang, dims in self.by_lang.items():
            if set(dims) != set(DIMENSIONS):
                raise ValueError(
                    f"calibration.by_lang[{lang}]: expected {list(DIMENSIONS)}, found {sorted(dims)}"
                )
            for d in DIMENSIONS:
                _check_lang_entry(lang, d, dims[d])

    @classmethod
    def fit(cls, logits: np.ndarray, levels: np.ndarray) -> Calibration:
        """Dev logits [N, D, 3] and gold levels [N, D] → temperature, then threshold on calibrated P(>=2)."""
        temps, ths = {}, {}
        for j, d in enumerate(DIMENSIONS):
            temps[d] = fit_temperature(logits[:, j, :], levels[:, j])
            p = _sigmoid(logits[:, j, FLAG_CUT] / temps[d])
            ths[d] = fit_threshold(p, levels[:, j] >= 2)
        return cls(temps, ths)

    def _rows(self, n: int, langs: Sequence[str | None] | None) -> dict[str, np.ndarray]:
        if langs is None or not self.by_lang:
            return {}
        if len(langs) != n:
            raise ValueError(f"calibration: {n} rows but {len(langs)} langs")
        arr = np.asarray([lg if isinstance(lg, str) else "" for lg in langs])
        return {lg: arr == lg for lg in self.by_lang if (arr == lg).any()}

    def probs(self, logits: np.ndarray, langs: Sequence[str | None] | None = None) -> np.ndarray:
        """[N, D, 3] logits (and each row's language) → calibrated cumulative probabilities [N, D, 3]."""
        t = np.array([self.temperature[d] for d in DIMENSIONS])[None, :, None]
        out = _sigmoid(logits / t)
        for lg, m in self._rows(len(logits), langs).items():
            for j, d in enumerate(DIMENSIONS):
                out[m, j, :] = apply_lang_entry(self.by_lang[lg][d], logits[m, j, :])
        return out

    def thresholds(self, n: int, langs: Sequence[str | None] | None = None) -> np.ndarray:
        """[N, D] flag thresholds: each row's language's, else the global ones."""
        th = np.tile(np.array([self.threshold[d] for d in DIMENSIONS], dtype=float), (n, 1))
        for lg, m in self._rows(n, langs).items():
            th[m] = [self.by_lang[lg][d]["threshold"] for d in DIMENSIONS]
        return th

    def levels(self, probs: np.ndarray, langs: Sequence[str | None] | None = None) -> np.ndarray:
        """Calibrated cumulative probabilities [N, D, 3] → levels [N, D] consistent with the flag.

        Level >= 2 exactly when P(>=2) reaches the threshold (of the row's language where one was
        fitted); then 3 if P(>=3) >= 0.5; below the threshold, 1 if P(>=1) >= 0.5, else 0.
        """
        flag = probs[:, :, FLAG_CUT] >= self.thresholds(len(probs), langs)
        return np.where(flag, 2 + (probs[:, :, 2] >= 0.5), (probs[:, :, 0] >= 0.5).astype(int)).astype(int)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.by_lang:
            out.pop("by_lang")
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            {k: float(v) for k, v in data["temperature"].items()},
            {k: float(v) for k, v in data["threshold"].items()},
            dict(data.get("by_lang") or {}),
        )


def apply_lang_entry(entry: dict[str, Any], logits: np.ndarray) -> np.ndarray:
    """One language-and-dimension calibration applied to cumulative logits [N, 3] → probabilities [N, 3]."""
    if entry["method"] == "platt":
        return _sigmoid(float(entry["scale"]) * logits + float(entry["shift"]))
    raw = _sigmoid(logits)
    out = np.stack([np.interp(raw[:, k], entry["x"][k], entry["y"][k]) for k in range(N_CUTS)], axis=1)
    # P(level >= k) cannot rise with k: keep the cuts rank-consistent after separate curves.
    return np.minimum.accumulate(out, axis=1)


# ---------------------------------------------------------------------------------------------
# The classifier: load, save, score, attribute
# ---------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Classifier:
    """A trained two-head model with its tokenizer, windowing and calibration."""

    def __init__(
        self,
        model: TwoHeadModel,
        tokenizer: Any,
        spec: WindowSpec,
        calibration: Calibration,
        model_version: str = "untrained",
        device: str | None = None,
        lexicon_features: LexiconFeatures | None = None,
    ):
        if (lexicon_features.size if lexicon_features else 0) != model.heads.n_lex:
            raise ValueError(
                f"the heads read {model.heads.n_lex} lexicon features, the lexicon gives "
                f"{lexicon_features.size if lexicon_features else 0}"
            )
        self.lexicon_features = lexicon_features
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.spec = spec
        self.calibration = calibration
        self.model_version = model_version
        self.device = pick_device(device)
        self.model.to(self.device)
        self.precision = "fp32"  # the encoder's number format (pipeline.precision); set_precision changes it

    # -- persistence ------------------------------------------------------------------------

    @classmethod
    def from_base(
        cls,
        base: str | Path,
        spec: WindowSpec,
        dropout: float = 0.1,
        device: str | None = None,
        lexicon_features: LexiconFeatures | None = None,
    ) -> Classifier:
        """A fresh classifier over a base encoder directory (heads randomly initialised).

        With ``lexicon_features`` the heads also read that lexicon's features of every window.
        """
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(base))
        enc = _load_encoder(AutoModel, base)
        n_lex = lexicon_features.size if lexicon_features else 0
        model = TwoHeadModel(enc, dropout=dropout, n_lex=n_lex)
        return cls(model, tok, spec, Calibration(), device=device, lexicon_features=lexicon_features)

    @classmethod
    def load(
        cls, path: str | Path, device: str | None = None, int8: bool = False, precision: str = "fp32"
    ) -> Classifier:
        """Load models/classifier (encoder, tokenizer, heads, calibration, windowing)."""
        from transformers import AutoModel, AutoTokenizer

        path = Path(path)
        for f in (CONFIG_FILE, HEADS_FILE, CALIBRATION_FILE, "config.json"):
            if not (path / f).exists():
                raise FileNotFoundError(f"{path}: not a trained classifier (missing {f})")
        cfg = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        tok = AutoTokenizer.from_pretrained(str(path))
        lexf = None
        if cfg.get("lexicon_features"):
            if not (path / LEXICON_FILE).exists():
                raise FileNotFoundError(
                    f"{path}: the heads read lexicon features but {LEXICON_FILE} is missing"
                )
            lexf = LexiconFeatures.load(path / LEXICON_FILE)
            if lexf.names != cfg["lexicon_features"]:
                raise ValueError(
                    f"{path}: {LEXICON_FILE} gives features {lexf.names}, the heads were trained on "
                    f"{cfg['lexicon_features']}"
                )
        n_lex = lexf.size if lexf else 0
        model = TwoHeadModel(_load_encoder(AutoModel, path), dropout=0.0, n_lex=n_lex)
        model.heads.load_state_dict(load_file(str(path / HEADS_FILE)))
        calib = Calibration.from_json(json.loads((path / CALIBRATION_FILE).read_text(encoding="utf-8")))
        clf = cls(
            model,
            tok,
            WindowSpec(**cfg["window"]),
            calib,
            cfg["model_version"],
            device=device,
            lexicon_features=lexf,
        )
        if int8:
            clf.quantize_int8()
        clf.set_precision(precision)
        return clf

    def set_precision(self, precision: str) -> str:
        """``auto`` | ``fp32`` | ``bf16`` for the encoder's products (heads and calibration stay fp32);
        returns the format resolved for this device."""
        from pipeline.precision import resolve

        self.precision = resolve(precision, self.device)
        return self.precision

    def encoder_states(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[B, T] token ids and mask → final-layer states [B, T, H] (fp32), computed in ``self.precision``."""
        from pipeline.precision import autocast

        with autocast(self.precision, self.device):
            hidden = self.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        return hidden.float()

    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> str:
        """Write encoder (safetensors), tokenizer, heads, calibration and config; return model_version."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.encoder.save_pretrained(str(path), safe_serialization=True)
        self.tokenizer.save_pretrained(str(path))
        heads = {k: v.detach().cpu().contiguous() for k, v in self.model.heads.state_dict().items()}
        save_file(heads, str(path / HEADS_FILE))
        (path / CALIBRATION_FILE).write_text(json.dumps(self.calibration.to_json(), indent=2) + "\n")
        lexf = self.lexicon_features
        if lexf is not None and lexf.path.resolve() != (path / LEXICON_FILE).resolve():
            shutil.copyfile(self.lexicon_features.path, path / LEXICON_FILE)
        version = weights_hash(path, extra or {})
        self.model_version = version
        cfg = {
            "model_version": version,
            "window": asdict(self.spec),
            "dimensions": list(DIMENSIONS),
            "lexicon_features": self.lexicon_features.names if self.lexicon_features else None,
            "params": extra or {},
        }
        (path / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
        return version

    def quantize_int8(self) -> None:
        """Dynamic int8 quantisation of the Linear layers (CPU inference only)."""
        quant = getattr(getattr(torch, "ao", None), "quantization", None)
        if quant is None or not hasattr(quant, "quantize_dynamic"):
            raise RuntimeError("this torch build has no torch.ao.quantization.quantize_dynamic")
        self.model = quant.quantize_dynamic(self.model.cpu(), {nn.Linear}, dtype=torch.qint8).eval()
        self.device = torch.device("cpu")

    # -- inference --------------------------------------------------------------------------

    @torch.inference_mode()
    def logits(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: bool = False,
        langs: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Texts → uncalibrated cumulative logits [N, D, 3] (max over windows).

        ``langs`` (one per text) picks the lexicon's language for lexicon features; without it both
        languages' markers are looked for.
        """
        if not texts:
            return np.zeros((0, len(DIMENSIONS), N_CUTS), dtype=np.float32)
        windows = make_windows(texts, self.tokenizer, self.spec)
        lex = (
            self.lexicon_features.window_features(texts, langs, windows)
            if self.lexicon_features is not None
            else None
        )
        scores = self.window_scores([w.input_ids for w in windows], batch_size, progress, lex=lex)
        bag = torch.tensor([w.text_index for w in windows])
        per_text = bag_max(torch.from_numpy(scores), bag, len(texts))
        return self.model.heads.cumulative(per_text.to(self._heads_device())).float().cpu().numpy()

    def _heads_device(self) -> torch.device:
        return self.model.heads.bias.device

    @torch.inference_mode()
    def window_scores(
        self,
        seqs: Sequence[Sequence[int]],
        batch_size: int = 32,
        progress: bool = False,
        lex: np.ndarray | None = None,
    ) -> np.ndarray:
        """Token id lists (and [W, F] lexicon features) → per-window scores [W, D], in length-bucketed,
        dynamically padded batches."""
        from tqdm.auto import tqdm

        out = np.zeros((len(seqs), len(DIMENSIONS)), dtype=np.float32)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        batches = length_buckets([len(s) for s in seqs], batch_size)
        for b in tqdm(batches, desc="score", unit="batch", disable=not progress):
            ids, mask = pad_batch([seqs[i] for i in b], pad)
            ids, mask = ids.to(self.device), mask.to(self.device)
            pooled = mean_pool(self.encoder_states(ids, mask), mask)
            lx = torch.from_numpy(lex[b]).to(self._heads_device()) if lex is not None else None
            out[b] = self.model.heads.window_scores(pooled, lx).float().cpu().numpy()
        return out

    def score_texts(
        self,
        texts: Sequence[str],
        langs: Sequence[str] | None = None,
        batch_size: int = 32,
        progress: bool = False,
    ) -> list[dict[str, Any]]:
        """Texts → per text {dimension: P(level>=2), dimension_level, vague_flag, speech_flag}.

        ``langs`` picks the lexicon's language for the heads' lexicon features (the encoder is
        multilingual); without it both languages' markers are looked for.
        """
        if langs is not None and len(langs) != len(texts):
            raise ValueError(f"score_texts: {len(texts)} texts but {len(langs)} langs")
        return self.predictions(self.logits(texts, batch_size, progress, langs=langs), langs)

    def predictions(
        self, logits: np.ndarray, langs: Sequence[str | None] | None = None
    ) -> list[dict[str, Any]]:
        """Uncalibrated cumulative logits [N, D, 3] → per text {dimension: P(level>=2), levels, flags}.

        ``langs`` picks each text's language calibration where the model has one."""
        probs = self.calibration.probs(logits, langs)
        levels = self.calibration.levels(probs, langs)
        out = []
        for i in range(len(logits)):
            row: dict[str, Any] = {}
            for j, d in enumerate(DIMENSIONS):
                row[d] = float(probs[i, j, FLAG_CUT])
                row[f"{d}_level"] = int(levels[i, j])
            row["vague_flag"] = row["vagueness_level"] >= 2
            row["speech_flag"] = row["speech_risk_level"] >= 2
            row["model_version"] = self.model_version
            out.append(row)
        return out

    def attribute(
        self,
        text: str,
        lang: str | None = None,
        span_words: int = 3,
        min_drop: float = 0.05,
        max_spans: int = 5,
        batch_size: int = 32,
    ) -> list[dict[str, Any]]:
        """Occlusion: spans of ``text`` whose removal lowers P(level>=2) by at least ``min_drop``.

        Words are occluded ``span_words`` at a time (one forward pass per group, batched); groups
        that matter are merged into contiguous spans, best ``max_spans`` per dimension, each
        {start, end, text, dimension, category: "model_attribution", source: "model", weight}.
        """
        text = unicodedata.normalize("NFC", text)
        words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        if not words:
            return []
        groups = [
            (words[i][0], words[min(i + span_words, len(words)) - 1][1])
            for i in range(0, len(words), span_words)
        ]
        variants = [text] + [text[:a] + text[b:] for a, b in groups]
        vl = [lang] * len(variants)
        p = self.calibration.probs(self.logits(variants, batch_size, langs=vl), vl)
        p = p[:, :, FLAG_CUT]
        drops = p[0][None, :] - p[1:]
        spans: list[dict[str, Any]] = []
        for j, d in enumerate(DIMENSIONS):
            hot = [(groups[g], float(drops[g, j])) for g in range(len(groups)) if drops[g, j] >= min_drop]
            merged: list[list[Any]] = []
            for (a, b), w in hot:
                if merged and _only_space_between(text, merged[-1][1], a):
                    merged[-1][1], merged[-1][2] = b, max(merged[-1][2], w)
                else:
                    merged.append([a, b, w])
            merged.sort(key=lambda m: -m[2])
            for a, b, w in sorted(merged[:max_spans]):
                spans.append(
                    {
                        "start": a,
                        "end": b,
                        "text": text[a:b],
                        "dimension": d,
                        "category": "model_attribution",
                        "source": "model",
                        "weight": round(w, 4),
                    }
                )
        return spans


def _only_space_between(text: str, a: int, b: int) -> bool:
    return not _WORD.search(text[a:b])


def _load_encoder(auto: Any, path: str | Path) -> nn.Module:
    try:
        return auto.from_pretrained(str(path), add_pooling_layer=False)
    except TypeError:  # encoders without a pooler argument
        return auto.from_pretrained(str(path))


def weights_hash(path: str | Path, params: dict[str, Any]) -> str:
    """model_version: sha256 of the weight files and the training params (16 hex digits)."""
    h = hashlib.sha256()
    for f in sorted(Path(path).glob("*.safetensors")):
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    lex = Path(path) / LEXICON_FILE
    if lex.exists():
        h.update(lex.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def tiny_random_base(
    path: str | Path, texts: Sequence[str], hidden: int = 32, layers: int = 2, seed: int = 0
) -> Path:
    """Write a tiny randomly initialised BertModel + word-level tokenizer (for tests and smoke runs)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    words = sorted(
        {w.lower() for t in texts for w in re.findall(r"\w+|[^\w\s]", unicodedata.normalize("NFC", t))}
    )
    vocab = {w: i for i, w in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=512,
    )
    fast.save_pretrained(str(path))
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    BertModel(cfg, add_pooling_layer=False).save_pretrained(str(path), safe_serialization=True)
    return path

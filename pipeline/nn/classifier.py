"""The classifier: a trained two-head model with its tokenizer, windowing, lexicon features and
calibration; loads and saves models/classifier and turns texts into calibrated predictions.

The scoring core (pipeline.scoring) is its one user at inference time, the train stage builds and
saves it. :meth:`Classifier.encode` is the one place inference runs the encoder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from pipeline.inputs import read_model_dir
from pipeline.nn.calibration import FLAG_CUT, Calibration
from pipeline.nn.features import LexiconFeatures
from pipeline.nn.heads import N_CUTS, TwoHeadModel, bag_max, mean_pool
from pipeline.nn.precision import autocast, resolve_precision
from pipeline.nn.windows import WindowSpec, length_buckets, make_windows, pad_batch
from pipeline.schema import (
    DIMENSIONS,
    MODEL_CALIBRATION_FILE,
    MODEL_CONFIG_FILE,
    MODEL_HEADS_FILE,
    MODEL_LEXICON_FILE,
)


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
        precision: str = "fp32",
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
        # "fp32" or "bf16" (resolved from "auto" for this device once, here)
        self.precision = resolve_precision(precision, self.device)

    # -- persistence ------------------------------------------------------------------------

    @classmethod
    def from_base(
        cls,
        base: str | Path,
        spec: WindowSpec,
        dropout: float = 0.1,
        device: str | None = None,
        lexicon_features: LexiconFeatures | None = None,
        precision: str = "fp32",
    ) -> Classifier:
        """A fresh classifier over a base encoder directory (heads randomly initialised).

        With ``lexicon_features`` the heads also read that lexicon's features of every window.
        """
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(base))
        enc = _load_encoder(AutoModel, base)
        n_lex = lexicon_features.size if lexicon_features else 0
        model = TwoHeadModel(enc, dropout=dropout, n_lex=n_lex)
        return cls(
            model,
            tok,
            spec,
            Calibration(),
            device=device,
            lexicon_features=lexicon_features,
            precision=precision,
        )

    @classmethod
    def load(
        cls, path: str | Path, device: str | None = None, int8: bool = False, precision: str = "fp32"
    ) -> Classifier:
        """Load models/classifier (encoder, tokenizer, heads, calibration, windowing).

        ``precision`` (auto, fp32, bf16; pipeline.nn.precision) is the encoder's number format at
        inference; int8 quantisation runs its own integer kernels, so it implies fp32 elsewhere.
        """
        from transformers import AutoModel, AutoTokenizer

        md = read_model_dir(path)
        path = md.path
        tok = AutoTokenizer.from_pretrained(str(path))
        lexf = None
        if md.lexicon_features:
            lexf = LexiconFeatures.load(path / MODEL_LEXICON_FILE)
            if lexf.names != md.lexicon_features:
                raise ValueError(
                    f"{path}: {MODEL_LEXICON_FILE} gives features {lexf.names}, the heads were trained on "
                    f"{md.lexicon_features}"
                )
        n_lex = lexf.size if lexf else 0
        model = TwoHeadModel(_load_encoder(AutoModel, path), dropout=0.0, n_lex=n_lex)
        model.heads.load_state_dict(load_file(str(path / MODEL_HEADS_FILE)))
        calib = Calibration(md.temperature, md.threshold, md.by_lang)
        clf = cls(
            model,
            tok,
            WindowSpec(**md.window),
            calib,
            md.model_version,
            device=device,
            lexicon_features=lexf,
            precision="fp32" if int8 else precision,
        )
        if int8:
            clf.quantize_int8()
        clf.set_precision(precision)
        return clf

    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> str:
        """Write encoder (safetensors), tokenizer, heads, calibration and config; return model_version."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.encoder.save_pretrained(str(path), safe_serialization=True)
        self.tokenizer.save_pretrained(str(path))
        heads = {k: v.detach().cpu().contiguous() for k, v in self.model.heads.state_dict().items()}
        save_file(heads, str(path / MODEL_HEADS_FILE))
        (path / MODEL_CALIBRATION_FILE).write_text(json.dumps(self.calibration.to_json(), indent=2) + "\n")
        lexf = self.lexicon_features
        if lexf is not None and lexf.path.resolve() != (path / MODEL_LEXICON_FILE).resolve():
            shutil.copyfile(self.lexicon_features.path, path / MODEL_LEXICON_FILE)
        version = weights_hash(path, extra or {})
        self.model_version = version
        cfg = {
            "model_version": version,
            "window": asdict(self.spec),
            "dimensions": list(DIMENSIONS),
            "lexicon_features": self.lexicon_features.names if self.lexicon_features else None,
            "params": extra or {},
        }
        (path / MODEL_CONFIG_FILE).write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
        return version

    def quantize_int8(self) -> None:
        """Dynamic int8 quantisation of the encoder's Linear layers (CPU inference only).

        The heads stay fp32: in-context scoring reads their weights (pipeline.scoring.context), and they
        are a few thousand weights. Measured on this project's AVX2 machine (wave 2): 1.16x the fp32
        encoder, and 30 of 1,348 flags changed on 120 articles, so fp32 stays the default.
        """
        quant = getattr(getattr(torch, "ao", None), "quantization", None)
        if quant is None or not hasattr(quant, "quantize_dynamic"):
            raise RuntimeError("this torch build has no torch.ao.quantization.quantize_dynamic")
        self.model.cpu()
        self.model.encoder = quant.quantize_dynamic(self.model.encoder, {nn.Linear}, dtype=torch.qint8).eval()
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

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states [B, T, H] of the encoder's last layer for one padded batch of windows.

        The one place inference runs the encoder (the scoring core and :meth:`window_scores` both
        call it), in the classifier's precision; the states come back as fp32 either way.
        """
        with autocast(self.precision, self.device):
            out = self.model.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state.float()

    def set_precision(self, precision: str) -> str:
        """``auto`` | ``fp32`` | ``bf16`` for the encoder's products (heads and calibration stay fp32);
        returns the format resolved for this device (pipeline.nn.precision)."""
        self.precision = resolve_precision(precision, self.device)
        return self.precision

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
            mask = mask.to(self.device)
            pooled = mean_pool(self.encode(ids.to(self.device), mask), mask)
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


def _load_encoder(auto: Any, path: str | Path) -> nn.Module:
    try:
        return auto.from_pretrained(str(path), add_pooling_layer=False)
    except TypeError:  # encoders without a pooler argument
        return auto.from_pretrained(str(path))


def encoder_sha(clf: Classifier) -> str:
    """What the encoder's states depend on: its weights, the tokenizer, the windowing and the number
    format (16 hex digits). Two classifiers with the same encoder_sha give the same window and token
    states, whatever their heads: the cv stage's encoded gold articles are reused by the score stage
    only when the two agree."""
    h = hashlib.sha256(json.dumps([asdict(clf.spec), clf.precision]).encode())
    for name, t in sorted(clf.model.encoder.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    backend = getattr(clf.tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # the vocabulary and the pipeline, not the truncation and padding a call last set
        tok = {k: v for k, v in json.loads(backend.to_str()).items() if k not in ("truncation", "padding")}
        h.update(json.dumps(tok, sort_keys=True).encode())
    else:
        h.update(repr(clf.tokenizer).encode())
    return h.hexdigest()[:16]


def weights_hash(path: str | Path, params: dict[str, Any]) -> str:
    """model_version: sha256 of the weight files and the training params (16 hex digits)."""
    h = hashlib.sha256()
    for f in sorted(Path(path).glob("*.safetensors")):
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    lex = Path(path) / MODEL_LEXICON_FILE
    if lex.exists():
        h.update(lex.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]

"""What the scoring core scores with: the fine-tuned classifier or the lexicon alone.

:class:`ModelScorer` is the one place that knows pipeline.nn's classifier at inference time;
:class:`LexiconScorer` is the lexicon's noisy-or, a baseline, a fallback for a machine without the
classifier and a deterministic test double. Both give, per text, the probability that each dimension
is at codebook level >= 2 and a level.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pipeline.lexicon import Lexicon
from pipeline.schema import DIMENSIONS

SCORERS = ("model", "lexicon")


@runtime_checkable
class Scorer(Protocol):
    """What the scoring core needs of a scorer."""

    version: str
    thresholds: dict[str, float]

    def score_texts(self, texts: Sequence[str], langs: Sequence[str]) -> list[dict[str, Any]]:
        """Texts → dicts with ``vagueness``, ``speech_risk`` (probabilities) and their ``*_level``."""
        ...


def level_of(p: float) -> int:
    """A probability of level ≥ 2 → an ordinal level, for scorers that give no level of their own."""
    return 0 if p < 0.25 else 1 if p < 0.5 else 2 if p < 0.85 else 3


class LexiconScorer:
    """The lexicon's noisy-or as a scorer."""

    def __init__(
        self, lexicon: Lexicon, thresholds: dict[str, float] | None = None, version: str | None = None
    ):
        self.lexicon = lexicon
        self.thresholds = dict(thresholds or dict.fromkeys(DIMENSIONS, 0.5))
        if version is None:
            blob = json.dumps(
                [m.__dict__ for m in lexicon.markers], sort_keys=True, default=str, ensure_ascii=False
            )
            version = "lexicon-" + hashlib.sha256(blob.encode()).hexdigest()[:12]
        self.version = version

    def score_texts(self, texts: Sequence[str], langs: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for text, lang in zip(texts, langs, strict=True):
            s = self.lexicon.scores(text, lang)
            out.append({**s, **{f"{d}_level": level_of(s[d]) for d in DIMENSIONS}})
        return out


class ModelScorer:
    """The fine-tuned :class:`~pipeline.nn.classifier.Classifier` of a model directory."""

    def __init__(
        self,
        model_dir: str | Path,
        device: str = "auto",
        int8: bool = False,
        batch_size: int = 32,
        precision: str = "auto",
        threads: int = 0,
    ):
        from pipeline.nn.classifier import Classifier  # imported late: torch and transformers
        from pipeline.nn.precision import use_cores

        self.threads = use_cores(threads)
        self.model_dir = Path(model_dir)
        self.classifier = Classifier.load(
            self.model_dir, device=None if device == "auto" else device, int8=int8, precision=precision
        )
        cal = self.classifier.calibration
        self.thresholds = {d: float(cal.threshold[d]) for d in DIMENSIONS}
        # per-language thresholds where the classifier was calibrated per language (the cv stage)
        self.lang_thresholds = {
            lg: {d: float(e[d]["threshold"]) for d in DIMENSIONS} for lg, e in cal.by_lang.items()
        }
        self.precision = self.classifier.precision
        self.version = str(self.classifier.model_version)
        self.batch_size = batch_size
        # States of articles encoded before with the same encoder (pipeline.scoring.context.StateCache;
        # the score stage sets it from the cv stage's encoded gold articles)
        self.states: Any = None

    def score_texts(self, texts: Sequence[str], langs: Sequence[str]) -> list[dict[str, Any]]:
        """Each text on its own through the classifier's windows (no in-context units)."""
        return self.classifier.score_texts(list(texts), list(langs), batch_size=self.batch_size)


def load_scorer(
    spec: str,
    model_dir: str | Path,
    lexicon: Lexicon | None,
    device: str = "auto",
    int8: bool = False,
    batch_size: int = 32,
    precision: str = "auto",
    threads: int = 0,
) -> Scorer:
    """``"model"`` → the classifier in ``model_dir`` (in ``precision``, on ``threads`` CPU threads, 0 =
    every core); ``"lexicon"`` → :class:`LexiconScorer`."""
    if spec == "lexicon":
        if lexicon is None:
            raise FileNotFoundError("scorer 'lexicon' needs a lexicon, and none was found")
        return LexiconScorer(lexicon)
    if spec == "model":
        return ModelScorer(model_dir, device, int8, batch_size, precision, threads)
    raise ValueError(f"scorer: expected one of {list(SCORERS)}, found {spec!r}")


@contextlib.contextmanager
def inference_mode() -> Iterator[None]:
    """torch.inference_mode when torch is there (a lexicon scorer needs no torch)."""
    try:
        import torch
    except ImportError:
        yield
        return
    with torch.inference_mode():
        yield

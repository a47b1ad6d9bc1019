"""score stage: data/provisions.parquet + models/classifier → data/scores.parquet.

Every article, clause and point gets two probabilities (vagueness, speech_risk), their codebook
levels, flags at the calibrated thresholds, and evidence spans inside its ``text`` from the lexicon and
from the model. How (in-context units, evidence methods, article aggregation) is the scoring core's,
pipeline.scoring.core; this stage reads, validates, scores and writes.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import gold_states, stage
from pipeline.inputs import read_table
from pipeline.io import write_parquet
from pipeline.lexicon import Lexicon
from pipeline.nn.precision import check_precision
from pipeline.params import load_params
from pipeline.schema import LEVELS, PROVISIONS_SCHEMA, SCORES_SCHEMA, to_table
from pipeline.scoring import ModelScorer, Scorer, ScoringOptions, load_scorer, score_provisions
from pipeline.scoring.scorers import SCORERS
from pipeline.seed import seed_everything

DEFAULT_LEXICON = "corpora/lexicon/lexicon.yaml"
PATHS = {
    "provisions": "data/provisions.parquet",
    "model": "models/classifier",
    "lexicon": DEFAULT_LEXICON,
    "out": "data/scores.parquet",
    # the cv stage's encoded gold articles: not encoded again when the encoder is the same
    "vectors": "data/gold_vectors.parquet",
    "unit_vectors": "data/gold_unit_vectors.parquet",
}


@dataclass(frozen=True)
class ScoreParams(ScoringOptions):
    """Section ``score`` of params.yaml: the scoring core's options and what this stage scores with."""

    # "model": the fine-tuned classifier in the model dir; "lexicon": the lexicon's noisy-or (a baseline,
    # and the fallback for a machine without the classifier).
    scorer: str = "model"
    device: str = "auto"  # "auto" picks the GPU when there is one
    int8: bool = False  # dynamic int8 quantisation of the classifier (CPU only)
    # auto: bf16 where the hardware multiplies it natively (GPU, AVX512-BF16/AMX CPU), else fp32
    precision: str = "auto"
    threads: int = 0  # CPU threads of the encoder; 0: every core this process may use
    seed: int = 13

    def __post_init__(self) -> None:
        super().__post_init__()
        check_precision(self.precision, "score.precision")
        if self.threads < 0:
            raise ValueError(f"score.threads: expected 0 (every core) or a count, found {self.threads}")
        if self.scorer not in SCORERS:
            raise ValueError(f"score.scorer: expected one of {list(SCORERS)}, found {self.scorer!r}")
        if self.scorer == "lexicon" and self.attribution == "tokens":
            raise ValueError(
                "score.attribution: expected occlusion or none with scorer: lexicon "
                "(token contributions are the model's), found 'tokens'"
            )


def run(
    provisions_path: str | Path,
    model_dir: str | Path,
    out_path: str | Path,
    params: ScoreParams,
    lexicon_path: str | Path | None = DEFAULT_LEXICON,
    scorer: Scorer | None = None,
    vectors_path: str | Path | None = None,
    unit_vectors_path: str | Path | None = None,
) -> dict[str, Any]:
    """data/provisions.parquet → data/scores.parquet (atomic: a failed run leaves the old file intact).

    With the cv stage's vectors of the gold articles (``vectors_path``, ``unit_vectors_path``) made by
    the same encoder, those articles are scored from their states, and encoded again only for model
    evidence (pipeline.scoring.context.StateCache)."""
    seed_everything(params.seed)
    table = read_table(provisions_path, PROVISIONS_SCHEMA, "provisions")
    rows = table.select([f.name for f in PROVISIONS_SCHEMA]).to_pylist()
    lexicon = _lexicon(lexicon_path)
    if scorer is None:
        scorer = load_scorer(
            params.scorer,
            model_dir,
            lexicon,
            params.device,
            params.int8,
            params.batch_size,
            params.precision,
            params.threads,
        )
    cache = None
    if params.reuse and isinstance(scorer, ModelScorer) and vectors_path and unit_vectors_path:
        from pipeline.nn.classifier import encoder_sha

        cache = gold_states.state_cache(vectors_path, unit_vectors_path, encoder_sha(scorer.classifier))
        scorer.states = cache
    scored = score_provisions(rows, scorer, lexicon, params.options())
    write_parquet(to_table(scored, SCORES_SCHEMA), out_path)
    counts: dict[str, Any] = {"provisions": len(scored), "model_version": scorer.version}
    if cache is not None:
        counts["articles_from_cv_states"] = cache.hits
        counts["encoded_again_for_evidence"] = cache.encoded_again
    if getattr(scorer, "precision", None):
        counts["precision"] = scorer.precision
    for lv in LEVELS:
        counts[lv] = sum(r["level"] == lv for r in scored)
    counts["vague_flag"] = sum(r["vague_flag"] for r in scored)
    counts["speech_flag"] = sum(r["speech_flag"] for r in scored)
    counts["evidence_spans"] = sum(len(r["evidence"]) for r in scored)
    return counts


def _lexicon(path: str | Path | None) -> Lexicon | None:
    if path is not None and Path(path).is_file():
        return Lexicon.load(path)

    logging.getLogger(__name__).warning("no lexicon at %s: lexicon evidence is left out", path)
    return None


def main(argv: list[str] | None = None) -> int:
    args = stage.arguments("overbroad score", __doc__, PATHS, argv)
    params = load_params(ScoreParams, "score", args.params)
    return stage.execute(
        "score",
        lambda: run(
            args.provisions,
            args.model,
            args.out,
            params,
            args.lexicon,
            vectors_path=args.vectors,
            unit_vectors_path=args.unit_vectors,
        ),
    )


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["score", *sys.argv[1:]]))

"""The scoring core, used by every entry point that scores: the score stage, bulk scoring,
``overbroad score-text`` and the spaCy component.

- :mod:`pipeline.scoring.core`: options, :func:`score_provisions` and :func:`score_texts`;
- :mod:`pipeline.scoring.scorers`: the model and lexicon scorers;
- :mod:`pipeline.scoring.context`: in-context unit scores and token contributions (one encoder pass
  per article);
- :mod:`pipeline.scoring.evidence`: the evidence methods (token contributions, occlusion) and spans.

Importing this package does not import torch; the model scorer loads it when it is built.
"""

from pipeline.scoring.core import ScoringOptions, score_provisions, score_texts
from pipeline.scoring.scorers import LexiconScorer, ModelScorer, Scorer, load_scorer

__all__ = [
    "LexiconScorer",
    "ModelScorer",
    "Scorer",
    "ScoringOptions",
    "load_scorer",
    "score_provisions",
    "score_texts",
]

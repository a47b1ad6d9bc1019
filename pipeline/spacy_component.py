"""A spaCy pipeline component: ``nlp.add_pipe("overbroad_scorer", config={"model": "models/classifier"})``.

Each Doc is scored as one article by the scoring core (pipeline.scoring), exactly as the score stage
scores an article without clauses. Sets ``doc._.vagueness`` and ``doc._.speech_risk`` (probabilities,
as in data/scores.parquet), their levels ``doc._.vagueness_level`` / ``doc._.speech_risk_level``, the
flags ``doc._.vague_flag`` / ``doc._.speech_flag``, ``doc._.evidence`` (the evidence dicts, character
offsets exact) and ``doc.spans["overbroad"]``: the evidence as Spans labelled
``"<dimension>:<category>"`` (character spans expanded to whole tokens).

Registered through the ``spacy_factories`` entry point and on import of this module. ``model`` is a
classifier directory, or ``"lexicon"`` for the lexicon-only scorer (no torch needed).
``attribution`` is the model evidence: ``tokens`` (the default with a classifier), ``occlusion``
(the default with the lexicon scorer) or ``none``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, SpanGroup

from pipeline.lexicon import Lexicon
from pipeline.schema import DIMENSIONS, LANGS
from pipeline.scoring import Scorer, ScoringOptions, load_scorer, score_texts
from pipeline.scoring.core import FLAG_COLUMN

log = logging.getLogger(__name__)

DEFAULT_LEXICON = "corpora/lexicon/lexicon.yaml"
SPANS_KEY = "overbroad"
for _name in (*DIMENSIONS, *(f"{d}_level" for d in DIMENSIONS), *FLAG_COLUMN.values(), "evidence"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


class OverbroadScorer:
    """Scores each Doc with the scoring core and adds its evidence spans."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        scorer: Scorer,
        lexicon: Lexicon | None,
        lang: str,
        options: ScoringOptions,
        batch_size: int = 16,
    ):
        self.name = name
        self.scorer = scorer
        self.lexicon = lexicon
        self.lang = lang
        self.options = options
        self.batch_size = batch_size

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        size = batch_size or self.batch_size
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= size:
                yield from self._score(batch)
                batch = []
        if batch:
            yield from self._score(batch)

    def _score(self, docs: list[Doc]) -> list[Doc]:
        rows = score_texts(
            [d.text for d in docs], [self.lang] * len(docs), self.scorer, self.lexicon, self.options
        )
        for doc, row in zip(docs, rows, strict=True):
            for d in DIMENSIONS:
                doc._.set(d, row[d])
                doc._.set(f"{d}_level", row[f"{d}_level"])
                doc._.set(FLAG_COLUMN[d], row[FLAG_COLUMN[d]])
            doc._.set("evidence", row["evidence"])
            spans = []
            for e in row["evidence"]:
                label = f"{e['dimension']}:{e['category']}"
                span = doc.char_span(e["start"], e["end"], label=label, alignment_mode="expand")
                if span is not None:
                    spans.append(span)
            doc.spans[SPANS_KEY] = SpanGroup(doc, name=SPANS_KEY, spans=spans)
        return docs


@Language.factory(
    "overbroad_scorer",
    default_config={
        "model": "models/classifier",
        "lexicon": DEFAULT_LEXICON,
        "lang": None,
        "attribution": None,
        "batch_size": 16,
        "device": "auto",
    },
)
def make_overbroad_scorer(
    nlp: Language,
    name: str,
    model: str,
    lexicon: str | None,
    lang: str | None,
    attribution: str | None,
    batch_size: int,
    device: str,
) -> OverbroadScorer:
    """The factory behind ``nlp.add_pipe("overbroad_scorer")``."""
    lang = lang or (nlp.lang if nlp.lang in LANGS else "en")
    if lang not in LANGS:
        raise ValueError(f"overbroad_scorer: lang expected one of {LANGS}, found {lang!r}")
    lex = Lexicon.load(lexicon) if lexicon and Path(lexicon).is_file() else None
    if lex is None and lexicon:
        log.warning("overbroad_scorer: no lexicon at %s; only model evidence", lexicon)
    spec = "lexicon" if model == "lexicon" else "model"
    if attribution is None:
        attribution = "occlusion" if spec == "lexicon" else "tokens"
    options = ScoringOptions(attribution=attribution)
    scorer = load_scorer(spec, model, lex, device, batch_size=options.batch_size)
    return OverbroadScorer(nlp, name, scorer, lex, lang, options, batch_size)

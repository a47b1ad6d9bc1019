"""A spaCy pipeline component: ``nlp.add_pipe("overbroad_scorer", config={"model": "models/classifier"})``.

Sets ``doc._.vagueness`` and ``doc._.speech_risk`` (probabilities, as in data/scores.parquet), their
levels ``doc._.vagueness_level`` / ``doc._.speech_risk_level``, and ``doc.spans["overbroad"]``: the
evidence as Spans labelled ``"<dimension>:<category>"`` (character spans expanded to whole tokens).

Registered through the ``spacy_factories`` entry point and on import of this module. ``model`` is a
classifier directory, or ``"lexicon"`` for the lexicon-only scorer (no torch needed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, SpanGroup

from pipeline.lexicon import Lexicon
from pipeline.schema import DIMENSIONS, LANGS, Evidence
from pipeline.score import DEFAULT_LEXICON, ScoreParams, Scorer, load_scorer, occlusion_evidence

log = logging.getLogger(__name__)

SPANS_KEY = "overbroad"
for _name in (*DIMENSIONS, *(f"{d}_level" for d in DIMENSIONS)):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


class OverbroadScorer:
    """Scores each Doc with an overbroad :class:`~pipeline.score.Scorer` and adds its evidence spans."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        scorer: Scorer,
        lexicon: Lexicon | None,
        lang: str,
        attribution: bool = False,
        batch_size: int = 16,
    ):
        self.name = name
        self.scorer = scorer
        self.lexicon = lexicon
        self.lang = lang
        self.attribution = attribution
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
        from pipeline.score import inference_mode

        with inference_mode():
            preds = self.scorer.score_texts([d.text for d in docs], [self.lang] * len(docs))
            for doc, p in zip(docs, preds, strict=True):
                evidence: list[Evidence] = self.lexicon.evidence(doc.text, self.lang) if self.lexicon else []
                if self.attribution:
                    evidence += occlusion_evidence(
                        self.scorer, doc.text, self.lang, p, ScoreParams(), evidence
                    )
                for d in DIMENSIONS:
                    doc._.set(d, float(p[d]))
                    doc._.set(f"{d}_level", int(p.get(f"{d}_level", 0)))
                spans = []
                for e in evidence:
                    span = doc.char_span(
                        e.start, e.end, label=f"{e.dimension}:{e.category}", alignment_mode="expand"
                    )
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
        "attribution": False,
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
    attribution: bool,
    batch_size: int,
    device: str,
) -> OverbroadScorer:
    """The factory behind ``nlp.add_pipe("overbroad_scorer")``."""
    from pathlib import Path

    lang = lang or (nlp.lang if nlp.lang in LANGS else "en")
    if lang not in LANGS:
        raise ValueError(f"overbroad_scorer: lang expected one of {LANGS}, found {lang!r}")
    lex = Lexicon.load(lexicon) if lexicon and Path(lexicon).is_file() else None
    if lex is None and lexicon:
        log.warning("overbroad_scorer: no lexicon at %s; only model evidence", lexicon)
    scorer: Any = load_scorer(
        "lexicon" if model == "lexicon" else "model", model, lexicon or DEFAULT_LEXICON, device
    )
    return OverbroadScorer(nlp, name, scorer, lex, lang, attribution, batch_size)

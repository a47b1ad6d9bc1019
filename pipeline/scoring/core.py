"""The scoring core: provisions (articles with their clauses and points) or plain texts → scores,
levels, flags and evidence. The score stage, bulk scoring, ``overbroad score-text`` and the spaCy
component all call :func:`score_provisions` (plain texts through :func:`score_texts`), so the same
article text gets the same numbers and the same evidence from each of them.

How a provision is scored (``units``):

- ``context`` (default): each article is encoded once (pipeline.scoring.context). The article's score
  is the classifier's own, the maximum over its windows, which cover every clause and point; this is
  the score the classifier was trained and evaluated on. A clause or point is scored from its own
  tokens' contributions in the article's context. A unit that holds no token, or whose article is not
  among the rows, is scored on its own.
- ``separate``: every provision is scored on its own; an article takes the maximum over itself and
  its units, so it is as vague as its worst clause (CODEBOOK.md) either way.

Evidence: the lexicon's markers, plus model spans (``attribution``, pipeline.scoring.evidence) for the
leaves (provisions without units among the rows), in each dimension scored at least
``attribution_min_score``. An article collects its units' evidence, shifted into its own text.
Flags are the probabilities at or above the classifier's calibrated thresholds.

Two seams for what comes next: batching of windows is decided in
:func:`pipeline.scoring.context.window_batches`, and the encoder runs in
:meth:`pipeline.nn.classifier.Classifier.encode` (where a precision option belongs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from pipeline.lexicon import Lexicon
from pipeline.schema import DIMENSIONS, LEVELS, PROVISIONS_SCHEMA, Evidence
from pipeline.scoring import reuse
from pipeline.scoring.evidence import (
    ATTRIBUTIONS,
    dedupe,
    model_category,
    occlusion_evidence,
    word_spans,
)
from pipeline.scoring.scorers import ModelScorer, Scorer, inference_mode, level_of

FLAG_COLUMN = {"vagueness": "vague_flag", "speech_risk": "speech_flag"}
UNITS = ("context", "separate")


@dataclass(frozen=True)
class ScoringOptions:
    """How the core scores; the ``score`` section of params.yaml holds these (and the stage's own)."""

    levels: tuple[str, ...] = LEVELS
    batch_size: int = 32  # windows per encoder batch
    units: str = "context"
    articles_per_chunk: int = 64  # context: articles encoded together (bounds memory)
    # Model evidence: "tokens" (token contributions, units: context and the model only), "occlusion"
    # (any scorer), or "none" (lexicon evidence only).
    attribution: str = "tokens"
    attribution_top_k: int = 3  # spans kept per dimension
    attribution_min_score: float = 0.5  # only dimensions scored at least this get model spans
    attribution_min_z: float = 1.0  # tokens: phrases this many s.d. above the unit's mean
    attribution_window: int = 3  # occlusion: words removed at a time
    attribution_min_drop: float = 0.05  # occlusion: probability drop for a window to count
    attribution_max_words: int = 200  # occlusion: words past this are not occluded
    # An article repeated word for word with the same units is encoded once (pipeline.scoring.reuse).
    reuse: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        if self.batch_size < 1:
            raise ValueError(f"score.batch_size: expected a positive integer, found {self.batch_size}")
        if not self.levels or any(lv not in LEVELS for lv in self.levels):
            raise ValueError(
                f"score.levels: expected a non-empty subset of {list(LEVELS)}, found {list(self.levels)}"
            )
        if self.units not in UNITS:
            raise ValueError(f"score.units: expected one of {list(UNITS)}, found {self.units!r}")
        if self.attribution not in ATTRIBUTIONS:
            raise ValueError(
                f"score.attribution: expected one of {list(ATTRIBUTIONS)}, found {self.attribution!r}"
            )
        if self.attribution == "tokens" and self.units != "context":
            raise ValueError(
                "score.attribution: expected occlusion or none with units: separate "
                "(token contributions come from in-context scoring), found 'tokens'"
            )
        if self.articles_per_chunk < 1:
            raise ValueError(f"score.articles_per_chunk: expected >= 1, found {self.articles_per_chunk}")
        if self.attribution_window < 1 or self.attribution_top_k < 0 or self.attribution_max_words < 1:
            raise ValueError(
                "score.attribution_window/top_k/max_words: expected positive integers, found "
                f"{self.attribution_window}/{self.attribution_top_k}/{self.attribution_max_words}"
            )
        for name in ("attribution_min_drop", "attribution_min_score"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"score.{name}: expected a number in [0, 1], found {getattr(self, name)}")

    def options(self) -> ScoringOptions:
        """Just the core's options (a stage's params class extends this one)."""
        names = ScoringOptions.__dataclass_fields__
        return ScoringOptions(**{k: getattr(self, k) for k in names})


# --- scoring texts on their own ------------------------------------------------------------------


def batches_by_length(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (less padding), longest first, deterministic."""
    order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def predict(
    scorer: Scorer, texts: Sequence[str], langs: Sequence[str], batch_size: int, desc: str = "score"
) -> list[dict[str, Any]]:
    """Each text scored on its own, in length-bucketed batches in inference mode; results in input order."""
    out: list[dict[str, Any] | None] = [None] * len(texts)
    with inference_mode(), tqdm(total=len(texts), desc=desc, unit="prov", disable=None) as bar:
        for idx in batches_by_length(texts, batch_size):
            res = scorer.score_texts([texts[i] for i in idx], [langs[i] for i in idx])
            if len(res) != len(idx):
                raise RuntimeError(f"scorer returned {len(res)} results for a batch of {len(idx)} texts")
            for i, r in zip(idx, res, strict=True):
                out[i] = r
            bar.update(len(idx))
    return [r for r in out if r is not None]


# --- in-context scoring --------------------------------------------------------------------------


def _parents(rows: Sequence[dict[str, Any]]) -> set[str]:
    return {r["parent_id"] for r in rows if r.get("parent_id")}


def _hot(p: dict[str, Any], options: ScoringOptions) -> list[str]:
    """The dimensions a provision is scored high enough on to be given model spans."""
    return [d for d in DIMENSIONS if float(p[d]) >= options.attribution_min_score]


def _needs_spans(
    rows: Sequence[dict[str, Any]],
    ai: int,
    kids: Sequence[int],
    res: Any,
    clf: Any,
    item: Any,
    parents: set[str],
    options: ScoringOptions,
) -> bool:
    """Whether an article or one of its units is a leaf scored high enough to be given model spans."""
    logits = [(ai, res.article_logits), *zip(kids, res.unit_logits, strict=True)]
    for idx, lg in logits:
        if lg is None or rows[idx]["provision_id"] in parents:
            continue
        if _hot(clf.predictions(lg[None], [item.lang])[0], options):
            return True
    return False


def score_in_context(
    rows: Sequence[dict[str, Any]], scorer: ModelScorer, lexicon: Lexicon | None, options: ScoringOptions
) -> tuple[list[dict[str, Any] | None], dict[int, list[Evidence]]]:
    """Each article encoded once; its units scored in context; evidence from token contributions.

    Returns one prediction per row (None where the row's article is not among the rows, or the unit
    holds no token: the caller scores those on their own) and the model evidence per row index.
    """
    from pipeline.scoring.context import ContextScorer, Item

    clf = scorer.classifier
    ctx = ContextScorer(clf, options.batch_size, cache=getattr(scorer, "states", None))
    parents = _parents(rows)
    units: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        if r["level"] != "article":
            units.setdefault((r["doc_id"], r["article"]), []).append(i)
    articles = [i for i, r in enumerate(rows) if r["level"] == "article"]
    preds: list[dict[str, Any] | None] = [None] * len(rows)
    model_ev: dict[int, list[Evidence]] = {}
    attribute = options.attribution == "tokens" and options.attribution_top_k > 0
    k = options.articles_per_chunk
    chunks = [articles[i : i + k] for i in range(0, len(articles), k)]
    with inference_mode(), tqdm(total=len(articles), desc="score", unit="article", disable=None) as bar:
        for chunk in chunks:
            items, members = [], []
            for ai in chunk:
                a = rows[ai]
                kids = units.get((a["doc_id"], a["article"]), [])
                spans = tuple(
                    (
                        int(rows[u]["char_start"]) - int(a["char_start"]),
                        int(rows[u]["char_end"]) - int(a["char_start"]),
                    )
                    for u in kids
                )
                items.append(Item(a["text"] or "", a["lang"], spans))
                members.append((ai, kids))
            results = ctx.run(items)
            if attribute:
                # An article whose states came from the cache has no token contributions: encode it
                # again only when one of its leaves is scored high enough to be given model spans.
                again = [
                    j
                    for j, ((ai, kids), res) in enumerate(zip(members, results, strict=True))
                    if res.tokens is None
                    and _needs_spans(rows, ai, kids, res, clf, items[j], parents, options)
                ]
                for j, res in zip(again, ctx.run([items[j] for j in again], use_cache=False), strict=True):
                    results[j] = res
            for (ai, kids), res, item in zip(members, results, items, strict=True):
                preds[ai] = clf.predictions(res.article_logits[None], [item.lang])[0]
                for u, lg in zip(kids, res.unit_logits, strict=True):
                    if lg is not None:
                        preds[u] = clf.predictions(lg[None], [item.lang])[0]
                if not attribute:
                    continue
                leaves = [(ai, (0, len(item.text)))] if rows[ai]["provision_id"] not in parents else []
                leaves += [
                    (u, sp)
                    for u, sp in zip(kids, item.units, strict=True)
                    if rows[u]["provision_id"] not in parents
                ]
                for idx, (s0, e0) in leaves:
                    p = preds[idx]
                    if p is None or res.tokens is None or res.contrib is None:
                        continue
                    hot_dims = _hot(p, options)
                    if not hot_dims:
                        continue
                    text = rows[idx]["text"] or ""
                    lex = lexicon.evidence(text, rows[idx]["lang"]) if lexicon is not None else []
                    found = word_spans(
                        item.text,
                        res.tokens,
                        res.contrib,
                        s0,
                        e0,
                        options.attribution_top_k,
                        options.attribution_min_z,
                    )
                    evs = []
                    for d in hot_dims:
                        for a, b, _w in found[d]:
                            a, b = a - s0, b - s0
                            if text[a:b]:
                                evs.append(
                                    Evidence(a, b, text[a:b], d, model_category(a, b, d, lex), "model")
                                )
                    model_ev[idx] = evs
            bar.update(len(chunk))
    return preds, model_ev


# --- the core ------------------------------------------------------------------------------------


def score_provisions(
    rows: Sequence[dict[str, Any]],
    scorer: Scorer,
    lexicon: Lexicon | None,
    options: ScoringOptions,
    known: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Provision rows (PROVISIONS_SCHEMA) → score rows (SCORES_SCHEMA), articles covering their units,
    in the order of ``rows``.

    An article is scored once (pipeline.scoring.reuse): a second copy of the same article text with the
    same units, in these rows or in ``known`` (article key → scored rows of this scorer's model version,
    :func:`pipeline.scoring.reuse.keyed_rows`), takes the first copy's scores and evidence.
    """
    rows = [r for r in rows if r["level"] in options.levels]
    if not options.reuse:
        return _score_rows(rows, scorer, lexicon, options)
    known = {
        k: v
        for k, v in (known or {}).items()
        if v and all(r.get("model_version") == scorer.version for r in v)
    }
    p = reuse.plan(rows, known)
    if not p.reused:
        return _score_rows(rows, scorer, lexicon, options)
    out: list[dict[str, Any] | None] = [None] * len(rows)
    scored = _score_rows([rows[i] for i in p.score], scorer, lexicon, options) if p.score else []
    for i, r in zip(p.score, scored, strict=True):
        out[i] = r
    for a, key in p.copy_known.items():
        for i, r in reuse.copy_scores(rows, a, p.kids[a], known[key]):
            out[i] = r
    for a, first in p.copy_inside.items():
        source = [out[first], *(out[u] for u in reuse.unit_order(rows, p.kids[first]))]
        for i, r in reuse.copy_scores(rows, a, p.kids[a], [s for s in source if s is not None]):
            out[i] = r
    return [r for r in out if r is not None]


def _score_rows(
    rows: Sequence[dict[str, Any]], scorer: Scorer, lexicon: Lexicon | None, options: ScoringOptions
) -> list[dict[str, Any]]:
    """Provision rows → score rows, every article encoded (the core of :func:`score_provisions`)."""
    context = options.units == "context" and isinstance(scorer, ModelScorer)
    if options.attribution == "tokens" and not context:
        raise ValueError(
            "score.attribution: 'tokens' needs the model scorer with units: context; "
            "use occlusion or none with the lexicon scorer"
        )
    rows = [r for r in rows if r["level"] in options.levels]
    texts = [r["text"] or "" for r in rows]
    langs = [r["lang"] for r in rows]
    parents = _parents(rows)
    model_ev: dict[int, list[Evidence]] = {}
    if context:
        assert isinstance(scorer, ModelScorer)
        found, model_ev = score_in_context(rows, scorer, lexicon, options)
        rest = [i for i, p in enumerate(found) if p is None]
        if rest:
            alone = predict(scorer, [texts[i] for i in rest], [langs[i] for i in rest], options.batch_size)
            for i, p in zip(rest, alone, strict=True):
                found[i] = p
        preds = [p for p in found if p is not None]
    else:
        preds = predict(scorer, texts, langs, options.batch_size)
        if options.attribution == "occlusion" and options.attribution_top_k > 0:
            model_ev = _occlusion(rows, texts, langs, preds, parents, scorer, lexicon, options)
    out = []
    for i, (r, p) in enumerate(zip(rows, preds, strict=True)):
        ev: list[Evidence | dict[str, Any]] = []
        ev += lexicon.evidence(texts[i], langs[i]) if lexicon is not None else []
        ev += model_ev.get(i, [])
        row = {f.name: r.get(f.name) for f in PROVISIONS_SCHEMA}
        for d in DIMENSIONS:
            row[d] = float(p[d])
            row[f"{d}_level"] = int(p.get(f"{d}_level", level_of(float(p[d]))))
        row["evidence"] = dedupe(ev)
        row["model_version"] = scorer.version
        out.append(row)
    out = aggregate_articles(out, take_max=not context)
    for row in out:
        for d in DIMENSIONS:
            row[FLAG_COLUMN[d]] = bool(row[d] >= flag_threshold(scorer, d, row.get("lang")))
    return out


def _occlusion(
    rows: Sequence[dict[str, Any]],
    texts: Sequence[str],
    langs: Sequence[str],
    preds: Sequence[dict[str, Any]],
    parents: set[str],
    scorer: Scorer,
    lexicon: Lexicon | None,
    options: ScoringOptions,
) -> dict[int, list[Evidence]]:
    """Occlusion evidence of every leaf, in each dimension it is scored high on."""
    todo = [i for i, r in enumerate(rows) if r["provision_id"] not in parents and _hot(preds[i], options)]
    out: dict[int, list[Evidence]] = {}
    with inference_mode():
        for i in tqdm(todo, desc="attribute", unit="prov", disable=None):
            lex = lexicon.evidence(texts[i], langs[i]) if lexicon is not None else []
            out[i] = occlusion_evidence(
                scorer,
                texts[i],
                langs[i],
                preds[i],
                _hot(preds[i], options),
                options.attribution_window,
                options.attribution_top_k,
                options.attribution_min_drop,
                options.attribution_max_words,
                lex,
            )
    return out


def flag_threshold(scorer: Scorer, dimension: str, lang: str | None) -> float:
    """The flag threshold of ``dimension`` for a text in ``lang``: the language's own where the classifier
    was calibrated per language (``lang_thresholds``), else the scorer's global one."""
    by_lang = getattr(scorer, "lang_thresholds", None) or {}
    return float(by_lang.get(lang, scorer.thresholds)[dimension])


def aggregate_articles(rows: list[dict[str, Any]], take_max: bool = True) -> list[dict[str, Any]]:
    """Each article collects its units' evidence and, with ``take_max``, their maximum score and level.

    A unit's evidence is shifted into the article's text (units are slices of the same document text,
    so ``unit.char_start - article.char_start`` is the shift); only spans that slice back are kept.
    """
    by_article: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["level"] != "article":
            by_article.setdefault(f"{r['doc_id']}\x00{r['article']}", []).append(r)
    out = []
    for r in rows:
        units = by_article.get(f"{r['doc_id']}\x00{r['article']}", []) if r["level"] == "article" else []
        if not units:
            out.append(r)
            continue
        r = dict(r)
        if take_max:
            for d in DIMENSIONS:
                r[d] = max([r[d]] + [u[d] for u in units])
                r[f"{d}_level"] = max([r[f"{d}_level"]] + [u[f"{d}_level"] for u in units])
        evs = list(r["evidence"])
        text = r["text"] or ""
        for u in units:
            shift = int(u["char_start"]) - int(r["char_start"])
            for e in u["evidence"]:
                s, t = e["start"] + shift, e["end"] + shift
                if 0 <= s <= t <= len(text) and text[s:t] == e["text"]:
                    evs.append({**e, "start": s, "end": t})
        r["evidence"] = dedupe(evs)
        out.append(r)
    return out


def score_texts(
    texts: Sequence[str],
    langs: Sequence[str],
    scorer: Scorer,
    lexicon: Lexicon | None,
    options: ScoringOptions,
) -> list[dict[str, Any]]:
    """Plain texts, each read as one article without units → its score row (scores, levels, flags,
    evidence, model_version), as :func:`score_provisions` scores such an article."""
    if len(texts) != len(langs):
        raise ValueError(f"score_texts: {len(texts)} texts but {len(langs)} langs")
    options = dataclasses.replace(options.options(), levels=("article",))
    rows = [
        {
            "provision_id": f"text/art-{i}",
            "doc_id": "text",
            "lang": lang,
            "level": "article",
            "article": str(i),
            "text": text,
            "char_start": 0,
            "char_end": len(text),
            "parent_id": None,
        }
        for i, (text, lang) in enumerate(zip(texts, langs, strict=True))
    ]
    return score_provisions(rows, scorer, lexicon, options)

"""score stage: data/provisions.parquet + models/classifier → data/scores.parquet.

Every article, clause and point gets two probabilities (vagueness, speech_risk), their codebook levels,
flags at the calibrated thresholds, and evidence spans inside its ``text`` from the lexicon and from the
model (occlusion of word windows, merged into spans). An article's score covers its clauses and points:
the maximum over the article and its units, because a person must be able to foresee the reach of every
clause (CODEBOOK.md); units keep their own scores.

The classifier is reached through one small adapter (:class:`Scorer`, :func:`load_scorer`), so that
the fine-tuned model of pipeline.model, a lexicon-only scorer or a test double are one swap apart.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline.io import write_parquet
from pipeline.lexicon import Lexicon
from pipeline.params import load_params
from pipeline.schema import (
    DIMENSIONS,
    LEVELS,
    PROVISIONS_SCHEMA,
    SCORES_SCHEMA,
    Evidence,
    to_table,
    validate_frame,
)

log = logging.getLogger(__name__)

DEFAULT_LEXICON = "corpora/lexicon/lexicon.yaml"
FLAG_COLUMN = {"vagueness": "vague_flag", "speech_risk": "speech_flag"}
# Category of a model span that overlaps no lexicon marker of its dimension.
MODEL_CATEGORY = "model_attribution"
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


# --- params --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreParams:
    """Section ``score`` of params.yaml."""

    # "model": the fine-tuned classifier in the model dir; "lexicon": the lexicon's noisy-or (a baseline,
    # and the fallback for a machine without the classifier).
    scorer: str = "model"
    batch_size: int = 32
    levels: tuple[str, ...] = LEVELS
    # Model evidence: "occlusion" of word windows (the classifier's own ``attribute`` when it has one),
    # or "none" (lexicon evidence only).
    attribution: str = "occlusion"
    attribution_window: int = 3  # words removed at a time
    attribution_top_k: int = 3  # spans kept per dimension
    attribution_min_drop: float = 0.05  # probability drop for a window to count as evidence
    attribution_min_score: float = 0.5  # only provisions scored at least this (in either dimension)
    attribution_max_words: int = 200  # words past this are not occluded (the model truncates anyway)
    device: str = "auto"  # "auto" picks the GPU when there is one
    int8: bool = False  # dynamic int8 quantisation of the classifier (CPU only)
    # The encoder's number format: auto (bf16 where the CPU or GPU has bf16 units, else fp32), fp32, bf16
    precision: str = "auto"
    seed: int = 13
    # "context": encode each article once; its clauses and points are scored from their own tokens in
    # the article's context and model evidence is the exact token decomposition of the linear heads
    # (pipeline.context_score). "separate": encode every unit on its own; evidence by occlusion.
    units: str = "context"
    attribution_min_z: float = 1.0  # context evidence: words this many s.d. above the unit's mean
    articles_per_chunk: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        if self.scorer not in ("model", "lexicon"):
            raise ValueError(f"score.scorer: expected 'model' or 'lexicon', found {self.scorer!r}")
        if self.batch_size < 1:
            raise ValueError(f"score.batch_size: expected a positive integer, found {self.batch_size}")
        if not self.levels or any(lv not in LEVELS for lv in self.levels):
            raise ValueError(
                f"score.levels: expected a non-empty subset of {list(LEVELS)}, found {list(self.levels)}"
            )
        if self.attribution not in ("occlusion", "none"):
            raise ValueError(f"score.attribution: expected occlusion or none, found {self.attribution!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"score.precision: expected auto, fp32 or bf16, found {self.precision!r}")
        if self.units not in ("context", "separate"):
            raise ValueError(f"score.units: expected 'context' or 'separate', found {self.units!r}")
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


# --- the scorer adapter --------------------------------------------------------------------------


@runtime_checkable
class Scorer(Protocol):
    """What the score stage needs of a classifier."""

    version: str
    thresholds: dict[str, float]

    def score_texts(self, texts: Sequence[str], langs: Sequence[str]) -> list[dict[str, Any]]:
        """Texts → dicts with ``vagueness``, ``speech_risk`` (probabilities) and their ``*_level``."""
        ...


class LexiconScorer:
    """The lexicon's noisy-or as a scorer: a baseline, a fallback and a deterministic test double."""

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
    """pipeline.model's fine-tuned :class:`~pipeline.model.Classifier` behind the :class:`Scorer` interface.

    The one place that knows pipeline.model's API (``Classifier.load``, ``score_texts``, ``attribute``,
    ``calibration.threshold``, ``model_version``).
    """

    def __init__(
        self,
        model_dir: str | Path,
        device: str = "auto",
        int8: bool = False,
        batch_size: int = 32,
        precision: str = "fp32",
    ):
        from pipeline.model import Classifier  # imported late: torch and transformers

        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise FileNotFoundError(f"{self.model_dir}: classifier directory not found (run the train stage)")
        self._clf = Classifier.load(
            self.model_dir, device=None if device == "auto" else device, int8=int8, precision=precision
        )
        cal = self._clf.calibration
        self.thresholds = {d: float(cal.threshold[d]) for d in DIMENSIONS}
        self.lang_thresholds = {
            lg: {d: float(e[d]["threshold"]) for d in DIMENSIONS} for lg, e in cal.by_lang.items()
        }
        self.version = str(self._clf.model_version)
        self.batch_size = batch_size

    @property
    def classifier(self) -> Any:
        """The loaded :class:`~pipeline.model.Classifier` (for in-context scoring)."""
        return self._clf

    def score_texts(self, texts: Sequence[str], langs: Sequence[str]) -> list[dict[str, Any]]:
        return self._clf.score_texts(list(texts), list(langs), batch_size=self.batch_size)

    def attribute(self, text: str, lang: str, params: ScoreParams) -> list[Evidence]:
        spans = self._clf.attribute(
            text,
            lang,
            span_words=params.attribution_window,
            min_drop=params.attribution_min_drop,
            max_spans=params.attribution_top_k,
            batch_size=self.batch_size,
        )
        keys = ("start", "end", "text", "dimension", "category", "source")
        return [Evidence(**{k: s[k] for k in keys}) for s in spans]


def load_scorer(
    spec: str,
    model_dir: str | Path = "models/classifier",
    lexicon_path: str | Path = DEFAULT_LEXICON,
    device: str = "auto",
    int8: bool = False,
    batch_size: int = 32,
    precision: str = "fp32",
) -> Scorer:
    """``"model"`` → the classifier in ``model_dir``; ``"lexicon"`` → :class:`LexiconScorer`."""
    if spec == "lexicon":
        return LexiconScorer(Lexicon.load(lexicon_path))
    if spec == "model":
        return ModelScorer(model_dir, device, int8, batch_size, precision)
    raise ValueError(f"scorer: expected 'model' or 'lexicon', found {spec!r}")


def read_thresholds(model_dir: Path, model: Any = None) -> dict[str, float]:
    """The calibrated flag thresholds of the classifier (default 0.5, with a warning)."""
    found = getattr(model, "thresholds", None)
    if not isinstance(found, dict):
        found = None
        for name in ("thresholds.json", "calibration.json", "overbroad.json", "config.json"):
            p = model_dir / name
            if not p.is_file():
                continue
            data = json.loads(p.read_text(encoding="utf-8"))
            for cand in (data, data.get("threshold"), data.get("thresholds")):
                if isinstance(cand, dict) and all(isinstance(cand.get(d), (int, float)) for d in DIMENSIONS):
                    found = cand
                    break
            if found:
                break
    if not found:
        log.warning("%s: no calibrated thresholds found; flags use 0.5", model_dir)
        return dict.fromkeys(DIMENSIONS, 0.5)
    return {d: float(found[d]) for d in DIMENSIONS}


def model_version(model_dir: str | Path) -> str:
    """A short hash of the classifier's weights and configuration files."""
    h = hashlib.sha256()
    for p in sorted(Path(model_dir).glob("*")):
        if p.is_file() and p.suffix in (".safetensors", ".json", ".bin", ".model", ".txt"):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return "clf-" + h.hexdigest()[:12]


def level_of(p: float) -> int:
    """A probability of level ≥ 2 → an ordinal level, for scorers that give no level of their own."""
    return 0 if p < 0.25 else 1 if p < 0.5 else 2 if p < 0.85 else 3


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


# --- the pure core -------------------------------------------------------------------------------


def batches_by_length(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (less padding), longest first, deterministic."""
    order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def predict(
    scorer: Scorer, texts: Sequence[str], langs: Sequence[str], batch_size: int, desc: str = "score"
) -> list[dict[str, Any]]:
    """Length-bucketed batched scoring in inference mode; results in input order."""
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


def occlusion_evidence(
    scorer: Scorer,
    text: str,
    lang: str,
    base: dict[str, Any],
    params: ScoreParams,
    lexicon_spans: Sequence[Evidence] = (),
) -> list[Evidence]:
    """Word windows whose removal lowers a dimension's probability most → merged model spans."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)][: params.attribution_max_words]
    if not words:
        return []
    w = params.attribution_window
    windows = [(words[i][0], words[min(i + w, len(words)) - 1][1]) for i in range(0, len(words), w)]
    variants = [text[:s] + " " + text[e:] for s, e in windows]
    res = scorer.score_texts(variants, [lang] * len(variants))
    spans: list[Evidence] = []
    for d in DIMENSIONS:
        drops = sorted(
            ((float(base[d]) - float(r[d]), k) for k, r in enumerate(res)), key=lambda x: (-x[0], x[1])
        )
        picked = sorted(
            windows[k] for drop, k in drops[: params.attribution_top_k] if drop >= params.attribution_min_drop
        )
        for s, e in merge_intervals(picked):
            spans.append(Evidence(s, e, text[s:e], d, _category(s, e, d, lexicon_spans), "model"))
    return spans


def merge_intervals(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted (start, end) intervals with overlapping or adjacent-by-whitespace ones merged."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _category(start: int, end: int, dimension: str, lexicon_spans: Sequence[Evidence]) -> str:
    for ev in lexicon_spans:
        if ev.dimension == dimension and ev.start < end and start < ev.end:
            return ev.category
    return MODEL_CATEGORY


def _with_category(e: Evidence, lexicon_spans: Sequence[Evidence]) -> Evidence:
    """A model span takes the category of a lexicon marker of its dimension that it overlaps."""
    cat = _category(e.start, e.end, e.dimension, lexicon_spans)
    return Evidence(
        e.start, e.end, e.text, e.dimension, cat if cat != MODEL_CATEGORY else e.category, "model"
    )


def _has_children(rows: Sequence[dict[str, Any]]) -> set[str]:
    return {r["parent_id"] for r in rows if r.get("parent_id")}


def score_in_context(
    rows: Sequence[dict[str, Any]], scorer: ModelScorer, lexicon: Lexicon | None, params: ScoreParams
) -> tuple[list[dict[str, Any] | None], dict[int, list[Evidence]]]:
    """Each article encoded once; its units scored in context; evidence from token contributions.

    Returns one prediction per row (None where the row's article is not among the rows, or the unit
    holds no token: the caller scores those on their own) and the model evidence per row index.
    """
    from pipeline.context_score import ContextScorer, Item, predictions, word_spans

    ctx = ContextScorer(scorer.classifier, params.batch_size)
    parents = _has_children(rows)
    units: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        if r["level"] != "article":
            units.setdefault((r["doc_id"], r["article"]), []).append(i)
    articles = [i for i, r in enumerate(rows) if r["level"] == "article"]
    preds: list[dict[str, Any] | None] = [None] * len(rows)
    model_ev: dict[int, list[Evidence]] = {}
    attribute = params.attribution != "none" and params.attribution_top_k > 0
    chunks = [
        articles[k : k + params.articles_per_chunk]
        for k in range(0, len(articles), params.articles_per_chunk)
    ]
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
            for (ai, kids), res, item in zip(members, results, items, strict=True):
                preds[ai] = predictions(scorer.classifier, res.article_logits[None], [item.lang])[0]
                for u, lg in zip(kids, res.unit_logits, strict=True):
                    if lg is not None:
                        preds[u] = predictions(scorer.classifier, lg[None], [item.lang])[0]
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
                    if p is None:
                        continue
                    hot_dims = [d for d in DIMENSIONS if float(p[d]) >= params.attribution_min_score]
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
                        params.attribution_top_k,
                        params.attribution_min_z,
                    )
                    evs = []
                    for d in hot_dims:
                        for a, b, _w in found[d]:
                            a, b = a - s0, b - s0
                            if text[a:b]:
                                evs.append(Evidence(a, b, text[a:b], d, _category(a, b, d, lex), "model"))
                    model_ev[idx] = evs
            bar.update(len(chunk))
    return preds, model_ev


def score_provisions(
    rows: Sequence[dict[str, Any]], scorer: Scorer, lexicon: Lexicon | None, params: ScoreParams
) -> list[dict[str, Any]]:
    """Provision rows → score rows (SCORES_SCHEMA), articles covering their units."""
    rows = [r for r in rows if r["level"] in params.levels]
    texts = [r["text"] or "" for r in rows]
    langs = [r["lang"] for r in rows]
    parents = _has_children(rows)
    out = []
    attribute = params.attribution != "none" and params.attribution_top_k > 0
    model_ev: dict[int, list[Evidence]] = {}
    if params.units == "context" and isinstance(scorer, ModelScorer):
        found, model_ev = score_in_context(rows, scorer, lexicon, params)
        rest = [i for i, p in enumerate(found) if p is None]
        if rest:
            for i, p in zip(
                rest,
                predict(scorer, [texts[i] for i in rest], [langs[i] for i in rest], params.batch_size),
                strict=True,
            ):
                found[i] = p
        preds = [p for p in found if p is not None]
        todo: list[int] = []
    else:
        preds = predict(scorer, texts, langs, params.batch_size)
        todo = [
            i
            for i, r in enumerate(rows)
            if attribute
            and r["provision_id"] not in parents
            and max(float(preds[i][d]) for d in DIMENSIONS) >= params.attribution_min_score
        ]
    todo_set = set(todo) | set(model_ev)
    if todo:
        with inference_mode():
            for i in tqdm(todo, desc="attribute", unit="prov", disable=None):
                lex = lexicon.evidence(texts[i], langs[i]) if lexicon is not None else []
                if hasattr(scorer, "attribute"):
                    spans = scorer.attribute(texts[i], langs[i], params)  # type: ignore[attr-defined]
                    model_ev[i] = [_with_category(e, lex) for e in spans]
                else:
                    model_ev[i] = occlusion_evidence(scorer, texts[i], langs[i], preds[i], params, lex)
    for i, (r, p) in enumerate(zip(rows, preds, strict=True)):
        ev = lexicon.evidence(texts[i], langs[i]) if lexicon is not None else []
        if i in todo_set:
            ev += model_ev[i]
        row = {f.name: r.get(f.name) for f in PROVISIONS_SCHEMA}
        for d in DIMENSIONS:
            row[d] = float(p[d])
            row[f"{d}_level"] = int(p.get(f"{d}_level", level_of(float(p[d]))))
        row["evidence"] = [_ev_dict(e) for e in _dedupe(ev)]
        row["model_version"] = scorer.version
        out.append(row)
    out = aggregate_articles(
        out, take_max=not (params.units == "context" and isinstance(scorer, ModelScorer))
    )
    for row in out:
        for d in DIMENSIONS:
            row[FLAG_COLUMN[d]] = bool(row[d] >= flag_threshold(scorer, d, row.get("lang")))
    return out


def flag_threshold(scorer: Scorer, dimension: str, lang: str | None) -> float:
    """The flag threshold of ``dimension`` for a text in ``lang``: the language's own where the classifier
    was calibrated per language (``lang_thresholds``), else the scorer's global one."""
    by_lang = getattr(scorer, "lang_thresholds", None) or {}
    return float(by_lang.get(lang, scorer.thresholds)[dimension])


def _ev_dict(e: Evidence | dict[str, Any]) -> dict[str, Any]:
    return dict(e) if isinstance(e, dict) else dict(e.__dict__)


def _dedupe(evs: Sequence[Evidence | dict[str, Any]]) -> list[Evidence | dict[str, Any]]:
    seen, out = set(), []
    for e in evs:
        d = _ev_dict(e)
        key = (d["start"], d["end"], d["dimension"], d["category"], d["source"])
        if key not in seen:
            seen.add(key)
            out.append(e)
    return sorted(out, key=lambda e: (_ev_dict(e)["start"], _ev_dict(e)["end"], _ev_dict(e)["dimension"]))


def aggregate_articles(rows: list[dict[str, Any]], take_max: bool = True) -> list[dict[str, Any]]:
    """Each article collects its units' evidence and, with ``take_max``, their maximum score and level.

    In-context scoring (``score.units: context``) keeps the article's own score: it is the maximum over
    the article's windows, which cover every clause and point, and it is the score the classifier was
    trained and evaluated on. Scoring units separately (``separate``) takes the maximum over the article
    and its units, so the article is as vague as its worst clause either way.

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
        r["evidence"] = [_ev_dict(e) for e in _dedupe(evs)]
        out.append(r)
    return out


# --- I/O shell -----------------------------------------------------------------------------------


def run(
    provisions_path: str | Path,
    model_dir: str | Path,
    out_path: str | Path,
    params: ScoreParams,
    lexicon_path: str | Path | None = DEFAULT_LEXICON,
    scorer: Scorer | None = None,
) -> dict[str, Any]:
    """data/provisions.parquet → data/scores.parquet (atomic: a failed run leaves the old file intact)."""
    from pipeline.seed import seed_everything

    seed_everything(params.seed)
    table = pq.read_table(provisions_path)
    validate_frame(table, PROVISIONS_SCHEMA, str(provisions_path))
    rows = table.select([f.name for f in PROVISIONS_SCHEMA]).to_pylist()
    lexicon = (
        Lexicon.load(lexicon_path) if lexicon_path is not None and Path(lexicon_path).is_file() else None
    )
    if lexicon is None:
        log.warning("no lexicon at %s: lexicon evidence is left out", lexicon_path)
    if scorer is None:
        if params.scorer == "lexicon" and lexicon is not None:
            scorer = LexiconScorer(lexicon)
        else:
            scorer = load_scorer(
                params.scorer,
                model_dir,
                lexicon_path or DEFAULT_LEXICON,
                params.device,
                params.int8,
                params.batch_size,
                params.precision,
            )
    scored = score_provisions(rows, scorer, lexicon, params)
    write_parquet(to_table(scored, SCORES_SCHEMA), out_path)
    counts: dict[str, Any] = {"provisions": len(scored), "model_version": scorer.version}
    for lv in LEVELS:
        counts[lv] = sum(r["level"] == lv for r in scored)
    counts["vague_flag"] = sum(r["vague_flag"] for r in scored)
    counts["speech_flag"] = sum(r["speech_flag"] for r in scored)
    counts["evidence_spans"] = sum(len(r["evidence"]) for r in scored)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overbroad score", description=__doc__.splitlines()[0])
    ap.add_argument("--provisions", default="data/provisions.parquet")
    ap.add_argument("--model", default="models/classifier")
    ap.add_argument("--lexicon", default=DEFAULT_LEXICON)
    ap.add_argument("--out", default="data/scores.parquet")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params = load_params(ScoreParams, "score", args.params)
    try:
        counts = run(args.provisions, args.model, args.out, params, args.lexicon)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        log.error("score: %s", e)
        return 2
    log.info("score: %s", counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

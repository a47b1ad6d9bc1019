"""Penalties an article sets, read from the text of its clauses with the style's penalty table.

Pure core, no I/O. Thresholds of the two cybercrime treaties:

* UN Convention against Cybercrime, Art 2(h): a *serious crime* is an offence punishable by a
  maximum deprivation of liberty of at least four years or by a more serious penalty (life, death);
* Budapest Convention, Art 24(1)(a): extradition for offences punishable by deprivation of liberty
  for a maximum period of at least one year, or by a more severe penalty.

Fines, bans, non-custodial reform, warnings and caning are penalties but not deprivation of liberty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.styles import CUSTODIAL_KINDS, NUMBER_WORDS, PENALTY_STYLES, PenaltyStyle

UN_SERIOUS_YEARS = 4.0
BUDAPEST_YEARS = 1.0


@dataclass(frozen=True)
class Penalty:
    """One penalty written in a provision; offsets are in the text it was read from."""

    kind: str
    min_years: float | None
    max_years: float | None
    amount_min: float | None
    amount_max: float | None
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def penalty_style(style: str) -> PenaltyStyle:
    """The penalty table of a drafting style; ValueError naming the known ones otherwise."""
    try:
        return PENALTY_STYLES[style]
    except KeyError:
        raise ValueError(
            f"no penalty table for style {style!r}; expected one of {sorted(PENALTY_STYLES)}"
        ) from None


def parse_number(s: str) -> float:
    """'05' → 5, 'five' → 5, '1.5' → 1.5 (terms); ValueError naming the string otherwise."""
    s = s.strip().lower()
    if s in NUMBER_WORDS:
        return NUMBER_WORDS[s]
    try:
        return float(s.replace(",", "."))
    except ValueError:
        raise ValueError(f"expected a number, found {s!r}") from None


def parse_amount(s: str | None, mult: str | None = None) -> float | None:
    """'30.000.000' (Vietnamese thousands) or '$50,000' → 30000000.0 / 50000.0."""
    if not s:
        return None
    digits = re.sub(r"[.,](?=\d{3}(?:\D|$))", "", s.strip().rstrip(".,"))
    value = float(digits.replace(",", "."))
    return value * 1_000_000 if mult else value


def _years(num: str | None, unit: str | None, units: dict[str, float]) -> float | None:
    if num is None:
        return None
    return parse_number(num) * units.get((unit or "year").lower(), 1.0)


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def penalty_sentences(text: str, style: PenaltyStyle) -> list[tuple[int, int]]:
    """Spans of ``text`` from each phrase imposing a punishment to the end of its sentence."""
    if style.stop is not None and (m := style.stop.search(text)):
        text = text[: m.start()]
    out: list[tuple[int, int]] = []
    for m in style.trigger.finditer(text):
        if out and m.start() < out[-1][1]:
            continue
        end = style.sentence_end.search(text, m.end())
        out.append((m.start(), end.start() if end else len(text)))
    return out


def extract(text: str, style: str | PenaltyStyle) -> list[Penalty]:
    """Every penalty ``text`` sets, in order of position."""
    st = penalty_style(style) if isinstance(style, str) else style
    units = dict(st.units)
    found: list[Penalty] = []
    for s0, e0 in penalty_sentences(text, st):
        sent = text[s0:e0]
        if st.not_penalty is not None:
            sent = _mask(sent, (m.span() for m in st.not_penalty.finditer(sent)))
        taken: list[tuple[int, int]] = []
        for form in st.forms:
            for m in form.pattern.finditer(sent):
                if any(m.start() < e and s < m.end() for s, e in taken):
                    continue
                taken.append(m.span())
                g = m.groupdict()
                hi_unit = g.get("hi_unit") or g.get("lo_unit")
                lo_unit = g.get("lo_unit") or hi_unit
                found.append(
                    Penalty(
                        kind=form.kind,
                        min_years=_years(g.get("lo"), lo_unit, units),
                        max_years=_years(g.get("hi"), hi_unit, units),
                        amount_min=parse_amount(g.get("amount"), g.get("mult")),
                        amount_max=parse_amount(g.get("amount_hi"), g.get("mult")),
                        text=text[s0 + m.start() : s0 + m.end()],
                        start=s0 + m.start(),
                        end=s0 + m.end(),
                    )
                )
    return sorted(found, key=lambda p: (p.start, p.end))


def severity(p: Penalty) -> float | None:
    """Years of deprivation of liberty for ordering (life and death above any term); None otherwise.

    A term given by its minimum only ("not less than five years") is punishable by at least that.
    """
    if p.kind == "death":
        return float("inf")
    if p.kind == "life":
        return 1e9
    if p.kind == "custodial":
        return p.max_years if p.max_years is not None else p.min_years
    return None


def format_years(years: float) -> str:
    """7.0 → '7', 0.5 → '0.5', 0.25 → '0.25' (three months)."""
    return f"{round(years, 2):g}"


def penalty_label(p: Penalty) -> str | None:
    """The published ``penalty_max`` value of one custodial penalty: years, 'life' or 'death'."""
    if p.kind in ("life", "death"):
        return p.kind
    sev = severity(p)
    return None if sev is None else format_years(sev)


@dataclass(frozen=True)
class ArticlePenalty:
    """The penalty summary of one article."""

    penalty_max: str | None
    penalty_max_years: float | None
    penalty_min_years: float | None
    penalty_max_source: str | None  # provision id of the clause or point that sets the maximum
    penalty_max_text: str | None
    un_serious_crime: bool | None
    budapest_extraditable: bool | None
    penalty_kinds: list[str]
    relative_penalty: bool


def summarise(found: Sequence[tuple[str, Penalty]]) -> ArticlePenalty:
    """(source provision id, penalty) pairs of one article → its summary.

    An article that sets no penalty at all gets null treaty flags (it is not an offence by itself);
    one that sets only fines or other non-custodial penalties is an offence that is neither.
    """
    kinds = sorted({p.kind for _, p in found})
    custodial = [(src, p) for src, p in found if p.kind in CUSTODIAL_KINDS and severity(p) is not None]
    if not found:
        return ArticlePenalty(None, None, None, None, None, None, None, [], False)
    relative = any(p.kind == "relative" for _, p in found)
    if not custodial:
        flag = None if kinds == ["relative"] else False
        return ArticlePenalty(None, None, None, None, None, flag, flag, kinds, relative)
    # The first clause that reaches the maximum is the one that sets it.
    top_sev = max(float(severity(p)) for _, p in custodial)  # type: ignore[arg-type]
    src, top = next((s, p) for s, p in custodial if severity(p) == top_sev)
    terms = [p for _, p in custodial if p.kind == "custodial"]
    mins = [p.min_years if p.min_years is not None else p.max_years for p in terms]
    return ArticlePenalty(
        penalty_max=penalty_label(top),
        penalty_max_years=top_sev if top.kind == "custodial" else None,
        penalty_min_years=min((m for m in mins if m is not None), default=None),
        penalty_max_source=src,
        penalty_max_text=top.text,
        un_serious_crime=top_sev >= UN_SERIOUS_YEARS,
        budapest_extraditable=top_sev >= BUDAPEST_YEARS,
        penalty_kinds=kinds,
        relative_penalty=relative,
    )


def article_penalties(
    article_text: str, units: Sequence[tuple[str, int, int]], article_id: str, style: str
) -> tuple[ArticlePenalty, list[tuple[str, Penalty]]]:
    """Penalties of one article read from its text, each attributed to the deepest unit holding it.

    ``units``: (provision id, start, end) of the article's clauses and points, offsets in the
    article's text. Returns the summary and the (source id, penalty) pairs.
    """
    pairs = []
    for p in extract(article_text, style):
        src = article_id
        best = None
        for pid, s, e in units:
            if s <= p.start and p.end <= e and (best is None or e - s < best):
                src, best = pid, e - s
        pairs.append((src, p))
    return summarise(pairs), pairs

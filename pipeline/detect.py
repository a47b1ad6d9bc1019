"""Which drafting style a text is written in, read from the text itself (not from a file name).

Each style's article pattern (:mod:`pipeline.styles`) is tried on the whole document: the headings it
finds in increasing number order are what it explains, the matches it must reject (a repeated or
out-of-order number: a cross-reference or a sentence that happens to look like a heading) count
against it. The style that explains most of the document's structure wins. Two styles can read the
same headings ("Article 5. …" is both an English translation of a Vietnamese law and a treaty);
then each style's ``markers`` (the Vietnamese point letter "đ)", a treaty's "States Parties") decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pipeline.styles import LOOKS_LIKE_ARTICLE, STYLES, Style, article_key


def _has_marginal_note(text: str, start: int, style: Style) -> bool:
    """Is the line before ``start`` a marginal note: text, but no heading or label of any style?"""
    if start == 0:
        return False
    ls = text.rfind("\n", 0, start - 1) + 1
    prev = text[ls : start - 1].lstrip()
    return bool(prev) and not any(p.match(prev) for s in STYLES.values() for p in _patterns(s))


@dataclass(frozen=True)
class StyleScore:
    """What one style's article pattern makes of a document."""

    style: str
    articles: int  # headings accepted, in increasing number order
    rejected: int  # matches that repeat or go back in the numbering
    markers: int  # hits of the style's tie-break markers
    first: str | None  # the first article number it reads
    unexplained: int = 0  # lines that open a unit in another style but in none of this one's patterns
    titled: int = 0  # accepted headings that carry their article's title on the heading line

    @property
    def score(self) -> int:
        return self.articles - self.rejected


@dataclass(frozen=True)
class StyleChoice:
    """The detected style, with every style's score as the evidence."""

    style: str | None
    scores: tuple[StyleScore, ...]

    @property
    def evidence(self) -> str:
        """One line for a person: the winner's headings against the runners-up."""
        parts = [
            f"{s.style}: {s.articles} article heading(s) in order"
            + (f", {s.rejected} rejected" if s.rejected else "")
            + (f", {s.markers} marker(s)" if s.markers else "")
            for s in self.scores
            if s.articles or s.rejected
        ]
        return "; ".join(parts) or "no style finds an article heading"

    def as_dict(self) -> dict[str, object]:
        return {
            "style": self.style,
            "evidence": self.evidence,
            "scores": {
                s.style: {"articles": s.articles, "rejected": s.rejected, "markers": s.markers}
                for s in self.scores
            },
        }


def score_style(text: str, style: Style) -> StyleScore:
    """Headings of ``style`` in ``text``: accepted in number order, and rejected."""
    matches = list(style.article.finditer(text))
    for pattern in style.inserted_article:
        matches += pattern.finditer(text)
    seen: set[str] = set()
    last: str | None = None
    accepted = rejected = titled = 0
    first = None
    for m in sorted(matches, key=lambda m: m.start()):
        num = m.group("num")
        if num in seen or (last is not None and article_key(num) <= article_key(last)):
            rejected += 1
            continue
        if style.heading_before and not _has_marginal_note(text, m.start(), style):
            # A common-law section is announced by its marginal note; "2. …" right under "1. …" is a
            # numbered paragraph, not a section.
            continue
        if first is None:
            # Headings of another style before this style's first article are structure it leaves
            # unexplained ("Article 1." above what it takes for section 1).
            rejected += len(LOOKS_LIKE_ARTICLE.findall(text, 0, m.start()))
        seen.add(num)
        last = num
        first = first or num
        accepted += 1
        titled += bool((m.groupdict().get("title") or "").strip())
    markers = len(style.markers.findall(text)) if style.markers is not None else 0
    return StyleScore(style.name, accepted, rejected, markers, first, titled=titled)


def _patterns(style: Style) -> list[re.Pattern[str]]:
    return [
        style.article,
        *style.inserted_article,
        *(r.pattern for r in (*style.structural, *style.clause, *style.point)),
    ]


def unexplained_lines(text: str, styles: dict[str, Style] = STYLES) -> dict[str, int]:
    """Per style: the lines that open a unit (heading, clause, point) in some style but not in it."""
    own = {name: _patterns(s) for name, s in styles.items()}
    out = dict.fromkeys(styles, 0)
    for line in text.splitlines():
        line = line.lstrip()
        if not line:
            continue
        explained = {name for name, pats in own.items() if any(p.match(line) for p in pats)}
        if explained:
            for name in styles:
                out[name] += name not in explained
    return out


def detect_style(text: str, lang: str | None = None, styles: dict[str, Style] = STYLES) -> StyleChoice:
    """The style that explains the document's article structure best (``style`` None if none does).

    With ``lang``, only the styles written in that language are candidates. Ties go to the style
    with more markers, then to the one that leaves fewer labelled lines unexplained, then to the one
    whose headings carry their titles (a heading that names its article explains more of the text).
    """
    candidates = {k: s for k, s in styles.items() if lang is None or s.lang == lang}
    unexplained = unexplained_lines(text, candidates)
    scores = sorted(
        (replace(score_style(text, s), unexplained=unexplained[k]) for k, s in candidates.items()),
        key=lambda s: (s.score, s.markers, -s.unexplained, s.titled, s.articles),
        reverse=True,
    )
    best = scores[0]
    return StyleChoice(best.style if best.score > 0 else None, tuple(scores))


def no_style_message(choice: StyleChoice) -> str:
    """The error for a text in which no style finds an article, with what each style looks for."""
    tried = {s.style for s in choice.scores}
    looks = ", ".join(f"{s.name}: {s.example!r}" for s in STYLES.values() if s.example and s.name in tried)
    return (
        f"no article headings of any known drafting style ({choice.evidence}); "
        f"headings look like {looks}; pass --style if one applies"
    )

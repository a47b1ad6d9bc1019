"""Which drafting style a text is written in, read from the text itself (not from a file name).

Each style's article pattern (:mod:`pipeline.styles`) is tried on the whole document: the headings it
finds in increasing number order are what it explains, the matches it must reject (a repeated or
out-of-order number: a cross-reference or a sentence that happens to look like a heading) count
against it. The style that explains most of the document's structure wins. Two styles can read the
same headings ("Article 5. …" is both an English translation of a Vietnamese law and a treaty);
then each style's ``markers`` (the Vietnamese point letter "đ)", a treaty's "States Parties") decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.styles import STYLES, Style, article_key


@dataclass(frozen=True)
class StyleScore:
    """What one style's article pattern makes of a document."""

    style: str
    articles: int  # headings accepted, in increasing number order
    rejected: int  # matches that repeat or go back in the numbering
    markers: int  # hits of the style's tie-break markers
    first: str | None  # the first article number it reads

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
    accepted = rejected = 0
    first = None
    for m in sorted(matches, key=lambda m: m.start()):
        num = m.group("num")
        if num in seen or (last is not None and article_key(num) <= article_key(last)):
            rejected += 1
            continue
        seen.add(num)
        last = num
        first = first or num
        accepted += 1
    markers = len(style.markers.findall(text)) if style.markers is not None else 0
    return StyleScore(style.name, accepted, rejected, markers, first)


def detect_style(text: str, lang: str | None = None, styles: dict[str, Style] = STYLES) -> StyleChoice:
    """The style that explains the document's article structure best (``style`` None if none does).

    With ``lang``, only the styles written in that language are candidates.
    """
    scores = sorted(
        (score_style(text, s) for s in styles.values() if lang is None or s.lang == lang),
        key=lambda s: (s.score, s.markers, s.articles),
        reverse=True,
    )
    best = scores[0]
    return StyleChoice(best.style if best.score > 0 else None, tuple(scores))


def no_style_message(choice: StyleChoice) -> str:
    """The error for a text in which no style finds an article, with what each style looks for."""
    looks = ", ".join(f"{s.name}: {s.example!r}" for s in STYLES.values() if s.example)
    return (
        f"no article headings of any known drafting style ({choice.evidence}); "
        f"headings look like {looks}; pass --style if one applies"
    )

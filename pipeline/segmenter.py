"""The segmenter: a document's text → its articles, clauses and points with their offsets.

Pure: :func:`segment` knows nothing about any particular law; the drafting conventions of each style
(headings, article, clause and point labels) are data in :mod:`pipeline.styles`. Used by the segment
stage, ``overbroad segment``, bulk scoring, the benchmark and the tests.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from pipeline.schema import LEVELS, Document, Provision, provision_id
from pipeline.styles import LOOKS_LIKE_ARTICLE, REPEALED, Style, article_key, get_style, next_labels

STRUCTURAL_LEVELS = ("part", "chapter", "section", "title")


class SegmentError(ValueError):
    """A document could not be segmented (no articles, or a sanity check failed)."""


@dataclass(frozen=True)
class SegmentOptions:
    """What the segmenter is asked for (the segment stage's params extend it)."""

    levels: tuple[str, ...] = LEVELS
    # An article longer than this means a heading was missed (the longest bundled one, a Singapore
    # definitions section, is ~25k characters).
    max_article_chars: int = 60_000
    min_articles: int = 1

    def __post_init__(self) -> None:
        levels = tuple(self.levels)
        object.__setattr__(self, "levels", levels)
        if not levels or any(lv not in LEVELS for lv in levels) or "article" not in levels:
            raise ValueError(
                f"segment.levels: expected a non-empty subset of {list(LEVELS)} with 'article', "
                f"found {list(levels)}"
            )
        if self.max_article_chars < 1:
            raise ValueError(
                f"segment.max_article_chars: expected a positive integer, found {self.max_article_chars}"
            )
        if self.min_articles < 1:
            raise ValueError(f"segment.min_articles: expected a positive integer, found {self.min_articles}")


@dataclass(frozen=True)
class Segmentation:
    """Provisions plus the layout of the document they were cut from (for reports and checks)."""

    provisions: list[Provision]
    issues: list[str] = field(default_factory=list)
    front_matter: tuple[int, int] = (0, 0)
    structural: list[tuple[int, int]] = field(default_factory=list)
    headings: list[tuple[int, int]] = field(default_factory=list)

    @property
    def articles(self) -> list[Provision]:
        return [p for p in self.provisions if p.level == "article"]


@dataclass
class _Article:
    num: str
    title: str | None
    heading_start: int
    text_start: int
    context: dict[str, str | None] = field(default_factory=dict)


@dataclass
class _Structural:
    start: int
    level: str
    label: str
    title_start: int


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _line_at(text: str, pos: int) -> tuple[int, int]:
    """The [start, end) of the line containing ``pos`` (end excludes the newline)."""
    s = text.rfind("\n", 0, pos) + 1
    e = text.find("\n", pos)
    return s, len(text) if e < 0 else e


def _line_no(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _find_articles(text: str, style: Style, issues: list[str]) -> list[_Article]:
    arts: list[_Article] = []
    seen: dict[str, int] = {}
    matches = list(style.article.finditer(text))
    for pattern in style.inserted_article:
        matches += pattern.finditer(text)
    for m in sorted(matches, key=lambda m: m.start()):
        num = m.group("num")
        if num in seen:
            # A repeated number (a consolidation error or a quoted article): keep the first; the repeat
            # stays in the text of the article it stands in, so nothing is dropped.
            issues.append(
                f"line {_line_no(text, m.start())}: article {num} repeated (first at line "
                f"{_line_no(text, seen[num])}); kept the first, the repeat stays in the text of article "
                f"{arts[-1].num}"
            )
            continue
        if arts and article_key(num) <= article_key(arts[-1].num):
            issues.append(
                f"line {_line_no(text, m.start())}: article {num} is out of order after article "
                f"{arts[-1].num}; not read as a heading, it stays in the text of article {arts[-1].num}"
            )
            continue
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip(" \t-–")))
        title = (m.group("title") or "").strip() or None
        text_start = m.end()
        if style.heading_before and start > 0:
            # The marginal note: the line before, unless it is another section or a structural line.
            ls, le = _line_at(text, start - 1)
            prev = text[ls:le]
            if (
                prev.strip()
                and not style.article.match(prev)
                and not any(s.pattern.match(prev) for s in style.structural)
                and (not arts or ls >= arts[-1].text_start)
            ):
                title, start = prev.strip(), ls + len(prev) - len(prev.lstrip())
        elif title is None and style.title_next_line is not None and text_start < len(text):
            nm = style.title_next_line.match(text, text_start + 1)
            if nm is not None and not style.article.match(nm.group(0)):
                title, text_start = nm.group("title").strip(), nm.end()
        seen[num] = m.start()
        arts.append(_Article(num, title, start, text_start))
    return arts


def _find_structural(text: str, style: Style, arts: list[_Article]) -> list[_Structural]:
    heads = [(a.heading_start, a.text_start) for a in arts]
    found: dict[int, _Structural] = {}
    for rule in style.structural:
        for m in rule.pattern.finditer(text):
            start = m.start("label")
            tstart = m.start("title") if m.group("title") else m.end()
            found.setdefault(start, _Structural(start, rule.level, m.group("label"), tstart))
    for rule in style.inline_structural:
        for m in rule.pattern.finditer(text):
            found.setdefault(
                m.start("label"),
                _Structural(m.start("label"), rule.level, m.group("label"), m.start("title")),
            )
    # A structural pattern never applies inside an article's own heading.
    return sorted(
        (s for s in found.values() if not any(hs <= s.start < ts for hs, ts in heads)), key=lambda s: s.start
    )


def _label(m: Any) -> str:
    return next(v for k, v in m.groupdict().items() if k.startswith("label") and v)


def _children(text: str, start: int, end: int, style: Style, level: str) -> list[tuple[str, int, int]]:
    """Labelled units of ``level`` ("clause" or "point") inside text[start:end], as (label, start, end)."""
    rules = style.clause if level == "clause" else style.point
    stop = end
    if level == "point" and style.stops_points is not None:
        sm = style.stops_points.search(text, start, end)
        if sm is not None:
            stop = sm.start()
    best: tuple[int, Any, list[tuple[str, int]]] | None = None
    for rule in rules:
        cands = []
        for m in rule.pattern.finditer(text, start, stop):
            s = m.start()
            while text[s] in " \t":
                s += 1
            lo = max(0, s - 40)
            ctx = text[lo:s] if lo == 0 else "\x00" + text[lo:s]
            if s == start or style.label_context.search(ctx):
                cands.append((_label(m), s))
        first = next((s for lab, s in cands if lab in next_labels(rule.sequence, None)), None)
        if first is not None and (best is None or first < best[0]):
            best = (first, rule, cands)
    if best is None:
        return []
    _, rule, cands = best
    picked: list[tuple[str, int]] = []
    prev: str | None = None
    for i, (lab, s) in enumerate(cands):
        if lab not in next_labels(rule.sequence, prev):
            continue
        # After "(h)" the letter "(i)" and the roman "(i)" look alike: roman when "(ii)" follows.
        if style.roman_after_h and lab == "i" and i + 1 < len(cands) and cands[i + 1][0] == "ii":
            continue
        picked.append((lab, s))
        prev = lab
    out = []
    for j, (lab, s) in enumerate(picked):
        e = picked[j + 1][1] if j + 1 < len(picked) else stop
        if level == "point" and style.ends_point is not None:
            em = style.ends_point.search(text, s + 1, e)
            if em is not None:
                e = em.start()
        s2, e2 = _strip_span(text, s, e)
        out.append((lab, s2, e2))
    return out


def segment(doc: Document, params: SegmentOptions) -> Segmentation:
    """Document → its provisions and layout; SegmentError if no article is found or a check fails."""
    style = get_style(doc.style)
    text = doc.text
    issues: list[str] = []
    arts = _find_articles(text, style, issues)
    if not arts:
        raise SegmentError(f"no articles found (style {style.name})")
    if len(arts) < params.min_articles:
        raise SegmentError(f"{len(arts)} articles found, expected at least {params.min_articles}")
    structs = _find_structural(text, style, arts)

    # Units in document order: every structural heading and article runs to the next unit.
    starts = sorted([s.start for s in structs] + [a.heading_start for a in arts])
    next_start = {p: (starts[i + 1] if i + 1 < len(starts) else len(text)) for i, p in enumerate(starts)}

    context: dict[str, str | None] = dict.fromkeys(STRUCTURAL_LEVELS)
    events = sorted(
        [(s.start, 0, s) for s in structs] + [(a.heading_start, 1, a) for a in arts], key=lambda e: e[:2]
    )
    struct_spans = []
    for pos, kind, obj in events:
        if kind == 0:
            end = next_start[pos]
            title = " ".join(html.unescape(text[obj.title_start : end]).split())
            label = " ".join(obj.label.split())
            context[obj.level] = f"{label} — {title}" if title else label
            for lv in STRUCTURAL_LEVELS[STRUCTURAL_LEVELS.index(obj.level) + 1 :]:
                context[lv] = None
            struct_spans.append((pos, end))
        else:
            obj.context = dict(context)

    provisions: list[Provision] = []
    headings = []
    lang, doc_id = doc.lang, doc.doc_id
    for a in arts:
        body_end = min(next_start[a.heading_start], len(text))
        body_end = max(body_end, a.text_start)
        s, e = _strip_span(text, a.text_start, body_end)
        headings.append((a.heading_start, a.text_start))
        if e - s > params.max_article_chars:
            raise SegmentError(
                f"article {a.num} is {e - s} characters, more than "
                f"max_article_chars={params.max_article_chars}"
                " (a heading was probably missed)"
            )
        ctx = a.context
        section = ctx["section"]
        if ctx["title"]:
            section = f"{section} / {ctx['title']}" if section else ctx["title"]
        common = {
            "doc_id": doc_id,
            "lang": lang,
            "article": a.num,
            "heading": a.title,
            "part": ctx["part"],
            "chapter": ctx["chapter"],
            "section": section,
        }
        art_id = provision_id(doc_id, a.num)
        provisions.append(
            Provision(
                provision_id=art_id,
                level="article",
                clause=None,
                point=None,
                text=text[s:e],
                char_start=s,
                char_end=e,
                parent_id=None,
                **common,
            )
        )
        clauses = (
            _children(text, s, e, style, "clause")
            if "clause" in params.levels or "point" in params.levels
            else []
        )
        parents: list[tuple[str | None, str, int, int]] = [
            (c, provision_id(doc_id, a.num, c), cs, ce) for c, cs, ce in clauses
        ]
        for clabel, cid, cs, ce in parents:
            if "clause" in params.levels:
                provisions.append(
                    Provision(
                        provision_id=cid,
                        level="clause",
                        clause=clabel,
                        point=None,
                        text=text[cs:ce],
                        char_start=cs,
                        char_end=ce,
                        parent_id=art_id,
                        **common,
                    )
                )
            if "point" in params.levels:
                provisions.extend(_points(text, cs, ce, style, clabel, cid, common))
        if not clauses and "point" in params.levels:
            # Points directly under an article without numbered clauses ("Điều 5 … : a) …; b) …").
            provisions.extend(_points(text, s, e, style, None, art_id, common))
    seg = Segmentation(provisions, issues, (0, min(starts)), struct_spans, headings)
    issues.extend(_layout_warnings(text, seg))
    return seg


def _layout_warnings(text: str, seg: Segmentation) -> list[str]:
    """Warnings about what the segmentation leaves doubtful, each with its line."""
    out = []
    front_end = seg.front_matter[1]
    for m in LOOKS_LIKE_ARTICLE.finditer(text, 0, front_end):
        line = text[m.start() : text.find("\n", m.start()) if "\n" in text[m.start() :] else len(text)]
        out.append(
            f"line {_line_no(text, m.start())}: text before the first article looks like an article "
            f"heading but was not read as one: {line.strip()[:60]!r} (wrong --style, or a heading the "
            "style does not know?)"
        )
    for a, (head, _) in zip(seg.articles, seg.headings, strict=False):
        if not a.text and not (a.heading and REPEALED.search(a.heading)):
            out.append(f"line {_line_no(text, head)}: article {a.article} is empty")
    # Coverage: every non-space character in exactly one region (front matter, structural heading,
    # article heading, article text); a gap or an overlap means the layout was misread.
    regions = sorted(
        [
            seg.front_matter,
            *seg.structural,
            *seg.headings,
            *((a.char_start, a.char_end) for a in seg.articles),
        ]
    )
    solid = missed = 0
    gaps: list[int] = []
    overlaps: list[int] = []
    pos = 0
    for s, e in [*regions, (len(text), len(text))]:
        if s > pos:
            n = sum(1 for ch in text[pos:s] if not ch.isspace())
            if n:
                missed += n
                gaps.append(pos + len(text[pos:s]) - len(text[pos:s].lstrip()))
        elif text[s : min(pos, e)].strip():
            overlaps.append(s)
        pos = max(pos, e)
    solid = sum(1 for ch in text if not ch.isspace())
    if gaps or overlaps:
        cover = 100.0 * (solid - missed) / solid if solid else 100.0
        where = gaps[0] if gaps else overlaps[0]
        out.append(
            f"line {_line_no(text, where)}: coverage {cover:.1f} % "
            f"({len(gaps)} stretch(es) of text in no unit, {len(overlaps)} in two)"
        )
    return out


def _points(
    text: str, start: int, end: int, style: Style, clause: str | None, parent: str, common: dict[str, Any]
) -> list[Provision]:
    out = []
    for p, ps, pe in _children(text, start, end, style, "point"):
        pid = provision_id(common["doc_id"], common["article"], clause, p)
        out.append(
            Provision(
                provision_id=pid,
                level="point",
                clause=clause,
                point=p,
                text=text[ps:pe],
                char_start=ps,
                char_end=pe,
                parent_id=parent,
                **common,
            )
        )
    return out


def segment_document(doc: Document, params: SegmentOptions) -> list[Provision]:
    """Document → its articles, clauses and points in document order (SegmentError if none)."""
    return segment(doc, params).provisions

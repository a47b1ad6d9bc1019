"""Cross-references written in provisions, resolved to the provisions (or laws) they name.

Pure core, no I/O. The reference forms of each drafting style are tables in
:mod:`pipeline.styles` (``REFERENCE_STYLES``); the corpus's laws, with the names they are cited by,
form a :class:`Catalog` built from the manifest. A citation with no law named points into the citing
law ("khoản 1 Điều 17", "subsection (2)"); one that names a law the corpus does not hold is kept
unresolved and never guessed into the citing law.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.schema import provision_id
from pipeline.styles import REFERENCE_STYLES, ReferenceStyle, article_key

LEVEL_ORDER = ("article", "clause", "point")
# A law's number as Vietnamese drafting prints it: "24/2018/QH14", "72/2013/NĐ-CP", "101-SL/L.003".
VN_LAW_NUMBER = re.compile(r"\b\d+/\d{4}/[A-ZĐ0-9]+(?:-[A-ZĐ]+)*|\b\d+-SL/L[.-]\d+")


# ---------------------------------------------------------------- the catalog of the corpus's laws


@dataclass(frozen=True)
class Law:
    """One document of the corpus as other laws cite it."""

    doc_id: str
    lang: str
    jurisdiction: str
    names: tuple[str, ...]
    numbers: tuple[str, ...]
    translation_of: str | None = None
    superseded: bool = False  # an older version of another document of the corpus
    local_names: tuple[tuple[str, str], ...] = ()  # names this document uses for other documents


def law_names(title: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, numbers) a law is cited by, from its title.

    "Luật An ninh mạng, số 24/2018/QH14" → (("Luật An ninh mạng",), ("24/2018/QH14",));
    "Computer Misuse Act 1993" → (("Computer Misuse Act 1993", "Computer Misuse Act"), ()).
    Only the first number counts: a consolidated title also names its amending law.
    """
    numbers = tuple(m.group(0) for m in [VN_LAW_NUMBER.search(title)] if m)
    name = re.split(r",|\s\(|\s+số\s|\s+No\.|\s+về\s|\s+[—–-]\s|\s+as\s+|\s+quy\s+định\s", title, maxsplit=1)[
        0
    ]
    name = " ".join(name.split())
    names = [name] if name and not VN_LAW_NUMBER.fullmatch(name) else []
    if (m := re.fullmatch(r"(.+?)\s+\d{4}", name)) is not None:
        names.append(m.group(1))
    return tuple(n for n in names if len(n) >= 5), numbers


@dataclass
class Catalog:
    """The corpus's laws by name and number."""

    laws: dict[str, Law] = field(default_factory=dict)
    _names_rx: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_manifest(cls, entries: Iterable[dict[str, Any]]) -> Catalog:
        entries = list(entries)
        older = {str(e["previous_version"]) for e in entries if e.get("previous_version")}
        laws = {}
        for e in entries:
            names, numbers = law_names(str(e.get("title") or ""))
            extra = tuple(str(n) for n in e.get("cited_as") or ())
            laws[str(e["id"])] = Law(
                doc_id=str(e["id"]),
                lang=str(e.get("lang") or ""),
                jurisdiction=str(e.get("jurisdiction") or ""),
                names=tuple(dict.fromkeys(extra + names)),
                numbers=numbers,
                translation_of=e.get("translation_of"),
                superseded=str(e["id"]) in older,
                local_names=tuple((str(k), str(v)) for k, v in (e.get("local_names") or {}).items()),
            )
        return cls(laws)

    def lookup(self, text: str, citing: str) -> tuple[str | None, str]:
        """The document ``text`` (a law as cited, from its start) names, and the words that name it.

        A number decides when one is given ("Bộ luật Hình sự số 15/1999/QH10" is the 1999 code, not
        this corpus's 2015 code). Among documents sharing a name the citing law's own name table
        wins, then the same jurisdiction, the same language, the current version, the original text.
        Returns (None, "") when the corpus holds no such law.
        """
        text = " ".join(text.split())
        num = VN_LAW_NUMBER.search(text)
        src = self.laws.get(citing)
        # The number is the law's own when it is the first figure of the name ("Bộ luật Hình sự số
        # 15/1999/QH10"), not a later one ("Luật An ninh mạng ngày 12/6/2018").
        if num is not None and re.match(r"^\D{0,60}?" + re.escape(num.group(0)), text):
            hits = [law for law in self.laws.values() if num.group(0) in law.numbers]
            return (self._prefer(hits, src), text[: num.end()]) if hits else (None, "")
        if src is not None:
            for name, target in sorted(src.local_names, key=lambda nt: -len(nt[0])):
                if _starts_with_name(text, name) and target in self.laws:
                    return target, name
        best: list[Law] = []
        best_len = 0
        for law in self.laws.values():
            for name in law.names:
                if len(name) >= best_len and _starts_with_name(text, name):
                    if len(name) > best_len:
                        best, best_len = [], len(name)
                    best.append(law)
        return (
            (self._prefer(best, src), next(n for n in best[0].names if len(n) == best_len))
            if best
            else (None, "")
        )

    def names_pattern(self) -> re.Pattern[str]:
        """Every name of the catalog as one pattern, longest first (for mentions in running text)."""
        if self._names_rx is None:
            names = sorted(
                {n for law in self.laws.values() for n in law.names if len(n.split()) >= 2}, key=len
            )
            alts = [r"\s+".join(re.escape(w) for w in n.split()) for n in reversed(names)]
            self._names_rx = (
                re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)") if alts else re.compile(r"(?!x)x")
            )
        return self._names_rx

    @staticmethod
    def _prefer(hits: list[Law], src: Law | None) -> str:
        def rank(law: Law) -> tuple[int, ...]:
            return (
                0 if src is not None and law.jurisdiction == src.jurisdiction else 1,
                0 if src is not None and law.lang == src.lang else 1,
                1 if law.superseded else 0,
                1 if law.translation_of else 0,
            )

        return min(hits, key=lambda law: (rank(law), law.doc_id)).doc_id


def _starts_with_name(text: str, name: str) -> bool:
    text = re.sub(r"^[Tt]he\s+", "", text)
    return text.startswith(name) and not text[len(name) : len(name) + 1].isalnum()


# ---------------------------------------------------------------- the provisions of the corpus


@dataclass
class Index:
    """Provision ids of the corpus, with the order of articles and clauses for ranges."""

    ids: set[str] = field(default_factory=set)
    articles: dict[str, list[str]] = field(default_factory=dict)  # doc → article labels in order
    children: dict[str, list[str]] = field(default_factory=dict)  # parent id → child labels in order
    style: dict[str, str] = field(default_factory=dict)  # doc → drafting style
    translation_of: dict[str, str] = field(default_factory=dict)  # translation → original

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[dict[str, Any]],
        styles: dict[str, str] | None = None,
        translation_of: dict[str, str] | None = None,
    ) -> Index:
        idx = cls(style=dict(styles or {}), translation_of=dict(translation_of or {}))
        for r in rows:
            idx.ids.add(r["provision_id"])
            if r["level"] == "article":
                idx.articles.setdefault(r["doc_id"], []).append(str(r["article"]))
            elif r.get("parent_id"):
                label = r["clause"] if r["level"] == "clause" else r["point"]
                idx.children.setdefault(r["parent_id"], []).append(str(label))
        return idx


# ---------------------------------------------------------------- parsing citations


@dataclass(frozen=True)
class Component:
    level: str
    items: tuple[tuple[str, str | None], ...]  # (label, end of a range or None); label "this"
    start: int
    end: int


@dataclass(frozen=True)
class Citation:
    """One written citation: its groups of labels per level, the law it names, its span."""

    groups: tuple[dict[str, tuple[tuple[str, str | None], ...]], ...]
    law: str  # "self", "named" or "none"
    law_text: str | None
    start: int
    end: int


def _strip(label: str) -> str:
    return label.strip().strip("()").strip()


def _component_re(st: ReferenceStyle) -> re.Pattern[str]:
    alts = []
    for lv in st.levels:
        item = rf"(?:{lv.label}|\([0-9A-Za-z]{{1,4}}\))" if st.bracket_levels else lv.label
        suffix = r"(?:\([0-9A-Za-z]{1,4}\))*" if st.bracket_levels and lv.level != "point" else ""
        items = rf"{item}{suffix}(?:(?:{st.list_sep}|{st.range_sep})(?:(?:{lv.words})\s+)?{item}{suffix})*"
        # "this section" / "Điều này"
        this = rf"{st.this}\s+(?:{lv.words})\b" if st.this_before else rf"(?:{lv.words})\s+{st.this}\b"
        alts.append(rf"(?P<{lv.level}>(?<![\w])(?:{lv.words})\s+{items}|(?<![\w]){this})")
    return re.compile("|".join(alts))


_COMPILED: dict[str, re.Pattern[str]] = {}


def _components(text: str, st: ReferenceStyle) -> list[Component]:
    rx = _COMPILED.setdefault(st.name, _component_re(st))
    out = []
    for m in rx.finditer(text):
        level = next(k for k, v in m.groupdict().items() if v is not None)
        s = m.group(level)
        if re.search(rf"\b{st.this}\b", s) and not re.search(r"\d|\(", s):
            out.append(Component(level, (("this", None),), m.start(), m.end()))
            continue
        lv = next(x for x in st.levels if x.level == level)
        pieces = [(m.start(), m.end())]
        if st.little_endian and level == "article":
            # "khoản 1 Điều 5, Điều 17": the article word said again starts another citation's article
            # (but "từ Điều 108 đến Điều 110" is one range).
            cuts = [w.start() for w in re.finditer(rf"(?<![\w])(?:{lv.words})\s", s)][1:]
            cuts = [c for c in cuts if not re.search(rf"(?:{st.range_sep})$", s[:c])]
            bounds = [0, *cuts, len(s)]
            pieces = []
            for a, b in zip(bounds, bounds[1:], strict=False):
                seg = s[a:b]
                seg_end = a + len(re.sub(rf"(?:{st.list_sep})$", "", seg))
                pieces.append((m.start() + a, m.start() + seg_end))
        for a, b in pieces:
            out.append(Component(level, _items(text[a:b], lv.words, st), a, b))
    return out


def _items(s: str, words: str, st: ReferenceStyle) -> tuple[tuple[str, str | None], ...]:
    """'khoản 1, 2 và 3' → ((1, None), (2, None), (3, None)); '375 to 377B' → ((375, 377B),)."""
    body = re.sub(rf"^(?:{words})\s+", "", s)
    items: list[tuple[str, str | None]] = []
    parts = re.split(rf"({st.list_sep}|{st.range_sep})", body)
    pending_range = False
    for i, part in enumerate(parts):
        if i % 2 == 1:
            pending_range = re.fullmatch(st.range_sep, part) is not None
            continue
        part = re.sub(rf"^(?:{words})\s+", "", part).strip()
        if not part:
            continue
        if pending_range and items:
            items[-1] = (items[-1][0], part)
        else:
            items.append((part, None))
    return tuple(items)


Group = dict[str, list[tuple[str, str | None]]]


def _groups(chain: Sequence[Component]) -> list[Group]:
    """Big-endian citations ("Article 22, paragraph 2, and Article 41, paragraph 1"): a level seen
    again after another one starts a new group; the same level repeated extends its list."""
    groups: list[Group] = []
    prev: str | None = None
    for c in chain:
        if groups and c.level in groups[-1] and prev == c.level:
            groups[-1][c.level].extend(c.items)
        elif not groups or c.level in groups[-1]:
            groups.append({c.level: list(c.items)})
        else:
            groups[-1][c.level] = list(c.items)
        prev = c.level
    return groups


def _little_endian_groups(chain: Sequence[Component]) -> list[Group]:
    """Little-endian citations ("khoản 1 Điều 5, Điều 6", "Điều 146, các khoản 2 và 3")."""
    groups: list[Group] = []
    current: Group = {}
    for c in chain:
        if c.level in current and c.level != "article":
            # "điểm a khoản 1, điểm b khoản 2 Điều 5": a new point after a clause starts a new group.
            groups.append(current)
            current = {}
        current.setdefault(c.level, []).extend(c.items)
        if c.level == "article":
            groups.append(current)
            current = {}
    if current:
        if groups and not set(current) & set(groups[-1]):
            groups[-1].update(current)
        else:
            groups.append(current)
    # A group closed before its article is the next article's ("điểm a khoản 1, điểm c khoản 2 Điều 5").
    article = None
    for g in reversed(groups):
        if "article" in g:
            article = g["article"]
        elif article is not None:
            g["article"] = list(article)
    return groups


def parse(text: str, style: str | ReferenceStyle) -> list[Citation]:
    """The citations written in ``text``, each with its groups of labels and the law it names."""
    st = REFERENCE_STYLES[style] if isinstance(style, str) else style
    comps = _components(text, st)
    chains: list[list[Component]] = []
    for c in comps:
        if chains and re.fullmatch(st.joiner, text[chains[-1][-1].end : c.start]):
            chains[-1].append(c)
        else:
            chains.append([c])
    cites: list[Citation] = []
    for chain in chains:
        groups = _little_endian_groups(chain) if st.little_endian else _groups(chain)
        start, end = chain[0].start, chain[-1].end
        tail = text[end:]
        law, law_text = "none", None
        if (m := st.self_law.match(tail)) is not None:
            law, end = "self", end + m.end()
        elif (m := st.law_tail.match(tail)) is not None:
            law, law_text = "named", m.group("law")
        cites.append(
            Citation(tuple({k: tuple(v) for k, v in g.items()} for g in groups), law, law_text, start, end)
        )
    # "khoản 1 Điều 117 và khoản 2 Điều 331 của Bộ luật Hình sự": a citation listed before another
    # takes the law named after the last one.
    for i in range(len(cites) - 2, -1, -1):
        a, b = cites[i], cites[i + 1]
        if a.law == "none" and re.fullmatch(r"\s*(?:,|;)?\s*(?:và|hoặc|and|or)?\s*", text[a.end : b.start]):
            cites[i] = Citation(a.groups, b.law, b.law_text, a.start, a.end)
    return cites


# ---------------------------------------------------------------- resolving


@dataclass(frozen=True)
class Reference:
    """One resolved (or unresolved) reference; offsets are in the source provision's text."""

    source_id: str
    source_doc_id: str
    target_id: str | None
    target_doc_id: str | None
    target_level: str  # "article", "clause", "point" or "law"
    text: str
    start: int
    end: int
    resolved: bool
    exact: bool  # the unit named exists as such (not only an enclosing one)
    law_text: str | None = None


def _expand(items: Sequence[tuple[str, str | None]], order: list[str]) -> list[str]:
    """Labels of a list, ranges expanded over the labels that exist ("375 to 377B" → 375 … 377B)."""
    out: list[str] = []
    for lo, hi in items:
        lo = _strip(lo)
        if hi is None:
            out.append(lo)
            continue
        hi = _strip(hi)
        try:
            klo, khi = article_key(lo), article_key(hi)
            inside = [x for x in order if klo <= article_key(x) <= khi]
        except ValueError:
            inside = order[order.index(lo) : order.index(hi) + 1] if lo in order and hi in order else []
        out.extend(inside or [lo, hi])
    return list(dict.fromkeys(out))


def _split_brackets(label: str, st: ReferenceStyle, base: str) -> dict[str, str]:
    """'8(1)(a)' → {article: 8, clause: 1, point: a}; a bare '(c)' → {point: c} (by its shape)."""
    label = label.strip()
    head = label.split("(", 1)[0].strip()
    if not st.bracket_levels:
        return {base: _strip(label)}
    brackets = re.findall(r"\(([^()]*)\)", label[len(label.split("(", 1)[0]) :])
    out = {base: head} if head else {}
    below = LEVEL_ORDER[LEVEL_ORDER.index(base) + (1 if head else 0) :]
    for b in brackets:
        lv = next((x for x in st.levels if x.level in below and re.fullmatch(x.label, f"({b})")), None)
        if lv is None:  # "(A)", "(ii)": a finer unit than the corpus segments; the enclosing one stands
            break
        out[lv.level] = b
        below = LEVEL_ORDER[LEVEL_ORDER.index(lv.level) + 1 :]
    return out


@dataclass(frozen=True)
class Source:
    """The provision a citation was read in."""

    provision_id: str
    doc_id: str
    article: str
    clause: str | None
    point: str | None


def resolve(
    cite: Citation, src: Source, style: str, catalog: Catalog, index: Index, text: str
) -> list[Reference]:
    """The references one citation makes (one per unit it names)."""
    st = REFERENCE_STYLES[style]
    span = text[cite.start : cite.end]
    if cite.law == "self" or cite.law == "none":
        target_doc: str | None = src.doc_id
        law_name = ""
    else:
        target_doc, law_name = catalog.lookup(cite.law_text or "", src.doc_id)
        if target_doc is None:
            # A law the corpus does not hold: the citation stays unresolved, never the citing law.
            ext = _external_name(cite.law_text or "", st)
            full = text[cite.start : cite.end + _tail_len(text[cite.end :], ext)]
            return [
                Reference(
                    src.provision_id,
                    src.doc_id,
                    None,
                    None,
                    _deepest(g),
                    full,
                    cite.start,
                    cite.start + len(full),
                    False,
                    False,
                    ext,
                )
                for g in cite.groups
            ]
        span = text[cite.start : cite.end + _tail_len(text[cite.end :], law_name)]
    out: list[Reference] = []
    for g in cite.groups:
        for unit in _units(g, src, st, index, target_doc):  # type: ignore[arg-type]
            doc, art, cl, pt = unit
            if st.scope_style and doc == src.doc_id and art and provision_id(doc, art) not in index.ids:
                doc = next(
                    (
                        d
                        for d, s in sorted(index.style.items())
                        if s == style and provision_id(d, art) in index.ids
                    ),
                    doc,
                )
            out.append(_target(src, doc, art, cl, pt, index, span, cite.start, law_name or None))
    return out


def _deepest(g: dict[str, Any]) -> str:
    return next((lv for lv in reversed(LEVEL_ORDER) if lv in g), "article")


def _find_name(raw: str, name: str, within: int = 16) -> tuple[int, int] | None:
    """Where ``name`` (words as normalised) stands in ``raw``, starting in its first ``within`` chars."""
    if not name:
        return None
    m = re.search(r"\s+".join(re.escape(w) for w in name.split()), raw)
    return m.span() if m is not None and m.start() <= within else None


def _tail_len(tail: str, name: str) -> int:
    """Length of the tail of a citation up to the end of the law's name in it."""
    found = _find_name(tail, name)
    return found[1] if found else 0


def _external_name(law_text: str, st: ReferenceStyle) -> str:
    law_text = " ".join(law_text.split())
    m = st.law_stop.search(law_text, 5)
    return (law_text[: m.start()] if m else law_text).strip()


def _units(
    g: dict[str, tuple[tuple[str, str | None], ...]], src: Source, st: ReferenceStyle, index: Index, doc: str
) -> list[tuple[str, str | None, str | None, str | None]]:
    """(doc, article, clause, point) of every unit one group of labels names.

    A level not written is the citing unit's own when the citation points into the citing law
    ("khoản 2" in Điều 5 is khoản 2 of Điều 5; "điểm b và điểm c khoản này").
    """
    same = doc == src.doc_id

    def order(c: dict[str, str], level: str) -> list[str]:
        art = c.get("article") or (src.article if same else "")
        art = src.article if art == "this" else art
        if level == "article":
            return index.articles.get(doc, [])
        if level == "clause":
            return index.children.get(provision_id(doc, art), [])
        cl = c.get("clause") or (src.clause if same and "article" not in c else None)
        return index.children.get(provision_id(doc, art, None if cl == "this" else cl), [])

    combos: list[dict[str, str]] = [{}]
    for level in LEVEL_ORDER:
        if level not in g:
            continue
        new: list[dict[str, str]] = []
        for c in combos:
            prev: dict[str, str] | None = None
            for lo, hi in g[level]:
                d = _split_brackets(lo, st, level)
                if not d:
                    continue
                first = min(d, key=LEVEL_ORDER.index)
                if prev is not None and LEVEL_ORDER.index(first) > LEVEL_ORDER.index(level):
                    # "section 300(b) or (c)", "377BL(2) or (3)": a bare bracket continues the label before.
                    d = {k: v for k, v in prev.items() if LEVEL_ORDER.index(k) < LEVEL_ORDER.index(first)} | d
                prev = d
                if hi is not None and set(d) == {level}:
                    hi_label = _split_brackets(hi, st, level).get(level, _strip(hi))
                    new.extend({**c, level: x} for x in _expand([(d[level], hi_label)], order(c, level)))
                else:
                    new.append({**c, **d})
        combos = new
    out = []
    for c in combos:
        art = c.get("article")
        if art == "this" or (art is None and same):
            art = src.article
        cl = c.get("clause")
        if cl == "this" or (cl is None and "point" in c and "article" not in c and same):
            cl = src.clause
        pt = c.get("point")
        if pt == "this":
            pt = src.point
        out.append((doc, art, cl, pt))
    return out


def _target(
    src: Source,
    doc: str,
    art: str | None,
    cl: str | None,
    pt: str | None,
    index: Index,
    span: str,
    start: int,
    law_text: str | None,
) -> Reference:
    level = "point" if pt else "clause" if cl else "article" if art else "law"
    if art is None:
        return Reference(
            src.provision_id,
            src.doc_id,
            None,
            doc,
            "law",
            span,
            start,
            start + len(span),
            True,
            True,
            law_text,
        )
    want = [provision_id(doc, art, cl, pt)]
    if pt is not None and cl is not None:
        want.append(provision_id(doc, art, cl))
    if pt is not None:
        want.append(provision_id(doc, art, None, pt))
    want.append(provision_id(doc, art))
    found = next((w for w in want if w in index.ids), None)
    original = index.translation_of.get(doc)
    if found is None and original is not None:
        # A translation of selected articles: the article it lacks is the original's.
        return _target(src, original, art, cl, pt, index, span, start, law_text)
    return Reference(
        source_id=src.provision_id,
        source_doc_id=src.doc_id,
        target_id=found,
        target_doc_id=doc,
        target_level=level,
        text=span,
        start=start,
        end=start + len(span),
        resolved=found is not None,
        exact=found == want[0],
        law_text=law_text,
    )


def law_mentions(
    text: str, style: str, catalog: Catalog, citing: str, taken: Sequence[tuple[int, int]]
) -> list[tuple[str | None, str, int, int]]:
    """Laws named outside citations: (doc id or None when the corpus lacks it, name, start, end).

    The citing law naming itself is not a reference; ``taken`` spans (citations) are skipped.
    """
    st = REFERENCE_STYLES[style]
    out = []
    # Names of the corpus's laws wherever they stand ("the 1966 United Nations International Covenant
    # on Civil and Political Rights"); then law-like names the corpus does not hold.
    named: list[tuple[int, int]] = []
    for m in catalog.names_pattern().finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        # The words after the name decide with it: "Bộ luật Hình sự số 15/1999/QH10" is another code.
        doc, _ = catalog.lookup(text[m.start() : m.end() + 40], citing)
        if doc is None:
            continue
        if doc != citing:
            out.append((doc, m.group(0), m.start(), m.end()))
        named.append(m.span())
    for m in st.law_mention.finditer(text):
        s = m.start("law")
        if any(a < m.end("law") and m.start("law") < b for a, b in named):
            continue
        # "Luật này", "This Convention", "the present Covenant": the citing law itself.
        own = re.match(r"\S+(?:\s+\S+)?\s+(?:này|this)\b|(?:[Tt]his|[Tt]he\s+present)\s", text[s:])
        if own or any(a <= s < b for a, b in taken):
            continue
        doc, matched = catalog.lookup(m.group("law"), citing)
        found = _find_name(text[s:], matched) if doc is not None else None
        if doc is not None and found is not None:
            s, name = s + found[0], text[s + found[0] : s + found[1]]
        else:
            doc = None
            name = _external_name(m.group("law"), st)
            # A bare "Law on" or "Act" is no name.
            if len(name.split()) < 2 or name.split()[-1] in ("on", "of", "and", "the"):
                continue
            raw = _find_name(text[s:], name, within=0)
            if raw is None:
                continue
            name = text[s : s + raw[1]]
        if doc == citing:
            continue
        out.append((doc, name, s, s + len(name)))
    return sorted(out, key=lambda t: t[2])


def references_in_article(
    article: dict[str, Any],
    units: Sequence[dict[str, Any]],
    style: str,
    catalog: Catalog,
    index: Index,
) -> list[Reference]:
    """Every reference written in one article, attributed to the deepest unit that holds it."""
    text = article["text"] or ""
    a0 = int(article["char_start"])
    spans = [(u, int(u["char_start"]) - a0, int(u["char_end"]) - a0) for u in units]

    def source_of(s: int, e: int) -> tuple[Source, int]:
        best, off, size = article, 0, None
        for u, us, ue in spans:
            if us <= s and e <= ue and (size is None or ue - us < size):
                best, off, size = u, us, ue - us
        return Source(
            best["provision_id"],
            article["doc_id"],
            str(article["article"]),
            best.get("clause"),
            best.get("point"),
        ), off

    out: list[Reference] = []
    taken = []
    for cite in parse(text, style):
        src, off = source_of(cite.start, cite.end)
        for r in resolve(cite, src, style, catalog, index, text):
            out.append(_shift(r, off))
            taken.append((r.start, r.end))
        taken.append((cite.start, cite.end))
    for doc, name, s, e in law_mentions(text, style, catalog, article["doc_id"], taken):
        src, off = source_of(s, e)
        out.append(
            Reference(
                src.provision_id,
                src.doc_id,
                None,
                doc,
                "law",
                name,
                s - off,
                e - off,
                doc is not None,
                doc is not None,
                name,
            )
        )
    return out


def _shift(r: Reference, off: int) -> Reference:
    if not off:
        return r
    return Reference(**{**r.__dict__, "start": r.start - off, "end": r.end - off})

"""Drafting conventions as data: one table per drafting style (the ``style`` field of a Document).

The segmenter (:mod:`pipeline.segment`) knows nothing about any particular law; everything it needs to
recognise a heading, an article, a clause or a point lives here, with the legal case it covers.

Vocabulary: *article* is the numbered unit of a law (Vietnamese ``Điều``, treaty ``Article``, a
common-law *section*, a US Code ``§``); *clause* is its first subdivision (``khoản``, a numbered
paragraph, a subsection); *point* the second (``điểm``, a lettered item, a paragraph).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Vietnamese drafting letters its points in the Vietnamese alphabet order: there is no f, j, w, z,
# and đ comes after d ("điểm đ khoản 1").
VI_LETTERS = [
    "a",
    "b",
    "c",
    "d",
    "đ",
    "e",
    "g",
    "h",
    "i",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "v",
    "x",
    "y",
]
EN_LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
# One order for suffixes of inserted articles in both alphabets ("217a", "8A", "16AA", "23đ").
SUFFIX_ORDER = {
    c: i
    for i, c in enumerate(
        [
            "a",
            "b",
            "c",
            "d",
            "đ",
            "e",
            "f",
            "g",
            "h",
            "i",
            "j",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "q",
            "r",
            "s",
            "t",
            "u",
            "v",
            "w",
            "x",
            "y",
            "z",
        ]
    )
}


@dataclass(frozen=True)
class Structural:
    """A structural heading above articles (part, chapter, section, title)."""

    level: str  # "part" | "chapter" | "section" | "title"
    pattern: re.Pattern[str]  # groups: label, optional title on the same line


@dataclass(frozen=True)
class LabelRule:
    """How the labels of one level of subdivision are printed and in which order they run."""

    pattern: re.Pattern[str]  # group "label": the label without brackets or punctuation
    sequence: str  # "arabic" | "alpha" | "vi_alpha" | "upper"


@dataclass(frozen=True)
class Style:
    """Everything the segmenter needs to know about one drafting style."""

    name: str
    # An article heading line; groups: num, title (may be empty). MULTILINE.
    article: re.Pattern[str]
    structural: tuple[Structural, ...]
    # Alternative label systems for clauses / points; per article the one whose first label ("1",
    # "a", "A") comes first is used.
    clause: tuple[LabelRule, ...]
    point: tuple[LabelRule, ...]
    # What must precede a label for it to start a unit (tested on the text before the label).
    label_context: re.Pattern[str]
    # Structural headings printed at the end of a line of text, continuing on the next lines.
    inline_structural: tuple[Structural, ...] = ()
    # The article's title is the line *before* the article line (common-law marginal notes).
    heading_before: bool = False
    # If the article line has no title, the next line is its title when it matches this.
    title_next_line: re.Pattern[str] | None = None
    # Ends the current point without starting a new one (the next definition in a definitions list).
    ends_point: re.Pattern[str] | None = None
    # No more points in this parent after this (illustrations and examples reuse "(a)", "(b)").
    stops_points: re.Pattern[str] | None = None
    # "(i)" is a roman sub-item, not the letter after "(h)", when "(ii)" follows it.
    roman_after_h: bool = False


M = re.MULTILINE
_LINE_START = re.compile(r"(?:^|\n)[ \t]*\Z")
# Common-law and US drafting run subdivisions on in one line: "2. —(1) In this Act — (a) …; or (b) …",
# "(a) Whoever—(1) having …", "if:(1) it gives", "[15/2019] (2) …" after an amendment note, and
# "(5)(A)" / "(d)(1)" where a label directly follows its parent's. A cross-reference ("subsection
# (2)", "subsection (1)(a)", "paragraph (a) or (b)") follows a word, so it never starts a unit;
# nor does one broken over a line ("subsection (a)(2), (a)\n\n(3), or (a)(6)" in 18 U.S.C. § 1030(c)):
# a line break alone is not enough, the previous line must end a sentence, a list item or an introduction.
_INLINE = re.compile(r"[—;:.\]][ \t\n]*(?:(?:or|and)[ \t\n]+)?(?:\([0-9A-Za-z]{1,4}\))?\Z")

_ROMAN = r"[IVXLC]+"
_VI_ORDINAL = r"(?:thứ[ \t]+)?(?:nhất|hai|ba|tư|năm|sáu|bảy|tám|chín|mười)"
_EN_ORDINAL = r"(?:One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten|ONE|TWO|THREE|FOUR|FIVE|SIX)"
# A title on the label line after ".", ":", "-" or a dash ("Mục 1: ỨNG DỤNG …", "PART 1 - PRELIMINARY").
_SAME_LINE_TITLE = r"(?:[ \t]*[.:\-–—][ \t]*(?P<title>[^\n]*?))?[ \t]*$"

VN = Style(
    name="vn",
    # "Điều 117. Tội làm, tàng trữ …"; amending laws insert articles as "Điều 217a"; malformed
    # sources drop the period ("Điều 5 Chính sách …"), replace it by a colon ("Điều 24: …") or omit the
    # space ("Điều 2.Đối tượng …"); the 2013 Constitution and 1957 laws print "Điều 1." with no title.
    # Without punctuation the title must start with a capital, so that a sentence beginning with a
    # cross-reference ("Điều 76 của Bộ luật này …") is not read as a heading.
    article=re.compile(
        r"^[ \t]*Điều[ \t]+(?P<num>\d+[a-zđ]?)(?:[ \t]*[.:][ \t]*|[ \t]+(?=[A-ZĐÂĂÊÔƠƯÁÀẢÃẠ])|[ \t]*$)"
        r"(?P<title>[^\n]*?)[ \t]*$",
        M,
    ),
    structural=(
        # "Phần thứ nhất" / "Phần nhất" (codes are divided into a general and a special part).
        Structural(
            "part",
            re.compile(
                rf"^[ \t]*(?P<label>(?:Phần|PHẦN)[ \t]+(?:{_VI_ORDINAL}|{_ROMAN}|\d+))" + _SAME_LINE_TITLE,
                M | re.IGNORECASE,
            ),
        ),
        # "Chương I" with the title on the next line; some laws number chapters "Chương 1.".
        Structural(
            "chapter",
            re.compile(rf"^[ \t]*(?P<label>(?:Chương|CHƯƠNG)[ \t]+(?:{_ROMAN}|\d+))\b" + _SAME_LINE_TITLE, M),
        ),
        # "Mục 1" (a section of a chapter), title on the next line or after a colon.
        Structural("section", re.compile(r"^[ \t]*(?P<label>(?:Mục|MỤC)[ \t]+\d+)\b" + _SAME_LINE_TITLE, M)),
    ),
    # "khoản": "1." at the start of a line (never "1.000.000 đồng", a sum at line start).
    clause=(LabelRule(re.compile(r"^[ \t]*(?P<label>\d+[a-z]?)\.(?!\d)", M), "arabic"),),
    # "điểm": "a)" … "đ)" in the Vietnamese alphabet order. A sub-point "a.1" / "a1)" stays inside.
    point=(LabelRule(re.compile(r"^[ \t]*(?P<label>[a-zđ])\)", M), "vi_alpha"),),
    label_context=_LINE_START,
)

VN_EN = Style(
    name="vn-en",
    # The project's English translations keep the Vietnamese numbering: "Article 217a.", "Article 292.
    # (repealed)", so that units align one to one with the original.
    article=re.compile(
        r"^[ \t]*Article[ \t]+(?P<num>\d+[a-zđ]?)(?:[ \t]*[.:][ \t]*|[ \t]+(?=[A-Z(])|[ \t]*$)"
        r"(?P<title>[^\n]*?)[ \t]*$",
        M,
    ),
    structural=(
        Structural(
            "part",
            re.compile(
                rf"^[ \t]*(?P<label>(?:Part|PART)[ \t]+(?:{_EN_ORDINAL}|{_ROMAN}|\d+))\b" + _SAME_LINE_TITLE,
                M,
            ),
        ),
        Structural(
            "chapter",
            re.compile(
                rf"^[ \t]*(?P<label>(?:Chapter|CHAPTER)[ \t]+(?:{_ROMAN}|\d+))\b" + _SAME_LINE_TITLE, M
            ),
        ),
        Structural(
            "section", re.compile(r"^[ \t]*(?P<label>(?:Section|SECTION)[ \t]+\d+)\b" + _SAME_LINE_TITLE, M)
        ),
    ),
    clause=VN.clause,
    # Translations keep the Vietnamese point letters, "đ)" included.
    point=VN.point,
    label_context=_LINE_START,
)

TREATY = Style(
    name="treaty",
    # "Article 19" alone on its line, the title on the next line ("Definitions", or "- Right to life" in
    # the ECHR), or on the same line; a stray leading "- " occurs in some transcriptions.
    article=re.compile(
        r"^[ \t]*(?:[-–][ \t]*)?(?:Article|ARTICLE)[ \t]+(?P<num>\d+[a-z]?)\b\.?"
        r"(?:[ \t]*[-–—:.][ \t]*|[ \t]*)"
        r"(?P<title>[^\n]*?)[ \t]*$",
        M,
    ),
    structural=(
        Structural(
            "part",
            re.compile(rf"^[ \t]*(?P<label>(?:Part|PART)[ \t]+(?:{_ROMAN}|\d+))\b" + _SAME_LINE_TITLE, M),
        ),
        Structural(
            "chapter",
            re.compile(
                rf"^[ \t]*(?P<label>(?:Chapter|CHAPTER)[ \t]+(?:{_ROMAN}|\d+))\b" + _SAME_LINE_TITLE, M
            ),
        ),
        # "SECTION I" of the ECHR, "SECTION 1" of the Budapest Convention.
        Structural(
            "section",
            re.compile(
                rf"^[ \t]*(?P<label>(?:Section|SECTION)[ \t]+(?:{_ROMAN}|\d+))\b" + _SAME_LINE_TITLE, M
            ),
        ),
        # The Budapest Convention groups offences into "TITLE 1 … TITLE 5" inside Section 1.
        Structural("title", re.compile(r"^[ \t]*(?P<label>TITLE[ \t]+\d+)\b" + _SAME_LINE_TITLE, M)),
    ),
    # Numbered paragraphs "1." at line start.
    clause=(LabelRule(re.compile(r"^[ \t]*(?P<label>\d+)\.(?!\d)", M), "arabic"),),
    # Items "(a)" (ICCPR, ECHR: sometimes "(a)in defence …" without a space), "a)" (Budapest), "a.".
    point=(
        LabelRule(re.compile(r"^[ \t]*(?:\((?P<label>[a-z])\)|(?P<label2>[a-z])[.)](?=\s))", M), "alpha"),
    ),
    label_context=_LINE_START,
    # A short line without final punctuation right after "Article N" is its title.
    title_next_line=re.compile(
        r"^[ \t]*(?:[-–—][ \t]*)?(?P<title>[^\n(0-9][^\n]{0,150}?[^\n.:;,])[ \t]*$", M
    ),
    roman_after_h=True,
)

SG = Style(
    name="sg",
    # Singapore statutes: the section line "8A. …" or "2. —(1) …"; the marginal note (the section's
    # title) is the line before. Sections inserted by amendment are "8A", "16AA".
    article=re.compile(r"^(?P<num>\d+[A-Z]*)\.[ \t]+(?:—[ \t]*)?(?P<title>)", M),
    structural=(
        # "PART 1 - PRELIMINARY", "PART 3A - PROTECTION FROM HARASSMENT COURT".
        Structural("part", re.compile(r"^[ \t]*(?P<label>PART[ \t]+\d+[A-Z]*)" + _SAME_LINE_TITLE, M)),
    ),
    inline_structural=(
        # Revised editions print Chapters and Divisions at the end of the previous section's line,
        # the title running on: "… 10 years. Chapter 3 — Special powers relating to\npublic security".
        Structural(
            "chapter",
            re.compile(
                r"(?<=[.;:\]\)])[ \t]+(?P<label>Chapter[ \t]+\d+[A-Z]*)[ \t]+(?:—|&#x2014;|-)[ \t]*"
                r"(?P<title>[^\n]*)$",
                M,
            ),
        ),
        Structural(
            "section",
            re.compile(
                r"(?<=[.;:\]\)])[ \t]+(?P<label>Division[ \t]+\d+[A-Z]*)[ \t]+(?:—|&#x2014;|-)[ \t]*"
                r"(?P<title>[^\n]*)$",
                M,
            ),
        ),
    ),
    # Subsections "(1)", inserted "(1A)".
    clause=(LabelRule(re.compile(r"\((?P<label>\d+[A-Z]*)\)"), "arabic"),),
    # Paragraphs "(a)", inserted "(aa)", "(ba)"; sub-paragraphs "(i)", "(ii)" stay inside.
    point=(LabelRule(re.compile(r"\((?P<label>[a-z]{1,2})\)"), "alpha"),),
    label_context=_INLINE,
    heading_before=True,
    # In a definitions section each definition opens with the defined term in quotes; it ends the
    # previous definition's paragraph list ("… (d) threatens public safety; “data” means …").
    ends_point=re.compile(
        r"(?<=[;.—]) “[^”\n]{1,80}”(?=[, ]+(?:in relation to [^—;]{0,80})?(?:means|includes|has))"
    ),
    # Illustrations and examples reuse "(a)", "(b)" for facts, not for provisions.
    stops_points=re.compile(r"(?<=[.;:\]] )(?:Illustrations?|Examples?)\b"),
    roman_after_h=True,
)

US = Style(
    name="us",
    # "§ 1030. Fraud and related activity in connection with computers".
    article=re.compile(r"^[ \t]*§[ \t]*(?P<num>\d+[a-z]*)\.[ \t]*(?P<title>[^\n]*?)[ \t]*$", M),
    structural=(),
    # Subsections "(a)"; 18 U.S.C. § 2386 uses "(A)"–"(D)" as its subsections instead.
    clause=(
        LabelRule(re.compile(r"\((?P<label>[a-z]{1,2})\)"), "alpha"),
        LabelRule(re.compile(r"\((?P<label>[A-Z])\)"), "upper"),
    ),
    # Paragraphs "(1)"; subparagraphs "(A)" and clauses "(i)" stay inside.
    point=(LabelRule(re.compile(r"\((?P<label>\d+[A-Z]?)\)"), "arabic"),),
    label_context=_INLINE,
    roman_after_h=True,
)

STYLES: dict[str, Style] = {s.name: s for s in (VN, VN_EN, TREATY, SG, US)}

# Default style of a document by its id when none is given (bundled corpus naming convention):
# the project's translations of Vietnamese laws end in "-en"; the first matching prefix wins.
STYLE_BY_DOC_ID: tuple[tuple[str, str], ...] = (
    (r"^vn-.*-en$", "vn-en"),
    (r"^vn-", "vn"),
    (r"^sg-", "sg"),
    (r"^us-", "us"),
    (r"^(?:un|coe)-", "treaty"),
)
STYLE_BY_LANG = {"vi": "vn", "en": "treaty"}
# By jurisdiction (lower case, a substring of the manifest's `jurisdiction`), before the id patterns.
STYLE_BY_JURISDICTION: tuple[tuple[str, str], ...] = (
    ("united states", "us"),
    ("singapore", "sg"),
)
# Kinds of instrument drafted as treaties (Article N, numbered paragraphs, lettered points).
TREATY_KINDS = ("treaty", "declaration")


def default_style(
    doc_id: str,
    lang: str,
    translation_of: str | None = None,
    kind: str | None = None,
    jurisdiction: str | None = None,
) -> str:
    """The drafting style of a document that names none; the one rule for the manifest and the CLI.

    A Vietnamese text is drafted ``vn``; an English translation of another entry (the project's
    translations of Vietnamese laws) ``vn-en``; a treaty or declaration ``treaty``; then by
    jurisdiction (STYLE_BY_JURISDICTION), by id (STYLE_BY_DOC_ID), and last by language.
    """
    if lang == "vi":
        return "vn"
    if translation_of:
        return "vn-en"
    if kind in TREATY_KINDS:
        return "treaty"
    jur = (jurisdiction or "").lower()
    for needle, style in STYLE_BY_JURISDICTION:
        if needle in jur:
            return style
    for pattern, style in STYLE_BY_DOC_ID:
        if re.search(pattern, doc_id):
            return style
    return STYLE_BY_LANG.get(lang, "treaty")


# Bộ Pháp điển (the Ministry of Justice's codification) numbers articles by their place in the code:
# "Điều 1.11.LQ.1." is topic 1, subject 11, a law's (LQ) article 1; "Điều 1.11.NĐ.1.1." a decree's (NĐ)
# article inserted under it; "Điều 4.1.TT.4.24a." a circular's. The label ends at the last period.
# The `vn` style does not read these as article headings; pipeline.bulk maps each label to a placeholder
# number of the same length that it does read, then gives the provisions their printed label back.
PHAP_DIEN_HEADING = re.compile(r"^([ \t]*Điều[ \t]+)(\d+(?:\.\d+)*\.[A-ZĐa-zđ]+(?:\.\d+[a-zđ]?)+)\.", re.M)
# Placeholders start above any article number a law prints, so that a plain "Điều 36." quoted inside a
# Pháp điển article is out of order and stays in the text of the article that quotes it.
PHAP_DIEN_PLACEHOLDER_BASE = 10_000_000


def get_style(name: str) -> Style:
    """The style table called ``name``; ValueError naming the known styles otherwise."""
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown drafting style {name!r}; expected one of {sorted(STYLES)}") from None


def next_labels(sequence: str, prev: str | None) -> set[str]:
    """The labels that may follow ``prev`` among siblings (``None``: the first label)."""
    if sequence == "arabic":
        if prev is None:
            return {"1"}
        m = re.fullmatch(r"(\d+)([A-Za-z]*)", prev)
        if m is None:
            return set()
        n, suf = int(m.group(1)), m.group(2)
        out = {str(n + 1)}
        if not suf:
            # Amendments insert "(1A)" after "(1)", "2a." after "2.".
            out |= {f"{n}A", f"{n}a"}
        elif len(suf) == 1 and suf.lower() != "z":
            out.add(f"{n}{chr(ord(suf) + 1)}")
        return out
    if sequence in ("alpha", "upper"):
        if prev is None:
            return {"A"} if sequence == "upper" else {"a"}
        last = prev[-1]
        if last.lower() == "z":
            return set()
        out = {prev[:-1] + chr(ord(last) + 1)}
        if len(prev) == 1:
            # Amendments insert "(aa)" after "(a)", "(ba)" after "(b)" (Singapore revised editions).
            out.add(prev + ("A" if sequence == "upper" else "a"))
        else:
            out.add(chr(ord(prev[0]) + 1))
        return out
    if sequence == "vi_alpha":
        if prev is None:
            return {"a"}
        out: set[str] = set()
        if prev in VI_LETTERS and prev != VI_LETTERS[-1]:
            out.add(VI_LETTERS[VI_LETTERS.index(prev) + 1])
        # Some sources list English-alphabet letters (d → e, i → j); accept those too.
        if prev in EN_LETTERS and prev != "z":
            out.add(chr(ord(prev) + 1))
        return out
    raise ValueError(f"unknown label sequence {sequence!r}; expected arabic, alpha, vi_alpha or upper")


def article_key(num: str) -> tuple[int, tuple[int, ...]]:
    """Sort key of an article number as printed: 217 < 217a < 217b < 218; 16A < 16AA < 16B."""
    m = re.fullmatch(r"(\d+)(\D*)", num)
    if m is None:
        raise ValueError(f"article number {num!r}: expected digits optionally followed by letters")
    return int(m.group(1)), tuple(SUFFIX_ORDER.get(c, 100 + ord(c)) for c in m.group(2).lower())


# Under each Pháp điển article heading, one line in parentheses says which instrument the codified
# article comes from: "(Điều 1 Luật số 24/2018/QH14 An ninh mạng ngày 12/06/2018 của Quốc hội, có hiệu
# lực thi hành kể từ ngày 01/01/2019)". Later articles of the same instrument print its number only
# ("(Điều 2 Luật số 24/2018/QH14, có hiệu lực …)"); a few lines are doubly bracketed.
PHAP_DIEN_PROVENANCE = re.compile(r"\A[ \t]*\(+([^\n]*?(?:số|hiệu lực)[^\n]*?)\)+[ \t]*(?:\n|\Z)")
PHAP_DIEN_INSTRUMENT = re.compile(
    r"(Bộ [Ll]uật|Luật|Nghị định|Thông tư liên tịch|Thông tư|Pháp lệnh|Nghị quyết liên tịch|Nghị quyết"
    r"|Quyết định|Chỉ thị|Sắc lệnh|Lệnh)\s+số\s+([^\s,()]+)([^,()]*)"
)
# An instrument printed without a number ("(Điều 2 Pháp lệnh Về quyền ưu đãi …, có hiệu lực …)"): its
# name is what is left of the line without the cited unit in front and the entry into force behind.
PHAP_DIEN_CITED_UNIT = re.compile(r"^(?:(?:Điều|Mục|Chương|Phần|khoản|điểm)\s+\S+\s+)+")
PHAP_DIEN_IN_FORCE = re.compile(r",?\s*có hiệu lực.*$")

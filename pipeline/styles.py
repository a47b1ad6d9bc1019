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
    # Article headings a consolidation prints inside the body of the article before them (the
    # Pakistan Code's inserted sections, "1[26A, Punishment for …" and "(2S) Handling of …"); groups
    # num, title. Each starts an article of its own, in number order like the others.
    inserted_article: tuple[re.Pattern[str], ...] = ()
    # Style detection (pipeline.detect): phrases that tell this style from another that reads the
    # same article headings, and what a heading looks like (for the error when no style fits).
    markers: re.Pattern[str] | None = None
    example: str = ""
    # The language the style's words are in ("Điều" is Vietnamese, "Article" English): detection only
    # considers the styles of the document's language.
    lang: str = "en"


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
    lang="vi",
    example="Điều 1. Phạm vi điều chỉnh",
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
    example="Article 1. Scope of regulation",
    # A translation keeps the Vietnamese point letter "đ)" and names the Vietnamese institutions.
    markers=re.compile(r"^[ \t]*đ\)|\bViet ?Nam(?:ese)?\b|\bNational Assembly\b|\bSocialist Republic\b", M),
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
    example="Article 1 / Definitions",
    # The parties' formula of a treaty, a covenant or a declaration; and "Article 5" alone on its line
    # (a translation of a Vietnamese law prints "Article 5. Title").
    markers=re.compile(
        r"\b(?:States? Part(?:y|ies)|(?:High )?Contracting Part(?:y|ies)|have agreed as follows|member States"
        r"|Parties to (?:this|the present) (?:Convention|Covenant|Protocol))\b"
        r"|^[ \t]*(?:Article|ARTICLE)[ \t]+\d+[ \t]*$",
        re.IGNORECASE | M,
    ),
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
    example="Short title / 1. This Act is …",
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
    example="§ 1030. Fraud and …",
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

PH = Style(
    name="ph",
    example="Section 1. Title. – This Act …",
    # Philippine Republic Acts: "Section 4. Cybercrime Offenses. – The following acts …", the title and
    # the body on one line, separated by a dash; "Section 6. All crimes …" has no title, and
    # "Section 29. Separability Clause – If …" drops the period. Also "SEC. 4." in enrolled bills.
    article=re.compile(
        r"^[ \t]*(?:Section|SECTION|Sec\.|SEC\.)[ \t]+(?P<num>\d+[A-Z]?)\.[ \t]*"
        r"(?:(?P<title>[^\n–—]{1,150}?)\.?[ \t]+[–—][ \t]*)?",
        M,
    ),
    structural=(
        # "CHAPTER I" with the title ("PRELIMINARY PROVISIONS") on the next line.
        Structural(
            "chapter",
            re.compile(
                rf"^[ \t]*(?P<label>(?:CHAPTER|Chapter)[ \t]+(?:{_ROMAN}|\d+))\b" + _SAME_LINE_TITLE, M
            ),
        ),
    ),
    # Subsections "(a)" at the start of a line; "(aa)", "(bb)" under a roman item stay inside, and a
    # reference ("Section 4(a)(5)") is never at a line start.
    clause=(LabelRule(re.compile(r"^[ \t]*\((?P<label>[a-z])\)", M), "alpha"),),
    # Paragraphs "(1) Illegal Access. – …"; items "(i)", "(ii)" stay inside.
    point=(LabelRule(re.compile(r"^[ \t]*\((?P<label>\d+)\)", M), "arabic"),),
    label_context=_LINE_START,
    roman_after_h=True,
)

PK = Style(
    name="pk",
    example="1. Short title, extent …",
    # The Pakistan Code (and India Code) consolidations: "26. Spoofing" alone on its line, the body on
    # the next lines; inserted sections "2A.", "22B.". A title never ends a sentence, which keeps a
    # numbered sentence in a body from reading as a heading.
    article=re.compile(r"^(?P<num>\d+[A-Z]*)\.[ \t]+(?P<title>[A-Z][^\n]{0,200}?[^\n.;:\]—_])[ \t]*$", M),
    structural=(
        # "CHAPTER-1A" (the only chapter heading the consolidation keeps), "CHAPTER II".
        Structural(
            "chapter",
            re.compile(
                rf"^[ \t]*(?P<label>CHAPTER[ \t]*-?[ \t]*(?:{_ROMAN}|\d+[A-Z]*))\b" + _SAME_LINE_TITLE, M
            ),
        ),
    ),
    # Subsections "(1)", inserted "(1A)", at the start of a line, or right after the title of a section
    # printed inside another ("1[24A. Cyberbullying.__ (1) A person …"): the label context decides.
    clause=(LabelRule(re.compile(r"\((?P<label>\d+[A-Z]?)\)"), "arabic"),),
    # Clauses "(a)"; the roman items of the definitions, "(i)", "(iiia)", stay inside.
    point=(LabelRule(re.compile(r"\((?P<label>[a-z])\)"), "alpha"),),
    label_context=_LINE_START,
    roman_after_h=True,
    inserted_article=(
        # "1[26A, Punishment for false and fake information.—Whoever …]": the footnote number of the
        # amending Act, "[", the section number, "." (once ","), the title, then "—" or "__".
        re.compile(
            r"^[ \t]*\d{1,2}\[(?P<num>\d+[A-Z]*)[.,][ \t]*(?P<title>[A-Z][^\n]{0,200}?)\.?[ \t]*(?:_{2,}|—)",
            M,
        ),
        # "(2S) Handling of complaints by social media platforms.__ The social media …": the number in
        # brackets like a subsection, told apart by its title closed with "__".
        re.compile(r"^[ \t]*\((?P<num>\d+[A-Z]+)\)[ \t]+(?P<title>[A-Z][^\n_]{0,200}?)[.,]?[ \t]*_{2,}", M),
    ),
)

STYLES: dict[str, Style] = {s.name: s for s in (VN, VN_EN, TREATY, SG, US, PH, PK)}

# An article kept only as a heading because it was repealed ("Điều 292. (bị bãi bỏ)", "§ 2385.
# Repealed."): its empty body is the law's, not a segmentation fault.
REPEALED = re.compile(r"bãi bỏ|\brepealed\b|\bomitted\b", re.IGNORECASE)

# A line before the first article that reads like an article heading of some style but was not taken
# as one ("ĐIỀU 1." in capitals, "Dieu 1" without its diacritics, "Art. 1"): the segmenter warns, since
# the article it starts would otherwise sit unseen in the front matter.
LOOKS_LIKE_ARTICLE = re.compile(
    r"^[ \t]*(?:Điều|ĐIỀU|Dieu|DIEU|Article|ARTICLE|Art\.|Section|SECTION|Sec\.|SEC\.|§)[ \t]*\d+[A-Za-z]?\b",
    M,
)

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


# ================================================================ penalties
# How each drafting style writes the punishment of an offence. The extractor
# (:mod:`pipeline.penalties`) looks only inside *penalty sentences*: from a phrase that imposes a
# punishment ("thì bị phạt", "shall be punished", "shall be liable", "shall suffer") to the end of the
# sentence; outside them a term of years describes something else (the classification of offences in
# Penal Code Art 9, the Budapest Convention's extradition threshold in Art 24, a sum gained).
# Inside a sentence the forms are tried in order and a span taken by one form is not read again, so
# the non-custodial forms ("cải tạo không giam giữ đến 03 năm", bans "từ 01 năm đến 05 năm") come
# before the custodial ones.

PENALTY_KINDS = (
    "custodial",
    "life",
    "death",
    "fine",
    "non_custodial",
    "ban",
    "corporal",
    "warning",
    "relative",
)
# Deprivation of liberty in the sense of the UN Convention against Cybercrime Art 2(h) and the
# Budapest Convention Art 24: prison terms, life imprisonment, and death as "a more serious penalty".
CUSTODIAL_KINDS = ("custodial", "life", "death")


@dataclass(frozen=True)
class PenaltyForm:
    """One way of writing one kind of penalty.

    Named groups: ``lo``/``lo_unit`` (minimum term), ``hi``/``hi_unit`` (maximum term), ``amount``
    and ``amount_hi`` (fines, with ``mult`` for "million"); a unit group may be missing when the
    other end's unit applies ("từ 05 năm đến 12 năm" has both, "from 05 to 12 years" only ``hi_unit``).
    """

    kind: str
    pattern: re.Pattern[str]
    case: str  # the legal case the form covers


@dataclass(frozen=True)
class PenaltyStyle:
    """Everything the penalty extractor needs to know about one drafting style."""

    name: str
    # Where a punishment is imposed; the penalty sentence runs from here to ``sentence_end``.
    trigger: re.Pattern[str]
    sentence_end: re.Pattern[str]
    forms: tuple[PenaltyForm, ...]
    # Text inside a penalty sentence that names another offence's penalty, not this one's
    # ("abets … an offence punishable with death or imprisonment for life").
    not_penalty: re.Pattern[str] | None = None
    # Where the provisions stop and illustrations begin (they repeat penalties for imagined facts).
    stop: re.Pattern[str] | None = None
    units: tuple[tuple[str, float], ...] = ()  # unit word (lower case) → years


_EN_NUMBER_WORDS = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
]  # fmt: skip
# Number words of English drafting ("imprisoned not more than five years", "may extend to one year").
NUMBER_WORDS: dict[str, float] = {w: float(i) for i, w in enumerate(_EN_NUMBER_WORDS, 1)} | {
    "thirty": 30.0,
    "forty": 40.0,
    "fifty": 50.0,
    "ninety": 90.0,
}
_NUM = r"(?:\d+(?:[.,]\d+)?|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_EN_UNIT = r"(?:years?|months?|weeks?|days?)"
_VI_UNIT = r"(?:năm|tháng|ngày)"
_EN_UNITS = (("year", 1.0), ("years", 1.0), ("month", 1 / 12), ("months", 1 / 12), ("week", 7 / 365),
             ("weeks", 7 / 365), ("day", 1 / 365), ("days", 1 / 365))  # fmt: skip
_VI_UNITS = (("năm", 1.0), ("tháng", 1 / 12), ("ngày", 1 / 365))
_I = re.IGNORECASE

PENALTIES_VN = PenaltyStyle(
    name="vn",
    # "thì bị phạt tù …", "thì bị phạt như sau:", "Người phạm tội còn có thể bị phạt tiền …". A bare
    # "bị phạt" is a condition in the general part ("trường hợp bị phạt tù chung thân", Art 66; "bị
    # xử phạt tử hình", Art 39; "đã bị xử phạt vi phạm hành chính"), not a penalty.
    trigger=re.compile(r"\bthì\s+bị\s+phạt\b|\bcòn\s+(?:có\s+thể\s+)?bị\s+(?:phạt|cấm|tước)\b", _I),
    sentence_end=re.compile(r"[.;:](?!\d)|\n"),
    forms=(
        # Non-custodial reform is not deprivation of liberty (Penal Code Art 36).
        PenaltyForm(
            "non_custodial",
            re.compile(
                rf"cải\s+tạo\s+không\s+giam\s+giữ(?:\s+từ\s+(?P<lo>{_NUM})\s+(?P<lo_unit>{_VI_UNIT}))?"
                rf"(?:\s+đến\s+(?P<hi>{_NUM})\s+(?P<hi_unit>{_VI_UNIT}))?",
                _I,
            ),
            "phạt cải tạo không giam giữ đến 03 năm",
        ),
        # Bans from office or a trade, residence bans and probation (Arts 41–43) run for years too.
        PenaltyForm(
            "ban",
            re.compile(
                rf"(?:cấm\s+(?:đảm\s+nhiệm|hành\s+nghề|kinh\s+doanh|cư\s+trú|hoạt\s+động|huy\s+động)|quản\s+chế)"
                rf"[^.;:]*?(?:từ\s+(?P<lo>{_NUM})\s+(?P<lo_unit>{_VI_UNIT})\s+)?đến\s+(?P<hi>{_NUM})\s+"
                rf"(?P<hi_unit>{_VI_UNIT})",
                _I,
            ),
            "cấm đảm nhiệm chức vụ, cấm hành nghề … từ 01 năm đến 05 năm",
        ),
        # "phạt tiền từ 30.000.000 đồng đến 200.000.000 đồng" (dots group thousands).
        PenaltyForm(
            "fine",
            re.compile(
                r"phạt\s+tiền(?:\s+từ\s+(?P<amount>\d[\d.]*)\s+đồng)?(?:\s+đến\s+(?P<amount_hi>\d[\d.]*)\s+đồng)?",
                _I,
            ),
            "phạt tiền từ 30.000.000 đồng đến 200.000.000 đồng",
        ),
        PenaltyForm("life", re.compile(r"tù\s+chung\s+thân", _I), "tù chung thân"),
        PenaltyForm("death", re.compile(r"tử\s+hình", _I), "tử hình"),
        # "phạt tù từ 06 tháng đến 03 năm", "từ trên 07 năm đến 15 năm" (more than 7 years).
        PenaltyForm(
            "custodial",
            re.compile(
                rf"tù\s+(?:có\s+thời\s+hạn\s+)?từ\s+(?:trên\s+)?(?P<lo>{_NUM})\s+(?P<lo_unit>{_VI_UNIT})\s+"
                rf"đến\s+(?:dưới\s+)?(?P<hi>{_NUM})\s+(?P<hi_unit>{_VI_UNIT})",
                _I,
            ),
            "phạt tù từ 06 tháng đến 03 năm",
        ),
        # "phạt tù đến 01 năm", "phạt tù không quá 03 năm".
        PenaltyForm(
            "custodial",
            re.compile(
                rf"tù\s+(?:có\s+thời\s+hạn\s+)?(?:đến|không\s+quá)\s+(?P<hi>{_NUM})\s+(?P<hi_unit>{_VI_UNIT})",
                _I,
            ),
            "phạt tù đến 01 năm",
        ),
        # A fixed term: "phạt tù 20 năm, tù chung thân hoặc tử hình".
        PenaltyForm(
            "custodial",
            re.compile(rf"tù\s+(?P<hi>{_NUM})\s+(?P<hi_unit>{_VI_UNIT})", _I),
            "phạt tù 20 năm",
        ),
        PenaltyForm("warning", re.compile(r"cảnh\s+cáo", _I), "phạt cảnh cáo"),
        PenaltyForm("ban", re.compile(r"trục\s+xuất", _I), "trục xuất (expulsion)"),
    ),
    units=_VI_UNITS,
)

# Forms shared by English drafting (Singapore, US Code, translations of Vietnamese law).
_EN_LIFE = PenaltyForm(
    "life",
    re.compile(r"imprisonment\s+for\s+life|life\s+imprisonment|imprisoned\s+for\s+life|or\s+for\s+life", _I),
    "imprisonment for life; imprisoned for any term of years or for life",
)
_EN_DEATH = PenaltyForm(
    "death",
    re.compile(
        r"(?:(?:punish(?:ed|able)|sentenced)\s+with|suffer|liable\s+to|sentenced\s+to|penalty\s+of)\s+death\b"
        r"(?!\s+of)|death\s+(?:penalty|sentence)|(?<=\bwith\s)death(?=,?\s+or\b)",
        _I,
    ),
    "shall be punished with death; shall suffer death; the death penalty",
)
_EN_FINE = PenaltyForm(
    "fine",
    re.compile(
        r"\bfine(?:d)?\b(?:\s+(?:not\s+exceeding|which\s+may\s+extend\s+to|of\s+up\s+to|from)\s+"
        r"(?:VND\s+|\$|S\$)?(?P<amount>\d[\d,.]*)(?:\s+(?P<mult>million))?"
        r"(?:\s+to\s+(?:VND\s+|\$)?(?P<amount_hi>\d[\d,.]*))?)?",
        _I,
    ),
    "a fine not exceeding $5,000; fined under this title; a fine from VND 30,000,000 to VND 200,000,000",
)
_EN_CORPORAL = PenaltyForm("corporal", re.compile(r"\bcaning\b", _I), "caning (Singapore)")
# "one-fourth part of the longest term provided for that offence", "twice the maximum term",
# "the punishment provided for the offence": a penalty set by another provision, not a term here.
_EN_RELATIVE = PenaltyForm(
    "relative",
    re.compile(
        r"(?:one[‑-](?:fourth|half)|half|twice|double)\s+(?:part\s+)?of\s+the\s+(?:longest|maximum)\s+term"
        r"|twice\s+the\s+maximum|(?:the\s+)?(?:same\s+)?punishment\s+(?:as\s+is\s+)?provided\s+for\s+(?:the|that)\s+offence",
        _I,
    ),
    "one-fourth part of the longest term provided for that offence",
)
_EN_TERM_MAX = PenaltyForm(
    "custodial",
    re.compile(
        rf"imprison(?:ment|ed)(?:\s+of\s+either\s+description)?(?:\s+for)?(?:\s+a)?(?:\s+term)?"
        rf"(?:\s+(?:which|that)\s+may\s+extend\s+to|\s+(?:of\s+)?not\s+(?:exceeding|more\s+than)|\s+of\s+up\s+to|\s+up\s+to)"
        rf"\s+(?P<hi>{_NUM})\s+(?P<hi_unit>{_EN_UNIT})",
        _I,
    ),
    "imprisonment for a term which may extend to 10 years; not exceeding 5 years; imprisoned not more "
    "than five years",
)
_EN_TERM_RANGE = PenaltyForm(
    "custodial",
    re.compile(
        rf"imprison(?:ment|ed)\s+for\s+a\s+term\s+of\s+not\s+less\s+than\s+(?P<lo>{_NUM})(?:\s+(?P<lo_unit>{_EN_UNIT}))?"
        rf"\s+and\s+not\s+more\s+than\s+(?P<hi>{_NUM})\s+(?P<hi_unit>{_EN_UNIT})",
        _I,
    ),
    "imprisonment for a term of not less than 5 years and not more than 20 years",
)
# "or for a term which may extend to 20 years" after "imprisonment for life".
_EN_TERM_BARE = PenaltyForm(
    "custodial",
    re.compile(
        rf"(?<=\bor\s)(?:with\s+)?(?:for\s+)?(?:a\s+)?term\s+(?:which|that)\s+may\s+extend\s+to\s+(?P<hi>{_NUM})\s+"
        rf"(?P<hi_unit>{_EN_UNIT})",
        _I,
    ),
    "imprisonment for life, or for a term which may extend to 20 years",
)
# A minimum only: "shall be imprisoned not less than five years" (18 U.S.C. § 2381).
_EN_TERM_MIN = PenaltyForm(
    "custodial",
    re.compile(
        rf"imprison(?:ment|ed)(?:\s+for)?(?:\s+a\s+term\s+of)?\s+not\s+less\s+than\s+(?P<lo>{_NUM})\s+(?P<lo_unit>{_EN_UNIT})",
        _I,
    ),
    "shall be imprisoned not less than five years",
)
_EN_TRIGGER = re.compile(
    r"\b(?:shall|may|must|is|are|be|will)\s+(?:also\s+|each\s+)?(?:be\s+)?"
    r"(?:liable|punished|punishable|sentenced|imprisoned|fined|subject\s+to)\b|\bshall\s+suffer\b|"
    r"\b(?:be|is)\s+guilty\s+of\s+an\s+offence\s+and\s+shall\b|"
    # 18 U.S.C. § 1030(c): "The punishment for an offense under subsection (a) … is— (1)(A) a fine …".
    r"\bpunishment\s+for\s+an\s+offen[cs]e\b",
    _I,
)
_EN_NOT_PENALTY = re.compile(
    r"\boffences?\s+(?:which\s+is\s+|that\s+is\s+|which\s+are\s+)?punishable\s+(?:with|by)\s+[^,;.]*?"
    r"(?=,|;|\.|\s+shall\b|$)",
    _I,
)

PENALTIES_SG = PenaltyStyle(
    name="sg",
    trigger=_EN_TRIGGER,
    sentence_end=re.compile(r"\.(?=\s|$)|;|\n"),
    forms=(
        _EN_RELATIVE,
        _EN_CORPORAL,
        _EN_LIFE,
        _EN_DEATH,
        _EN_TERM_RANGE,
        _EN_TERM_MAX,
        _EN_TERM_BARE,
        _EN_TERM_MIN,
        _EN_FINE,
    ),  # fmt: skip
    not_penalty=_EN_NOT_PENALTY,
    stop=re.compile(r"(?<=[.;:\]] )(?:Illustrations?|Examples?|Explanation)\b"),
    units=_EN_UNITS,
)

PENALTIES_US = PenaltyStyle(
    name="us",
    trigger=_EN_TRIGGER,
    # The US Code runs a whole penalty scale as one sentence of ";"-separated paragraphs.
    sentence_end=re.compile(r"\.(?=\s|$)"),
    forms=(_EN_LIFE, _EN_DEATH, _EN_TERM_RANGE, _EN_TERM_MAX, _EN_TERM_MIN, _EN_FINE),
    not_penalty=_EN_NOT_PENALTY,
    units=_EN_UNITS,
)

PENALTIES_VN_EN = PenaltyStyle(
    name="vn-en",
    trigger=_EN_TRIGGER,
    sentence_end=re.compile(r"[.;:](?!\d)|\n"),
    forms=(
        PenaltyForm(
            "non_custodial",
            re.compile(
                rf"non[‑-]custodial\s+reform(?:\s+(?:for\s+)?(?:up\s+to|from\s+(?P<lo>{_NUM})(?:\s+(?P<lo_unit>{_EN_UNIT}))?\s+to)"
                rf"\s+(?P<hi>{_NUM})\s+(?P<hi_unit>{_EN_UNIT}))?",
                _I,
            ),
            "non-custodial reform for up to 03 years",
        ),
        PenaltyForm(
            "ban",
            re.compile(
                rf"(?:banned|prohibited|probation|residence\s+ban)[^.;:]*?(?:from\s+(?P<lo>{_NUM})\s+to|up\s+to)"
                rf"\s+(?P<hi>{_NUM})\s+(?P<hi_unit>{_EN_UNIT})",
                _I,
            ),
            "banned from holding certain positions from 01 to 05 years",
        ),
        _EN_FINE,
        _EN_LIFE,
        _EN_DEATH,
        # "imprisonment from 06 months to 03 years", "imprisonment from 05 to 12 years".
        PenaltyForm(
            "custodial",
            re.compile(
                rf"imprisonment\s+(?:for\s+)?from\s+(?:over\s+|more\s+than\s+)?(?P<lo>{_NUM})(?:\s+(?P<lo_unit>{_EN_UNIT}))?"
                rf"\s+to\s+(?:under\s+)?(?P<hi>{_NUM})\s+(?P<hi_unit>{_EN_UNIT})",
                _I,
            ),
            "imprisonment from 06 months to 03 years",
        ),
        _EN_TERM_MAX,
        # "20 years' imprisonment".
        PenaltyForm(
            "custodial",
            re.compile(rf"(?P<hi>{_NUM})\s+(?P<hi_unit>{_EN_UNIT})[’']?\s+(?:of\s+)?imprisonment", _I),
            "20 years' imprisonment",
        ),
        PenaltyForm("warning", re.compile(r"\bwarning\b", _I), "a warning"),
        PenaltyForm("ban", re.compile(r"\bexpulsion\b", _I), "expulsion"),
    ),
    units=_EN_UNITS,
)

# Treaties oblige States to criminalise; they set no penalty of their own. A treaty's "deprivation of
# liberty for a maximum period of at least one year" (Budapest Art 24) is a threshold, not a penalty.
PENALTIES_TREATY = PenaltyStyle(
    name="treaty", trigger=re.compile(r"(?!x)x"), sentence_end=re.compile(r"\."), forms=()
)

PENALTY_STYLES: dict[str, PenaltyStyle] = {
    s.name: s for s in (PENALTIES_VN, PENALTIES_VN_EN, PENALTIES_SG, PENALTIES_US, PENALTIES_TREATY)
}


# ================================================================ cross-references
# How each drafting style cites a provision. A *component* is a level word with a list of labels
# ("khoản 1, 2 và 3", "sections 375 to 377B", "subsection (2)", "Điều này"); components joined by
# ``joiner`` form one citation ("điểm a khoản 1 Điều 5", "paragraph (a) of subsection (1)",
# "Article 22, paragraph 2"); a law named after it ("của Luật này", "of the Computer Misuse Act 1993")
# says where it points. The resolver is :mod:`pipeline.references`.


@dataclass(frozen=True)
class RefLevel:
    """One level of citation: its words and how one label of it is printed."""

    level: str  # "article" | "clause" | "point"
    words: str  # regex of the level word, singular and plural
    label: str  # regex of one label (no groups)


@dataclass(frozen=True)
class ReferenceStyle:
    """Everything the reference extractor needs to know about one drafting style."""

    name: str
    levels: tuple[RefLevel, ...]
    list_sep: str  # between labels of one list ("," "và" "and" "or")
    range_sep: str  # between the ends of a range ("đến" "to" "through")
    this: str  # the unit the citation stands in ("Điều này", "this section")
    this_before: bool  # "this section" (True) or "Điều này" (False)
    joiner: str  # between components of one citation
    # Bracketed labels run on after an article label ("section 8(1)(a)", "§ 1030(a)(2)"): the
    # levels they stand for, in order.
    bracket_levels: tuple[str, ...]
    self_law: re.Pattern[str]  # the citing law itself, right after a citation
    law_tail: re.Pattern[str]  # group "law": another law named right after a citation
    law_mention: re.Pattern[str]  # group "law": a law named anywhere (standalone mentions)
    law_stop: re.Pattern[str]  # where the name of a law the corpus does not hold ends
    # An article not in the citing document is looked for in the other documents of its style
    # (18 U.S.C. sections cite each other "of this title" across the corpus's US Code files).
    scope_style: bool = False
    # Citations run from the smallest unit to the article ("điểm a khoản 1 Điều 5"): a group ends
    # at its article, and units listed after the last article are that article's ("Điều 146, các
    # khoản 2 và 3").
    little_endian: bool = False


_VI_CAP = "A-ZĐÂĂÊÔƠƯÁÀẢÃẠẤẦẨẪẬẮẰẲẴẶÉÈẺẼẸẾỀỂỄỆÍÌỈĨỊÓÒỎÕỌỐỒỔỖỘỚỜỞỠỢÚÙỦŨỤỨỪỬỮỰÝỲỶỸỴ"
_VN_LAW = r"(?:Bộ\s+luật|Luật|Nghị\s+định|Pháp\s+lệnh|Hiến\s+pháp|Nghị\s+quyết)"

REFERENCES_VN = ReferenceStyle(
    name="vn",
    levels=(
        RefLevel("article", r"[Đđ]iều", r"\d+[a-zđ]?(?![\w/])"),
        RefLevel("clause", r"[Kk]hoản", r"\d+[a-z]?(?![\w/.,]\d)(?![\w/])"),
        # "điểm yếu" (a weakness) is not point y: a point label is one letter standing alone.
        RefLevel("point", r"[Đđ]iểm", r"[a-zđ](?![\w])"),
    ),
    list_sep=r"\s*,\s*(?:và\s+|hoặc\s+)?|\s+(?:và|hoặc)\s+",
    range_sep=r"\s+đến\s+",
    this=r"này",
    this_before=False,
    # "Điều 146, các khoản 2 và 3": the clauses listed after their article.
    joiner=r"\s*,?\s+(?:các\s+)?",
    bracket_levels=(),
    self_law=re.compile(rf"^\s*,?\s*(?:của\s+)?{_VN_LAW}\s+này\b"),
    law_tail=re.compile(
        rf"^\s*,?\s*(?:của\s+|thuộc\s+)?(?P<law>{_VN_LAW}\s+(?:số\s+)?[{_VI_CAP}0-9][^\n,.;:()]*)"
    ),
    law_mention=re.compile(rf"(?<!\w)(?P<law>{_VN_LAW}\s+(?:số\s+)?[{_VI_CAP}0-9][^\n,.;:()]*)"),
    # A Vietnamese law's name runs to the next function word or date ("Luật Xử lý vi phạm hành chính
    # và …", "Luật số 12/2017/QH14 sửa đổi …").
    law_stop=re.compile(
        r"\s+(?:và|hoặc|thì|có|được|đã|để|theo|của|về|khi|mà|do|đối|trong|tại|từ|năm|ngày|sửa|quy|này|"
        r"phải|không|là|với|cho|bị|hết|trừ)\b|\s+\d{1,3}\s|\s*[\n,.;:()]"
    ),
    little_endian=True,
)

# "the Law on Network Information Security", "the Penal Code", "Decree No. 72/2013/ND-CP".
_VN_EN_LAW = (
    r"(?!(?:This|The|Any|Under|In|For)\s)(?:[A-Z][\w’'-]*\s+){0,3}(?:Law|Code|Decree|Ordinance|Constitution)"
    r"(?:\s+(?:on|of)\s+(?:the\s+)?[A-Z][\w’'-]*(?:\s+(?:and\s+)?[A-Z][\w’'-]*)*)?(?:\s+No\.\s*[\w/-]+)?"
)

REFERENCES_VN_EN = ReferenceStyle(
    name="vn-en",
    levels=(
        RefLevel("article", r"[Aa]rticles?", r"\d+[a-zđ]?(?![\w/])"),
        RefLevel("clause", r"[Cc]lauses?", r"\d+[a-z]?(?![\w/])"),
        RefLevel("point", r"[Pp]oints?", r"[a-zđ](?![\w])"),
    ),
    list_sep=r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+",
    range_sep=r"\s+(?:to|through)\s+",
    this=r"this",
    this_before=True,
    joiner=r"\s*,?\s+(?:of\s+)?",
    bracket_levels=(),
    self_law=re.compile(r"^\s*,?\s*of\s+this\s+(?:Law|Code|Decree)\b"),
    law_tail=re.compile(rf"^\s*,?\s*of\s+(?:the\s+)?(?P<law>{_VN_EN_LAW})"),
    law_mention=re.compile(rf"(?<![\w])(?:the\s+)?(?P<law>{_VN_EN_LAW})"),
    # Translated names are in title case: the name ends at the first lower-case word but "on", "of", "and".
    law_stop=re.compile(r"\s+(?!(?:on|of|and)\b)(?=[a-z])|\s*[\n,.;:()]"),
    little_endian=True,
)

# A sentence's first word is not part of a law's name ("Despite the Criminal Procedure Code 2010").
_EN_LAW_NAME = (
    r"(?!(?:Despite|Under|This|The|In|Subject|Notwithstanding|Where|If|An?|For|See|Nothing|Any)\s)"
    # "Protection from Online Falsehoods and Manipulation Act 2019", "Maintenance of Religious Harmony Act".
    r"(?:\(?[A-Z][\w’'()-]*\s+(?:(?:of|and|on|for|the|to|from|against|in|with)\s+)*){0,8}"
    r"(?:Act|Code|Convention|Protocol|Covenant|Ordinance|Constitution|Charter|Declaration)(?:\s+\d{4})?"
)

REFERENCES_SG = ReferenceStyle(
    name="sg",
    levels=(
        RefLevel("article", r"[Ss]ections?|ss?\.", r"\d+[A-Z]*(?![\w])"),
        RefLevel("clause", r"[Ss]ubsections?", r"\(\d+[A-Z]*\)"),
        RefLevel("point", r"(?:[Ss]ub-?)?[Pp]aragraphs?", r"\([a-z]{1,2}\)"),
    ),
    list_sep=r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+",
    range_sep=r"\s+(?:to|through)\s+",
    this=r"this",
    this_before=True,
    joiner=r"\s+of\s+|\s*,\s+",
    bracket_levels=("clause", "point"),
    self_law=re.compile(r"^\s*,?\s*(?:of|under|in)\s+this\s+(?:Act|Code)\b"),
    law_tail=re.compile(rf"^\s*,?\s*(?:of|under|in)\s+(?:the\s+)?(?P<law>{_EN_LAW_NAME})"),
    law_mention=re.compile(rf"(?<![\w])(?:the\s+)?(?P<law>{_EN_LAW_NAME})"),
    law_stop=re.compile(r"(?<=\d{4})|\s*[\n,.;:]"),
)

REFERENCES_US = ReferenceStyle(
    name="us",
    levels=(
        RefLevel("article", r"[Ss]ections?|§§?", r"\d+[a-z]*(?![\w])"),
        RefLevel("clause", r"[Ss]ubsections?", r"\([a-z]{1,2}\)"),
        RefLevel("point", r"[Pp]aragraphs?", r"\(\d+[A-Z]?\)"),
    ),
    list_sep=r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+",
    range_sep=r"\s+(?:to|through)\s+",
    this=r"this",
    this_before=True,
    joiner=r"\s+of\s+|\s*,\s+",
    bracket_levels=("clause", "point"),
    self_law=re.compile(r"^\s*,?\s*of\s+this\s+(?:title|chapter)\b"),
    law_tail=re.compile(
        rf"^\s*,?\s*of\s+(?:the\s+)?(?P<law>{_EN_LAW_NAME}|title\s+\d+(?:,\s+United\s+States\s+Code)?)"
    ),
    law_mention=re.compile(rf"(?<![\w])(?:the\s+)?(?P<law>{_EN_LAW_NAME})"),
    law_stop=re.compile(r"(?<=\d{4})|\s*[\n,.;:]"),
    scope_style=True,
)

REFERENCES_TREATY = ReferenceStyle(
    name="treaty",
    levels=(
        RefLevel("article", r"[Aa]rticles?", r"\d+(?:\s+bis)?(?![\w])"),
        RefLevel("clause", r"[Pp]aragraphs?", r"\d+(?![\w])"),
        RefLevel("point", r"(?:[Ss]ub-?)?[Pp]aragraphs?|[Ll]itt(?:era|\.)", r"\(?[a-z]\)?(?![\w])"),
    ),
    list_sep=r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+",
    range_sep=r"\s+(?:to|through)\s+",
    this=r"this",
    this_before=True,
    joiner=r"\s*,\s*|\s+of\s+|\s+",
    bracket_levels=(),
    self_law=re.compile(
        r"^\s*,?\s*(?:of|under|in|to)\s+(?:this|the\s+present)\s+(?:Convention|Protocol|Covenant|Declaration|Treaty)\b"
    ),
    law_tail=re.compile(rf"^\s*,?\s*(?:of|under|in|to)\s+(?:the\s+)?(?P<law>{_EN_LAW_NAME})"),
    # "the European Convention on Extradition", "the Rome Convention"; not "Contracting States to the
    # Convention" or "Parties to the Protocol", which name parties.
    law_mention=re.compile(
        r"(?<![\w])(?:the\s+)?(?P<law>(?!(?:Contracting|States?|Part(?:y|ies)|Section|Articles?|Chapter|High|Each|"
        r"Any|This|Covenant\s+and|[IVXLC]+)\b)(?:[A-Z][\w’'()-]*\s+(?:(?:of|and|on|for|the|to|against)\s+)*){1,8}"
        r"(?:Convention|Protocol|Covenant|Charter|Declaration)(?:\s+on\s+[A-Z]\w+)?)"
    ),
    law_stop=re.compile(r"\s*[\n,.;:]"),
)

REFERENCE_STYLES: dict[str, ReferenceStyle] = {
    s.name: s for s in (REFERENCES_VN, REFERENCES_VN_EN, REFERENCES_SG, REFERENCES_US, REFERENCES_TREATY)
}


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

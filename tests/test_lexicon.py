"""Tests for pipeline.lexicon and the bundled corpora/lexicon/lexicon.yaml."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import pytest
import yaml

from pipeline.lang import normalise
from pipeline.lexicon import Lexicon
from pipeline.schema import CATEGORIES
from pipeline.styles import get_style

ROOT = Path(__file__).resolve().parents[1]
LEXICON = ROOT / "corpora" / "lexicon" / "lexicon.yaml"
MANIFEST = ROOT / "corpora" / "manifest.yaml"


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return Lexicon.load(LEXICON)


# fmt: off
FINDS = [
    # text, lang, expected [(marker id, span text)]
    ("Người nào có hành vi nhằm chống Nhà nước Cộng hòa xã hội chủ nghĩa Việt Nam", "vi",
     [("aimed-at-opposing-the-state", "nhằm chống Nhà nước")]),
    ("Tuyên truyền chống Nhà nước trên không gian mạng", "vi",
     [("propaganda-against-the-state", "Tuyên truyền chống Nhà nước")]),
    ("có nội dung xuyên tạc, phỉ báng chính quyền nhân dân", "vi",
     [("distorting", "xuyên tạc"), ("defaming-the-peoples-government", "phỉ báng chính quyền nhân dân")]),
    ("Xuyên tạc lịch sử, phủ nhận thành tựu cách mạng", "vi",
     [("distorting-history", "Xuyên tạc lịch sử"),
      ("denying-revolutionary-achievements", "phủ nhận thành tựu cách mạng")]),
    ("lợi dụng các quyền tự do dân chủ xâm phạm lợi ích của Nhà nước", "vi",
     [("abusing-democratic-freedoms", "lợi dụng các quyền tự do dân chủ"),
      ("interests-of-the-state", "xâm phạm lợi ích của Nhà nước")]),
    ("xâm phạm trật tự, an toàn xã hội", "vi", [("social-order-and-safety", "trật tự, an toàn xã hội")]),
    ("gây phương hại đến trật tự an toàn xã hội", "vi",
     [("prejudicial-to", "gây phương hại"), ("social-order-and-safety", "trật tự an toàn xã hội")]),
    ("phá hoại thuần phong, mỹ tục của dân tộc", "vi",
     [("fine-customs-and-traditions", "thuần phong, mỹ tục")]),
    ("không phù hợp với thuần phong mỹ tục Việt Nam", "vi",
     [("fine-customs-and-traditions", "không phù hợp với thuần phong mỹ tục")]),
    ("đăng tải thông tin sai sự thật", "vi", [("false-information", "thông tin sai sự thật")]),
    ("bảo vệ an ninh quốc gia", "vi", [("national-security", "an ninh quốc gia")]),
    ("Hành vi khác vi phạm quy định của Luật này.", "vi",
     [("other-acts-violating-the-law", "Hành vi khác vi phạm quy định của Luật này")]),
    ("và các hành vi khác", "vi", [("other-acts", "các hành vi khác")]),
    ("trong trường hợp đặc biệt nghiêm trọng", "vi",
     [("penalty-scale-case", "trường hợp đặc biệt nghiêm trọng")]),
    ("gây hậu quả nghiêm trọng", "vi", [("serious-consequences", "hậu quả nghiêm trọng")]),
    ("gỡ bỏ thông tin khi có yêu cầu của lực lượng", "vi",
     [("takedown", "gỡ bỏ thông tin"), ("at-the-request-of-the-force", "khi có yêu cầu của")]),
    ("Kích động, lôi kéo người khác", "vi", [("incite", "Kích động")]),
    ("xúc phạm tôn giáo", "vi", [("offending-religion", "xúc phạm tôn giáo")]),
    ("ở ngoài lãnh thổ nước Cộng hòa xã hội chủ nghĩa Việt Nam", "vi",
     [("outside-vietnam", "ngoài lãnh thổ nước Cộng hòa xã hội chủ nghĩa Việt Nam")]),
    ("trong trường hợp cần thiết", "vi", [("when-necessary", "trường hợp cần thiết")]),
    # English
    ("Information with content of propaganda against the State of Vietnam", "en",
     [("propaganda-against-the-state", "propaganda against the State")]),
    ("with contents distorting or defaming the people's government", "en",
     [("distorting", "distorting"), ("defaming-the-peoples-government", "defaming the people's government")]),
    ("abusing democratic freedoms to infringe upon the interests of the State", "en",
     [("abusing-democratic-freedoms", "abusing democratic freedoms"),
      ("interests-of-the-state", "infringe upon the interests of the State")]),
    ("Distorting history, denying revolutionary achievements", "en",
     [("distorting-history", "Distorting history"),
      ("denying-revolutionary-achievements", "denying revolutionary achievements")]),
    ("adversely affecting security, social order and safety", "en",
     [("adverse-effect-on-social-order", "adversely affecting security, social order and safety")]),
    ("undermining the fine customs and traditions of the nation", "en",
     [("fine-customs-and-traditions", "fine customs and traditions")]),
    ("Other acts violating the provisions of this Law.", "en",
     [("other-acts-violating-the-law", "Other acts violating the provisions of this Law")]),
    ("investigation of a serious crime", "en", [("serious-crime", "serious crime")]),
    ("spreading false information", "en", [("false-information", "false information")]),
    ("a false statement of fact in or outside Singapore", "en",
     [("false-statement-of-fact", "false statement of fact"),
      ("outside-singapore", "in or outside Singapore")]),
    ("prejudicial to national security", "en",
     [("prejudicial-to", "prejudicial to"), ("national-security", "national security")]),
    ("the Minister is of the opinion that", "en", [("minister-opinion", "the Minister is of the opinion")]),
    ("issue a Disabling Direction", "en", [("pofma-directions", "Disabling Direction")]),
    ("likely to incite feelings of enmity", "en",
     [("incite", "incite"), ("feelings-of-enmity", "feelings of enmity")]),
    ("hatred or ill‑will between groups", "en", [("feelings-of-enmity", "ill‑will")]),
    ("it is necessary to do so", "en", [("when-necessary", "it is necessary to do so")]),
]

BOUNDARIES = [
    # a term never matches inside a longer word
    ("an ninh quốc giaxx", "vi", []),
    ("xan ninh quốc gia", "vi", []),
    ("the State Statement", "en", []),               # "State" alone is not a marker
    ("the national securityx", "en", []),
    ("incited", "en", []),                            # "incite" is not a prefix match
    ("thông tin trên mạng", "vi", []),                # plain "thông tin" is not a marker
    ("tôn giáo và tín ngưỡng", "vi", []),             # bare "tôn giáo" was pruned as noise
    ("Nhà nước", "vi", []),
    ("", "vi", []),
    ("", "en", []),
]

CASE_AND_SPACE = [
    ("AN NINH QUỐC GIA", "vi", "national-security"),
    ("An Ninh Quốc Gia", "vi", "national-security"),
    ("an  ninh\nquốc gia", "vi", "national-security"),       # whitespace-tolerant across a line break
    ("NATIONAL SECURITY", "en", "national-security"),
    ("Propaganda  Against\tthe State", "en", "propaganda-against-the-state"),
    ("TRẬT TỰ, AN TOÀN XÃ HỘI", "vi", "social-order-and-safety"),
]
# fmt: on


@pytest.mark.parametrize(("text", "lang", "expected"), FINDS + BOUNDARIES)
def test_find(lex: Lexicon, text: str, lang: str, expected: list[tuple[str, str]]) -> None:
    assert [(m.marker.id, m.text) for m in lex.find(text, lang)] == expected


@pytest.mark.parametrize(("text", "lang", "marker_id"), CASE_AND_SPACE)
def test_case_and_whitespace(lex: Lexicon, text: str, lang: str, marker_id: str) -> None:
    found = lex.find(text, lang)
    assert [m.marker.id for m in found] == [marker_id]
    assert found[0].text == text.strip()


@pytest.mark.parametrize(("text", "lang", "expected"), FINDS)
def test_spans_slice_back(lex: Lexicon, text: str, lang: str, expected: list[tuple[str, str]]) -> None:
    for m in lex.find(text, lang):
        assert text[m.start : m.end] == m.text
    for ev in lex.evidence(text, lang):
        assert text[ev.start : ev.end] == ev.text
        assert ev.source == "lexicon" and ev.category in CATEGORIES[ev.dimension]


@pytest.mark.parametrize(("text", "lang", "expected"), [f for f in FINDS if f[1] == "vi"])
def test_nfd_input_normalised_gives_same_matches(
    lex: Lexicon, text: str, lang: str, expected: list[tuple[str, str]]
) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    got = [(m.marker.id, m.start, m.end, m.text) for m in lex.find(normalise(nfd, lang), lang)]
    assert got == [(m.marker.id, m.start, m.end, m.text) for m in lex.find(text, lang)]


def test_scores_noisy_or(lex: Lexicon) -> None:
    s = lex.scores("Tuyên truyền chống Nhà nước, xâm phạm an ninh quốc gia", "vi")
    assert 0.95 <= s["speech_risk"] <= 1.0
    assert s["vagueness"] == 0.0
    assert lex.scores("", "en") == {"vagueness": 0.0, "speech_risk": 0.0}


def test_unknown_lang(lex: Lexicon) -> None:
    with pytest.raises(ValueError, match="lang"):
        lex.find("x", "fr")


GOOD = {"id": "m-ok", "dimension": "vagueness", "category": "undefined_term", "weight": 0.5, "en": ["x"]}

# fmt: off
MALFORMED = [
    # entries, what the error must name
    ([{**GOOD, "id": "m-cat", "category": "vague_stuff"}], "m-cat"),
    ([{**GOOD, "id": "m-dim", "dimension": "speech"}], "m-dim"),
    ([{**GOOD, "id": "m-w0", "weight": 0}], "m-w0"),
    ([{**GOOD, "id": "m-w2", "weight": 1.5}], "m-w2"),
    ([{**GOOD, "id": "m-wbool", "weight": True}], "m-wbool"),
    ([{**{k: v for k, v in GOOD.items() if k != "en"}, "id": "m-noterms"}], "m-noterms"),
    ([{**GOOD, "id": "m-empty", "en": [""]}], "m-empty"),
    ([{**GOOD, "id": "m-str", "en": "national security"}], "m-str"),
    ([{k: v for k, v in GOOD.items() if k != "weight"}], "m-ok"),
    ([GOOD, {**GOOD, "en": ["y"]}], "m-ok"),                        # duplicate id
    ([GOOD, {**GOOD, "id": "m-twice", "en": ["X"]}], "m-twice"),    # same term in two markers
]
# fmt: on


@pytest.mark.parametrize(("entries", "named"), MALFORMED)
def test_malformed_lexicon_raises_naming_marker(tmp_path: Path, entries: list[dict], named: str) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text(yaml.safe_dump({"markers": entries}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(named)):
        Lexicon.load(path)


def test_not_a_markers_list(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        Lexicon.load(path)


# ── the real lexicon against the bundled corpus ──────────────────────────────────────────────


@cache
def _articles(doc_id: str) -> tuple[str, dict[str, str]]:
    """(lang, {article number as printed: article text}) of a bundled document, cut by its style's
    article-heading regex (pipeline.styles); common-law marginal notes of the next section are dropped."""
    docs = {d["id"]: d for d in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["documents"]}
    d = docs[doc_id]
    text = normalise((ROOT / d["path"]).read_text(encoding="utf-8"), d["lang"])
    style = get_style(d["style"])
    heads = list(style.article.finditer(text))
    arts: dict[str, str] = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.start() : end]
        if style.heading_before:
            body = body.rstrip("\n").rsplit("\n", 1)[0]
        arts.setdefault(m.group("num"), body)
    return d["lang"], arts


def _markers() -> list:
    return Lexicon.load(LEXICON).markers


def test_real_lexicon_loads_and_is_sized(lex: Lexicon) -> None:
    assert 120 <= len(lex.markers) <= 200
    for cats in CATEGORIES.values():
        for cat in cats:
            ms = [m for m in lex.markers if m.category == cat]
            assert ms, f"no marker for category {cat}"


@pytest.mark.parametrize(
    "required",
    [
        "tuyên truyền chống Nhà nước", "propaganda against the State",
        "xuyên tạc lịch sử", "distorting history",
        "phỉ báng chính quyền nhân dân", "defaming the people's government",
        "lợi dụng các quyền tự do dân chủ", "abusing democratic freedoms",
        "an ninh quốc gia", "national security",
        "trật tự, an toàn xã hội", "social order and safety",
        "thuần phong mỹ tục", "fine customs and traditions",
        "các hành vi khác", "other acts", "serious crime",
        "thông tin sai sự thật", "false information",
    ],
)  # fmt: skip
def test_required_terms_present(lex: Lexicon, required: str) -> None:
    terms = {t.casefold() for m in lex.markers for ts in m.terms.values() for t in ts}
    assert required.casefold() in terms


def test_vietnamese_terms_are_nfc(lex: Lexicon) -> None:
    for m in lex.markers:
        for t in m.terms["vi"]:
            assert unicodedata.normalize("NFC", t) == t, (m.id, t)


@pytest.mark.parametrize("marker", _markers(), ids=lambda m: m.id)
def test_example_article_contains_a_term(lex: Lexicon, marker) -> None:
    m = re.fullmatch(r"(?P<doc>[a-z0-9-]+)/art-(?P<art>\w+)", marker.example or "")
    assert m, f"{marker.id}: example expected '<doc_id>/art-<n>', found {marker.example!r}"
    lang, arts = _articles(m["doc"])
    assert m["art"] in arts, f"{marker.id}: {marker.example} not found in the corpus"
    assert marker.terms[lang], f"{marker.id}: no {lang} terms for its {lang} example"
    found = {x.marker.id for x in lex.find(arts[m["art"]], lang)}
    assert marker.id in found, f"{marker.id}: none of its terms matches {marker.example}"

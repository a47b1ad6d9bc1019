"""The bilingual lexicon of vagueness and speech-risk markers, and its matcher.

The lexicon (corpora/lexicon/lexicon.yaml) gives evidence spans and weak labels; it never makes a
gold label. Matching is NFC, case-insensitive, whitespace-tolerant and word-boundary aware, and
returns character spans into the text it was given.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from pipeline.schema import CATEGORIES, DIMENSIONS, LANGS, Evidence


@dataclass(frozen=True)
class Marker:
    """One lexicon entry: a notion, its phrasings per language, and how much it weighs."""

    id: str
    dimension: str
    category: str
    weight: float
    terms: dict[str, tuple[str, ...]]
    example: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    text: str
    marker: Marker


class Lexicon:
    """Markers with one compiled pattern per language."""

    def __init__(self, markers: list[Marker]):
        self.markers = markers

    @classmethod
    def load(cls, path: str | Path) -> Lexicon:
        path = Path(path)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = data.get("markers") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected a top-level 'markers' list")
        markers, seen = [], set()
        owner: dict[tuple[str, str], str] = {}
        for i, e in enumerate(entries, 1):
            name = e.get("id", "?") if isinstance(e, dict) else e
            markers.append(_marker(e, f"{path}: marker {i} ({name})"))
            m = markers[-1]
            if m.id in seen:
                raise ValueError(f"{path}: duplicate marker id {m.id!r}")
            seen.add(m.id)
            # A term listed under two markers would silently go to the first one only.
            for lang, ts in m.terms.items():
                for t in ts:
                    other = owner.setdefault((lang, _key(t)), m.id)
                    if other != m.id:
                        raise ValueError(
                            f"{path}: marker {m.id!r}: {lang} term {t!r} is already in marker {other!r}"
                        )
        return cls(markers)

    @cached_property
    def _patterns(self) -> dict[str, tuple[re.Pattern[str], dict[str, Marker]]]:
        out = {}
        for lang in LANGS:
            by_term: dict[str, Marker] = {}
            for m in self.markers:
                for t in m.terms.get(lang, ()):
                    by_term.setdefault(_key(t), m)
            # Longest first, so "other acts that infringe" wins over "other acts".
            terms = sorted(by_term, key=len, reverse=True)
            alternation = "|".join(_term_regex(t) for t in terms) or r"(?!x)x"
            out[lang] = (re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE), by_term)
        return out

    def find(self, text: str, lang: str) -> list[Match]:
        """All non-overlapping marker occurrences in ``text`` (which should be NFC)."""
        if lang not in LANGS:
            raise ValueError(f"lexicon.find: lang expected one of {LANGS}, found {lang!r}")
        pattern, by_term = self._patterns[lang]
        found = []
        for mt in pattern.finditer(text):
            marker = by_term.get(_key(mt.group(0)))
            if marker is not None:
                found.append(Match(mt.start(), mt.end(), mt.group(0), marker))
        return found

    def evidence(self, text: str, lang: str) -> list[Evidence]:
        return [
            Evidence(m.start, m.end, m.text, m.marker.dimension, m.marker.category, "lexicon")
            for m in self.find(text, lang)
        ]

    def scores(self, text: str, lang: str) -> dict[str, float]:
        """Noisy-or of the weights of the distinct markers found, per dimension, in [0, 1]."""
        out = dict.fromkeys(DIMENSIONS, 0.0)
        seen: set[str] = set()
        for m in self.find(text, lang):
            if m.marker.id in seen:
                continue
            seen.add(m.marker.id)
            d = m.marker.dimension
            out[d] = 1.0 - (1.0 - out[d]) * (1.0 - m.marker.weight)
        return out


def _key(term: str) -> str:
    return " ".join(unicodedata.normalize("NFC", term).casefold().split())


def _term_regex(key: str) -> str:
    # Any run of whitespace in the text matches a space in the term (line breaks inside phrases).
    return r"\s+".join(re.escape(w) for w in key.split(" "))


def _marker(e: Any, where: str) -> Marker:
    if not isinstance(e, dict):
        raise ValueError(f"{where}: expected a mapping")
    for k in ("id", "dimension", "category", "weight"):
        if k not in e:
            raise ValueError(f"{where}: missing field {k!r}")
    if e["dimension"] not in DIMENSIONS:
        raise ValueError(f"{where}: dimension expected one of {DIMENSIONS}, found {e['dimension']!r}")
    if e["category"] not in CATEGORIES[e["dimension"]]:
        raise ValueError(
            f"{where}: category expected one of {CATEGORIES[e['dimension']]}, found {e['category']!r}"
        )
    w = e["weight"]
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w <= 1:
        raise ValueError(f"{where}: weight expected a number in (0, 1], found {w!r}")
    for lang in LANGS:
        # A bare string would be split into one-character terms.
        if e.get(lang) is not None and not isinstance(e[lang], list):
            raise ValueError(f"{where}: {lang} expected a list of terms, found {e[lang]!r}")
    terms = {lang: tuple(e.get(lang) or ()) for lang in LANGS}
    if not any(terms.values()):
        raise ValueError(f"{where}: expected at least one term under 'en' or 'vi'")
    for lang, ts in terms.items():
        for t in ts:
            if not isinstance(t, str) or not t.strip():
                raise ValueError(f"{where}: {lang} terms must be non-empty strings, found {t!r}")
    return Marker(
        str(e["id"]), e["dimension"], e["category"], float(w), terms, e.get("example"), e.get("note")
    )

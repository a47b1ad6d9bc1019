"""The project's record types and table schemas, declared once.

Every stage validates what it reads with :func:`validate_frame`; errors name the column, what was
expected and what was found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

LANGS = ("en", "vi")
LEVELS = ("article", "clause", "point")
KINDS = ("law", "code", "decree", "treaty", "constitution", "declaration", "statute")
DIMENSIONS = ("vagueness", "speech_risk")

# Evidence categories of the codebook (corpora/annotations/CODEBOOK.md), per dimension.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "vagueness": (
        "undefined_term",
        "evaluative_qualifier",
        "open_ended_list",
        "broad_purpose",
        "official_discretion",
        "extraterritorial_reach",
    ),
    "speech_risk": (
        "protected_state_interest",
        "false_information",
        "insult_defamation",
        "public_order_morality",
        "national_security",
        "political_expression",
        "content_control",
        "religion_belief",
        "incitement",
    ),
}
ALL_CATEGORIES = tuple(c for cats in CATEGORIES.values() for c in cats)


class SchemaError(ValueError):
    """A table or record does not have the shape a stage expects."""


@dataclass(frozen=True)
class Document:
    """One ingested document: manifest metadata plus its normalised (NFC) text."""

    doc_id: str
    lang: str
    title: str
    jurisdiction: str
    year: int
    kind: str
    official: bool
    licence: str
    redistribute_text: bool
    source: str
    path: str
    style: str
    text: str
    translation_of: str | None = None
    source_url: str | None = None

    @classmethod
    def from_text(cls, doc_id: str, lang: str, text: str, style: str, **meta: Any) -> Document:
        """A document with no manifest entry (a file given on the command line, a test, a benchmark).

        Metadata not given is neutral: untitled beyond its id, no jurisdiction, year 0, not official,
        no licence, so its text is not redistributed.
        """
        fields: dict[str, Any] = {
            "title": doc_id,
            "jurisdiction": "",
            "year": 0,
            "kind": "",
            "official": False,
            "licence": "",
            "redistribute_text": False,
            "source": "",
            "path": "",
        }
        fields.update(meta)
        return cls(doc_id=doc_id, lang=lang, style=style, text=text, **fields)


@dataclass(frozen=True)
class Provision:
    """One article, clause or point; ``doc_text[char_start:char_end] == text``."""

    provision_id: str
    doc_id: str
    lang: str
    level: str
    article: str
    clause: str | None
    point: str | None
    heading: str | None
    part: str | None
    chapter: str | None
    section: str | None
    text: str
    char_start: int
    char_end: int
    parent_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """A span of a provision's text that carries a score."""

    start: int
    end: int
    text: str
    dimension: str
    category: str
    source: str  # "lexicon", "model" or "gold"


@dataclass(frozen=True)
class GoldLabel:
    """One gold, article-level judgement made by reading the provision (a line of gold.jsonl).

    ``evidence`` holds spans {start, end, text, dimension, category} in the article's text; an
    adjudicated label keeps the annotator's ``first_pass`` levels, the ``adjudication`` reason and the
    ``adjudicator``. Read and checked by :func:`pipeline.inputs.read_gold`.
    """

    provision_id: str
    doc_id: str
    lang: str
    vagueness: int
    speech_risk: int
    rationale: str
    annotator: str
    date: str
    method: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    first_pass: dict[str, int] | None = None
    adjudication: str | None = None
    adjudicator: str | None = None
    # codebook version an adjudication applied, earlier adjudications of the same article, and for a
    # human review (method human_review) every earlier judgement, oldest first
    codebook: str | None = None
    earlier_adjudications: list[dict[str, Any]] | None = None
    history: list[dict[str, Any]] | None = None
    review_source: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


GOLD_REQUIRED = ("provision_id", "doc_id", "lang", *DIMENSIONS, "rationale", "annotator", "date", "method")
GOLD_METHODS = ("manual", "adjudicated", "human_review")


@dataclass(frozen=True)
class ManifestEntry:
    """One entry of corpora/manifest.yaml, checked by :func:`pipeline.manifest.read_manifest`.

    ``meta`` is the entry as written (without ``style``, the text decides: pipeline.detect); ``path``
    the local file, or ``url`` (and its pinned ``sha256``) a download; ``fmt`` the file format.
    """

    meta: dict[str, Any]
    path: Any  # pathlib.Path | None
    url: str | None
    sha256: str | None
    fmt: str

    @property
    def doc_id(self) -> str:
        return str(self.meta["id"])


MANIFEST_REQUIRED = (
    "id",
    "lang",
    "title",
    "jurisdiction",
    "year",
    "kind",
    "official",
    "licence",
    "redistribute_text",
)
FORMATS = ("txt", "md", "html", "pdf", "docx")


def provision_id(doc_id: str, article: str, clause: str | None = None, point: str | None = None) -> str:
    """Build the stable id ``<doc_id>/art-<n>[/cl-<k>[/pt-<p>]]`` from labels as printed."""
    pid = f"{doc_id}/art-{_id_part(article)}"
    if clause is not None:
        pid += f"/cl-{_id_part(clause)}"
    if point is not None:
        pid += f"/pt-{_id_part(point)}"
    return pid


def _id_part(label: str) -> str:
    # "(b)" and "b)" and "b." are all point b; "§ 1030" is article 1030.
    return label.strip().strip("()§.").strip()


EVIDENCE_TYPE = pa.list_(
    pa.struct(
        [
            ("start", pa.int32()),
            ("end", pa.int32()),
            ("text", pa.string()),
            ("dimension", pa.string()),
            ("category", pa.string()),
            ("source", pa.string()),
        ]
    )
)

DOCUMENTS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("lang", pa.string()),
        ("title", pa.string()),
        ("jurisdiction", pa.string()),
        ("year", pa.int32()),
        ("kind", pa.string()),
        ("official", pa.bool_()),
        ("licence", pa.string()),
        ("redistribute_text", pa.bool_()),
        ("source", pa.string()),
        ("path", pa.string()),
        ("style", pa.string()),
        ("text", pa.string()),
        ("translation_of", pa.string()),
        ("source_url", pa.string()),
    ]
)

PROVISIONS_SCHEMA = pa.schema(
    [
        ("provision_id", pa.string()),
        ("doc_id", pa.string()),
        ("lang", pa.string()),
        ("level", pa.string()),
        ("article", pa.string()),
        ("clause", pa.string()),
        ("point", pa.string()),
        ("heading", pa.string()),
        ("part", pa.string()),
        ("chapter", pa.string()),
        ("section", pa.string()),
        ("text", pa.string()),
        ("char_start", pa.int64()),
        ("char_end", pa.int64()),
        ("parent_id", pa.string()),
    ]
)

SCORE_COLUMNS = pa.schema(
    [
        ("vagueness", pa.float64()),
        ("speech_risk", pa.float64()),
        ("vagueness_level", pa.int8()),
        ("speech_risk_level", pa.int8()),
        ("vague_flag", pa.bool_()),
        ("speech_flag", pa.bool_()),
        ("evidence", EVIDENCE_TYPE),
        ("model_version", pa.string()),
    ]
)

SCORES_SCHEMA = pa.schema(list(PROVISIONS_SCHEMA) + list(SCORE_COLUMNS))
# Bulk corpora (pipeline.bulk): the score columns plus where a codified (Pháp điển) article comes from.
BULK_COLUMNS = [
    pa.field("source_law", pa.string()),  # the instrument, full name as first printed in the document
    pa.field("provenance", pa.string()),  # the provenance line as printed, without its parentheses
]
BULK_SCORES_SCHEMA = pa.schema(list(SCORES_SCHEMA) + BULK_COLUMNS)

ALIGNMENTS_SCHEMA = pa.schema(
    [
        ("vi_provision_id", pa.string()),
        ("en_provision_id", pa.string()),
        ("vi_doc_id", pa.string()),
        ("en_doc_id", pa.string()),
        ("article", pa.string()),
        ("level", pa.string()),
    ]
)


def validate_frame(df: Any, schema: pa.Schema, what: str) -> None:
    """Raise SchemaError naming the first column that is missing or of the wrong type."""
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    for f in schema:
        if f.name not in table.column_names:
            raise SchemaError(
                f"{what}: expected column {f.name!r} ({f.type}), found columns {table.column_names}"
            )
        found = table.schema.field(f.name).type
        if found != f.type and not (pa.types.is_null(found) or _compatible(found, f.type)):
            raise SchemaError(f"{what}: column {f.name!r} expected type {f.type}, found {found}")


def _compatible(found: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_integer(found) and pa.types.is_integer(expected):
        return True
    if pa.types.is_floating(found) and pa.types.is_floating(expected):
        return True
    if pa.types.is_string(found) or pa.types.is_large_string(found):
        return pa.types.is_string(expected) or pa.types.is_large_string(expected)
    return pa.types.is_list(found) and pa.types.is_list(expected)


def to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows of dicts → an Arrow table of exactly ``schema`` (missing keys become null)."""
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)


# A trained classifier directory (models/classifier): the encoder's own Hugging Face files
# (config.json, model.safetensors, tokenizer files) plus these, read by pipeline.inputs.read_model_dir.
MODEL_CONFIG_FILE = "overbroad.json"  # model_version, windowing, dimensions, lexicon features, params
MODEL_HEADS_FILE = "heads.safetensors"
MODEL_CALIBRATION_FILE = "calibration.json"  # temperature and flag threshold per dimension
MODEL_LEXICON_FILE = "lexicon.yaml"  # the lexicon the heads' lexicon features were trained with
MODEL_CARD_FILE = "README.md"
MODEL_FILES = (MODEL_CONFIG_FILE, MODEL_HEADS_FILE, MODEL_CALIBRATION_FILE, "config.json")


@dataclass(frozen=True)
class ModelDir:
    """What a classifier directory declares, checked: its version, windowing and calibration."""

    path: Any  # pathlib.Path
    model_version: str
    window: dict[str, Any]
    lexicon_features: list[str] | None
    temperature: dict[str, float]
    threshold: dict[str, float]
    params: dict[str, Any]
    # per language and dimension: a Platt or isotonic map and its threshold (the cv stage), or empty
    by_lang: dict[str, Any] = field(default_factory=dict)


# Every system's predictions on the gold dev and test articles (train writes, evaluate reads).
PREDICTIONS_SCHEMA = pa.schema(
    [
        ("setting", pa.string()),  # "in_language", or "<train_lang>-><test_lang>"
        ("system", pa.string()),  # model, lexicon, tfidf, frozen
        ("provision_id", pa.string()),
        ("doc_id", pa.string()),
        ("lang", pa.string()),
        ("split", pa.string()),
        ("dimension", pa.string()),
        ("prob", pa.float64()),  # calibrated P(level >= 2)
        ("level", pa.int8()),  # predicted level 0-3, -1 where the system predicts no level
        ("flag", pa.bool_()),
        ("threshold", pa.float64()),
        ("gold", pa.int8()),
    ]
)


# Penalties, cross-references and versions (link and versions stages; issue 12).
PENALTY_TYPE = pa.list_(
    pa.struct(
        [
            ("source_id", pa.string()),
            ("kind", pa.string()),
            ("min_years", pa.float64()),
            ("max_years", pa.float64()),
            ("amount_min", pa.float64()),
            ("amount_max", pa.float64()),
            ("text", pa.string()),
            ("start", pa.int32()),
            ("end", pa.int32()),
        ]
    )
)

PENALTIES_SCHEMA = pa.schema(
    [
        ("provision_id", pa.string()),
        ("doc_id", pa.string()),
        ("article", pa.string()),
        ("penalty_max", pa.string()),
        ("penalty_max_years", pa.float64()),
        ("penalty_min_years", pa.float64()),
        ("penalty_max_source", pa.string()),
        ("penalty_max_text", pa.string()),
        ("un_serious_crime", pa.bool_()),
        ("budapest_extraditable", pa.bool_()),
        ("penalty_kinds", pa.list_(pa.string())),
        ("relative_penalty", pa.bool_()),
        ("penalties", PENALTY_TYPE),
        ("reached_from", pa.list_(pa.string())),
        ("law_named_by", pa.list_(pa.string())),
    ]
)

REFERENCES_SCHEMA = pa.schema(
    [
        ("source_id", pa.string()),
        ("source_doc_id", pa.string()),
        ("target_id", pa.string()),
        ("target_doc_id", pa.string()),
        ("target_level", pa.string()),
        ("text", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("resolved", pa.bool_()),
        ("exact", pa.bool_()),
        ("law_text", pa.string()),
    ]
)

VERSIONS_SCHEMA = pa.schema(
    [
        ("old_doc_id", pa.string()),
        ("new_doc_id", pa.string()),
        ("article", pa.string()),
        ("old_id", pa.string()),
        ("new_id", pa.string()),
        ("status", pa.string()),
        ("changed_clauses", pa.list_(pa.string())),
        ("vagueness_old", pa.float64()),
        ("vagueness_new", pa.float64()),
        ("vagueness_delta", pa.float64()),
        ("speech_risk_old", pa.float64()),
        ("speech_risk_new", pa.float64()),
        ("speech_risk_delta", pa.float64()),
        ("speech_flag_old", pa.bool_()),
        ("speech_flag_new", pa.bool_()),
        ("penalty_max_old", pa.string()),
        ("penalty_max_new", pa.string()),
    ]
)

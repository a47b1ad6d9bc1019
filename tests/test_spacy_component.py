"""The spaCy component: doc._ scores and doc.spans["overbroad"], direct import and entry point."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
import spacy
from test_score import LEXICON_YAML

import pipeline.spacy_component  # noqa: F401  (registers the factory)


@pytest.fixture
def lexicon_path(tmp_path: Path) -> str:
    p = tmp_path / "lexicon.yaml"
    p.write_text(LEXICON_YAML, encoding="utf-8")
    return str(p)


def test_component_sets_scores_and_spans(lexicon_path: str) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "overbroad_scorer", config={"model": "lexicon", "lexicon": lexicon_path, "attribution": "none"}
    )
    doc = nlp(
        "Whoever spreads false information or propaganda against the State, causing serious consequences."
    )
    assert 0.0 <= doc._.vagueness <= 1.0 and doc._.speech_risk > 0.5
    labels = {s.label_ for s in doc.spans["overbroad"]}
    assert {
        "speech_risk:false_information",
        "speech_risk:political_expression",
        "vagueness:evaluative_qualifier",
    } <= labels
    assert any(s.text == "false information" for s in doc.spans["overbroad"])
    assert doc._.speech_flag is True and all(e["source"] == "lexicon" for e in doc._.evidence)


def test_component_expands_partial_tokens_and_pipes(lexicon_path: str) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "overbroad_scorer", config={"model": "lexicon", "lexicon": lexicon_path, "attribution": "occlusion"}
    )
    docs = list(nlp.pipe(["No marker here.", "It threatens social order-wide peace.", ""], batch_size=2))
    assert docs[0]._.speech_risk == 0.0 and len(docs[0].spans["overbroad"]) == 0
    # "order-wide" is one token or more; the span is expanded to whole tokens either way
    assert any("social order" in s.text for s in docs[1].spans["overbroad"])
    assert docs[2]._.vagueness == 0.0


def test_component_on_vietnamese(lexicon_path: str) -> None:
    nlp = spacy.blank("vi", config={"nlp": {"tokenizer": {"use_pyvi": False}}})
    nlp.add_pipe("overbroad_scorer", config={"model": "lexicon", "lexicon": lexicon_path})
    doc = nlp("Nghiêm cấm tuyên truyền chống Nhà nước và đưa thông tin sai sự thật.")
    assert doc._.speech_risk > 0.5
    assert {s.label_ for s in doc.spans["overbroad"]} == {
        "speech_risk:political_expression",
        "speech_risk:false_information",
    }


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    with pytest.raises((FileNotFoundError, ModuleNotFoundError, RuntimeError)):
        nlp.add_pipe("overbroad_scorer", config={"model": str(tmp_path / "nothing"), "lexicon": None})


def test_entry_point_is_registered() -> None:
    # `pip install -e .` (make install) registers it; a missing entry point is a broken install
    eps = [e for e in entry_points(group="spacy_factories") if e.name == "overbroad_scorer"]
    assert len(eps) == 1
    assert eps[0].value == "pipeline.spacy_component:make_overbroad_scorer"
    assert eps[0].load() is pipeline.spacy_component.make_overbroad_scorer

"""pipeline.nn.classifier: save/load round trip, scoring, lexicon features saved with the heads,
the model-directory reader."""

from __future__ import annotations

import pytest
import torch
from tiny import tiny_random_base

from pipeline.inputs import read_model_dir
from pipeline.nn.classifier import Classifier
from pipeline.nn.features import LexiconFeatures
from pipeline.nn.windows import WindowSpec
from pipeline.schema import MODEL_CALIBRATION_FILE, MODEL_LEXICON_FILE, SchemaError

TEXTS = [
    "Whoever spreads false information against the State shall be punished.",
    "Người nào tuyên truyền chống Nhà nước thì bị phạt tù.",
    "This Act comes into force on 1 January.",
    " ".join(f"word{i}" for i in range(150)),
]


@pytest.fixture(scope="module")
def clf(tmp_path_factory) -> Classifier:
    base = tiny_random_base(tmp_path_factory.mktemp("base"), TEXTS)
    return Classifier.from_base(base, WindowSpec(max_length=32, overlap=4, prefix=""), device="cpu")


def test_save_load_roundtrip_gives_same_scores(clf, tmp_path):
    version = clf.save(tmp_path / "clf", extra={"a": 1})
    again = Classifier.load(tmp_path / "clf", device="cpu")
    assert again.model_version == version
    a, b = clf.score_texts(TEXTS), again.score_texts(TEXTS)
    assert [round(x["vagueness"], 5) for x in a] == [round(x["vagueness"], 5) for x in b]
    assert set(a[0]) >= {"vagueness", "speech_risk", "vagueness_level", "speech_risk_level"}


def test_score_texts_empty_and_blank(clf):
    assert clf.score_texts([]) == []
    out = clf.score_texts(["", "   "])
    assert len(out) == 2 and all(0 <= r["vagueness"] <= 1 for r in out)


LEXICON_YAML = """markers:
  - {id: false-info, dimension: speech_risk, category: false_information, weight: 0.8,
     en: ["false information"], vi: ["tuyên truyền chống Nhà nước"]}
  - {id: other-acts, dimension: vagueness, category: open_ended_list, weight: 0.6,
     en: ["other acts"], vi: ["hành vi khác"]}
  - {id: serious, dimension: vagueness, category: evaluative_qualifier, weight: 0.5,
     en: ["serious"], vi: ["nghiêm trọng"]}
"""


def test_lexicon_features_are_saved_with_the_heads(tmp_path):
    (tmp_path / "lex.yaml").write_text(LEXICON_YAML, encoding="utf-8")
    lexf = LexiconFeatures.load(tmp_path / "lex.yaml")
    texts = ["plain words " * 40 + "other acts", "false information"]
    base = tiny_random_base(tmp_path / "base", texts + TEXTS)
    clf = Classifier.from_base(
        base, WindowSpec(max_length=32, overlap=4, prefix=""), device="cpu", lexicon_features=lexf
    )
    with torch.no_grad():
        clf.model.heads.lex.weight[:, lexf.names.index("score:speech_risk")] = 5.0
    before = clf.score_texts(texts, ["en", "en"])
    clf.save(tmp_path / "clf")
    assert (tmp_path / "clf" / MODEL_LEXICON_FILE).exists()
    again = Classifier.load(tmp_path / "clf", device="cpu")
    assert again.lexicon_features is not None and again.lexicon_features.names == lexf.names
    after = again.score_texts(texts, ["en", "en"])
    assert [r["speech_risk"] for r in after] == pytest.approx([r["speech_risk"] for r in before], abs=1e-5)
    assert after[1]["speech_risk"] > after[0]["speech_risk"]  # the lexicon feature moves the score


def test_read_model_dir(clf, tmp_path):
    version = clf.save(tmp_path / "clf")
    md = read_model_dir(tmp_path / "clf")
    assert md.model_version == version and md.threshold == {"vagueness": 0.5, "speech_risk": 0.5}
    assert md.window == {"max_length": 32, "overlap": 4, "prefix": ""}


# fmt: off
MODEL_DIR_CASES = [
    # what is done to a saved classifier dir             error
    (lambda d: (d / MODEL_CALIBRATION_FILE).unlink(),     "missing calibration.json"),
    (lambda d: (d / MODEL_CALIBRATION_FILE).write_text('{"temperature": {"vagueness": 1}}'),
                                                          "'temperature' expected a number per dimension"),
    (lambda d: (d / MODEL_CALIBRATION_FILE).write_text("{oops"), "malformed JSON"),
]
# fmt: on


@pytest.mark.parametrize(("damage", "message"), MODEL_DIR_CASES)
def test_read_model_dir_names_what_is_wrong(clf, tmp_path, damage, message):
    clf.save(tmp_path / "clf")
    damage(tmp_path / "clf")
    with pytest.raises((FileNotFoundError, SchemaError), match=message):
        read_model_dir(tmp_path / "clf")


def test_read_model_dir_of_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="classifier directory not found"):
        read_model_dir(tmp_path / "nothing")


def test_encoder_sha_names_what_the_states_depend_on(tmp_path):
    from pipeline.nn.classifier import encoder_sha

    base = tiny_random_base(tmp_path / "base", TEXTS)
    spec = WindowSpec(max_length=32, overlap=4)
    a, b = Classifier.from_base(base, spec, device="cpu"), Classifier.from_base(base, spec, device="cpu")
    assert encoder_sha(a) == encoder_sha(b)
    a.tokenizer(TEXTS[0], truncation=True, max_length=8)  # a call's settings are not the tokenizer
    a.save(tmp_path / "clf")  # heads and calibration are not the encoder
    assert encoder_sha(Classifier.load(tmp_path / "clf", device="cpu")) == encoder_sha(b)
    assert encoder_sha(
        Classifier.from_base(base, WindowSpec(max_length=48, overlap=4), device="cpu")
    ) != encoder_sha(b)
    with torch.no_grad():
        next(a.model.encoder.parameters()).add_(1.0)
    assert encoder_sha(a) != encoder_sha(b)

"""pipeline.nn.windows and pipeline.nn.features: windows cover every character, NFC-invariant ids,
length buckets, lexicon features per window."""

from __future__ import annotations

import numpy as np
import pytest
from tiny import tiny_random_base

from pipeline.nn.classifier import Classifier
from pipeline.nn.features import LexiconFeatures
from pipeline.nn.windows import WindowSpec, length_buckets, make_windows

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


def test_windows_cover_every_character_and_respect_max_length(clf):
    wins = make_windows(TEXTS, clf.tokenizer, clf.spec)
    assert {w.text_index for w in wins} == set(range(len(TEXTS)))
    assert all(len(w.input_ids) <= 32 for w in wins)
    long = [w for w in wins if w.text_index == 3]
    assert len(long) > 1
    assert long[0].start == 0 and long[-1].end == len(TEXTS[3])
    for a, b in zip(long, long[1:], strict=False):
        assert b.start <= a.end  # overlapping, no gap


def test_windows_nfc_and_nfd_give_the_same_ids(clf):
    import unicodedata

    nfd = unicodedata.normalize("NFD", TEXTS[1])
    a = make_windows([TEXTS[1]], clf.tokenizer, clf.spec)
    b = make_windows([nfd], clf.tokenizer, clf.spec)
    assert [w.input_ids for w in a] == [w.input_ids for w in b]


def test_length_buckets_cover_each_index_once():
    lengths = [5, 1, 9, 3, 7, 2, 8]
    for rng in (None, np.random.default_rng(3)):
        batches = length_buckets(lengths, 3, rng)
        assert sorted(i for b in batches for i in b) == list(range(7))


def test_lexicon_features_of_a_text_and_of_each_window(tmp_path):
    (tmp_path / "lex.yaml").write_text(LEXICON_YAML, encoding="utf-8")
    lexf = LexiconFeatures.load(tmp_path / "lex.yaml")
    vec = lexf.features("false information, other acts and serious other acts", "en")
    f = dict(zip(lexf.names, vec, strict=True))
    assert f["cat:false_information"] == pytest.approx(0.8)
    assert f["cat:open_ended_list"] == pytest.approx(0.6)
    assert f["score:vagueness"] == pytest.approx(1 - 0.4 * 0.5)  # noisy-or of distinct markers
    assert f["count:vagueness"] == pytest.approx(2 / 4) and f["count:speech_risk"] == pytest.approx(1 / 4)
    assert lexf.features("tuyên truyền chống Nhà nước", "en").sum() == 0  # the text's language only
    assert lexf.features("tuyên truyền chống Nhà nước", None)[lexf.names.index("score:speech_risk")] > 0

    texts = ["plain words " * 40 + "other acts", "false information"]
    base = tiny_random_base(tmp_path / "base", texts + TEXTS)
    clf = Classifier.from_base(
        base, WindowSpec(max_length=32, overlap=4, prefix=""), device="cpu", lexicon_features=lexf
    )
    wins = make_windows(texts, clf.tokenizer, clf.spec)
    feats = lexf.window_features(texts, ["en", "en"], wins)
    assert feats.shape == (len(wins), lexf.size)
    first = [i for i, w in enumerate(wins) if w.text_index == 0]
    assert feats[first[0], lexf.names.index("cat:open_ended_list")] == 0  # marker only in the last window
    assert feats[first[-1], lexf.names.index("cat:open_ended_list")] > 0


LEXICON_YAML = """markers:
  - {id: false-info, dimension: speech_risk, category: false_information, weight: 0.8,
     en: ["false information"], vi: ["tuyên truyền chống Nhà nước"]}
  - {id: other-acts, dimension: vagueness, category: open_ended_list, weight: 0.6,
     en: ["other acts"], vi: ["hành vi khác"]}
  - {id: serious, dimension: vagueness, category: evaluative_qualifier, weight: 0.5,
     en: ["serious"], vi: ["nghiêm trọng"]}
"""

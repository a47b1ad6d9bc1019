"""pipeline.model: windows, ordinal heads, bag max, calibration math, save/load, scoring, attribution."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pipeline.model import (
    Calibration,
    Classifier,
    WindowSpec,
    bag_max,
    binary_macro_f1,
    fit_temperature,
    fit_threshold,
    length_buckets,
    make_windows,
    ordinal_loss,
    ordinal_targets,
    tiny_random_base,
)

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


# fmt: off
@pytest.mark.parametrize("levels, expected", [
    ([0], [0, 0, 0]),
    ([1], [1, 0, 0]),
    ([2], [1, 1, 0]),
    ([3], [1, 1, 1]),
])
# fmt: on
def test_ordinal_targets(levels, expected):
    assert ordinal_targets(torch.tensor([levels])).squeeze().tolist() == [float(x) for x in expected]


def test_bag_max_takes_the_worst_window():
    scores = torch.tensor([[0.1, 2.0], [0.5, -1.0], [3.0, 0.0]])
    out = bag_max(scores, torch.tensor([0, 0, 1]), 2)
    assert out.tolist() == [[0.5, 2.0], [3.0, 0.0]]


def test_ordinal_loss_weights_zero_skip():
    logits = torch.zeros((2, 2, 3))
    levels = torch.tensor([[0, 0], [3, 3]])
    full = ordinal_loss(logits, levels)
    assert math.isclose(float(full), math.log(2), rel_tol=1e-6)
    confident = torch.tensor([[[-9.0] * 3] * 2, [[0.0] * 3] * 2])
    only_first = ordinal_loss(confident, levels, torch.tensor([1.0, 0.0]))
    assert float(only_first) < 1e-3


def test_heads_are_rank_consistent(clf):
    logits = clf.logits(TEXTS)
    p = 1 / (1 + np.exp(-logits))
    assert (np.diff(p, axis=-1) <= 1e-7).all()


# fmt: off
@pytest.mark.parametrize("y, pred, expected", [
    ([1, 1, 0, 0], [1, 1, 0, 0], 1.0),
    ([1, 1, 0, 0], [0, 0, 1, 1], 0.0),
    ([1, 0, 0, 0], [1, 1, 0, 0], (2 / 3 + 0.8) / 2),
    ([0, 0], [0, 0], 1.0),
])
# fmt: on
def test_binary_macro_f1(y, pred, expected):
    assert math.isclose(binary_macro_f1(np.array(y, bool), np.array(pred, bool)), expected, rel_tol=1e-9)


def test_fit_threshold_separates_separable_probs():
    probs = np.array([0.1, 0.2, 0.3, 0.7, 0.8])
    y = np.array([0, 0, 0, 1, 1], bool)
    t = fit_threshold(probs, y)
    assert 0.3 < t <= 0.7
    assert binary_macro_f1(y, probs >= t) == 1.0


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 3, size=4000)
    levels = (rng.random(4000) < 1 / (1 + np.exp(-true_logit))).astype(int) * 2  # P(>=1)=P(>=2), P(>=3)=0
    logits = np.stack([true_logit * 2.0, true_logit * 2.0, np.full(4000, -40.0)], 1)  # over-confident by 2x
    t = fit_temperature(logits, levels)
    assert 1.7 < t < 2.3


def test_calibration_levels_agree_with_flags():
    cal = Calibration({"vagueness": 1.0, "speech_risk": 2.0}, {"vagueness": 0.3, "speech_risk": 0.6})
    logits = np.random.default_rng(1).normal(0, 3, size=(50, 2, 3))
    logits = np.sort(logits, axis=-1)[..., ::-1]  # rank-consistent
    probs = cal.probs(logits)
    levels = cal.levels(probs)
    assert ((levels >= 2) == (probs[:, :, 1] >= np.array([0.3, 0.6]))).all()
    assert Calibration.from_json(cal.to_json()) == cal


def test_calibration_rejects_bad_values():
    with pytest.raises(ValueError, match="temperature"):
        Calibration({"vagueness": 0.0, "speech_risk": 1.0}, {"vagueness": 0.5, "speech_risk": 0.5})


def test_length_buckets_cover_each_index_once():
    lengths = [5, 1, 9, 3, 7, 2, 8]
    for rng in (None, np.random.default_rng(3)):
        batches = length_buckets(lengths, 3, rng)
        assert sorted(i for b in batches for i in b) == list(range(7))


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


def test_attribute_spans_slice_back(clf):
    spans = clf.attribute(TEXTS[0], "en", min_drop=-1.0)  # every group counts: exercises merging
    assert spans
    for s in spans:
        assert TEXTS[0][s["start"] : s["end"]] == s["text"]
        assert s["source"] == "model"


LEXICON_YAML = """markers:
  - {id: false-info, dimension: speech_risk, category: false_information, weight: 0.8,
     en: ["false information"], vi: ["tuyên truyền chống Nhà nước"]}
  - {id: other-acts, dimension: vagueness, category: open_ended_list, weight: 0.6,
     en: ["other acts"], vi: ["hành vi khác"]}
  - {id: serious, dimension: vagueness, category: evaluative_qualifier, weight: 0.5,
     en: ["serious"], vi: ["nghiêm trọng"]}
"""


def test_lexicon_features_per_window_and_round_trip(tmp_path):
    from pipeline.model import LEXICON_FILE, LexiconFeatures

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
    with torch.no_grad():
        clf.model.heads.lex.weight[:, lexf.names.index("score:speech_risk")] = 5.0
    before = clf.score_texts(texts, ["en", "en"])
    clf.save(tmp_path / "clf")
    assert (tmp_path / "clf" / LEXICON_FILE).exists()
    again = Classifier.load(tmp_path / "clf", device="cpu")
    assert again.lexicon_features is not None and again.lexicon_features.names == lexf.names
    after = again.score_texts(texts, ["en", "en"])
    assert [r["speech_risk"] for r in after] == pytest.approx([r["speech_risk"] for r in before], abs=1e-5)
    assert after[1]["speech_risk"] > after[0]["speech_risk"]  # the lexicon feature moves the score

"""pipeline.nn.precision: auto|fp32|bf16, and the scorer's flags in bf16 against fp32."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny import tiny_random_base

from pipeline.nn import precision
from pipeline.nn.calibration import Calibration
from pipeline.nn.classifier import Classifier
from pipeline.nn.windows import WindowSpec

TEXTS = [
    "Whoever spreads false information against the State shall be punished",
    "This Act comes into force on the date of its publication",
    "Người nào tuyên truyền chống Nhà nước hoặc hành vi khác gây hậu quả nghiêm trọng",
    "Luật này có hiệu lực thi hành kể từ ngày công bố",
] * 6
# bf16 keeps 8 bits of mantissa: on this tiny encoder a probability moves by well under this
TOLERANCE = 0.02


# fmt: off
@pytest.mark.parametrize("value, supported, expected", [
    ("fp32", True, "fp32"),
    ("fp32", False, "fp32"),
    ("bf16", False, "bf16"),   # forced: the caller knows the machine
    ("auto", True, "bf16"),
    ("auto", False, "fp32"),   # no bf16 units: emulated bf16 is slower than fp32
])
# fmt: on
def test_resolve(monkeypatch, value, supported, expected):
    monkeypatch.setattr(precision, "bf16_supported", lambda device: supported)
    assert precision.resolve(value, "cpu") == expected


def test_an_unknown_precision_is_an_error():
    with pytest.raises(ValueError, match="expected one of"):
        precision.resolve("fp16", "cpu")


def test_bf16_and_fp32_give_the_same_flags_within_the_tolerance(tmp_path):
    base = tiny_random_base(tmp_path / "base", TEXTS + ["passage:"], hidden=64, layers=2, seed=5)
    clf = Classifier.from_base(base, WindowSpec(32, 4, "passage: "), device="cpu")
    langs = ["en", "en", "vi", "vi"] * 6
    heads = clf.model.heads
    with torch.no_grad():  # heads that spread the texts' scores around the flag threshold (fp32)
        heads.bias.copy_(torch.tensor([[1.0, 0.0, -1.0]] * 2))
        z = clf.logits(TEXTS, langs=langs)[:, :, 1]
        heads.score.weight.mul_(torch.from_numpy(2.0 / np.maximum(z.std(0), 1e-6)).float()[:, None])
        z = clf.logits(TEXTS, langs=langs)[:, :, 1]
        heads.score.bias.sub_(torch.from_numpy(np.median(z, axis=0)).float())
    clf.calibration = Calibration()
    clf.set_precision("fp32")
    p32 = clf.score_texts(TEXTS, langs)
    assert clf.set_precision("bf16") == "bf16"
    p16 = clf.score_texts(TEXTS, langs)
    for d, flag in (("vagueness", "vague_flag"), ("speech_risk", "speech_flag")):
        a = np.array([r[d] for r in p32])
        b = np.array([r[d] for r in p16])
        assert np.abs(a - b).max() <= TOLERANCE
        assert np.ptp(a) > 0.1  # the probabilities spread, so the flags are not trivially equal
        changed = np.array([x[flag] != y[flag] for x, y in zip(p32, p16, strict=True)])
        # a flag may only change for a text whose fp32 probability is within the tolerance of 0.5
        assert not (changed & (np.abs(a - 0.5) > TOLERANCE)).any()

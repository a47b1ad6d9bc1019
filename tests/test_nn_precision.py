"""pipeline.nn.precision: which number format runs where, and bf16 scoring agrees with fp32.

The agreement test runs the scoring core (in-context units, as the score stage) on the bundled
Cybersecurity Law 2018 and the Singapore Computer Misuse Act with a tiny encoder over their own
vocabulary, once in fp32 and once under bf16 autocast. Stated tolerance: every probability within
0.02 of fp32's, and a flag may differ only where fp32's probability lies within that distance of the
threshold (a flag cannot flip for any other reason).
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from tiny import tiny_random_base

from pipeline.nn.calibration import Calibration
from pipeline.nn.classifier import Classifier
from pipeline.nn.precision import (
    autocast,
    check_precision,
    cores,
    cpu_has_bf16,
    resolve_precision,
    use_cores,
)
from pipeline.nn.windows import WindowSpec
from pipeline.schema import DIMENSIONS
from pipeline.scoring import ModelScorer, ScoringOptions, score_provisions
from pipeline.scoring.core import FLAG_COLUMN

DOCS = ("vn-cybersecurity-law-2018", "sg-computer-misuse-act-1993")
MAX_DP = 0.02


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        (frozenset({"fma", "avx", "avx2"}), False),  # AMD EPYC / Intel Haswell: bf16 emulated
        (frozenset({"avx2", "avx512f", "avx512bw"}), False),  # AVX512 without BF16
        (frozenset({"avx2", "avx512f", "avx512_bf16"}), True),  # Cooper Lake, Zen 4
        (frozenset({"avx512f", "amx_tile", "amx_bf16"}), True),  # Sapphire Rapids
    ],
)
def test_cpu_bf16_is_read_from_the_flags(flags: frozenset[str], native: bool) -> None:
    assert cpu_has_bf16(flags) is native


@pytest.mark.parametrize(
    ("asked", "device", "expected"),
    [
        ("fp32", "cpu", "fp32"),
        ("bf16", "cpu", "bf16"),
        ("auto", "cpu", "bf16" if cpu_has_bf16() else "fp32"),
        ("auto", "meta", "fp32"),
    ],
)
def test_resolve_precision(asked: str, device: str, expected: str) -> None:
    assert resolve_precision(asked, device) == expected


def test_bad_precision_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"score.precision: expected one of \['auto', 'fp32', 'bf16'\]"):
        check_precision("fp16", "score.precision")


def test_autocast_is_bf16_only_when_asked() -> None:
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with autocast("bf16", "cpu"):
        assert (a @ b).dtype == torch.bfloat16
    with autocast("fp32", "cpu"):
        assert (a @ b).dtype == torch.float32


def test_use_cores_takes_every_core_by_default() -> None:
    before = torch.get_num_threads()
    try:
        assert use_cores(0) == cores() == torch.get_num_threads()
        assert use_cores(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def workload(bundled, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], object]:
    rows = [
        r
        for r in pq.read_table(bundled["provisions"]).to_pylist()
        if r["doc_id"] in DOCS and r["level"] in ("article", "clause")
    ]
    base = tiny_random_base(tmp_path_factory.mktemp("base"), [r["text"] for r in rows] + ["passage:"], 64)
    clf = Classifier.from_base(base, WindowSpec(max_length=96, overlap=16), device="cpu")
    torch.manual_seed(3)
    with torch.no_grad():  # heads strong enough that the probabilities spread over (0, 1)
        clf.model.heads.score.weight.normal_(0.0, 0.3)
    articles = [r["text"] for r in rows if r["level"] == "article"]
    probs = np.array([[p[d] for d in DIMENSIONS] for p in clf.score_texts(articles)])
    # thresholds at fp32's median, so that half the articles are flagged and many sit near the cut
    median = {d: float(np.median(probs[:, j])) for j, d in enumerate(DIMENSIONS)}
    clf.calibration = Calibration(clf.calibration.temperature, median)
    path = tmp_path_factory.mktemp("clf") / "classifier"
    clf.save(path)
    return rows, path


def test_bf16_gives_fp32_flags_within_tolerance(workload) -> None:
    rows, path = workload
    opts = ScoringOptions(levels=("article", "clause"), batch_size=8, attribution="none")
    out = {}
    for prec in ("fp32", "bf16"):
        scorer = ModelScorer(path, device="cpu", precision=prec, batch_size=8)
        assert scorer.precision == prec
        out[prec] = score_provisions(rows, scorer, None, opts)
    a, b = out["fp32"], out["bf16"]
    assert len(a) == len(b) == len(rows) > 100
    assert [r["provision_id"] for r in a] == [r["provision_id"] for r in b]
    dp = np.array([[abs(x[d] - y[d]) for d in DIMENSIONS] for x, y in zip(a, b, strict=True)])
    assert 0 < dp.max() <= MAX_DP  # bf16 did run (rounding shows), and stays close
    thr = ModelScorer(path, device="cpu", precision="fp32").thresholds
    for x, y in zip(a, b, strict=True):
        for d in DIMENSIONS:
            if x[FLAG_COLUMN[d]] != y[FLAG_COLUMN[d]]:
                assert abs(x[d] - thr[d]) <= MAX_DP, (x["provision_id"], d, x[d], y[d])
    assert sum(x[FLAG_COLUMN[d]] for x in a for d in DIMENSIONS) > len(a) // 4  # flags exist to compare


def test_freed_activations_are_reused_without_page_faults():
    # A batch's activations (blocks of a few MB to tens of MB) freed and allocated again for the next
    # batch must not be mapped afresh: the bulk corpus's scoring spent ~15 % of its time in the kernel
    # on those page faults. Measured here: ~2,000 faults untuned, ~26,000 with Dask's worker setting
    # (MALLOC_TRIM_THRESHOLD_=65536), 0 tuned.
    import resource

    import numpy as np

    from pipeline.nn.precision import keep_freed_memory

    if not keep_freed_memory():
        pytest.skip("not glibc's malloc")
    sizes = [3_000_000, 12_500_000, 5_100_000, 25_000_000, 700_000]  # bytes

    def batch() -> None:
        blocks = [np.ones(n // 4, dtype=np.float32) for n in sizes]
        del blocks

    batch()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        batch()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 200, f"{faults} page faults for 10 batches of blocks freed and allocated again"

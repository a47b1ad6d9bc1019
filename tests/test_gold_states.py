"""pipeline.gold_states: the cv stage's tables of gold states read back as they were written."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline import gold_states as gs
from pipeline.nn.windows import WindowSpec
from pipeline.scoring.context import article_sha

SPEC = WindowSpec(64, 8, "passage: ")
IDS = ["law:art-1", "law:art-2", "other:art-9"]
TEXTS = ["Điều 1. Cấm xuyên tạc.", "Article 2. No person shall spread false news.", "Điều 1. Cấm xuyên tạc."]
LANGS = ["vi", "en", "vi"]  # the third article prints the first one's text again


def _windows(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bag = np.array([0, 0, 1, 2, 1, 1])  # article 1's windows are not contiguous
    return (
        rng.normal(size=(len(bag), 4)).astype(np.float32),
        rng.random((len(bag), 3)).astype(np.float32),
        bag,
    )


def _write(tmp_path, encoder: str = "enc", fingerprint: str = "fp", use_heading: bool = False):
    rng = np.random.default_rng(0)
    vec, lex, bag = _windows(rng)
    meta = gs.metadata(SPEC, use_heading, fingerprint, encoder)
    states = [
        {(0, 9): rng.normal(size=4).astype(np.float32), (10, 22): None},
        {},
        {(0, 9): rng.normal(size=4).astype(np.float32), (10, 22): None},
    ]
    pq.write_table(gs.windows_table(IDS, TEXTS, LANGS, vec, lex, bag, meta), tmp_path / "w.parquet")
    pq.write_table(gs.units_table(IDS, TEXTS, LANGS, states, 4, meta), tmp_path / "u.parquet")
    return vec, lex, bag, states


def test_windows_read_back_per_article_in_window_order(tmp_path) -> None:
    vec, lex, bag, _ = _write(tmp_path)
    got = gs.read_windows(pq.read_table(tmp_path / "w.parquet"))
    for a, (pid, text, lang) in enumerate(zip(IDS, TEXTS, LANGS, strict=True)):
        v, lx = got[(pid, article_sha(text, lang))]
        np.testing.assert_array_equal(v, vec[bag == a])
        np.testing.assert_array_equal(lx, lex[bag == a])


def test_units_read_back_with_none_for_a_unit_without_tokens(tmp_path) -> None:
    _, _, _, states = _write(tmp_path)
    got = gs.read_units(pq.read_table(tmp_path / "u.parquet"))
    key = (IDS[0], article_sha(TEXTS[0], "vi"))
    np.testing.assert_array_equal(got[key][(0, 9)], states[0][(0, 9)])
    assert got[key][(10, 22)] is None
    assert (IDS[1], article_sha(TEXTS[1], "en")) not in got  # an article without units has no rows


@pytest.mark.parametrize(
    ("written", "asked", "found"),
    [
        ({"fingerprint": "fp"}, "fp", 3),
        ({"fingerprint": "fp"}, "other", 0),  # another base model, windowing or lexicon: no cache
    ],
)
def test_cv_cache_only_for_the_same_fingerprint(tmp_path, written, asked, found) -> None:
    _write(tmp_path, **written)
    cache = gs.read_cache(tmp_path / "w.parquet", asked, tmp_path / "u.parquet")
    assert len(cache) == found
    if found:
        _, _, units = cache[(IDS[0], article_sha(TEXTS[0], "vi"))]
        assert set(units) == {(0, 9), (10, 22)}


@pytest.mark.parametrize(
    ("written", "encoder", "usable"),
    [
        ({}, "enc", True),
        ({}, "another encoder", False),
        ({"use_heading": True}, "enc", False),  # the score stage reads the text without its heading
    ],
)
def test_score_stage_states_only_from_the_same_encoder(tmp_path, written, encoder, usable) -> None:
    vec, _, bag, states = _write(tmp_path, **written)
    cache = gs.state_cache(tmp_path / "w.parquet", tmp_path / "u.parquet", encoder)
    assert (cache is not None) == usable
    if cache is None:
        return
    assert len(cache) == 2  # two distinct texts; the repeated one keeps its first article's states
    v, units = cache.articles[article_sha(TEXTS[0], "vi")]
    np.testing.assert_array_equal(v, vec[bag == 0])
    np.testing.assert_array_equal(units[(0, 9)], states[0][(0, 9)])


def test_missing_tables_mean_no_states(tmp_path) -> None:
    assert gs.state_cache(tmp_path / "w.parquet", tmp_path / "u.parquet", "enc") is None
    assert gs.read_cache(tmp_path / "w.parquet", "fp") == {}

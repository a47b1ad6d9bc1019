"""explore_plots stage: the CSV data of the DVC plots, from the fixture run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import explore as ex
from pipeline.explore_plots import PLOT_FILES, main, write_plots

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_RUN = ROOT / "tests/fixtures/run"


def test_write_plots(tmp_path: Path) -> None:
    out = ex.outputs(FIXTURE_RUN)
    counts = write_plots(
        ex.load_scores(out), ex.load_documents(out, with_text=False), ex.load_gold(out), tmp_path
    )
    assert sorted(counts) == sorted(PLOT_FILES)
    heat = pd.read_csv(tmp_path / "law_category_provisions.csv")
    assert (
        list(heat.columns) == ["law", "dimension", "category", "provision_id"]
        and len(heat) == counts["law_category_provisions.csv"]
    )
    assert set(pd.read_csv(tmp_path / "law_summary.csv")["law"]) >= {"vn-penal-code-2015", "un-iccpr-1966"}
    for d in ex.DIMENSIONS:
        assert set(pd.read_csv(tmp_path / f"reliability_{d}.csv")["dimension"]) == {d}


def test_stage_cli_writes_every_plot_file(tmp_path: Path) -> None:
    assert main(["--root", str(FIXTURE_RUN), "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PLOT_FILES)

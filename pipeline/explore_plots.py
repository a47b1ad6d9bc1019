"""explore_plots stage: data/scores.parquet + documents + gold → plots/explore/*.csv, the data of the
`plots:` of dvc.yaml (`dvc plots show`): per-law category tables, the per-law summary of the
comparison, and a reliability table per dimension. The tables are pipeline.explore's, the same the
notebooks show.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from pipeline import stage
from pipeline.explore import (
    RUN_DIR_ENV,
    articles,
    category_long,
    evidence_table,
    load_documents,
    load_gold,
    load_scores,
    outputs,
    reliability,
    summary_table,
)
from pipeline.io import atomic_path
from pipeline.schema import DIMENSIONS

PLOT_FILES = (
    "law_category_provisions.csv",
    "law_categories.csv",
    "law_summary.csv",
    *(f"reliability_{d}.csv" for d in DIMENSIONS),  # one file per dimension: one curve per DVC plot
)


def write_plots(
    scores: pd.DataFrame, documents: pd.DataFrame, gold: pd.DataFrame, out_dir: str | Path
) -> dict[str, int]:
    """The data of the figures that matter, as CSV for `dvc plots`; returns rows written per file."""
    out_dir = Path(out_dir)
    ev = evidence_table(articles(scores)).drop_duplicates(["provision_id", "category"])
    tables = {
        # one row per (law, category, article): `template: confusion` (x category, y law) is the heat map
        "law_category_provisions.csv": ev.rename(columns={"doc_id": "law"})[
            ["law", "dimension", "category", "provision_id"]
        ].sort_values(["law", "category", "provision_id"]),
        "law_categories.csv": category_long(scores).rename(columns={"doc_id": "law"}),
        "law_summary.csv": summary_table(scores, documents).rename(columns={"doc_id": "law"}),
        **{
            f"reliability_{d}.csv": reliability(scores, gold, d)
            if not gold.empty
            else pd.DataFrame(columns=["dimension", "bin_low", "predicted", "observed", "n", "provision_ids"])
            for d in DIMENSIONS
        },
    }
    counts = {}
    for name, df in tables.items():
        with atomic_path(out_dir / name) as tmp:
            df.to_csv(tmp, index=False)
        counts[name] = len(df)
    return counts


def run(root: str | Path | None, out_dir: str | Path) -> dict[str, int]:
    """The run under ``root`` (default: $OVERBROAD_RUN_DIR, else the repository) → the plot CSVs."""
    out = outputs(root)
    return write_plots(load_scores(out), load_documents(out, with_text=False), load_gold(out), out_dir)


def main(argv: list[str] | None = None) -> int:
    def extra(ap: argparse.ArgumentParser) -> None:
        ap.add_argument(
            "--root", default=None, help=f"run directory (default: ${RUN_DIR_ENV} or the repository)"
        )

    args = stage.arguments(
        "overbroad explore-plots", __doc__, {"out": "plots/explore"}, argv, extra, params=False
    )
    return stage.execute("explore_plots", lambda: run(args.root, args.out))


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["explore-plots", *sys.argv[1:]]))

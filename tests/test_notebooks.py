"""The three notebooks run top to bottom against the fixture run, quickly, and write nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from pipeline.explore import RUN_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_RUN = ROOT / "tests/fixtures/run"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _snapshot(*folders: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for f in folders for p in f.rglob("*") if p.is_file()}


def test_the_three_notebooks_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01-corpus-tour.ipynb",
        "02-score-explorer.ipynb",
        "03-comparative-analysis.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"  # papermill / nbmake need it
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "run nbstripout"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_writes_no_files(path: Path) -> None:
    # Notebooks read; writing (plot data for DVC) is pipeline.explore's `plots` command, a stage.
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for call in (
        ".to_csv(",
        ".to_parquet(",
        ".write_text(",
        ".write_bytes(",
        "savefig(",
        "open(",
        "write_plots(",
    ):
        assert call not in code, f"{path.name} calls {call}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_fixture_run(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RUN_DIR_ENV, str(FIXTURE_RUN))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = _snapshot(FIXTURE_RUN)
    nb = nbformat.read(path, as_version=4)
    t0 = time.monotonic()
    # Run from an empty folder: the notebook finds its inputs through explore.outputs() only.
    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert time.monotonic() - t0 < 40
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert _snapshot(FIXTURE_RUN) == before, "a notebook wrote into the run it reads"
    assert not list(tmp_path.iterdir()), "a notebook wrote files into its working folder"

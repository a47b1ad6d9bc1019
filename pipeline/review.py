"""Review loop in Label Studio: export provisions as tasks, import a reviewer's judgements.

A researcher who wants to check the labels before citing them reviews articles in Label Studio, the
annotation tool the field already uses. ``export`` writes tasks in Label Studio's JSON import format
(the article's text with its id, language, heading and law; the model's levels and evidence as a
pre-annotation) and, beside them, the labeling config. ``import`` reads a Label Studio JSON export,
validates every annotation, and writes the reviewer's labels to ``corpora/annotations/review/`` with
``method: human_review``. gold.jsonl is never edited here: ``overbroad gold build`` merges the reviews,
and a human review overrides the earlier judgement while the record keeps it in its history.

    overbroad review export --out review/tasks.json --select uncertain --n 100
    overbroad review import project-1-at-2026-12-01.json [--reviewer NAME]
    overbroad review serve --tasks review/tasks.json   # a local Label Studio with the tasks loaded
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import cohen_kappa_score

from pipeline.io import read_jsonl, write_json, write_jsonl
from pipeline.schema import CATEGORIES, DIMENSIONS, LANGS

log = logging.getLogger(__name__)

SELECTIONS = ("uncertain", "disagreement", "level3", "sample")
LEVEL_VALUES = ("0", "1", "2", "3")
REVIEW_DIR = Path("corpora/annotations/review")
METHOD = "human_review"
# What each level means, shown beside the choices so a reviewer need not keep the codebook open.
LEVEL_HINTS = {
    "vagueness": (
        "precise",
        "minor imprecision",
        "vague: a key element undefined or evaluative",
        "very vague: open-ended notion, catch-all or unlimited discretion",
    ),
    "speech_risk": (
        "no bearing on expression, assembly, association or information",
        "touches expression, narrowly tailored to a recognised harm",
        "restricts expression on broad grounds",
        "criminalises political expression or criticism of the state as such",
    ),
}


class ReviewError(ValueError):
    """A task or annotation is malformed; the message names the task."""


# --------------------------------------------------------------------------------------------- config


def label_config() -> str:
    """Label Studio labeling config: the two ordinal choices, a rationale, and evidence spans to mark."""
    cats = "\n".join(
        f'    <Label value="{escape(c)}" background="{"#f4a261" if d == "vagueness" else "#e76f51"}"/>'
        for d in DIMENSIONS
        for c in CATEGORIES[d]
    )
    blocks = []
    for d in DIMENSIONS:
        choices = "\n".join(
            f'    <Choice value="{v}" hint="{escape(LEVEL_HINTS[d][int(v)])}"/>' for v in LEVEL_VALUES
        )
        blocks.append(
            f'  <Header value="{d.replace("_", " ")} (0-3)"/>\n'
            f'  <Choices name="{d}" toName="text" choice="single" required="true" showInline="true">\n'
            f"{choices}\n  </Choices>"
        )
    return (
        "<View>\n"
        '  <Header value="$law"/>\n'
        '  <Text name="heading" value="$heading"/>\n'
        '  <Labels name="evidence" toName="text">\n'
        f"{cats}\n  </Labels>\n"
        '  <Text name="text" value="$text"/>\n' + "\n".join(blocks) + "\n"
        '  <TextArea name="rationale" toName="text" rows="2" maxSubmissions="1"'
        ' placeholder="One line: the element that decides the levels"/>\n'
        "</View>\n"
    )


# ---------------------------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportParams:
    select: str = "uncertain"
    n: int = 100
    seed: int = 13

    def __post_init__(self) -> None:
        if self.select not in SELECTIONS:
            raise ReviewError(f"--select expected one of {SELECTIONS}, found {self.select!r}")
        if self.n < 1:
            raise ReviewError(f"--n expected a positive number, found {self.n}")


def select(articles: pd.DataFrame, gold: Mapping[str, Mapping[str, Any]], params: ExportParams) -> list[str]:
    """Choose the articles to review.

    uncertain: the model's probability closest to its flag decision on either dimension (a review there
    changes most flags); disagreement: gold-labelled articles whose predicted level differs most from
    gold (the likeliest label errors, or model errors); level3: every article at level 3 in gold or in
    the model (the labels a citation leans on most); sample: a seeded random sample stratified by law.
    """
    a = articles.sort_values("provision_id").reset_index(drop=True)
    if a.empty:
        raise ReviewError("no scored articles to choose from")
    if params.select == "uncertain":
        margin = np.minimum((a["vagueness"] - 0.5).abs(), (a["speech_risk"] - 0.5).abs())
        order = np.lexsort((a["provision_id"].to_numpy(), margin.to_numpy()))
        return a["provision_id"].iloc[order[: params.n]].tolist()
    if params.select == "disagreement":
        rows = []
        for pid, lv, ls in zip(a["provision_id"], a["vagueness_level"], a["speech_risk_level"], strict=True):
            g = gold.get(pid)
            if g is not None:
                gap = abs(int(lv) - g["vagueness"]) + abs(int(ls) - g["speech_risk"])
                if gap:
                    rows.append((-gap, pid))
        return [pid for _, pid in sorted(rows)[: params.n]]
    if params.select == "level3":
        model3 = (a["vagueness_level"] == 3) | (a["speech_risk_level"] == 3)
        gold3 = a["provision_id"].map(
            lambda p: p in gold and 3 in (gold[p]["vagueness"], gold[p]["speech_risk"])
        )
        return a.loc[model3 | gold3, "provision_id"].tolist()[: params.n]
    rng = np.random.default_rng(params.seed)
    per_doc = {d: g["provision_id"].tolist() for d, g in a.groupby("doc_id", sort=True)}
    for ids in per_doc.values():
        rng.shuffle(ids)
    chosen: list[str] = []
    while len(chosen) < params.n and any(per_doc.values()):
        for ids in per_doc.values():
            if ids and len(chosen) < params.n:
                chosen.append(ids.pop())
    return chosen


def to_task(row: Mapping[str, Any], law: str, gold: Mapping[str, Any] | None) -> dict[str, Any]:
    """One Label Studio task: the article, and the model's judgement as a pre-annotation."""
    text = row["text"]
    result: list[dict[str, Any]] = [
        {
            "from_name": d,
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [str(int(row[f"{d}_level"]))]},
        }
        for d in DIMENSIONS
    ]
    evidence = row.get("evidence")
    for i, ev in enumerate([] if evidence is None else list(evidence)):
        if not 0 <= ev["start"] < ev["end"] <= len(text):
            continue
        result.append(
            {
                "id": f"ev{i}",
                "from_name": "evidence",
                "to_name": "text",
                "type": "labels",
                "value": {
                    "start": int(ev["start"]),
                    "end": int(ev["end"]),
                    "text": text[ev["start"] : ev["end"]],
                    "labels": [ev["category"]]
                    if ev["category"] in CATEGORIES[ev["dimension"]]
                    else [CATEGORIES[ev["dimension"]][0]],
                },
            }
        )
    data = {
        "provision_id": row["provision_id"],
        "doc_id": row["doc_id"],
        "lang": row["lang"],
        "law": law,
        "heading": row.get("heading") or "",
        "text": text,
        "model_probability": {d: round(float(row[d]), 4) for d in DIMENSIONS},
    }
    if gold is not None:
        data["gold"] = {d: gold[d] for d in DIMENSIONS} | {"annotator": gold["annotator"]}
    return {
        "data": data,
        "predictions": [
            {
                "model_version": row["model_version"],
                "score": round(float(max(row["vagueness"], row["speech_risk"])), 4),
                "result": result,
            }
        ],
    }


def export_tasks(
    scores: pd.DataFrame,
    titles: Mapping[str, str],
    gold: Mapping[str, Mapping[str, Any]],
    params: ExportParams,
) -> list[dict[str, Any]]:
    articles = scores[scores["level"] == "article"]
    missing = articles["text"].isna()
    if missing.any():
        # Withheld documents have no text in the published scores; a reviewer needs the text.
        raise ReviewError(
            f"{int(missing.sum())} articles have no text "
            f"(e.g. {articles.loc[missing, 'provision_id'].iloc[0]}); "
            "export from data/scores.parquet, which keeps every text"
        )
    ids = select(articles, gold, params)
    by_id = articles.set_index("provision_id", drop=False)
    return [
        to_task(
            by_id.loc[pid].to_dict(),
            titles.get(by_id.loc[pid, "doc_id"], by_id.loc[pid, "doc_id"]),
            gold.get(pid),
        )
        for pid in ids
    ]


# ---------------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class Known:
    """What the importer checks an annotation against: the article exists, in this language."""

    doc_id: str
    lang: str
    text: str


def _task_where(task: Mapping[str, Any], i: int) -> str:
    pid = (task.get("data") or {}).get("provision_id")
    return f"task {task.get('id', i)}" + (f" ({pid})" if pid else "")


def parse_export(
    tasks: Sequence[Mapping[str, Any]],
    known: Mapping[str, Known],
    reviewer: str | None = None,
    today: str | None = None,
) -> list[dict[str, Any]]:
    """Review records from a Label Studio JSON export; every annotation is validated.

    A task with no annotation (or only cancelled ones, "skipped" in Label Studio) is not a judgement
    and yields nothing. Each other annotation must name a known article and give both levels.
    """
    if not isinstance(tasks, list):
        raise ReviewError(
            f"expected a JSON list of tasks (Label Studio's JSON export), found {type(tasks).__name__}"
        )
    today = today or dt.date.today().isoformat()
    out: list[dict[str, Any]] = []
    for i, task in enumerate(tasks, 1):
        where = _task_where(task, i)
        if not isinstance(task, Mapping) or not isinstance(task.get("data"), Mapping):
            raise ReviewError(f"{where}: expected an object with 'data', found {type(task).__name__}")
        pid = task["data"].get("provision_id")
        if pid not in known:
            raise ReviewError(f"{where}: unknown provision {pid!r} (not an article of the scored corpus)")
        k = known[pid]
        for annotation in task.get("annotations") or []:
            if annotation.get("was_cancelled"):
                continue
            out.append(_record(annotation, pid, k, where, reviewer, today, task.get("id")))
    return out


def _record(
    annotation: Mapping[str, Any],
    pid: str,
    k: Known,
    where: str,
    reviewer: str | None,
    today: str,
    task_id: Any,
) -> dict[str, Any]:
    levels: dict[str, int] = {}
    evidence: list[dict[str, Any]] = []
    rationale = ""
    for r in annotation.get("result") or []:
        name, value = r.get("from_name"), r.get("value") or {}
        if name in DIMENSIONS:
            choices = value.get("choices") or []
            if len(choices) != 1 or str(choices[0]) not in LEVEL_VALUES:
                raise ReviewError(f"{where}: {name} expected one of {list(LEVEL_VALUES)}, found {choices!r}")
            levels[name] = int(choices[0])
        elif name == "evidence":
            evidence.append(_span(value, k.text, where))
        elif name == "rationale":
            rationale = " ".join(value.get("text") or []).strip()
    absent = [d for d in DIMENSIONS if d not in levels]
    if absent:
        raise ReviewError(f"{where}: annotation {annotation.get('id')}: missing dimension(s) {absent}")
    who = reviewer or _reviewer(annotation.get("completed_by"))
    if not who:
        raise ReviewError(f"{where}: annotation {annotation.get('id')}: no reviewer (give --reviewer)")
    created = str(annotation.get("created_at") or today)[:10]
    return {
        "provision_id": pid,
        "doc_id": k.doc_id,
        "lang": k.lang,
        "vagueness": levels["vagueness"],
        "speech_risk": levels["speech_risk"],
        "evidence": evidence,
        "rationale": rationale or "(reviewer gave no rationale)",
        "annotator": who,
        "date": created,
        "method": METHOD,
        "source": {"tool": "label-studio", "task": task_id, "annotation": annotation.get("id")},
    }


def _reviewer(completed_by: Any) -> str:
    if isinstance(completed_by, Mapping):
        return str(completed_by.get("email") or completed_by.get("username") or completed_by.get("id") or "")
    return f"label-studio-user-{completed_by}" if completed_by is not None else ""


def _span(value: Mapping[str, Any], text: str, where: str) -> dict[str, Any]:
    labels = value.get("labels") or []
    start, end = value.get("start"), value.get("end")
    if len(labels) != 1 or not isinstance(start, int) or not isinstance(end, int):
        raise ReviewError(
            f"{where}: an evidence span needs one label and integer start/end, found {dict(value)!r}"
        )
    if not 0 <= start < end <= len(text):
        raise ReviewError(
            f"{where}: evidence span {start}:{end} is outside the article ({len(text)} characters)"
        )
    dim = next((d for d in DIMENSIONS if labels[0] in CATEGORIES[d]), None)
    if dim is None:
        raise ReviewError(f"{where}: evidence label {labels[0]!r} is not a codebook category")
    return {"start": start, "end": end, "text": text[start:end], "dimension": dim, "category": labels[0]}


# ------------------------------------------------------------------------------------------- agreement


def _agree(pairs: list[tuple[int, int]]) -> dict[str, Any]:
    x, y = (np.array(v) for v in zip(*pairs, strict=True))
    same = len(set(x) | set(y)) < 2
    return {
        "n": len(pairs),
        "kappa_quadratic": 1.0
        if same
        else round(float(cohen_kappa_score(x, y, labels=[0, 1, 2, 3], weights="quadratic")), 4),
        "exact_agreement": round(float(np.mean(x == y)), 4),
        "flag_agreement": round(float(np.mean((x >= 2) == (y >= 2))), 4),
    }


def review_agreement(
    reviews: Sequence[Mapping[str, Any]],
    gold: Mapping[str, Mapping[str, Any]],
    model: Mapping[str, Mapping[str, int]],
) -> dict[str, Any]:
    """Reviewer vs gold (before the review) and reviewer vs model, per dimension and language."""
    out: dict[str, Any] = {"n_reviews": len(reviews), "reviewers": sorted({r["annotator"] for r in reviews})}
    for other_name, other in (("vs_gold", gold), ("vs_model", model)):
        block: dict[str, Any] = {}
        for d in DIMENSIONS:
            block[d] = {}
            for lang in (*LANGS, "all"):
                pairs = [
                    (r[d], int(other[r["provision_id"]][d]))
                    for r in reviews
                    if r["provision_id"] in other and (lang == "all" or r["lang"] == lang)
                ]
                if pairs:
                    block[d][lang] = _agree(pairs)
        out[other_name] = block
    return out


# ------------------------------------------------------------------------------------- Label Studio API


class LabelStudio:
    """The few calls of Label Studio's HTTP API the review loop needs (token auth)."""

    def __init__(self, url: str, token: str, timeout: float = 60.0):
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Authorization", f"Token {self.token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise ReviewError(f"Label Studio {method} {path}: HTTP {e.code}: {e.read()[:300]!r}") from None
        return json.loads(raw) if raw else None

    def create_project(self, title: str, config: str) -> int:
        return int(self.call("POST", "/api/projects", {"title": title, "label_config": config})["id"])

    def import_tasks(self, project: int, tasks: list[dict[str, Any]]) -> int:
        r = self.call("POST", f"/api/projects/{project}/import", tasks)
        return int(r.get("task_count", len(tasks)))

    def tasks(self, project: int) -> list[dict[str, Any]]:
        r = self.call("GET", f"/api/tasks?project={project}&page_size=1000")
        return r["tasks"] if isinstance(r, dict) else r

    def annotate(self, task: int, result: list[dict[str, Any]]) -> int:
        return int(self.call("POST", f"/api/tasks/{task}/annotations", {"result": result})["id"])

    def export(self, project: int) -> list[dict[str, Any]]:
        return self.call("GET", f"/api/projects/{project}/export?exportType=JSON")


@dataclass
class Server:
    """A local Label Studio started from its own virtual environment, on 127.0.0.1 only."""

    venv: Path
    data_dir: Path
    port: int = 0
    username: str = "reviewer@overbroad.local"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: str = field(default_factory=lambda: secrets.token_hex(20))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300.0) -> LabelStudio:
        exe = self.venv / "bin" / "label-studio"
        if not exe.exists():
            raise ReviewError(
                f"{exe} not found: run `make review-env` to create Label Studio's own environment"
            )
        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            LABEL_STUDIO_BASE_DATA_DIR=str(self.data_dir),
            LABEL_STUDIO_USERNAME=self.username,
            LABEL_STUDIO_PASSWORD=self.password,
            LABEL_STUDIO_USER_TOKEN=self.token,
            # The review loop authenticates with the token above (Label Studio's "legacy" API token);
            # newer Label Studio releases disable it for new organisations unless told otherwise.
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
            LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
            # No call to the package index for the latest version: the review loop works offline.
            LATEST_VERSION_CHECK="false",
        )
        env.pop("HOST", None)
        log_path = self.data_dir / "label-studio.log"
        fh = open(log_path, "ab")  # noqa: SIM115 - kept open for the server's lifetime
        self.proc = subprocess.Popen(
            [
                str(exe),
                "start",
                "--host",
                self.url,
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-browser",
            ],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client = LabelStudio(self.url, self.token)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ReviewError(f"Label Studio exited with {self.proc.returncode}; see {log_path}")
            try:
                client.call("GET", "/api/projects")
                return client
            except ReviewError as e:
                if "HTTP 401" in str(e) or "HTTP 403" in str(e):
                    self.stop()
                    raise ReviewError(f"Label Studio refused the API token: {e}; see {log_path}") from None
                time.sleep(2)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(2)
        self.stop()
        raise ReviewError(f"Label Studio did not answer on {self.url} within {timeout:.0f} s; see {log_path}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
        self.proc = None


# -------------------------------------------------------------------------------------------- I/O shell


def read_gold(path: str | Path) -> dict[str, dict[str, Any]]:
    return {r["provision_id"]: r for r in read_jsonl(path)} if Path(path).exists() else {}


def read_articles(scores_path: str | Path) -> pd.DataFrame:
    if not Path(scores_path).exists():
        raise ReviewError(f"{scores_path} not found: run `make repro` (or `dvc repro score`) first")
    t = pq.read_table(scores_path).to_pandas()
    return t[t["level"] == "article"].reset_index(drop=True)


def read_titles(documents_path: str | Path) -> dict[str, str]:
    if not Path(documents_path).exists():
        return {}
    t = pq.read_table(documents_path, columns=["doc_id", "title"]).to_pandas()
    return dict(zip(t["doc_id"], t["title"], strict=True))


def run_export(scores: str, documents: str, gold: str, out: str, params: ExportParams) -> dict[str, int]:
    tasks = export_tasks(read_articles(scores), read_titles(documents), read_gold(gold), params)
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_json(tasks, out_path)
    (out_path.parent / "label_config.xml").write_text(label_config(), encoding="utf-8")
    log.info(
        "review: %d tasks (%s) → %s, config → %s",
        len(tasks),
        params.select,
        out_path,
        out_path.parent / "label_config.xml",
    )
    return {"tasks": len(tasks)}


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "reviewer"


def run_import(
    export_path: str,
    scores: str,
    gold: str,
    review_dir: str | Path = REVIEW_DIR,
    agreement_path: str | Path = "corpora/annotations/agreement.json",
    reviewer: str | None = None,
) -> dict[str, int]:
    try:
        tasks = json.loads(Path(export_path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ReviewError(f"{export_path}: line {e.lineno}: not JSON ({e.msg})") from None
    articles = read_articles(scores)
    known = {
        p: Known(d, lang, t)
        for p, d, lang, t in zip(
            articles["provision_id"], articles["doc_id"], articles["lang"], articles["text"], strict=True
        )
    }
    try:
        records = parse_export(tasks, known, reviewer)
    except ReviewError as e:
        raise ReviewError(f"{export_path}: {e}") from None
    if not records:
        log.warning("review: %s holds no completed annotation; nothing written", export_path)
        return {"reviews": 0}
    out = (
        Path(review_dir)
        / f"{dt.date.today().isoformat()}-{_slug(records[0]['annotator'])}-{Path(export_path).stem}.jsonl"
    )
    write_jsonl(records, out)
    gold_map = read_gold(gold)
    model = {
        p: {"vagueness": int(v), "speech_risk": int(s)}
        for p, v, s in zip(
            articles["provision_id"], articles["vagueness_level"], articles["speech_risk_level"], strict=True
        )
    }
    update_agreement(agreement_path, all_reviews(review_dir), gold_map, model)
    log.info("review: %d judgements → %s", len(records), out)
    return {"reviews": len(records)}


def all_reviews(review_dir: str | Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(Path(review_dir).glob("*.jsonl")):
        rows.extend(read_jsonl(path))
    return rows


def update_agreement(
    path: str | Path,
    reviews: Sequence[Mapping[str, Any]],
    gold: Mapping[str, Mapping[str, Any]],
    model: Mapping[str, Mapping[str, int]],
) -> None:
    """Write the review section of agreement.json; gold's own labels are compared before any review."""
    before: dict[str, Mapping[str, Any]] = {}
    for p, g in gold.items():
        if g.get("method") != METHOD:
            before[p] = g
        elif prior := [h for h in g.get("history") or [] if h.get("method") != METHOD]:
            before[p] = prior[-1]
    report = json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).exists() else {}
    report["review"] = review_agreement(reviews, before, model)
    write_json(report, path)


def run_serve(tasks: str, venv: str, data_dir: str, port: int, title: str) -> int:
    server = Server(Path(venv), Path(data_dir), port=port)
    client = server.start()
    try:
        project = client.create_project(title, label_config())
        n = client.import_tasks(project, json.loads(Path(tasks).read_text(encoding="utf-8")))
        print(
            f"Label Studio: {server.url}/projects/{project}  ({n} tasks)\n"
            f"  login: {server.username} / {server.password}   API token: {server.token}\n"
            "  when done: Export → JSON, then `overbroad review import <file>.json`.\n"
            "  Ctrl-C stops the server."
        )
        assert server.proc is not None
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overbroad review", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="action", required=True)
    ex = sub.add_parser("export", help="write Label Studio tasks and the labeling config")
    ex.add_argument("--out", required=True, help="DIR/tasks.json (label_config.xml is written beside it)")
    ex.add_argument("--select", default="uncertain", choices=SELECTIONS)
    ex.add_argument("--n", type=int, default=100)
    ex.add_argument("--seed", type=int, default=13)
    ex.add_argument("--scores", default="data/scores.parquet")
    ex.add_argument("--documents", default="data/documents.parquet")
    ex.add_argument("--gold", default="corpora/annotations/gold.jsonl")
    im = sub.add_parser("import", help="read a Label Studio JSON export into corpora/annotations/review/")
    im.add_argument("export")
    im.add_argument("--reviewer", help="name to record (default: the annotator's Label Studio email)")
    im.add_argument("--scores", default="data/scores.parquet")
    im.add_argument("--gold", default="corpora/annotations/gold.jsonl")
    im.add_argument("--review-dir", default=str(REVIEW_DIR))
    im.add_argument("--agreement", default="corpora/annotations/agreement.json")
    sv = sub.add_parser("serve", help="start a local Label Studio with a project and the tasks loaded")
    sv.add_argument("--tasks", required=True)
    sv.add_argument("--venv", default=".venv-ls")
    sv.add_argument("--data-dir", default="review/label-studio")
    sv.add_argument("--port", type=int, default=8080)
    sv.add_argument("--title", default="overbroad review")
    args = ap.parse_args(argv)
    try:
        if args.action == "export":
            run_export(
                args.scores, args.documents, args.gold, args.out, ExportParams(args.select, args.n, args.seed)
            )
        elif args.action == "import":
            run_import(args.export, args.scores, args.gold, args.review_dir, args.agreement, args.reviewer)
        else:
            if shutil.which("label-studio", path=str(Path(args.venv) / "bin")) is None:
                raise ReviewError(f"{args.venv}/bin/label-studio not found: run `make review-env`")
            return run_serve(args.tasks, args.venv, args.data_dir, args.port, args.title)
    except ReviewError as e:
        ap.exit(2, f"overbroad review: error: {e}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

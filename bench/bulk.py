"""Benchmark of the bulk stage's engine settings, side by side in one run, on real Pháp điển documents:
local Dask workers × torch threads (``bulk.workers``, ``bulk.threads``), with malloc keeping freed
memory (pipeline.nn.precision.keep_freed_memory, the default) or untuned (glibc as Dask's
workers leave it: MALLOC_TRIM_THRESHOLD_=65536).

Workload: ``--docs`` documents of corpora/bulk/vn-phap-dien.tar.xz whose text is nearest
``--chars`` characters, each one chunk (pipeline.bulk.chunk_task: segmenting, encoding, unit scores,
evidence), reuse off so that every article is encoded. Each setting runs in its own LocalCluster; the
model is loaded and warmed on every worker before the clock starts.

Printed per setting: seconds, tokens/s (the articles' tokens), the workers' minor page faults and
kernel (sys) seconds, their peak RSS; then whether every setting gave the same rows as the first one
(max |Δp|, flags that differ).

    python bench/bulk.py [--docs 4] [--chars 40000] [--settings 1x2,2x1] [--out bench-bulk.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DIMS = ("vagueness", "speech_risk")
FLAGS = ("vague_flag", "speech_flag")


def _usage() -> tuple[int, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_minflt, r.ru_stime, r.ru_maxrss


def _untuned() -> bool:
    # malloc as the worker has it: use_cores finds keep_freed_memory replaced by a no-op
    from pipeline.nn import precision

    precision.keep_freed_memory = lambda: False
    return True


def _run(setting: str, keep_freed: bool, docs: list[Any], warm: Any) -> dict[str, Any]:
    from dask.distributed import Client, LocalCluster

    from pipeline.bulk import BulkParams, _spec, chunk_task
    from pipeline.params import load_params

    workers, threads = (int(x) for x in setting.split("x"))
    params = dataclasses.replace(
        load_params(BulkParams, "bulk", ROOT / "params.yaml"), workers=workers, threads=threads, reuse=False
    )
    spec = _spec(params, ROOT / "models/classifier", ROOT / "corpora/lexicon/lexicon.yaml", workers)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        addrs = list(client.scheduler_info()["workers"])
        if not keep_freed:
            client.run(_untuned)
        for a in addrs:  # every worker loads the model and scores a small document first
            client.submit(chunk_task, [warm], spec, params, None, workers=[a], pure=False).result()
        before = client.run(_usage)
        t0 = time.perf_counter()
        futures = [client.submit(chunk_task, [d], spec, params, None, pure=False) for d in docs]
        rows = [r for f in futures for r in f.result()[0]]
        seconds = time.perf_counter() - t0
        after = client.run(_usage)
    faults = sum(after[a][0] - before[a][0] for a in addrs)
    sys_s = sum(after[a][1] - before[a][1] for a in addrs)
    rss = sum(after[a][2] for a in addrs) / 1024
    return {"rows": rows, "seconds": seconds, "faults": faults, "sys_s": sys_s, "rss_mb": rss}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=4)
    ap.add_argument("--chars", type=int, default=40000)
    ap.add_argument("--settings", default="1x2,2x1", help="workers x threads, comma-separated")
    ap.add_argument("--malloc", choices=("both", "tuned", "default"), default="both")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from transformers import AutoTokenizer

    from pipeline.archives import read_archive

    docs = read_archive(ROOT / "corpora/bulk/vn-phap-dien.tar.xz")
    by_size = sorted(docs, key=lambda d: abs(len(d.text) - args.chars))
    chosen, warm = by_size[: args.docs], min(docs, key=lambda d: len(d.text))
    tok = AutoTokenizer.from_pretrained(ROOT / "models/classifier")
    malloc = {"both": (True, False), "tuned": (True,), "default": (False,)}[args.malloc]
    results: dict[str, dict[str, Any]] = {}
    for setting in args.settings.split(","):
        for keep in malloc:
            name = f"{setting} {'malloc keeps freed' if keep else 'malloc untuned'}"
            results[name] = _run(setting, keep, chosen, warm)
            print(f"  {name}: {results[name]['seconds']:.1f} s", file=sys.stderr, flush=True)
    first = next(iter(results.values()))["rows"]
    arts = [r["text"] for r in first if r["level"] == "article"]
    tokens = sum(len(x) for x in tok(arts)["input_ids"])
    print(
        f"\n{len(chosen)} Pháp điển documents ({', '.join(d.doc_id for d in chosen)}): "
        f"{len(arts)} articles, {len(first)} provisions, {tokens:,} tokens; cores {os.cpu_count()}\n"
    )
    print("| workers x threads, malloc | s | tokens/s | minor faults | sys s | workers' RSS (sum) |")
    print("|---|---:|---:|---:|---:|---:|")
    table = {}
    for name, r in results.items():
        table[name] = {k: r[k] for k in ("seconds", "faults", "sys_s", "rss_mb")}
        table[name]["tokens_per_s"] = tokens / r["seconds"]
        print(
            f"| {name} | {r['seconds']:.1f} | {tokens / r['seconds']:,.0f} | {r['faults']:,} | "
            f"{r['sys_s']:.1f} | {r['rss_mb']:,.0f} MB |"
        )
    key = {r["provision_id"]: r for r in first}
    for name, r in results.items():
        other = {x["provision_id"]: x for x in r["rows"]}
        same_ids = other.keys() == key.keys()
        dp = max((abs(other[p][d] - key[p][d]) for p in key if p in other for d in DIMS), default=0.0)
        flips = sum(other[p][f] != key[p][f] for p in key if p in other for f in FLAGS)
        table[name].update(same_ids=same_ids, max_dp=dp, flags_changed=flips)
        print(f"{name}: same provisions {same_ids}, max |Δp| {dp:.2e}, flags changed {flips}")
    if args.out:
        Path(args.out).write_text(json.dumps({"tokens": tokens, "settings": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

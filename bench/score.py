"""Benchmark of the score stage's workload, side by side in one run: the project's scorer in fp32 and
bf16, the code before (``--before-src``, fp32), and the plain way, on the same articles.

Workload: every k-th article of data/provisions.parquet with all its clauses and points (``--articles``;
0 = all of them, the whole score stage), scored as the score stage scores them (the scoring core:
in-context units, token evidence, lexicon evidence, params.yaml's ``score`` options).

Systems, each in its own spawned process (its peak RSS is its own):

- ``ours_fp32``, ``ours_bf16``: pipeline.scoring.score_provisions with ``precision`` fp32 / bf16 (bf16
  under torch.autocast). On a CPU without native bf16 (no AVX512-BF16/AMX), bf16 is emulated and
  several times slower than fp32: it is then run on every ``--bf16-every``-th article of the sample
  only (stated in the table), so that the run ends; ``score.precision: auto`` picks fp32 there.
- ``before_fp32``: the same call in another checkout of the code (``--before-src DIR``, e.g.
  ``git worktree add /tmp/before core``): today's code before this work.
- ``plain_fp32``: transformers ``AutoModel`` in fp32 over the same windows (the same tokens), batches
  of ``--batch-size`` windows in corpus order, padded to the longest, mean-pooled: the encoder work
  alone, without lexicon features, unit scores or evidence.

Printed: provisions/s, tokens/s (real tokens, no padding), GFLOP/s of the encoder's useful work and its
share of the bf16 (and fp32) matmul peak measured in the same run (a ``--peak-n``² matmul), seconds,
peak RSS; then the flags that change and max |Δp| between precisions and between before and after.

    python bench/score.py [--articles 300] [--before-src /tmp/before] [--out bench.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
DIMS = ("vagueness", "speech_risk")
FLAGS = ("vague_flag", "speech_flag")


# --- children -------------------------------------------------------------------------------------


def _peak(n: int, dtype: str, threads: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
    small = torch.randn(64, 64).to(dt)
    small @ small  # load the kernels
    reps, t0 = 0, time.perf_counter()
    while reps < 1 or (time.perf_counter() - t0 < 3.0 and reps < 20):
        a @ b
        reps += 1
    s = (time.perf_counter() - t0) / reps
    return {"gflops": 2 * n**3 / s / 1e9, "seconds_per_matmul": s}


def _ours(
    src: str,
    model: str,
    rows: list[dict],
    threads: int,
    precision: str,
    options: dict[str, Any],
    states: tuple[str, str] | None = None,
    int8: bool = False,
) -> dict[str, Any]:
    """The scoring core of the checkout in ``src`` on ``rows`` (warm-up on the first article first);
    with ``states`` (the cv stage's vector files), the gold articles are scored from their states, as
    the score stage scores them."""
    sys.path.insert(0, src)
    import inspect

    import torch

    from pipeline.lexicon import Lexicon
    from pipeline.scoring import ModelScorer, ScoringOptions, score_provisions

    assert Path(sys.modules["pipeline"].__file__).resolve().is_relative_to(Path(src).resolve())
    torch.set_num_threads(threads)
    kw: dict[str, Any] = {"device": "cpu", "batch_size": options["batch_size"], "int8": int8}
    if "precision" in inspect.signature(ModelScorer).parameters:
        kw |= {"precision": precision, "threads": threads}
    elif precision != "fp32":
        raise RuntimeError(f"{src}: this code has no precision option")
    scorer = ModelScorer(model, **kw)
    known = ScoringOptions.__dataclass_fields__
    opts = ScoringOptions(**{k: v for k, v in options.items() if k in known})
    lexicon = Lexicon.load(ROOT / "corpora/lexicon/lexicon.yaml")
    first = [r for r in rows if r["doc_id"] == rows[0]["doc_id"] and r["article"] == rows[0]["article"]]
    score_provisions(first, scorer, lexicon, opts)  # warm-up
    t = time.perf_counter()
    if states is not None:  # reading the cv stage's states is part of the stage's work: timed
        from pipeline.gold_states import state_cache
        from pipeline.nn.classifier import encoder_sha

        scorer.states = state_cache(states[0], states[1], encoder_sha(scorer.classifier))
        if scorer.states is None:
            raise RuntimeError(f"{states}: no states of this model's encoder")
    out = score_provisions(rows, scorer, lexicon, opts)
    seconds = time.perf_counter() - t
    cache = getattr(scorer, "states", None)
    return {
        "seconds": seconds,
        "from_states": getattr(cache, "hits", 0),
        "encoded_again": getattr(cache, "encoded_again", 0),
        "precision": getattr(scorer, "precision", "fp32"),
        "rows": {r["provision_id"]: [r[d] for d in DIMS] + [bool(r[f]) for f in FLAGS] for r in out},
    }


def _plain(model: str, texts: list[str], threads: int, batch_size: int) -> dict[str, Any]:
    """transformers AutoModel fp32 over the same windows, batches in corpus order, no sorting."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from pipeline.inputs import read_model_dir
    from pipeline.nn.windows import WindowSpec, make_windows

    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(model)
    enc = AutoModel.from_pretrained(model).eval()
    spec = WindowSpec(**read_model_dir(model).window)
    wins = make_windows(texts, tok, spec)
    inputs = [spec.prefix + texts[w.text_index][w.start : w.end] for w in wins]

    def go(batch: list[str]) -> None:
        b = tok(batch, padding=True, truncation=True, max_length=spec.max_length, return_tensors="pt")
        h = enc(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1).float()
        (h * m).sum(1) / m.sum(1)

    with torch.inference_mode():
        go(inputs[:2])  # warm-up
        t = time.perf_counter()
        for i in range(0, len(inputs), batch_size):
            go(inputs[i : i + batch_size])
    return {"seconds": time.perf_counter() - t, "windows": len(inputs), "precision": "fp32"}


def _child(fn_name: str, args: tuple, q: Any) -> None:
    import logging

    logging.disable(logging.WARNING)
    os.environ["TQDM_DISABLE"] = "1"
    out = globals()[fn_name](*args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put(out)


def measure(fn_name: str, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn_name, args, q))
    p.start()
    out = q.get()
    p.join()
    if p.exitcode:
        raise RuntimeError(f"{fn_name}: child exited with {p.exitcode}")
    return out


# --- the workload ---------------------------------------------------------------------------------


def load_rows(provisions: str, n: int, every: int = 1) -> list[dict[str, Any]]:
    """Every k-th article (all when ``n`` is 0) with all its clauses and points, as provision rows;
    then every ``every``-th article of those."""
    import pyarrow.parquet as pq

    from pipeline.schema import PROVISIONS_SCHEMA

    rows = pq.read_table(provisions).select([f.name for f in PROVISIONS_SCHEMA]).to_pylist()
    arts = sorted((r for r in rows if r["level"] == "article"), key=lambda r: r["provision_id"])
    if n:
        arts = arts[:: max(1, len(arts) // n)][:n]
    arts = arts[::every]
    keep = {(r["doc_id"], r["article"]) for r in arts}
    return [r for r in rows if (r["doc_id"], r["article"]) in keep]


def encoder_work(model: str, texts: list[str]) -> dict[str, float]:
    """Windows, real tokens and the encoder's useful FLOPs (matmuls; no padding) over ``texts``."""
    from transformers import AutoConfig, AutoTokenizer

    from pipeline.inputs import read_model_dir
    from pipeline.nn.windows import WindowSpec, make_windows

    cfg = AutoConfig.from_pretrained(model)
    h, i, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    wins = make_windows(
        texts, AutoTokenizer.from_pretrained(model), WindowSpec(**read_model_dir(model).window)
    )
    lengths = [len(w.input_ids) for w in wins]
    # per layer: Q, K, V, output (4 H²) and the feed-forward (2 H I) per token; Q·K and A·V (2 T² H)
    flops = sum(layers * (2 * t * (4 * h * h + 2 * h * i) + 4 * t * t * h) for t in lengths)
    return {"windows": len(wins), "tokens": sum(lengths), "flops": flops}


def compare(a: dict[str, list], b: dict[str, list]) -> dict[str, Any]:
    common = sorted(set(a) & set(b))
    dp = max((abs(a[k][j] - b[k][j]) for k in common for j in range(len(DIMS))), default=0.0)
    changed = sum(a[k][len(DIMS) + j] != b[k][len(DIMS) + j] for k in common for j in range(len(FLAGS)))
    total = len(common) * len(FLAGS)
    return {
        "provisions": len(common),
        "max_abs_dp": dp,
        "flags_changed": changed,
        "flags": total,
        "share": changed / total if total else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/classifier")
    ap.add_argument("--provisions", default="data/provisions.parquet")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--articles", type=int, default=300, help="every k-th article (0: all, the whole stage)")
    ap.add_argument("--threads", type=int, default=0, help="0: every core")
    ap.add_argument("--batch-size", type=int, default=0, help="0: score.batch_size of params.yaml")
    ap.add_argument("--before-src", default=None, help="a checkout of the code before (fp32 baseline)")
    ap.add_argument("--bf16-every", type=int, default=0, help="bf16 on every k-th article (0: auto)")
    ap.add_argument("--peak-n", type=int, default=2048)
    ap.add_argument(
        "--int8", action="store_true", help="also score.int8 (dynamic int8 encoder), fp32 elsewhere"
    )
    ap.add_argument("--vectors", default="data/gold_vectors.parquet", help="the cv stage's window vectors")
    ap.add_argument("--unit-vectors", default="data/gold_unit_vectors.parquet", help="and unit states")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from pipeline.nn.precision import cores, cpu_has_bf16
    from pipeline.params import read_params

    threads = args.threads or cores()
    options = dict(read_params(args.params).get("score") or {})
    if args.batch_size:
        options["batch_size"] = args.batch_size
    rows = load_rows(args.provisions, args.articles)
    articles = [r for r in rows if r["level"] == "article"]
    work = encoder_work(args.model, [r["text"] or "" for r in articles])
    print(
        f"workload: {len(articles)} articles, {len(rows)} provisions, {work['windows']} windows, "
        f"{work['tokens']} tokens, {work['flops'] / 1e12:.2f} TFLOP; {threads} threads; "
        f"native bf16: {cpu_has_bf16()}",
        flush=True,
    )
    peak = {p: measure("_peak", args.peak_n, p, threads) for p in ("fp32", "bf16")}
    print(
        f"matmul peak {args.peak_n}²: fp32 {peak['fp32']['gflops']:.1f} GFLOP/s, "
        f"bf16 {peak['bf16']['gflops']:.1f} GFLOP/s",
        flush=True,
    )
    every = args.bf16_every or (1 if peak["bf16"]["gflops"] >= peak["fp32"]["gflops"] else 8)
    res: dict[str, dict[str, Any]] = {}
    sizes: dict[str, tuple[list[dict], dict]] = {"all": (rows, work)}
    if every > 1:
        sub = load_rows(args.provisions, args.articles, every)
        sub_work = encoder_work(args.model, [r["text"] or "" for r in sub if r["level"] == "article"])
        sizes["sub"] = (sub, sub_work)
    plan = [("ours_fp32", "all", str(ROOT), "fp32")]
    if args.before_src:
        plan.append(("before_fp32", "all", str(Path(args.before_src).resolve()), "fp32"))
    plan.append(("ours_bf16", "sub" if every > 1 else "all", str(ROOT), "bf16"))
    if every > 1:  # fp32 on the same subset, for a like-for-like bf16 comparison
        plan.append(("ours_fp32_sub", "sub", str(ROOT), "fp32"))
    if args.int8:
        plan.append(("ours_int8", "all", str(ROOT), "fp32"))
    with_states = Path(args.vectors).is_file() and Path(args.unit_vectors).is_file()
    if with_states:  # the score stage as dvc repro runs it: gold articles from the cv stage's states
        plan.append(("ours_fp32_cv", "all", str(ROOT), "fp32"))
    for name, size, src, prec in plan:
        rs, _ = sizes[size]
        opts = options
        if src != str(ROOT):  # the code before with its own score options
            opts = dict(read_params(Path(src) / "params.yaml").get("score") or {})
            opts["batch_size"] = options["batch_size"]
        states = (args.vectors, args.unit_vectors) if name == "ours_fp32_cv" else None
        int8 = name == "ours_int8"
        res[name] = measure("_ours", src, args.model, rs, threads, prec, opts, states, int8) | {"size": size}
        if int8:
            res[name]["precision"] = "int8"
        extra = ""
        if states is not None:
            extra = (
                f" ({res[name]['from_states']} articles from states, {res[name]['encoded_again']} re-encoded)"
            )
        print(f"  {name}: {res[name]['seconds']:.1f} s{extra}", flush=True)
    texts = [r["text"] or "" for r in articles]
    res["plain_fp32"] = measure("_plain", args.model, texts, threads, options.get("batch_size", 32))
    res["plain_fp32"]["size"] = "all"
    print(f"  plain_fp32: {res['plain_fp32']['seconds']:.1f} s", flush=True)

    table = []
    for name, r in res.items():
        rs, w = sizes[r["size"]]
        gflops = w["flops"] / r["seconds"] / 1e9
        table.append(
            {
                "system": name,
                "precision": r["precision"],
                "articles": sum(x["level"] == "article" for x in rs),
                "provisions": len(rs),
                "provisions_per_s": len(rs) / r["seconds"],
                "tokens_per_s": w["tokens"] / r["seconds"],
                "gflops": gflops,
                "share_bf16_peak": gflops / peak["bf16"]["gflops"],
                "share_fp32_peak": gflops / peak["fp32"]["gflops"],
                "seconds": r["seconds"],
                "peak_rss_mb": r["peak_rss_mb"],
            }
        )
    hdr = f"{'system':<14}{'prec':>5}{'prov':>7}{'prov/s':>9}{'tok/s':>9}{'GFLOP/s':>9}"
    print("\n" + hdr + f"{'%bf16pk':>9}{'%fp32pk':>9}{'seconds':>9}{'RSS MB':>8}")
    for t in table:
        print(
            f"{t['system']:<14}{t['precision']:>5}{t['provisions']:>7}{t['provisions_per_s']:>9.1f}"
            f"{t['tokens_per_s']:>9.0f}{t['gflops']:>9.1f}{100 * t['share_bf16_peak']:>8.1f}%"
            f"{100 * t['share_fp32_peak']:>8.1f}%{t['seconds']:>9.1f}{t['peak_rss_mb']:>8.0f}"
        )
    ref = "ours_fp32_sub" if every > 1 else "ours_fp32"
    comparisons = {"fp32_vs_bf16": compare(res[ref]["rows"], res["ours_bf16"]["rows"])}
    if "before_fp32" in res:
        comparisons["before_vs_after_fp32"] = compare(res["before_fp32"]["rows"], res["ours_fp32"]["rows"])
    if "ours_int8" in res:
        comparisons["fp32_vs_int8"] = compare(res["ours_fp32"]["rows"], res["ours_int8"]["rows"])
    if "ours_fp32_cv" in res:
        comparisons["encoded_vs_cv_states"] = compare(res["ours_fp32"]["rows"], res["ours_fp32_cv"]["rows"])
    print()
    for k, c in comparisons.items():
        print(
            f"{k}: {c['provisions']} provisions, max |Δp| {c['max_abs_dp']:.4f}, flags changed "
            f"{c['flags_changed']} of {c['flags']} ({100 * c['share']:.2f}%)"
        )
    by = {t["system"]: t for t in table}
    speed = {"ours_fp32_vs_plain": by["plain_fp32"]["seconds"] / by["ours_fp32"]["seconds"]}
    if "before_fp32" in by:
        speed["ours_fp32_vs_before"] = by["before_fp32"]["seconds"] / by["ours_fp32"]["seconds"]
    if "ours_int8" in by:
        speed["int8_vs_fp32"] = by["ours_fp32"]["seconds"] / by["ours_int8"]["seconds"]
    if "ours_fp32_cv" in by:
        speed["cv_states_vs_encoding"] = by["ours_fp32"]["seconds"] / by["ours_fp32_cv"]["seconds"]
    bf = by["ours_bf16"]["provisions_per_s"] / by[ref]["provisions_per_s"]
    speed["bf16_vs_fp32"] = bf
    print("speed-ups: " + ", ".join(f"{k} {v:.2f}x" for k, v in speed.items()))
    if every > 1:
        print(f"(bf16 is emulated on this CPU: bf16 rows are every {every}th article of the sample)")
    if args.out:
        for r in res.values():
            r.pop("rows", None)
        Path(args.out).write_text(
            json.dumps(
                {
                    "workload": work,
                    "peak": peak,
                    "table": table,
                    "comparisons": comparisons,
                    "speedups": speed,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

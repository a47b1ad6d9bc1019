"""Benchmark: provisions/s and peak memory of our scorer vs the plain transformers text-classification pipe.

Same model directory (models/classifier), same inputs, side by side in one run; each system runs in its
own spawned process so that its peak resident memory (ru_maxrss) is its own. Ours: length-bucketed
batches, dynamic padding, inference mode, every window of a long provision, optionally int8.
Plain: ``pipeline("text-classification", model=DIR)`` with its defaults (batch size 1) over the same
windows (the same tokens) as ours.

    python bench/score.py [--model models/classifier] [--provisions data/provisions.parquet] [--n 300]
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _ours(model: str, texts: list[str], threads: int, int8: bool, batch_size: int) -> dict:
    import torch

    from pipeline.nn.classifier import Classifier

    torch.set_num_threads(threads)
    clf = Classifier.load(model, device="cpu", int8=int8)
    clf.score_texts(texts[:4], batch_size=batch_size)  # warm-up
    t = time.perf_counter()
    clf.score_texts(texts, batch_size=batch_size)
    return {"seconds": time.perf_counter() - t}


def _context(
    model: str, items: list[tuple[str, str, list[tuple[int, int]]]], threads: int, batch_size: int
) -> dict:
    """The score stage's own path: each article encoded once, its clauses and points scored in context."""
    import torch

    from pipeline.nn.classifier import Classifier
    from pipeline.scoring.context import ContextScorer, Item

    torch.set_num_threads(threads)
    clf = Classifier.load(model, device="cpu")
    work = [Item(t, lang, tuple(spans)) for t, lang, spans in items]
    scorer = ContextScorer(clf, batch_size)
    scorer.run(work[:2])  # warm-up
    t = time.perf_counter()
    scorer.run(work)
    return {"seconds": time.perf_counter() - t}


def _plain(model: str, texts: list[str], threads: int, max_length: int, prefix: str) -> dict:
    import torch
    from transformers import AutoTokenizer, pipeline

    from pipeline.nn.windows import WindowSpec, make_windows

    torch.set_num_threads(threads)
    pipe = pipeline("text-classification", model=model, device="cpu")
    # the same work as ours: every window of every provision (a provision's score is the max over them)
    tok = AutoTokenizer.from_pretrained(model)
    wins = make_windows(texts, tok, WindowSpec(max_length, min(32, max_length // 4), prefix))
    inputs = [prefix + texts[w.text_index][w.start : w.end] for w in wins]
    kw = {"truncation": True, "max_length": max_length}
    pipe(inputs[:4], **kw)  # warm-up
    t = time.perf_counter()
    pipe(inputs, **kw)
    return {"seconds": time.perf_counter() - t, "windows": len(inputs)}


def _child(fn_name: str, args: tuple, q: mp.Queue) -> None:
    import logging

    logging.disable(logging.WARNING)
    out = globals()[fn_name](*args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put(out)


def measure(fn_name: str, *args) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn_name, args, q))
    p.start()
    out = q.get()
    p.join()
    if p.exitcode:
        raise RuntimeError(f"{fn_name}: child exited with {p.exitcode}")
    return out


def load_texts(provisions: str | None, n: int, levels: list[str]) -> list[str]:
    import pandas as pd

    if provisions and Path(provisions).exists():
        df = pd.read_parquet(provisions, columns=["provision_id", "level", "text"])
        df = df[df["level"].isin(levels)].sort_values("provision_id")
        step = max(1, len(df) // n)
        return df["text"].iloc[::step].head(n).tolist()
    raise FileNotFoundError(f"{provisions}: provisions not found (run `dvc repro segment`)")


def load_articles(provisions: str, n: int) -> tuple[list[tuple[str, str, list[tuple[int, int]]]], list[str]]:
    """Every ``k``-th article with all its clauses and points: (article items, every provision's text)."""
    import pandas as pd

    df = pd.read_parquet(
        provisions,
        columns=["provision_id", "doc_id", "article", "level", "lang", "text", "char_start", "char_end"],
    ).sort_values("provision_id")
    arts = df[df["level"] == "article"]
    arts = arts.iloc[:: max(1, len(arts) // n)].head(n)
    units = df[df["level"] != "article"].groupby(["doc_id", "article"])
    items, texts = [], []
    for a in arts.itertuples():
        spans = []
        texts.append(a.text or "")
        if (a.doc_id, a.article) in units.groups:
            for u in units.get_group((a.doc_id, a.article)).itertuples():
                spans.append((int(u.char_start) - int(a.char_start), int(u.char_end) - int(a.char_start)))
                texts.append(u.text or "")
        items.append((a.text or "", a.lang, spans))
    return items, texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/classifier")
    ap.add_argument("--provisions", default="data/provisions.parquet")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--levels", default="article,clause,point", help="provision levels to sample (as scored)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--int8", action="store_true", help="also time our scorer with dynamic int8")
    ap.add_argument("--out", default=None, help="write the result as JSON here")
    ap.add_argument(
        "--articles",
        type=int,
        default=0,
        help="instead: this many articles with all their clauses and points, as the score stage "
        "scores them (ours = in-context scoring, one encoder pass per article)",
    )
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    cfg = json.loads((Path(args.model) / "overbroad.json").read_text(encoding="utf-8"))
    if args.articles:
        return _bench_articles(args, cfg)
    texts = load_texts(args.provisions, args.n, args.levels.split(","))
    n = len(texts)
    res = {
        "n": n,
        "threads": args.threads,
        "mean_chars": round(sum(map(len, texts)) / max(n, 1), 1),
        "ours": measure("_ours", args.model, texts, args.threads, False, args.batch_size),
        "plain_pipeline": measure(
            "_plain", args.model, texts, args.threads, cfg["window"]["max_length"], cfg["window"]["prefix"]
        ),
    }
    if args.int8:
        res["ours_int8"] = measure("_ours", args.model, texts, args.threads, True, args.batch_size)
    for k in ("ours", "plain_pipeline", "ours_int8"):
        if k in res:
            res[k]["provisions_per_s"] = round(n / res[k]["seconds"], 2)
            res[k]["seconds"] = round(res[k]["seconds"], 2)
            res[k]["peak_rss_mb"] = round(res[k]["peak_rss_mb"], 1)
    res["speedup"] = round(res["ours"]["provisions_per_s"] / res["plain_pipeline"]["provisions_per_s"], 2)
    if "ours_int8" in res:
        res["speedup_int8"] = round(
            res["ours_int8"]["provisions_per_s"] / res["plain_pipeline"]["provisions_per_s"], 2
        )
    print(f"{'system':<16}{'prov/s':>10}{'seconds':>10}{'peak MB':>10}")
    for k in ("ours", "ours_int8", "plain_pipeline"):
        if k in res:
            r = res[k]
            print(f"{k:<16}{r['provisions_per_s']:>10}{r['seconds']:>10}{r['peak_rss_mb']:>10}")
    print(f"speedup {res['speedup']}x over {n} provisions ({res['mean_chars']} chars on average)")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    return 0


def _bench_articles(args: argparse.Namespace, cfg: dict) -> int:
    items, texts = load_articles(args.provisions, args.articles)
    n = len(texts)
    ours = measure("_context", args.model, items, args.threads, args.batch_size)
    plain = measure(
        "_plain", args.model, texts, args.threads, cfg["window"]["max_length"], cfg["window"]["prefix"]
    )
    print(f"{len(items)} articles with their units: {n} provisions")
    print(f"{'system':<16}{'prov/s':>10}{'seconds':>10}{'peak MB':>10}")
    for k, r in (("ours_context", ours), ("plain_pipeline", plain)):
        print(f"{k:<16}{n / r['seconds']:>10.2f}{r['seconds']:>10.2f}{r['peak_rss_mb']:>10.1f}")
    print(f"speedup {plain['seconds'] / ours['seconds']:.2f}x")
    if args.out:
        Path(args.out).write_text(
            json.dumps({"n": n, "ours_context": ours, "plain_pipeline": plain}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

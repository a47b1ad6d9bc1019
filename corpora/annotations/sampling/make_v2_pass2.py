"""Blind second-pass sample for gold v2 (issue 14): a seeded, stratified 15 % of each first-pass batch.

Reads only the first-pass annotators' sampling files (their candidate ids and strata: law_type where the file gives one, else the document), never their labels.
For each batch: n = round(15 % of all its ids); the sample is drawn from the first 70 % of its id list
(a first-pass annotator may not reach the end of its list by the deadline); n is allocated across the
batch's strata in proportion to their size within that pool (largest remainder, at least one per stratum
while n allows), and each stratum is sampled with random.Random(f"{SEED}-{batch}-{stratum}").
The labelling order interleaves the three batches in proportion to their sample sizes (so a shortfall stays
balanced), and within a batch follows a seeded shuffle. Re-runnable: same inputs, same output.
"""
import json, math, random
from pathlib import Path

SEED = 20261201
FRAC, HEAD = 0.15, 0.70
D = Path(__file__).resolve().parent
BATCHES = ["vi-pd", "vi-vlc", "en"]


def strata_of(spec):
    """The sampling file's strata map as id -> stratum (it may be stratum -> ids or id -> stratum)."""
    s = spec.get("strata") or {}
    ids = set(spec["ids"])
    if s and all(isinstance(v, list) for v in s.values()):
        m = {i: k for k, v in s.items() for i in v}
    elif s and all(isinstance(v, str) for v in s.values()):
        m = dict(s)
    elif s and all(isinstance(v, dict) for v in s.values()) and all("law_type" in v for v in s.values()):
        m = {i: v["law_type"] for i, v in s.items()}  # id -> {"law_type": ...}: stratify by law type
    elif s and all(isinstance(v, dict) for v in s.values()):
        m = {i: k for k, v in s.items() for i in (v.get("ids") or [])}
    else:
        m = {}
    # no strata map (batch en): stratify by document, which is the law type there
    return {i: m.get(i, i.split("/art-")[0]) for i in ids}


def allocate(sizes, n):
    tot = sum(sizes.values())
    keys = sorted(sizes)
    if n >= len(keys):
        base = {k: 1 for k in keys}
        rest = n - len(keys)
        quota = {k: rest * (sizes[k] - 1) / max(1, tot - len(keys)) if tot > len(keys) else 0 for k in keys}
    else:
        base = {k: 0 for k in keys}
        rest = n
        quota = {k: rest * sizes[k] / tot for k in keys}
    alloc = {k: base[k] + math.floor(quota[k]) for k in keys}
    left = n - sum(alloc.values())
    order = sorted(keys, key=lambda k: (-(quota[k] - math.floor(quota[k])), -sizes[k], k))
    for k in order[:left]:
        alloc[k] += 1
    for k in keys:
        alloc[k] = min(alloc[k], sizes[k])
    return alloc


def main():
    out = {"seed": SEED, "fraction": FRAC, "head_fraction": HEAD, "annotator": "ai-annotator-Z2 (Claude agent; blind second pass)",
           "strategy": __doc__.strip(), "batches": {}}
    for b in BATCHES:
        if not (D / f"v2-{b}.json").exists():
            print("not yet written:", b)
            continue
        spec = json.load(open(D / f"v2-{b}.json"))
        ids = spec["ids"]
        st = strata_of(spec)
        n = round(FRAC * len(ids))
        pool = ids[: math.ceil(HEAD * len(ids))]
        groups = {}
        for i in pool:
            groups.setdefault(st[i], []).append(i)
        alloc = allocate({k: len(v) for k, v in groups.items()}, n)
        chosen = []
        for k in sorted(groups):
            chosen += random.Random(f"{SEED}-{b}-{k}").sample(groups[k], alloc[k])
        random.Random(f"{SEED}-{b}-order").shuffle(chosen)
        out["batches"][f"v2-{b}"] = {"n_ids": len(ids), "pool": len(pool), "n": len(chosen),
                                     "allocation": {k: alloc[k] for k in sorted(alloc)}, "strata": {i: st[i] for i in chosen}, "ids": chosen}
    # interleave in proportion to the sample sizes
    lists = {b: list(v["ids"]) for b, v in out["batches"].items()}
    tot = {b: len(v) for b, v in lists.items()}
    taken = {b: 0 for b in lists}
    order = []
    while any(taken[b] < tot[b] for b in lists):
        b = min((b for b in lists if taken[b] < tot[b]), key=lambda b: ((taken[b] + 0.5) / tot[b], b))
        order.append({"batch": b, "provision_id": lists[b][taken[b]]})
        taken[b] += 1
    out["order"] = order
    out["n"] = len(order)
    json.dump(out, open(D / "v2-pass2.json", "w"), ensure_ascii=False, indent=1)
    for b, v in out["batches"].items():
        print(b, v["n_ids"], v["pool"], v["n"], v["allocation"])
    print("total", len(order))


if __name__ == "__main__":
    main()

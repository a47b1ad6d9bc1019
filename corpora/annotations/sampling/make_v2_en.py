"""Candidate selection for gold v2 batch v2-en (annotator ai-annotator-M).

Deterministic and re-runnable:
    cd /work/wt/gold; PYTHONPATH=. .venv/bin/python corpora/annotations/sampling/make_v2_en.py [--write]

Selection uses only metadata (document, section number, Penal Code chapter derived from the section
number, position) and a seeded RNG. It never looks at the lexicon, a model or the article wording to
pre-judge levels.

Order of labelling (= order of ids):
 1. Philippines Cybercrime Prevention Act 2012, all 31 sections (new law, split here by "Section N.").
 2. Pakistan Prevention of Electronic Crimes Act 2016, all 92 sections incl. inserted ones (2A-2X, 22A ...).
 3. Singapore FICA 2021, every section not labelled in gold v1 (sampling/batches.json).
 4. Singapore OCHA 2023, every unlabelled section.
 5. Singapore Protection from Harassment Act, every unlabelled section.
 6. Singapore Penal Code 1871: seeded random sample of the unlabelled sections, stratified by Penal Code
    chapter (proportional allocation, largest remainder), listed in section order.
"""
import json
import random
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NEW = Path("/work/shared/corpora/raw/en")
SEED = 20261201
PC_N = 218  # 520 in all: 302 from the five full documents + 218 Penal Code sections

PH_ID = "ph-cybercrime-prevention-act-2012"
PK_ID = "pk-peca-2016"


def split_ph(path=NEW / f"{PH_ID}.txt"):
    """Sections of RA 10175: 'Section N. Heading. – text'; chapter lines and signatures dropped."""
    out, cur = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        m = re.match(r"^Section (\d+)\.\s+(.*)$", line)
        if m:
            num, rest = m.groups()
            h = re.match(r"^(.{1,90}?)\.?\s+–\s+(.*)$", rest)
            heading, text = (h.group(1), h.group(2)) if h else ("", rest)
            cur = {"article": num, "heading": heading, "lines": [text]}
            out.append(cur)
            continue
        if cur is None or not line:
            continue
        if re.match(r"^(CHAPTER [IVXL]+|Approved,?)$", line) or line.isupper():
            if line.startswith("Approved"):
                cur = None
            continue
        cur["lines"].append(line)
    return _finish(out, PH_ID)


def split_pk(path=NEW / f"{PK_ID}.txt"):
    """Sections of PECA 2016 as consolidated; inserted sections are their own sections."""
    out, cur = [], None
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        line = line.strip()
        if not line or line.startswith("[Footnote") or re.match(r"^(\d?\[)?CHAPTER|^RGN:", line):
            continue
        m = re.match(r"^(\d+[A-Z]?)\.\s+(.+)$", line)
        if m and not re.search(r"[.;:]$", m.group(2)) and len(m.group(2)) < 120 and not line.startswith("(") :
            cur = {"article": m.group(1), "heading": m.group(2).strip(), "lines": []}
            out.append(cur)
            continue
        m = re.match(r"^\d?\[(\d+[A-Z]?)[.,]\s+(.+?)\.?\s*(?:—|__+|_)\s*(.*)$", line)
        if m:
            cur = {"article": m.group(1), "heading": m.group(2).strip(), "lines": [m.group(3)]}
            out.append(cur)
            continue
        m = re.match(r"^\((2[A-Z])\)\s+(.+?)\.?,?\s*(?:—|__+|_)\s*(.*)$", line)
        if m:
            cur = {"article": m.group(1), "heading": m.group(2).strip().rstrip(",."), "lines": [m.group(3)]}
            out.append(cur)
            continue
        if cur is not None:
            if not cur["lines"] and line.startswith("Authority.__"):  # 30D: heading runs onto 2nd line
                cur["heading"] += " Authority"
                line = line[len("Authority.__"):].strip()
            cur["lines"].append(line)
    return _finish(out, PK_ID)


def _finish(secs, doc):
    rows = []
    for s in secs:
        text = " ".join(l for l in s["lines"] if l).strip()
        rows.append({"provision_id": f"{doc}/art-{s['article']}", "doc_id": doc, "lang": "en",
                     "level": "article", "article": s["article"], "heading": s["heading"], "text": text})
    ids = [r["provision_id"] for r in rows]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    return rows


def segment(doc):
    res = subprocess.run([sys.executable, "-m", "pipeline.cli", "segment", f"corpora/raw/en/{doc}.txt",
                          "--lang", "en", "--doc-id", doc], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    rows = [json.loads(l) for l in res.stdout.splitlines() if l.strip()]
    return [r for r in rows if r["level"] == "article"]


PC_CHAPTERS = [  # (chapter, first section, last section), by the Penal Code 1871 (2020 Rev Ed) layout
    ("1", "1", "5"), ("2", "6", "52"), ("3", "53", "75"), ("4", "76", "106A"), ("5", "107", "120"),
    ("5A", "120A", "120B"), ("6", "121", "130A"), ("6A", "130B", "130C"), ("6B", "130D", "130E"),
    ("7", "131", "140B"), ("8", "141", "160"), ("9", "161", "171"), ("9A", "171A", "171Z"),
    ("10", "172", "190"), ("11", "191", "229A"), ("12", "230", "263A"), ("13", "264", "267"),
    ("14", "267A", "294"), ("15", "295", "298A"), ("16", "299", "377D"), ("17", "378", "462"),
    ("18", "463", "489I"), ("20", "493", "498"), ("21", "499", "502"), ("22", "503", "510"),
    ("23", "511", "512"),
]


def _key(sec):
    m = re.match(r"^(\d+)([A-Z]*)$", sec)
    return (int(m.group(1)), m.group(2))


def pc_chapter(sec):
    k = _key(sec)
    for ch, a, b in PC_CHAPTERS:
        if _key(a) <= k <= _key(b):
            return ch
    raise ValueError(sec)


def main(write=False):
    batches = json.loads((ROOT / "corpora/annotations/sampling/batches.json").read_text())
    labelled = {i for v in batches.values() for i in v}
    ids = [r["provision_id"] for r in split_ph()] + [r["provision_id"] for r in split_pk()]
    for doc in ["sg-foreign-interference-countermeasures-act-2021", "sg-online-criminal-harms-act-2023",
                "sg-protection-from-harassment-act-2014"]:
        ids += [r["provision_id"] for r in segment(doc) if r["provision_id"] not in labelled]
    pc = [r for r in segment("sg-penal-code-1871") if r["provision_id"] not in labelled]
    strata = {}
    for r in pc:
        strata.setdefault(pc_chapter(r["article"]), []).append(r)
    total = len(pc)
    quota = {c: PC_N * len(v) / total for c, v in strata.items()}
    alloc = {c: int(q) for c, q in quota.items()}
    for c in sorted(quota, key=lambda c: (-(quota[c] - alloc[c]), c))[: PC_N - sum(alloc.values())]:
        alloc[c] += 1
    rng = random.Random(SEED)
    chosen = set()
    for c in sorted(strata, key=lambda c: _key(c if c[-1].isdigit() else c)):
        chosen |= {r["provision_id"] for r in rng.sample(strata[c], alloc[c])}
    ids += [r["provision_id"] for r in pc if r["provision_id"] in chosen]
    assert len(ids) == len(set(ids))
    out = {
        "batch": "v2-en",
        "annotator": "ai-annotator-M",
        "strategy": (
            "Priority order set by the task: (1) the two new laws in full: Philippines Cybercrime Prevention "
            "Act 2012 (31 sections, split by 'Section N.') and Pakistan PECA 2016 as consolidated to 2025 "
            "(92 sections; inserted sections such as 2E-2K, 22A, 26A, 30A-30D are their own sections); then "
            "(2) every section of Singapore's FICA 2021, OCHA 2023 and Protection from Harassment Act that "
            "gold v1 did not label (v1 ids from sampling/batches.json); then (3) a seeded random sample of "
            f"{PC_N} of the unlabelled Penal Code 1871 sections, stratified by Penal Code chapter (chapter "
            "derived from the section number by the Code's chapter ranges, since the source text has no "
            "chapter headings), proportional allocation with largest remainder, listed in section order. "
            "Only metadata and the RNG were used; no lexicon or model. Labelled in this order until the "
            "deadline."
        ),
        "seed": SEED,
        "pc_allocation": dict(sorted(alloc.items(), key=lambda kv: _key(kv[0]))),
        "counts": {"ph": 31, "pk": 92},
        "ids": ids,
    }
    from collections import Counter
    out["counts"] = dict(Counter(i.split("/")[0] for i in ids))
    if write:
        (ROOT / "corpora/annotations/sampling/v2-en.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    o = main(write="--write" in sys.argv)
    print(len(o["ids"]), o["counts"], o["pc_allocation"])

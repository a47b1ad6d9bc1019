"""Sampling for gold v2 batch vi-vlc (annotator ai-annotator-L): seeded, deterministic, re-runnable.

(a) ~400 articles of the UTS_VLC bulk corpus (corpora/bulk/vn-underthesea-vlc.tar.xz), stratified by law
type with fixed per-law quotas (<= 15 per law); laws already bundled in corpora/raw/vi are skipped.
(b) 100 articles of the bundled Penal Code 2015 (vn-penal-code-2015) not in sampling/batches.json.
Selection uses metadata only (law, law type, article heading/position) and a seeded RNG; no lexicon, no model.

Run: PYTHONPATH=. .venv/bin/python corpora/annotations/sampling/make_v2_vi-vlc.py
"""
import json
import random
import re
import subprocess
import sys
from pathlib import Path

from pipeline.bulk import read_archive, segment_bulk
from pipeline.segment import SegmentError, SegmentParams

SEED = 20261201
BATCH = "vi-vlc"
ROOT = Path(__file__).resolve().parents[3]
ARCHIVE = ROOT / "corpora/bulk/vn-underthesea-vlc.tar.xz"
PFX = "vn-underthesea-vlc."

# Laws of the archive that are bundled in corpora/raw/vi (manifest titles): skipped.
BUNDLED = {
    "bo-luat-hinh-su-2015-296661",  # vn-penal-code-2015 / -as-enacted
    "luat-bao-chi-2016-280645",  # vn-press-law-2016
    "luat-bao-ve-bi-mat-nha-nuoc-2018-337064",  # vn-state-secrets-protection-law-2018
    "luat-an-ninh-mang-2018-351416",  # vn-cybersecurity-law-2018
    "luat-an-toan-thong-tin-mang-2015-298365",  # vn-cyber-information-security-law-2015
    "luat-cong-nghe-thong-tin-2006-67-2006-qh11-12987",  # vn-information-technology-law-2006
    "luat-tiep-can-thong-tin-2016-280116",  # vn-access-to-information-law-2016
    "luat-tin-nguong-ton-giao-2016-322934",  # vn-belief-and-religion-law-2016
    "luat-xuat-ban-2012-19-2012-qh13-152712",  # vn-publishing-law-2012
    "luat-quyen-lap-hoi-1957-102-sl-l-004-36792",  # vn-right-of-association-law-1957
    "luat-quyen-tu-do-hoi-hop-1957-101-sl-l-003-36793",  # vn-freedom-of-assembly-law-1957
}

# law type -> {slug: quota}. Heavier weight on press/information, security and civil controls.
STRATA = {
    "criminal": {
        "bo-luat-to-tung-hinh-su-2015-296884": 15,
        "luat-xu-ly-vi-pham-hanh-chinh-2012-142766": 15,
        "luat-thi-hanh-an-hinh-su-2019-387991": 12,
        "luat-thi-hanh-tam-giu-tam-giam-2015-298373": 8,
        "luat-to-chuc-co-quan-dieu-tra-hinh-su-2015-298378": 5,
        "luat-dac-xa-2018-373731": 5,
        "luat-66-2011-qh12-phong-chong-mua-ban-nguoi-122148": 5,
        "luat-phong-chong-ma-tuy-2021-445185": 5,
    },
    "security_defence": {
        "luat-cong-an-nhan-dan-384487": 12,
        "luat-phong-chong-khung-bo-nam-2013-197298": 12,
        "luat-bien-gioi-quoc-gia-2003-06-2003-qh11-51044": 8,
        "luat-so-66-2020-qh14-bien-phong-viet-nam-2020-439845": 8,
        "luat-canh-sat-co-dong-2022-477977": 8,
        "luat-co-yeu-2011-132747": 8,
        "luat-canh-sat-bien-viet-nam-2018-329798": 6,
        "luat-canh-ve-2017-280117": 6,
        "luat-quoc-phong-340395": 6,
        "luat-quan-ly-su-dung-vu-khi-vat-lieu-no-cong-cu-ho-tro-2017-320097": 6,
        "luat-dan-quan-tu-ve-2019-366794": 4,
        "luat-giao-duc-quoc-phong-va-an-ninh-nam-2013-197258": 4,
        "luat-nghia-vu-quan-su-2015-282383": 2,
    },
    "press_information": {
        "luat-dien-anh-2022-486445": 14,
        "luat-quang-cao-2012-142541": 14,
        "luat-vien-thong-nam-2009-98748": 14,
        "luat-dien-anh-2006-62-2006-qh11-12986": 10,
        "luat-buu-chinh-2010-108080": 8,
        "luat-giao-dich-dien-tu-2005-51-2005-qh11-6922": 8,
        "luat-tan-so-vo-tuyen-dien-nam-2009-98673": 6,
        "luat-thu-vien-2019-398157": 6,
        "luat-luu-tru-2011-132447": 5,
        "luat-pho-bien-giao-duc-phap-luat-2012-142765": 5,
    },
    "civil_controls": {
        "luat-68-2020-qh14-cu-tru-435315": 14,
        "luat-xuat-canh-nhap-canh-cua-cong-dan-viet-nam-2019-402073": 12,
        "luat-nhap-canh-xuat-canh-qua-canh-cu-tru-cua-nguoi-nuoc-ngoai-tai-viet-nam-2014-238649": 12,
        "luat-can-cuoc-cong-dan-2014-259782": 10,
        "luat-mat-tran-to-quoc-viet-nam-2015-282378": 8,
        "luat-cong-doan-2012-142186": 6,
        "luat-thanh-nien-so-57-2020-qh14-416260": 6,
        "luat-trung-cau-y-dan-2015-298375": 6,
        "luat-hoat-dong-chu-thap-do-2008-11-2008-qh12-66954": 4,
        "luat-tiep-cong-dan-2013-215839": 4,
        "luat-to-cao-336713": 4,
        "luat-quoc-tich-viet-nam-2008-24-2008-qh12-82204": 4,
    },
}
# administrative (ordinary controls): 20 laws drawn at random from all remaining laws, 3 articles each.
ADMIN_LAWS, ADMIN_PER_LAW = 20, 3
PROHIBITED = re.compile(r"hành vi bị (nghiêm )?cấm|nghiêm cấm", re.I)  # heading metadata only
N_PENAL = 100


def vlc_articles():
    out = {}
    for d in read_archive(ARCHIVE):
        slug = d.doc_id[len(PFX):]
        try:
            provs, _ = segment_bulk(d, SegmentParams())
        except SegmentError:
            continue  # documents the segmenter rejects cannot be labelled (no stable article ids)
        arts = [p for p in provs if p.level == "article" and len(p.text.strip()) >= 40]
        out[slug] = (d, arts)
    return out


def main() -> int:
    rng = random.Random(SEED)
    docs = vlc_articles()
    assigned = {s for st in STRATA.values() for s in st}
    assert assigned <= set(docs), assigned - set(docs)
    rest = sorted(s for s in docs if s not in assigned and s not in BUNDLED and docs[s][1])
    admin = sorted(rng.sample(rest, ADMIN_LAWS))
    strata_laws = dict(STRATA)
    strata_laws["administrative"] = {s: ADMIN_PER_LAW for s in admin}

    blocks = {k: [] for k in strata_laws}  # stratum -> list of blocks (list of ids)
    strata = {}
    for stratum, laws in strata_laws.items():
        for slug, quota in laws.items():
            d, arts = docs[slug]
            lrng = random.Random(f"{SEED}-{slug}")
            chosen = []
            if stratum != "administrative":
                chosen = [a for a in arts if PROHIBITED.search(a.heading or "")][:2]
            pool = [a for a in arts if a not in chosen]
            chosen += lrng.sample(pool, min(quota - len(chosen), len(pool)))
            chosen.sort(key=arts.index)
            ids = [a.provision_id for a in chosen]
            for i in ids:
                strata[i] = {"law": slug, "title": d.title, "law_type": stratum, "source": "bulk:vn-underthesea-vlc"}
            blocks[stratum].append(ids)

    # (b) Penal Code 2015 articles not labelled in gold v1
    seg = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "segment", str(ROOT / "corpora/raw/vi/vn-penal-code-2015.txt"),
         "--lang", "vi", "--doc-id", "vn-penal-code-2015"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout
    pc = [json.loads(line) for line in seg.splitlines() if line.strip()]
    pc = [r for r in pc if r["level"] == "article"]
    done = set()
    for ids in json.loads((ROOT / "corpora/annotations/sampling/batches.json").read_text()).values():
        done |= set(ids)
    cand = [r["provision_id"] for r in pc if r["provision_id"] not in done]
    prng = random.Random(f"{SEED}-penal")
    order = [r["provision_id"] for r in pc]
    pc_ids = sorted(prng.sample(cand, N_PENAL), key=order.index)
    for i in pc_ids:
        strata[i] = {"law": "vn-penal-code-2015", "title": "Bộ luật Hình sự 2015 (consolidated)",
                     "law_type": "criminal", "source": "bundled:corpora/raw/vi"}
    blocks["criminal"] += [pc_ids[i:i + 10] for i in range(0, len(pc_ids), 10)]

    # labelling order: blocks of one law, strata interleaved round-robin (seeded order within stratum),
    # so that any prefix of the list is roughly balanced across law types.
    for k in blocks:
        rng.shuffle(blocks[k])
    ids, queues = [], [list(blocks[k]) for k in sorted(blocks)]
    while any(queues):
        for q in queues:
            if q:
                ids += q.pop(0)
    assert len(ids) == len(set(ids)) == len(strata)
    out = {
        "batch": BATCH,
        "annotator": "ai-annotator-L",
        "strategy": (
            "(a) UTS_VLC bulk corpus: laws already bundled in corpora/raw/vi skipped (Penal Code, Press, State "
            "Secrets, Cybersecurity, Cyber Information Security, IT, Access to Information, Belief and Religion, "
            "Publishing, the 1957 assembly and association laws); the Insurance Business Law 2022 is skipped because "
            "the segmenter rejects it. Remaining laws assigned by title to a law type: criminal (criminal procedure, "
            "execution of sentences, custody, administrative violations, amnesty, investigation bodies, trafficking, "
            "drugs: 70), security_defence (police, terrorism, borders, border guard, mobile police, cipher, coast "
            "guard, guard, defence, weapons, militia, defence education, military service: 90), press_information "
            "(cinema 2022 and 2006, advertising, telecoms, post, e-transactions, radio frequencies, libraries, "
            "archives, legal dissemination: 90), civil_controls (residence, exit/entry of citizens and of foreigners, "
            "citizen ID, Fatherland Front, trade unions, youth, referendum, Red Cross, citizen reception, "
            "denunciation, nationality: 90), administrative (ordinary controls: 20 laws drawn at random from all the "
            "rest, 3 articles each: 60), with fixed per-law quotas (<= 15). Within a law of the first four types, the "
            "article(s) whose heading names prohibited acts (at most 2) are always taken, the rest drawn at random "
            "(seeded per law); articles under 40 characters skipped. (b) 100 Penal Code 2015 articles drawn at random "
            "(seeded) from the 251 not listed in sampling/batches.json. Order: one block per law (Penal Code in "
            "blocks of 10), law types interleaved round-robin so any prefix is balanced. Selection uses metadata "
            "only (law, title, heading, position), never the lexicon or a model."
        ),
        "seed": SEED,
        "ids": ids,
        "strata": {i: strata[i] for i in ids},
    }
    path = ROOT / "corpora/annotations/sampling/v2-vi-vlc.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    from collections import Counter
    print(len(ids), Counter(strata[i]["law_type"] for i in ids))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

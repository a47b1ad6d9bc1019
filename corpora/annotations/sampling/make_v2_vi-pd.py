"""Sampling for gold v2 batch vi-pd (annotator ai-annotator-K): articles of the Bộ Pháp điển bulk corpus.

Stratified by law type across đề mục. Each đề mục (one file of the archive) is assigned a law type from its
title (metadata only); within a stratum the quota is spread over đề mục (at most 15 per đề mục), and inside
a đề mục articles are drawn at random (seeded), with up to 2 articles whose HEADING names prohibited acts
or violation handling taken first in the speech-risk strata. Articles whose body (text without the
provenance line) is under 60 or over 4,000 characters are left out (repealed stubs; reading time).
No lexicon, model or score is used. Re-run: PYTHONPATH=. .venv/bin/python corpora/annotations/sampling/make_v2_vi-pd.py
"""
import json, random, re, pathlib, sys

SEED = 20261201
OUT = pathlib.Path(__file__).with_name("v2-vi-pd.json")
CACHE = pathlib.Path("/tmp/annK/arts.jsonl")

def load_articles():
    if CACHE.exists():
        return [json.loads(l) for l in open(CACHE, encoding="utf-8")]
    from pipeline.bulk import read_archive, segment_bulk
    from pipeline.segment import SegmentParams
    rows = []
    for d in read_archive("corpora/bulk/vn-phap-dien.tar.xz"):
        provs, _ = segment_bulk(d, SegmentParams())
        rows += [{"provision_id": p.provision_id, "doc_id": d.doc_id, "article": p.article, "heading": p.heading,
                  "text": p.text} for p in provs if p.level == "article"]
    return rows

def slug(doc_id):
    return doc_id.split(".", 1)[1]

# law type of each đề mục, from its chủ đề/đề mục name (metadata)
CRIMINAL = {"hinh-su__hinh-su", "to-tung-va-cac-phuong-thuc-giai-quyet-tranh-chap__to-tung-hinh-su",
            "thi-hanh-an__thi-hanh-an-hinh-su", "to-tung-va-cac-phuong-thuc-giai-quyet-tranh-chap__thi-hanh-tam-giu-tam-giam",
            "thi-hanh-an__dac-xa", "to-tung-va-cac-phuong-thuc-giai-quyet-tranh-chap__to-chuc-co-quan-dieu-tra-hinh-su",
            "trat-tu-an-toan-xa-hoi__phong-chong-ma-tuy", "chinh-sach-xa-hoi__phong-chong-mai-dam",
            "hanh-chinh-tu-phap__ly-lich-tu-phap", "tuong-tro-tu-phap__tuong-tro-tu-phap",
            "to-chuc-bo-may-nha-nuoc__to-chuc-vien-kiem-sat-nhan-dan", "khieu-nai-to-cao__phong-chong-tham-nhung",
            "thi-hanh-an__thi-hanh-an-dan-su", "to-tung-va-cac-phuong-thuc-giai-quyet-tranh-chap__trach-nhiem-boi-thuong-cua-nha-nuoc",
            "trat-tu-an-toan-xa-hoi__quan-ly-su-dung-phao", "thi-hanh-an__to-chuc-va-hoat-dong-cua-thua-phat-lai"}
PRESS = {"an-ninh-quoc-gia__an-ninh-mang", "buu-chinh-vien-thong__an-toan-thong-tin-mang", "buu-chinh-vien-thong__buu-chinh",
         "buu-chinh-vien-thong__cong-nghe-thong-tin", "buu-chinh-vien-thong__tan-so-vo-tuyen-dien",
         "thong-tin-bao-chi-xuat-ban__bao-chi", "thong-tin-bao-chi-xuat-ban__tiep-can-thong-tin", "thong-tin-bao-chi-xuat-ban__xuat-ban",
         "van-hoa-the-thao-du-lich__cong-bo-pho-bien-tac-pham-ra-nuoc-ngoai", "van-hoa-the-thao-du-lich__dien-anh",
         "van-hoa-the-thao-du-lich__hoat-dong-my-thuat", "van-hoa-the-thao-du-lich__hoat-dong-nghe-thuat-bieu-dien",
         "van-hoa-the-thao-du-lich__hoat-dong-van-hoa-va-kinh-doanh-dich-vu-van-hoa-cong-cong", "van-hoa-the-thao-du-lich__quang-cao",
         "van-hoa-the-thao-du-lich__thu-vien", "xay-dung-phap-luat-va-thi-hanh-phap-luat__pho-bien-giao-duc-phap-luat"}
SECURITY = {"an-ninh-quoc-gia__an-ninh-quoc-gia", "an-ninh-quoc-gia__bao-ve-bi-mat-nha-nuoc",
            "an-ninh-quoc-gia__bao-ve-cong-trinh-quan-trong-lien-quan-den-an-ninh-quoc-gia", "an-ninh-quoc-gia__bien-gioi-quoc-gia",
            "an-ninh-quoc-gia__bien-viet-nam", "an-ninh-quoc-gia__canh-ve", "an-ninh-quoc-gia__co-yeu", "an-ninh-quoc-gia__cong-an-nhan-dan",
            "an-ninh-quoc-gia__phong-chong-khung-bo", "trat-tu-an-toan-xa-hoi__canh-sat-co-dong", "trat-tu-an-toan-xa-hoi__cong-an-xa",
            "trat-tu-an-toan-xa-hoi__mot-so-bien-phap-bao-dam-trat-tu-cong-cong",
            "trat-tu-an-toan-xa-hoi__dieu-kien-ve-an-ninh-trat-tu-doi-voi-mot-so-nganh-nghe-kinh-doanh-co-dieu-kien",
            "trat-tu-an-toan-xa-hoi__canh-sat-moi-truong"}
CIVIL = {"to-chuc-chinh-tri-xa-hoi-hoi__quyen-lap-hoi-va-to-chuc-hoat-dong-quan-ly-hoi",
         "to-chuc-chinh-tri-xa-hoi-hoi__to-chuc-hoat-dong-cua-quy-xa-hoi-quy-tu-thien", "ton-giao-tin-nguong__tin-nguong-ton-giao",
         "trat-tu-an-toan-xa-hoi__cu-tru", "trat-tu-an-toan-xa-hoi__chung-minh-nhan-dan",
         "an-ninh-quoc-gia__nhap-canh-xuat-canh-qua-canh-cu-tru-cua-nguoi-nuoc-ngoai-tai-viet-nam",
         "an-ninh-quoc-gia__xuat-canh-nhap-canh-cua-cong-dan-viet-nam",
         "ngoai-giao-dieu-uoc-quoc-te__dang-ky-va-quan-ly-hoat-dong-cua-cac-to-chuc-phi-chinh-phu-nuoc-ngoai-tai-viet-nam",
         "ngoai-giao-dieu-uoc-quoc-te__to-chuc-quan-ly-hoi-nghi-hoi-thao-quoc-te-tai-viet-nam",
         "to-chuc-bo-may-nha-nuoc__mat-tran-to-quoc-viet-nam", "to-chuc-chinh-tri-xa-hoi-hoi__thanh-nien",
         "trat-tu-an-toan-xa-hoi__quan-ly-va-su-dung-con-dau", "xay-dung-phap-luat-va-thi-hanh-phap-luat__thuc-hien-dan-chu-o-co-so",
         "xay-dung-phap-luat-va-thi-hanh-phap-luat__trung-cau-y-dan",
         "to-chuc-bo-may-nha-nuoc__bau-cu-dai-bieu-quoc-hoi-va-dai-bieu-hoi-dong-nhan-dan",
         "khieu-nai-to-cao__to-cao", "khieu-nai-to-cao__khieu-nai", "khieu-nai-to-cao__tiep-cong-dan",
         "van-hoa-the-thao-du-lich__thuc-hien-nep-song-van-minh-trong-viec-cuoi-viec-tang",
         "hanh-chinh-tu-phap__quoc-tich-viet-nam"}
# defence (quoc-phong__*) goes with security
def law_type(s):
    if s in CRIMINAL: return "criminal_sanctions"
    if s in PRESS: return "press_information_cyber"
    if s in SECURITY or s.startswith("quoc-phong__"): return "security_defence"
    if s in CIVIL: return "civil_controls"
    return "administrative"

QUOTA = {"press_information_cyber": 135, "civil_controls": 115, "security_defence": 105,
         "criminal_sanctions": 70, "administrative": 75}
ADMIN_DEMUC = 19   # administrative controls: 19 đề mục drawn at random, 4 articles each (75 in all after rounding)
CAP = 15
PRIORITY = re.compile(r"nghiêm cấm|bị cấm|hành vi bị|xử lý vi phạm|xử lý kỷ luật|đình chỉ|thu hồi|tạm dừng|gỡ bỏ|ngăn chặn", re.I)
SENSITIVE = {"press_information_cyber", "civil_controls", "security_defence"}

def body(r):
    t = r["text"]
    lines = t.split("\n", 1)
    return lines[1] if len(lines) > 1 and lines[0].lstrip().startswith("(Điều") else t

def main():
    rng = random.Random(SEED)
    rows = load_articles()
    by_doc = {}
    for r in rows:
        n = len(body(r).strip())
        if 60 <= n <= 4000:
            by_doc.setdefault(r["doc_id"], []).append(r)
    strata = {}
    for d in sorted(by_doc):
        strata.setdefault(law_type(slug(d)), []).append(d)
    picked = {}   # stratum -> list of (doc, [rows])
    for st in sorted(QUOTA):
        docs = list(strata[st])
        q = QUOTA[st]
        if st == "administrative":
            docs = sorted(rng.sample(docs, ADMIN_DEMUC))
        # spread quota over đề mục, proportional to sqrt(size), capped
        w = {d: len(by_doc[d]) ** 0.5 for d in docs}
        alloc = {d: 0 for d in docs}
        left = q
        while left > 0:
            open_ = [d for d in docs if alloc[d] < min(CAP, len(by_doc[d]))]
            if not open_: break
            d = max(open_, key=lambda d: (w[d] / (alloc[d] + 1), d))
            alloc[d] += 1; left -= 1
        picked[st] = []
        for d in docs:
            k = alloc[d]
            if not k: continue
            pool = by_doc[d]
            first = []
            if st in SENSITIVE:
                pri = [r for r in pool if PRIORITY.search(r["heading"] or "")]
                first = rng.sample(pri, min(2, len(pri), k))
            rest = [r for r in pool if r not in first]
            chosen = first + rng.sample(rest, k - len(first))
            rng.shuffle(chosen)
            picked[st].append((d, chosen))
    # labelling order: round-robin over strata, and inside a stratum over đề mục, so any prefix stays balanced
    queues = {st: [] for st in picked}
    for st, lst in picked.items():
        lst = list(lst); rng.shuffle(lst)
        seqs = [list(ch) for _, ch in lst]
        while any(seqs):
            for s in seqs:
                if s: queues[st].append(s.pop(0))
    order = []
    weights = [(st, QUOTA[st]) for st in sorted(QUOTA)]
    pos = {st: 0 for st in QUOTA}
    while any(pos[st] < len(queues[st]) for st in queues):
        # pick the stratum furthest behind its share
        st = min((s for s in queues if pos[s] < len(queues[s])), key=lambda s: ((pos[s] + 1) / QUOTA[s], s))
        order.append(queues[st][pos[st]]); pos[st] += 1
    ids = [r["provision_id"] for r in order]
    assert len(ids) == len(set(ids))
    strata_map = {r["provision_id"]: {"de_muc": slug(r["doc_id"]), "law_type": law_type(slug(r["doc_id"])),
                                       "instrument": (re.match(r"[\d.]+?\.([A-ZĐ]+)\.", r["article"] + ".") or [None, "?"])[1]}
                  for r in order}
    out = {
        "batch": "v2-vi-pd",
        "annotator": "ai-annotator-K",
        "strategy": (
            "Bộ Pháp điển bulk corpus (corpora/bulk/vn-phap-dien.tar.xz, 210 đề mục). Each đề mục was assigned a law type "
            "from its chủ đề/đề mục name only: criminal_sanctions (Penal Code, criminal procedure, enforcement of sentences, "
            "custody, amnesty, drugs, prostitution, anti-corruption, civil judgment enforcement, state compensation, "
            "procuracy, judicial records, mutual legal assistance), security_defence (national security, state secrets, "
            "borders, sea, guard, cipher, police, counter-terrorism, mobile police, public order measures, security "
            "conditions for businesses, and all quoc-phong đề mục), press_information_cyber (cybersecurity, network "
            "information security, post, IT, radio frequencies, press, access to information, publishing, film, fine arts, "
            "performing arts, cultural services, advertising, libraries, legal dissemination, publication of works abroad), "
            "civil_controls (associations, social and charity funds, belief and religion, residence, ID cards, entry/exit of "
            "citizens and foreigners, foreign NGOs, international conferences, Fatherland Front, youth, seals, grassroots "
            "democracy, referendum, elections, complaints, denunciations, citizen reception, weddings and funerals, "
            "nationality), administrative (all others). Quotas: press 135, civil controls 115, security/defence 105, "
            "criminal 70, administrative 75 (19 administrative đề mục drawn at random). Within a stratum the quota is spread "
            "over đề mục in proportion to the square root of their article count, at most 15 per đề mục; inside a đề mục "
            "articles are drawn at random, and in the three speech-risk strata up to 2 articles whose heading names "
            "prohibited acts, violation handling, suspension, revocation or removal are drawn first. Articles whose body is "
            "under 60 or over 4,000 characters are excluded (repealed stubs; reading time). No lexicon, model or score "
            "was used. Labelling order interleaves strata and đề mục so that any prefix is balanced."),
        "seed": SEED,
        "quota": QUOTA,
        "ids": ids,
        "strata": strata_map,
    }
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    from collections import Counter
    print(len(ids), Counter(v["law_type"] for v in strata_map.values()), Counter(v["instrument"] for v in strata_map.values()))
    print(Counter(v["de_muc"] for v in strata_map.values()).most_common(5), len(set(v["de_muc"] for v in strata_map.values())))

if __name__ == "__main__":
    main()

import json, random, pathlib, re
A = pathlib.Path('/tmp/articles'); O = pathlib.Path('/tmp/annot')
def load(d): return [json.loads(l) for l in open(A/f'{d}.jsonl')]
def pick(d, nums=None, k=0, seed=0, allof=False, exclude_prohib=None):
    rows = load(d)
    if allof: return rows
    chosen = [r for r in rows if nums and r['article'] in nums]
    rest = [r for r in rows if r not in chosen]
    rng = random.Random(f'{d}-{seed}')
    chosen += rng.sample(rest, min(k, len(rest)))
    return sorted(chosen, key=lambda r: rows.index(r))
def art_range(a,b): return {str(i) for i in range(a,b+1)}
PC_FOCUS = art_range(108,122)|art_range(285,294)|{'331'}
pc = load('vn-penal-code-2015'); rng = random.Random(117)
pc_other = rng.sample([r for r in pc if r['article'] not in PC_FOCUS], 150)
pc_other = sorted(pc_other, key=pc.index)
batches = {
 'vi-1': load('vn-cybersecurity-law-2018') + [r for r in pc if r['article'] in PC_FOCUS] + load('vn-national-security-law-2004') + load('vn-state-secrets-protection-law-2018'),
 'vi-2': pc_other[:75],
 'vi-3': pc_other[75:],
 'vi-4': pick('vn-press-law-2016', {'9'}, 12) + pick('vn-publishing-law-2012', {'10'}, 12) + pick('vn-belief-and-religion-law-2016', {'5'}, 12)
        + pick('vn-cyber-information-security-law-2015', {'7'}, 12) + pick('vn-decree-72-2013-internet-services', {'5'}, 12)
        + pick('vn-constitution-2013', {'14','15','25','28','44','45','46'}, 30) + pick('vn-information-technology-law-2006', {'12'}, 15)
        + pick('vn-access-to-information-law-2016', {'6','11'}, 10) + load('vn-freedom-of-assembly-law-1957') + load('vn-right-of-association-law-1957')
        + pick('vn-decree-13-2023-personal-data', {'22'}, 12),
 'en-1': load('coe-budapest-convention-2001') + load('coe-budapest-additional-protocol-racism-xenophobia-2003') + load('un-iccpr-1966') + load('coe-echr-1950') + load('un-udhr-1948'),
 'en-2': load('us-18usc1030-cfaa') + load('us-18usc-ch115-treason-sedition') + load('sg-pofma-2019') + load('sg-maintenance-of-religious-harmony-act-1990') + load('sg-undesirable-publications-act-1967'),
 'en-3': load('sg-internal-security-act-1960') + load('sg-computer-misuse-act-1993'),
 'en-4': pick('sg-penal-code-1871', {'298','298A','505','124A','267C','499'}, 40)
        + pick('sg-online-criminal-harms-act-2023', {'6','7'}, 15) + pick('sg-protection-from-harassment-act-2014', {'3','4','7'}, 15) + pick('sg-foreign-interference-countermeasures-act-2021', {'17','18'}, 20),
}
tot = 0
for k, rows in batches.items():
    ids = [r['provision_id'] for r in rows]; assert len(ids) == len(set(ids)), k
    with open(O/f'{k}.jsonl','w') as f:
        for r in rows: f.write(json.dumps(r, ensure_ascii=False)+'\n')
    chars = sum(len(r['text']) for r in rows); tot += len(rows)
    print(k, len(rows), chars)
print(tot)

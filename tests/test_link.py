"""link stage on the bundled corpus (invariants, known articles) and the reach graph on fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.link import LinkParams, reached_from, run
from pipeline.references import Reference
from pipeline.versions import diff_documents, status_counts

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def linked(bundled: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("link")
    paths = {"penalties": out / "penalties.parquet", "references": out / "references.parquet"}
    params = LinkParams(
        cyber_laws=("vn-cybersecurity-law-2018", "coe-budapest-additional-protocol-racism-xenophobia-2003")
    )
    counts = run(
        bundled["provisions"],
        bundled["documents"],
        ROOT / "corpora/manifest.yaml",
        paths["penalties"],
        paths["references"],
        out / "link_report.json",
        params,
    )
    pen = {r["provision_id"]: r for r in pq.read_table(paths["penalties"]).to_pylist()}
    refs = pq.read_table(paths["references"]).to_pylist()
    ids = set(pq.read_table(bundled["provisions"], columns=["provision_id"]).column(0).to_pylist())
    texts = {
        r["provision_id"]: r["text"]
        for r in pq.read_table(bundled["provisions"], columns=["provision_id", "text"]).to_pylist()
    }
    return {"counts": counts, "pen": pen, "refs": refs, "ids": ids, "texts": texts}


def test_every_resolved_target_exists_in_provisions(linked: dict) -> None:
    resolved = [r for r in linked["refs"] if r["resolved"] and r["target_id"] is not None]
    assert len(resolved) > 5000
    assert all(r["target_id"] in linked["ids"] for r in resolved)
    assert all(r["source_id"] in linked["ids"] for r in linked["refs"])


def test_offsets_slice_the_source_text(linked: dict) -> None:
    refs = linked["refs"]
    assert len(refs) > 5000
    assert all(linked["texts"][r["source_id"]][r["start"] : r["end"]] == r["text"] for r in refs)


def test_unresolved_references_have_no_target_in_the_citing_law(linked: dict) -> None:
    unresolved = [r for r in linked["refs"] if not r["resolved"]]
    assert unresolved
    assert all(r["target_id"] is None for r in unresolved)
    outside = [r for r in unresolved if r["law_text"]]
    assert outside and all(r["target_doc_id"] is None for r in outside)


# fmt: off
KNOWN_PENALTIES = [
    ("vn-penal-code-2015/art-117", "20", True),    # propaganda against the State
    ("vn-penal-code-2015/art-331", "7", True),     # abusing democratic freedoms
    ("vn-penal-code-2015/art-109", "death", True),
    ("vn-penal-code-2015/art-9", None, None),      # classification of offences: describes penalties
    ("vn-penal-code-2015-en/art-331", "7", True),
    ("sg-penal-code-1871/art-298", "3", False),    # wounding racial or religious feelings
    ("sg-pofma-2019/art-7", "10", True),
    ("us-18usc-ch115-treason-sedition/art-2381", "death", True),
    ("us-18usc-ch115-treason-sedition/art-2385", "20", True),
    ("coe-budapest-convention-2001/art-24", None, None),  # extradition threshold, not a penalty
]
# fmt: on


@pytest.mark.parametrize(("pid", "penalty_max", "serious"), KNOWN_PENALTIES)
def test_known_penalties(linked: dict, pid: str, penalty_max: str | None, serious: bool | None) -> None:
    row = linked["pen"][pid]
    assert (row["penalty_max"], row["un_serious_crime"]) == (penalty_max, serious)


def test_penal_code_offences_have_their_maximum(linked: dict) -> None:
    # Every special-part article that imposes a prison term ("thì bị phạt tù") has its maximum read.
    rows = [r for pid, r in linked["pen"].items() if pid.startswith("vn-penal-code-2015/")]
    offences = [r for r in rows if re.search(r"thì bị phạt tù", linked["texts"][r["provision_id"]] or "")]
    assert len(offences) > 250
    assert all(r["penalty_max"] is not None for r in offences)


def test_cybersecurity_law_cites_the_cyber_information_security_law(linked: dict) -> None:
    targets = {r["target_id"] for r in linked["refs"] if r["source_doc_id"] == "vn-cybersecurity-law-2018"}
    assert "vn-cyber-information-security-law-2015/art-29" in targets
    assert "vn-cybersecurity-law-2018/art-30/cl-2" in targets  # "khoản 2 Điều 30 của Luật này"


def test_protocol_reaches_the_convention(linked: dict) -> None:
    # Art 8(2) of the Protocol applies "Articles 14 to 21 and Articles 23 to 35 of the Convention".
    reached = linked["pen"]["coe-budapest-convention-2001/art-14"]["reached_from"]
    assert "coe-budapest-additional-protocol-racism-xenophobia-2003/art-8/cl-2" in reached


def test_penal_code_versions(bundled: dict[str, Path]) -> None:
    rows = {
        r["article"]: r
        for r in diff_documents("vn-penal-code-2015-as-enacted", "vn-penal-code-2015", bundled["provisions"])
    }
    assert rows["217a"]["status"] == "added"
    assert rows["292"]["status"] == "repealed"
    assert rows["352"]["status"] == "text_missing"
    assert rows["117"]["status"] == "unchanged"
    counts = status_counts(rows.values())
    assert counts["amended"] > 150 and counts["editorial"] > 0


def _ref(src: str, tgt: str) -> Reference:
    return Reference(src, src.split("/")[0], tgt, tgt.split("/")[0], "article", "x", 0, 1, True, True)


def test_reach_is_transitive_within_depth_and_skips_the_law_s_own_articles() -> None:
    refs = [
        _ref("cyber/art-16/cl-1", "cyber/art-8"),  # the cyber law's own article …
        _ref("cyber/art-8", "pc/art-117"),  # … which cites the Penal Code
        _ref("pc/art-117", "pc/art-9"),
        _ref("pc/art-9", "pc/art-1"),
    ]
    # Depth counts from each cyber-law provision that cites: art-16 → art-8 → pc 117; art-8 → 117 → 9.
    got = reached_from(refs, ["cyber"], depth=2)
    assert set(got) == {"pc/art-117", "pc/art-9"}
    assert got["pc/art-117"] == {"cyber/art-16/cl-1", "cyber/art-8"}
    assert set(reached_from(refs, ["cyber"], depth=1)) == {"pc/art-117"}


def test_penal_code_is_named_by_the_cybersecurity_law(linked: dict) -> None:
    # Art 2(7): cybercrime is "tội phạm được quy định tại Bộ luật Hình sự" committed in cyberspace.
    named = linked["pen"]["vn-penal-code-2015/art-117"]["law_named_by"]
    assert named == ["vn-cybersecurity-law-2018/art-2/cl-7"]


def test_budapest_article_15_names_the_human_rights_treaties(linked: dict) -> None:
    # "… the 1950 Council of Europe Convention for the Protection of Human Rights and Fundamental
    # Freedoms, the 1966 United Nations International Covenant on Civil and Political Rights …"
    named = {
        r["target_doc_id"]
        for r in linked["refs"]
        if r["source_id"] == "coe-budapest-convention-2001/art-15/cl-1" and r["target_level"] == "law"
    }
    assert {"coe-echr-1950", "un-iccpr-1966"} <= named

"""pipeline.explore: finding a run, highlighting evidence, tables with the provisions behind each number."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline import explore as ex
from pipeline import render

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_RUN = ROOT / "tests/fixtures/run"


def ev(
    start: int,
    end: int,
    text: str,
    dimension: str = "vagueness",
    category: str = "undefined_term",
    source: str = "lexicon",
) -> dict:
    return {
        "start": start,
        "end": end,
        "text": text,
        "dimension": dimension,
        "category": category,
        "source": source,
    }


def art(pid: str, v: float, s: float, cats: tuple[str, ...] = (), lang: str = "en") -> dict:
    """One article-level score row; a category name marks evidence of it (dimension looked up)."""
    dim_of = {c: d for d, cs in ex.CATEGORIES.items() for c in cs}
    return {
        "provision_id": pid,
        "doc_id": pid.split("/")[0],
        "lang": lang,
        "level": "article",
        "heading": None,
        "text": "x" * 20,
        "vagueness": v,
        "speech_risk": s,
        "vagueness_level": int(v * 3.99),
        "speech_risk_level": int(s * 3.99),
        "vague_flag": v >= 0.5,
        "speech_flag": s >= 0.5,
        "evidence": [ev(0, 1, "x", dim_of[c], c) for c in cats],
        "model_version": "t",
    }


# ---------------------------------------------------------------- outputs()

# fmt: off
OUTPUTS_CASES = [
    # env value                 root argument        expected root
    (None,                      None,                ROOT),
    ("tests/fixtures/run",      None,                FIXTURE_RUN),     # relative: from the repository root
    (str(FIXTURE_RUN),          None,                FIXTURE_RUN),
    ("tests/fixtures/run",      "/tmp/elsewhere",    Path("/tmp/elsewhere")),  # an explicit root wins
]
# fmt: on


@pytest.mark.parametrize(("env", "root", "expected"), OUTPUTS_CASES)
def test_outputs_root(
    env: str | None, root: str | None, expected: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is None:
        monkeypatch.delenv(ex.RUN_DIR_ENV, raising=False)
    else:
        monkeypatch.setenv(ex.RUN_DIR_ENV, env)
    out = ex.outputs(root)
    assert out.root == expected.resolve()
    assert out.scores == expected.resolve() / "data/scores.parquet"


def test_output_paths_are_those_of_dvc_yaml() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for name, stage in ex.STAGE_OF.items():
        if name == "gold":
            continue  # gold labels are data, built by `overbroad gold build`, not by a stage
        assert stage in stages, f"{name}: stage {stage} is not in dvc.yaml"
        outs = [next(iter(o)) if isinstance(o, dict) else o for o in stages[stage].get("outs", [])]
        outs += [next(iter(o)) if isinstance(o, dict) else o for o in stages[stage].get("metrics", [])]
        outs += [next(iter(o)) if isinstance(o, dict) else o for o in stages[stage].get("plots", [])]
        assert ex.OUTPUT_PATHS[name] in outs, (
            f"{name}: {ex.OUTPUT_PATHS[name]} is not an out of stage {stage}"
        )


def test_require_names_the_stage_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"dvc repro score"):
        ex.outputs(tmp_path).require("scores")
    assert "scores" in ex.outputs(tmp_path).missing()


def test_fixture_run_is_complete() -> None:
    assert ex.outputs(FIXTURE_RUN).missing() == ["segment_report"]


# ---------------------------------------------------------------- highlighting


def test_highlight_html_is_the_inline_highlighter() -> None:
    evidence = [ev(0, 10, "other acts", category="open_ended_list")]
    assert ex.highlight_html("other acts", evidence) == str(
        render.highlight("other acts", evidence, inline=True)
    )
    assert "style=" in ex.highlight_html("other acts", evidence)


def test_evidence_of_the_fixture_slices_to_the_text() -> None:
    scores = ex.load_scores(ex.outputs(FIXTURE_RUN))
    for text, evidence in scores[["text", "evidence"]].itertuples(index=False):
        for e in evidence:
            assert text[e["start"] : e["end"]] == e["text"]


# ---------------------------------------------------------------- corpus

SOURCES = """# Sources
## Left out on purpose
Nothing.
## Wanted but not found (no verbatim source)

- UN Convention against Cybercrime (A/RES/79/243) — no full text in the index.
- UK Computer Misuse Act 1990: only short quotations;
  no full text.
- Cambodia
## After
- not this
"""

# fmt: off
WANTED = [
    ("UN Convention against Cybercrime (A/RES/79/243)", "no full text in the index."),
    ("UK Computer Misuse Act 1990",                     "only short quotations; no full text."),
    ("Cambodia",                                        ""),
]
# fmt: on


def test_wanted_not_found() -> None:
    assert list(ex.wanted_not_found(SOURCES).itertuples(index=False, name=None)) == WANTED
    assert ex.wanted_not_found("# no such section").empty


def test_missing_documents_joins_report_and_sources() -> None:
    report = {
        "documents": [
            {"doc_id": "a", "status": "ok"},
            {"doc_id": "b", "status": "skipped", "reason": "offline"},
            {"doc_id": "c", "status": "failed", "reason": "binary"},
        ]
    }
    t = ex.missing_documents(report, SOURCES)
    assert list(t["what"]) == ["b", "c"] + [w for w, _ in WANTED]
    assert list(t["status"][:2]) == ["skipped", "failed"]


def test_document_table_counts_units() -> None:
    out = ex.outputs(FIXTURE_RUN)
    t = ex.document_table(ex.load_documents(out), ex.load_provisions(out)).set_index("doc_id")
    assert t.loc["vn-penal-code-2015", "articles"] == 2
    assert t.loc["coe-budapest-convention-2001", ["articles", "points"]].tolist() == [2, 0]
    assert t["redistribute_text"].all()


# ---------------------------------------------------------------- comparison groups

VN = "Viet Nam: cybersecurity and penal law"
# fmt: off
GROUP_CASES = [
    # doc_id                               jurisdiction               group (None: not compared)
    ("vn-cybersecurity-law-2018",          "Viet Nam",                VN),
    ("vn-cybersecurity-law-2018-en",       "Viet Nam",                VN),
    ("vn-cybersecurity-law-2025",          "Viet Nam",                VN),
    ("vn-penal-code-2015",                 "Viet Nam",                VN),
    ("vn-penal-code-2015-as-enacted",      "Viet Nam",                None),  # the pre-2017 text: not twice
    ("vn-press-law-2016",                  "Viet Nam",                None),
    ("coe-budapest-convention-2001",       "Council of Europe (treaty)", "Cybercrime treaties"),
    ("coe-budapest-additional-protocol-racism-xenophobia-2003", "Council of Europe (treaty)", None),
    ("un-cybercrime-convention-2024",      "United Nations (treaty)", "Cybercrime treaties"),
    ("un-iccpr-1966",                      "United Nations (treaty)", "ICCPR (the international standard)"),
    ("un-udhr-1948",                       "United Nations",          None),
    ("sg-pofma-2019",                      "Singapore",               "Singapore"),
    ("sg-some-act-2030",                   "Singapore",               "Singapore"),
    ("us-18usc1030-cfaa",                  "United States",           None),
    ("ph-cybercrime-prevention-act-2012",  "Philippines",             "Philippines"),
    ("pk-peca-2016",                       "Pakistan",                "Pakistan"),
]
# fmt: on


@pytest.mark.parametrize(("doc_id", "jurisdiction", "group"), GROUP_CASES)
def test_assign_groups(doc_id: str, jurisdiction: str, group: str | None) -> None:
    t = ex.assign_groups(pd.DataFrame([{"doc_id": doc_id, "jurisdiction": jurisdiction}]))
    assert (t["group"].iloc[0] if len(t) else None) == group


def test_assign_groups_keeps_the_declared_order() -> None:
    docs = pd.DataFrame([{"doc_id": d, "jurisdiction": j} for d, j, _ in GROUP_CASES])
    order = [g.name for g in ex.COMPARISON_GROUPS]
    groups = list(ex.assign_groups(docs)["group"])
    assert groups == sorted(groups, key=order.index)


# ---------------------------------------------------------------- summary and categories

SCORES = pd.DataFrame(
    [
        art("vn-law/art-1", 0.9, 0.95, ("undefined_term", "political_expression"), "vi"),
        art("vn-law/art-2", 0.2, 0.70, ("political_expression",), "vi"),
        art("vn-law/art-10", 0.6, 0.10, ("undefined_term", "open_ended_list"), "vi"),
        art("treaty/art-2", 0.1, 0.05),
        art("treaty/art-3", 0.55, 0.2, ("evaluative_qualifier",)),
        {**art("vn-law/art-1/cl-1", 0.99, 0.99, ("incitement",), "vi"), "level": "clause"},  # not an article
    ]
)
DOCS = pd.DataFrame(
    [
        {"doc_id": "vn-law", "jurisdiction": "Viet Nam", "lang": "vi", "title": "L"},
        {"doc_id": "treaty", "jurisdiction": "T", "lang": "en", "title": "T"},
    ]
)
GROUPS = (
    ex.ComparisonGroup("VN", "subject", ids=("vn-*",)),
    ex.ComparisonGroup("T", "benchmark", jurisdictions=("T",)),
)

# fmt: off
SUMMARY = [
    # doc_id  arts vague share speech share mean_v mean_s vague_ids      speech_ids     article_ids
    ("vn-law", 3,  2,   0.667, 2,   0.667, 0.567, 0.583, "art-1 art-10", "art-1 art-2", "art-1 art-2 art-10"),
    ("treaty", 2,  1,   0.5,   0,   0.0,   0.325, 0.125, "art-3",        "",            "art-2 art-3"),
]
# fmt: on


@pytest.mark.parametrize("row", SUMMARY, ids=lambda r: r[0])
def test_summary_table(row: tuple) -> None:
    t = ex.summary_table(SCORES, DOCS, GROUPS).set_index("doc_id")
    cols = [
        "articles",
        "vague_flagged",
        "share_vague",
        "speech_flagged",
        "share_speech",
        "mean_vagueness",
        "mean_speech_risk",
        "vague_ids",
        "speech_ids",
        "article_ids",
    ]
    assert tuple(t.loc[row[0], cols]) == row[1:]


def test_summary_top_categories_name_their_articles() -> None:
    t = ex.summary_table(SCORES, DOCS, GROUPS, top=2).set_index("doc_id")
    assert t.loc["vn-law", "top_categories"] == "political_expression (2); undefined_term (2)"
    assert (
        t.loc["vn-law", "top_category_ids"]
        == "political_expression: art-1 art-2; undefined_term: art-1 art-10"
    )
    assert list(ex.summary_table(SCORES, DOCS, GROUPS)["group"]) == ["VN", "T"]


# fmt: off
BEHIND = [
    # doc_id    what                     provision ids
    ("vn-law",  "articles",              ["vn-law/art-1", "vn-law/art-2", "vn-law/art-10"]),
    ("vn-law",  "vague",                 ["vn-law/art-1", "vn-law/art-10"]),
    ("vn-law",  "speech",                ["vn-law/art-1", "vn-law/art-2"]),
    ("vn-law",  "political_expression",  ["vn-law/art-1", "vn-law/art-2"]),
    ("vn-law",  "incitement",            []),   # only a clause has it
    ("treaty",  "speech",                []),
]
# fmt: on


@pytest.mark.parametrize(("doc_id", "what", "ids"), BEHIND)
def test_behind(doc_id: str, what: str, ids: list[str]) -> None:
    assert list(ex.behind(SCORES, doc_id, what)["provision_id"]) == ids


def test_with_category_rejects_unknown_categories() -> None:
    with pytest.raises(ValueError, match="category"):
        ex.with_category(SCORES, "politics")


def test_category_matrix_has_every_codebook_category() -> None:
    m = ex.category_matrix(SCORES)
    assert list(m.columns) == [c for d in ex.DIMENSIONS for c in ex.CATEGORIES[d]]
    assert m.loc["vn-law", "undefined_term"] == pytest.approx(0.667)
    assert m.loc["vn-law", "incitement"] == 0  # clause-level evidence does not count for articles
    counts = ex.category_matrix(SCORES, value="provisions", laws=["treaty", "vn-law"])
    assert list(counts.index) == ["treaty", "vn-law"] and counts.loc["treaty"].sum() == 1


def test_category_long_lists_the_provisions_behind_each_cell() -> None:
    long = ex.category_long(SCORES).set_index(["doc_id", "category"])
    assert long.loc[("vn-law", "undefined_term"), "provision_ids"] == "vn-law/art-1 vn-law/art-10"
    assert long.loc[("vn-law", "undefined_term"), "provisions"] == 2


def test_un_cybercrime_convention_joins_with_no_code_change() -> None:
    out = ex.outputs(FIXTURE_RUN)
    scores, docs = ex.load_scores(out), ex.load_documents(out, with_text=False)
    un = "un-cybercrime-convention-2024"
    docs = pd.concat(
        [
            docs,
            pd.DataFrame(
                [
                    {
                        "doc_id": un,
                        "jurisdiction": "United Nations (treaty)",
                        "lang": "en",
                        "title": "UN Convention against Cybercrime",
                    }
                ]
            ),
        ]
    )
    scores = pd.concat([scores, pd.DataFrame([art(f"{un}/art-7", 0.4, 0.2, ("undefined_term",))])])
    t = ex.summary_table(scores, docs).set_index("doc_id")
    assert t.loc[un, "group"] == "Cybercrime treaties"
    assert t.loc[un, ["articles", "article_ids"]].tolist() == [1, "art-7"]
    assert un in ex.category_matrix(scores, laws=t.index).index


# ---------------------------------------------------------------- model vs gold

GOLD = pd.DataFrame(
    [
        {"provision_id": "vn-law/art-1", "vagueness": 3, "speech_risk": 3, "rationale": "r1"},
        {"provision_id": "vn-law/art-2", "vagueness": 3, "speech_risk": 2, "rationale": "r2"},
        {"provision_id": "treaty/art-2", "vagueness": 0, "speech_risk": 0, "rationale": "r3"},
        {"provision_id": "no/art-1", "vagueness": 0, "speech_risk": 0, "rationale": "not scored"},
    ]
)

# fmt: off
DISAGREE = [
    # dimension      min_gap  (provision_id, error) worst first
    ("vagueness",    1,       [("vn-law/art-2", -3)]),
    ("speech_risk",  1,       []),
    ("vagueness",    0,       [("vn-law/art-2", -3), ("treaty/art-2", 0), ("vn-law/art-1", 0)]),
]
# fmt: on


@pytest.mark.parametrize(("dimension", "min_gap", "expected"), DISAGREE)
def test_disagreements(dimension: str, min_gap: int, expected: list[tuple[str, int]]) -> None:
    t = ex.disagreements(SCORES, GOLD, dimension, min_gap)
    assert list(zip(t["provision_id"], t[f"{dimension}_error"], strict=True)) == expected


def test_confusion_is_four_by_four() -> None:
    t = ex.confusion(SCORES, GOLD, "vagueness")
    assert t.shape == (4, 4) and t.to_numpy().sum() == 3
    assert t.loc[3, 0] == 1 and t.loc[3, 3] == 1 and t.loc[0, 0] == 1


def test_reliability_bins() -> None:
    t = ex.reliability(SCORES, GOLD, "speech_risk", bins=2)
    assert list(t["bin_low"]) == [0.0, 0.5]
    assert list(t["n"]) == [1, 2] and list(t["observed"]) == [0.0, 1.0]
    assert t["provision_ids"].iloc[1] == "vn-law/art-1 vn-law/art-2"


# fmt: off
EVAL_CASES = [
    ({"clf": {"vagueness": {"en": {"f1": 0.5, "n": 3}}}},         [("clf", "vagueness", "en", "f1", 0.5),
                                                                   ("clf", "vagueness", "en", "n", 3)]),
    ({"clf": {"vagueness": {"en": {"ok": True, "note": "x"}}}},   []),   # not numbers
    ({"n_gold": 12, "clf": {"speech_risk": {"vi": {"f1": 1}}}},   [("clf", "speech_risk", "vi", "f1", 1)]),
    ({},                                                          []),
]
# fmt: on


@pytest.mark.parametrize(("metrics", "rows"), EVAL_CASES)
def test_eval_frame(metrics: dict, rows: list[tuple]) -> None:
    assert list(ex.eval_frame(metrics).itertuples(index=False, name=None)) == rows


# ---------------------------------------------------------------- plots


def test_plots_render_on_the_fixture() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = ex.outputs(FIXTURE_RUN)
    scores, gold, docs = ex.load_scores(out), ex.load_gold(out), ex.load_documents(out)
    provisions = ex.load_provisions(out)
    figs = [
        ex.plot_corpus(ex.document_table(docs, provisions), provisions),
        ex.plot_distributions(scores),
        ex.plot_reliability(scores, gold, ex.load_json(out.eval)),
        ex.plot_reliability(scores, gold),
        ex.plot_category_heatmap(ex.category_matrix(scores)),
        ex.plot_summary(ex.summary_table(scores, docs)),
    ]
    assert all(f.axes for f in figs)
    plt.close("all")

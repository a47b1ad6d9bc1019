"""align stage: provisions → data/alignments.parquet.

A Vietnamese law and the project's English translation of it are cut into the same units (same
article, clause and point labels), so a unit of the translation aligns with the unit of the original
that has the same id after the document id. Units present on one side only (the Penal Code
translation covers selected articles) are counted, not aligned.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline import stage
from pipeline.inputs import read_table
from pipeline.io import write_parquet
from pipeline.params import load_params
from pipeline.schema import ALIGNMENTS_SCHEMA, DOCUMENTS_SCHEMA, PROVISIONS_SCHEMA, to_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlignParams:
    """Section `align` of params.yaml."""

    levels: tuple[str, ...] = ("article", "clause", "point")

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        bad = set(self.levels) - {"article", "clause", "point"}
        if bad:
            raise ValueError(f"align.levels: expected article/clause/point, found {sorted(bad)}")


def align(provisions: pd.DataFrame, translations: dict[str, str], params: AlignParams) -> pd.DataFrame:
    """Pairs of (vi unit, en unit) with the same local id, for each (en doc → vi doc) translation."""
    rows = []
    prov = provisions[provisions["level"].isin(params.levels)]
    for en_doc, vi_doc in sorted(translations.items()):
        en = prov[prov["doc_id"] == en_doc]
        vi = prov[prov["doc_id"] == vi_doc]
        if vi.empty or en.empty:
            continue
        vi_local = {pid.split("/", 1)[1]: pid for pid in vi["provision_id"]}
        for pid, art, level in en[["provision_id", "article", "level"]].itertuples(index=False):
            local = pid.split("/", 1)[1]
            if local in vi_local:
                rows.append(
                    {
                        "vi_provision_id": vi_local[local],
                        "en_provision_id": pid,
                        "vi_doc_id": vi_doc,
                        "en_doc_id": en_doc,
                        "article": art,
                        "level": level,
                    }
                )
    return pd.DataFrame(rows, columns=[f.name for f in ALIGNMENTS_SCHEMA])


def run(
    provisions_path: str | Path, documents_path: str | Path, out_path: str | Path, params: AlignParams
) -> dict[str, int]:
    prov = read_table(provisions_path, PROVISIONS_SCHEMA, "provisions").to_pandas()
    columns = ["doc_id", "translation_of", "lang"]
    docs = read_table(documents_path, DOCUMENTS_SCHEMA, "documents", columns=columns).to_pandas()
    translations = {
        r.doc_id: r.translation_of
        for r in docs.itertuples()
        if isinstance(r.translation_of, str) and r.lang == "en"
    }
    pairs = align(prov, translations, params)
    write_parquet(to_table(pairs.to_dict("records"), ALIGNMENTS_SCHEMA), out_path)
    en_units = prov[prov["doc_id"].isin(translations) & prov["level"].isin(params.levels)]
    return {
        "translations": len(translations),
        "pairs": len(pairs),
        "article_pairs": int((pairs["level"] == "article").sum()),
        "unaligned_en_units": len(en_units) - len(pairs),
    }


PATHS = {
    "provisions": "data/provisions.parquet",
    "documents": "data/documents.parquet",
    "out": "data/alignments.parquet",
}


def main(argv: list[str] | None = None) -> int:
    args = stage.arguments("overbroad align", __doc__, PATHS, argv)
    params = load_params(AlignParams, "align", args.params)
    return stage.execute("align", lambda: run(args.provisions, args.documents, args.out, params))


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["align", *sys.argv[1:]]))

"""Throughput of the segmenter: MB/s over the bundled corpus and the time for the Vietnamese Penal Code.

Run: ``python bench/segment.py`` (target: ~4 MB in < 5 s on one core; plain ``re``, no spaCy).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.lang import normalise  # noqa: E402
from pipeline.schema import Document  # noqa: E402
from pipeline.segment import SegmentParams, segment_document  # noqa: E402
from pipeline.styles import default_style  # noqa: E402

RAW = Path(__file__).resolve().parents[1] / "corpora" / "raw"


def load(path: Path) -> Document:
    lang = path.parent.name
    text = normalise(path.read_text(encoding="utf-8"), lang)
    return Document.from_text(path.stem, lang, text, default_style(path.stem, lang), path=str(path))


def timed(doc: Document, params: SegmentParams, repeat: int = 3) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = len(segment_document(doc, params))
        best = min(best, time.perf_counter() - t)
    return best, n


def main() -> None:
    params = SegmentParams()
    docs = [load(p) for p in sorted(RAW.glob("*/*.txt"))]
    size = sum(len(d.text.encode("utf-8")) for d in docs)
    total = 0.0
    provisions = 0
    for d in docs:
        secs, n = timed(d, params)
        total += secs
        provisions += n
    print(
        f"corpus: {len(docs)} documents, {size / 1e6:.2f} MB, {provisions} provisions in {total:.2f} s "
        f"= {size / 1e6 / total:.1f} MB/s"
    )
    penal = next(d for d in docs if d.doc_id == "vn-penal-code-2015")
    secs, n = timed(penal, params)
    print(
        f"vn-penal-code-2015: {len(penal.text.encode('utf-8')) / 1e6:.2f} MB, {n} provisions in {secs:.3f} s"
    )


if __name__ == "__main__":
    main()

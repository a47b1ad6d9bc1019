"""pipeline.manifest: the one manifest reader checks every entry and fills in the drafting style."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.manifest import ManifestError, read_manifest

VI = "Điều 1. Phạm vi điều chỉnh\nLuật này quy định về hoạt động bảo vệ an ninh quốc gia.\n"


def _manifest(tmp: Path, entries: list[dict]) -> Path:
    import yaml

    path = tmp / "manifest.yaml"
    path.write_text(yaml.safe_dump({"documents": entries}, allow_unicode=True), encoding="utf-8")
    return path


def _entry(doc_id: str, path: str | None, **kw) -> dict:
    e = {
        "id": doc_id,
        "lang": "vi",
        "title": "T",
        "jurisdiction": "Viet Nam",
        "year": 2018,
        "kind": "law",
        "official": True,
        "licence": "public domain",
        "redistribute_text": True,
    }
    if path:
        e["path"] = path
    e.update(kw)
    return e


# fmt: off
MANIFEST_ERRORS = [
    ([_entry("a", "a.txt"), _entry("a", "a.txt")],        "duplicate id 'a'"),
    ([_entry("a", "missing.txt")],                        "points at nothing"),
    ([_entry("a", "a.txt", licence=None)],                r"missing required field\(s\) \['licence'\]"),
    ([_entry("a", None)],                                 "exactly one of 'path' or 'url'"),
    ([_entry("a", "a.txt", lang="fr")],                   "lang expected one of"),
    ([_entry("a", "a.txt", style="roman")],               "style expected one of"),
    ([_entry("a", "a.txt", translation_of="zz")],         "translation_of 'zz' is not a manifest id"),
]
# fmt: on


@pytest.mark.parametrize(("entries", "message"), MANIFEST_ERRORS)
def test_manifest_errors_name_the_entry(tmp_path: Path, entries: list[dict], message: str) -> None:
    (tmp_path / "a.txt").write_text(VI, encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        read_manifest(_manifest(tmp_path, entries), tmp_path)


@pytest.mark.parametrize(("fields", "style"), [({}, None), ({"style": "us"}, "us")])
def test_a_stated_style_is_kept_and_none_is_guessed(tmp_path: Path, fields: dict, style: str | None) -> None:
    """Without a style the text decides, at ingest (pipeline.detect); the manifest reader guesses none."""
    (tmp_path / "a.txt").write_text(VI, encoding="utf-8")
    entries = [_entry("a", "a.txt", **fields), _entry("b", "a.txt")]
    assert read_manifest(_manifest(tmp_path, entries), tmp_path)[0].meta.get("style") == style


def test_bundled_manifest_is_valid(root: Path) -> None:
    entries = read_manifest(root / "corpora/manifest.yaml", root)
    ids = {e.doc_id for e in entries}
    assert "vn-cybersecurity-law-2018" in ids and "un-cybercrime-convention-2024" in ids
    for e in entries:
        if e.meta.get("translation_of"):
            assert e.meta["official"] is False and e.meta.get("style", "vn-en") == "vn-en"

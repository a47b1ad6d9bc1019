"""params: sections load into frozen dataclasses; unknown keys and bad values are errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.params import load_params


@dataclass(frozen=True)
class ToyParams:
    seed: int = 0
    lr: float = 1e-3

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"toy.lr: expected > 0, found {self.lr}")


# fmt: off
CASES = [
    # params.yaml text,                                   expected (seed, lr) or error
    ("base: {seed: 7}\ntoy: {lr: 0.5}\n",                   (7, 0.5)),
    ("base: {seed: 7}\ntoy: {seed: 3}\n",                   (3, 1e-3)),        # the stage's own value wins
    ("toy: {}\n",                                           (0, 1e-3)),
    ("toy: {lr: -1}\n",                                     "toy.lr: expected > 0"),
    ("toy: {lr: 0.1, epochs: 3}\n",                         r"unknown keys \['epochs'\]"),
    ("- a list\n",                                          "expected a mapping of sections"),
]
# fmt: on


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_load_params(tmp_path: Path, text: str, expected: object) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            load_params(ToyParams, "toy", path)
    else:
        p = load_params(ToyParams, "toy", path)
        assert (p.seed, p.lr) == expected


# Every section of params.yaml and the class that reads it: a key the class does not know is an error.
STAGE_PARAMS = {
    "ingest": ("pipeline.ingest", "IngestParams"),
    "segment": ("pipeline.segment", "SegmentParams"),
    "align": ("pipeline.align", "AlignParams"),
    "prepare_model": ("pipeline.prepare_model", "PrepareModelParams"),
    "train": ("pipeline.train", "TrainParams"),
    "score": ("pipeline.score", "ScoreParams"),
    "evaluate": ("pipeline.evaluate", "EvaluateParams"),
    "publish": ("pipeline.publish", "PublishParams"),
    "bulk": ("pipeline.bulk", "BulkParams"),
    "bulk_publish": ("pipeline.bulk_publish", "BulkPublishParams"),
    "cv": ("pipeline.cv", "CVParams"),
    "link": ("pipeline.link", "LinkParams"),
}


def test_every_section_of_the_project_params_file_loads(root: Path) -> None:
    import dataclasses
    import importlib

    from pipeline.params import read_params

    data = read_params(root / "params.yaml")
    assert set(data) == {"base", *STAGE_PARAMS}
    for stage, (module, cls) in STAGE_PARAMS.items():
        params = load_params(getattr(importlib.import_module(module), cls), stage, root / "params.yaml")
        values = dataclasses.asdict(params)
        for key, value in data[stage].items():  # each value of the file reaches the stage
            expected = tuple(value) if isinstance(value, list) and isinstance(values[key], tuple) else value
            assert values[key] == expected, (stage, key)

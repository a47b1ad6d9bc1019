"""Load one section of params.yaml into a stage's frozen dataclass.

Each stage declares ``@dataclass(frozen=True) class XParams`` whose ``__post_init__`` raises
ValueError with what was expected and what was found; :func:`load_params` fills it from its section
and rejects unknown keys, so a typo in params.yaml is an error, not a silent default.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
DEFAULT_PARAMS = Path("params.yaml")


def read_params(path: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: params file not found")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of sections, found {type(data).__name__}")
    return data


def from_dict(cls: type[T], section: dict[str, Any], where: str = "params") -> T:
    """Build ``cls`` from a mapping; unknown keys are an error naming them."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(section) - names)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; expected some of {sorted(names)}")
    return cls(**section)


def load_params(cls: type[T], stage: str, path: str | Path = DEFAULT_PARAMS) -> T:
    """The ``stage`` section of params.yaml as ``cls`` (the ``base`` section is merged underneath)."""
    data = read_params(path)
    section = dict(data.get(stage) or {})
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for k, v in (data.get("base") or {}).items():
        if k in names and k not in section:
            section[k] = v
    return from_dict(cls, section, where=f"{path}:{stage}")

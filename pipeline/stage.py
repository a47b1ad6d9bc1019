"""The shell every stage's command line shares: its path arguments and ``--params``, running the
stage, logging its counts, and exit code 2 with a one-line error for bad input.

Logging itself is configured once, by the ``overbroad`` command (pipeline.cli), which also runs when
a stage is started as ``python -m pipeline.<stage>``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from typing import Any

# What a stage raises for bad input or a missing upstream output: reported in one line, exit 2.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (FileNotFoundError, ValueError, RuntimeError)


def arguments(
    prog: str,
    doc: str | None,
    paths: dict[str, str],
    argv: Sequence[str] | None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
    params: bool = True,
) -> argparse.Namespace:
    """``--<name> PATH`` for each of ``paths`` (dvc.yaml passes them), ``--params``, and ``extra``."""
    ap = argparse.ArgumentParser(prog=prog, description=(doc or "").strip().splitlines()[0])
    for name, default in paths.items():
        ap.add_argument(f"--{name}", default=default)
    if params:
        ap.add_argument("--params", default="params.yaml")
    if extra is not None:
        extra(ap)
    return ap.parse_args(None if argv is None else list(argv))


def execute(
    name: str, run: Callable[[], dict[str, Any] | None], errors: tuple[type[BaseException], ...] = ()
) -> int:
    """Run a stage; log its counts; an expected error is logged in one line and gives exit code 2."""
    log = logging.getLogger(f"pipeline.{name}")
    try:
        counts = run()
    except EXPECTED_ERRORS + errors as e:
        log.error("%s: %s", name, e)
        return 2
    if counts is not None:
        log.info("%s: %s", name, counts)
    return 0

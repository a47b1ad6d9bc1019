"""``overbroad diff OLD_ID NEW_ID``: what changed between two versions of a law, as JSON lines."""

from __future__ import annotations

from pipeline.versions import diff_main as main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())

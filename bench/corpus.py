"""Where the public corpus is: `$ARFLOW_CORPUS`, else `../shared/corpus` beside the checkout.
It is not shipped with arflow; benchmarks that need it say so plainly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path:
    return Path(os.environ.get("ARFLOW_CORPUS") or ROOT.parent / "shared" / "corpus")


def require_corpus(what: str) -> Path | None:
    """The corpus folder, or None after printing why `what` is not measured."""
    path = corpus_dir()
    if not path.is_dir():
        print(f"{what}: corpus not found at {path} (set ARFLOW_CORPUS); not measured")
        return None
    return path

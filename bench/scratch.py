"""A migrated database for a benchmark: the one named on the command line, or a fresh SQLite
file removed afterwards, so every scale benchmark seeds and times on a known, empty schema."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from arflow.db import make_engine, upgrade


@contextmanager
def scratch_engine(url: str, name: str) -> Iterator[Engine]:
    """An engine on `url` (whose tables must be empty), or on `name`.db in a temporary
    folder when `url` is empty; migrated to head, disposed of afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        target = url or f"sqlite:///{Path(tmp) / name}.db"
        upgrade(target)
        engine = make_engine(target)
        try:
            yield engine
        finally:
            engine.dispose()

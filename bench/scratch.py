"""A migrated database for a benchmark: the one named on the command line, or a fresh SQLite
file removed afterwards, so every scale benchmark seeds and times on a known, empty schema."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

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


@contextmanager
def seeded_session(url: str, name: str, count: int, what: str,
                   seed: Callable[[Session, int], None]) -> Iterator[Session]:
    """A session on a scratch database (`scratch_engine`) that `seed` filled with `count`
    rows of `what`; prints the seeding time."""
    with scratch_engine(url, name) as engine, Session(engine) as session:
        start = time.perf_counter()
        seed(session, count)
        print(f"{engine.dialect.name}: {count:,} {what} seeded in "
              f"{time.perf_counter() - start:.1f} s")
        yield session

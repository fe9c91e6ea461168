"""A lock on one file's content across workers, for what has no document row to lock.

An `.eml` in the drop folder is not itself a document (its attachments are), so the row lock
of `ingest.documents` cannot keep two workers from reading it at once. This lock does:

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection held
  for the block; it works across hosts and dies with the worker's connection after a crash.
- SQLite (one host by nature): an `flock` on a file under ``$ARFLOW_HOME/locks``, released by
  the kernel when the process dies.

Both are *try* locks: a worker that does not get one skips the file (another has it).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from arflow.db import storage_errors

_KEY_HEX_DIGITS = 15  # 60 bits: a positive PostgreSQL bigint


def advisory_key(sha256: str) -> int:
    """The lock key of a content hash (hex)."""
    return int(sha256[:_KEY_HEX_DIGITS], 16)


@contextmanager
def content_lock(engine: Engine, lock_dir: Path, sha256: str) -> Iterator[bool]:
    """Hold the lock of `sha256` for the block; yields False when another worker holds it."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, advisory_key(sha256)) as held:
            yield held
    else:
        with _flock(lock_dir / f"{sha256[:32]}.lock") as held:
            yield held


@contextmanager
def _advisory(engine: Engine, key: int) -> Iterator[bool]:
    with storage_errors(engine.url), engine.connect() as conn:
        held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        conn.commit()
        try:
            yield held
        finally:
            if held:  # a pooled connection would otherwise keep the lock
                conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


@contextmanager
def _flock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the flock

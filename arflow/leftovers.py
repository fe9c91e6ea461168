"""A batch's working folders (its private copies of the files, its OCR page cache), and the
ones a crashed run left behind.

A batch makes each working folder with `working_folder`: a fresh folder holding an `.owner`
file that the batch keeps `flock`ed for as long as the folder lives. The kernel releases the
lock when the process ends, however it ends (a kill -9, an out-of-memory kill, a power cut's
reboot), so a folder whose lock can be taken has no batch behind it. Before making its own,
a batch removes those (`sweep`); a folder not yet a minute old is left alone, as its batch
may not have locked it yet. A folder without an `.owner` (made by an earlier version, or
whose batch died between making it and locking it) goes once it is an hour old.

The lock is a local one: the home of a batch is one host's (SQLite by nature; with
PostgreSQL each worker host has its own home), as for `ingest.locks`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

OWNER = ".owner"
YOUNG_S = 60.0  # a locked folder's lock may still be on its way
ORPHAN_S = 3600.0  # a folder with no owner file at all


def make(root: Path, prefix: str) -> tuple[Path, int]:
    """A new folder `root/<prefix>…` and the descriptor holding its owner lock; close it
    (`drop`) to give the folder up."""
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    fd = os.open(folder / OWNER, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new and ours: cannot be held elsewhere
    return folder, fd


def drop(folder: Path, fd: int | None) -> None:
    """Remove `folder`, then release its lock."""
    shutil.rmtree(folder, ignore_errors=True)
    if fd is not None:
        with suppress(OSError):
            os.close(fd)


@contextmanager
def working_folder(root: Path, prefix: str) -> Iterator[Path]:
    """A folder of this batch's own under `root` for the block, removed afterwards."""
    folder, fd = make(root, prefix)
    try:
        yield folder
    finally:
        drop(folder, fd)


def sweep(root: Path, prefix: str, now: float | None = None) -> list[Path]:
    """Remove the `root/<prefix>…` folders no living batch owns; returns them."""
    if not root.is_dir():
        return []
    clock = time.time() if now is None else now
    removed = [f for f in sorted(root.glob(f"{prefix}*")) if f.is_dir() and _orphaned(f, clock)]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
        log.warning("removed %s, left behind by a run that did not finish", folder)
    return removed


def _orphaned(folder: Path, now: float) -> bool:
    owner = folder / OWNER
    try:
        age = now - owner.stat().st_mtime
    except FileNotFoundError:
        return _age(folder, now) > ORPHAN_S
    return age > YOUNG_S and _unlocked(owner)


def _age(folder: Path, now: float) -> float:
    try:
        return now - folder.stat().st_mtime
    except FileNotFoundError:
        return 0.0  # gone meanwhile: nothing to do


def _unlocked(owner: Path) -> bool:
    """Whether no process holds `owner`'s lock (taking it for a moment to find out)."""
    try:
        fd = os.open(owner, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True

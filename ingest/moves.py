"""Where a drop-folder file goes once its result is committed, and moving it there safely.

`archive/YYYY/MM/<name>` for processed files and duplicates, `quarantine/<name>` with a
`<name>.reason.json` beside it for files that cannot be processed. A move is idempotent: a
missing source means the move already happened (a restart, or another worker). A move never
overwrites: it links the new name first (exclusive), so a name taken meanwhile gets a
variant, and across file systems it copies to a temporary name first, so the target is
never partial.
"""

from __future__ import annotations

import errno
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.queries import dumps

REASON_SUFFIX = ".reason.json"


def archive_target(archive_root: Path, name: str, tag: str, now: datetime | None = None) -> Path:
    """`archive/YYYY/MM/<name>`, or `<stem>.<tag><suffix>` when that name is taken."""
    when = now or datetime.now(UTC)
    return free_name(archive_root / f"{when:%Y}" / f"{when:%m}", name, tag)


def quarantine_target(quarantine_root: Path, name: str, tag: str) -> Path:
    return free_name(quarantine_root, name, tag)


def free_name(folder: Path, name: str, tag: str) -> Path:
    """`name` in `folder`, else `<stem>.<tag><suffix>`, else `<stem>.<tag>-<n><suffix>`."""
    candidate = folder / name
    stem, suffix = os.path.splitext(name)
    attempt = 0
    while candidate.exists():
        attempt += 1
        extra = f"-{attempt}" if attempt > 1 else ""
        candidate = folder / f"{stem}.{tag}{extra}{suffix}"
    return candidate


def write_reason(target: Path, payload: dict[str, Any]) -> Path:
    """`<target>.reason.json`, written atomically (rewritten as is on a restart)."""
    reason = target.with_name(target.name + REASON_SUFFIX)
    reason.parent.mkdir(parents=True, exist_ok=True)
    tmp = reason.with_name(f".{reason.name}.tmp")
    tmp.write_text(dumps(payload), encoding="utf-8")
    os.replace(tmp, reason)
    return reason


def move_file(source: Path, target: Path) -> Path | None:
    """Move `source` to `target` without ever overwriting another file: a taken name (two
    workers archiving different files of the same name at once) gets a `-<n>` variant.
    Returns where the file went, or None when the source is already gone (moved before)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for candidate in _variants(target):
        try:
            _link(source, candidate)
        except FileNotFoundError:
            return None
        except FileExistsError:
            if not _same_bytes(source, candidate):
                continue
        source.unlink(missing_ok=True)
        return candidate
    raise OSError(f"no free name for {target}")  # pragma: no cover - 1000 variants taken


def _variants(target: Path, limit: int = 1000) -> list[Path]:
    stem, suffix = os.path.splitext(target.name)
    return [target] + [target.with_name(f"{stem}-{n}{suffix}") for n in range(1, limit)]


def _link(source: Path, target: Path) -> None:
    """A new name for `source` at `target`; fails with FileExistsError if `target` exists."""
    try:
        os.link(source, target)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        _copy_exclusive(source, target)


def _copy_exclusive(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.partial")
    shutil.copy2(source, tmp)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    try:
        os.link(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b) or (a.stat().st_size == b.stat().st_size
                                 and a.read_bytes() == b.read_bytes())
    except FileNotFoundError:
        return False

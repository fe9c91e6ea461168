"""Where a drop-folder file goes once its result is committed, and moving it there safely.

`archive/YYYY/MM/<name>` for processed files and duplicates, `quarantine/<name>` with a
`<name>.reason.json` beside it for files that cannot be processed. A move is idempotent: a
missing source means the move already happened (a restart, or another worker), and a move
across file systems copies to a temporary name and renames, so the target is never partial.
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


def move_file(source: Path, target: Path) -> bool:
    """Move `source` to `target`; False when the source is already gone (moved before)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except FileNotFoundError:
        return False
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        return _copy_then_unlink(source, target)
    return True


def _copy_then_unlink(source: Path, target: Path) -> bool:
    tmp = target.with_name(f".{target.name}.partial")
    try:
        shutil.copy2(source, tmp)
    except FileNotFoundError:
        return False
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    source.unlink(missing_ok=True)
    return True

"""Where a drop-folder file goes once its result is committed, and moving it there safely.

`archive/YYYY/MM/<name>` for processed files and duplicates, `quarantine/<name>` with a
`<name>.reason.json` beside it for files that cannot be processed; a name too long for what
is added to it there is shortened (`arflow.names.short_name`). A move is idempotent: a
missing source means the move already happened (a restart, or another worker). A move never
overwrites: it links the new name first (exclusive), so a name taken meanwhile gets a
variant, and across file systems it copies to a temporary name first, so the target is
never partial.

A move is three steps, so that what can fail is told apart: `place` (the archive or
quarantine copy), the reason file beside a quarantined one, then `remove_source`. A drop
folder that cannot be written (a read-only share) fails only the last step, with
`SourceNotRemovable`: the copy and its reason file are there, and the file stays.

Symbolic links: the archive must hold the bytes, never a link to something that is not ours
and may change or vanish. A link to a file is replaced in the drop folder by a regular file
holding its bytes before it is read (`materialise_link`), or, where the folder cannot be
written, its bytes are copied by `place` and checked against the hash that was processed. A
link that leads to no file (dangling, a folder, a loop) is never followed: it is taken as
what it holds, the path it points to (`link_fingerprint`), and moved as a link.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arflow.intake import InboxFile, sha256_of
from arflow.names import short_name
from models.queries import dumps

REASON_SUFFIX = ".reason.json"
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
_LINK_PREFIX = b"symlink\0"  # a link's hash can never equal a file's


class SourceNotRemovable(OSError):
    """The original could not be removed: its folder cannot be written (read-only, no
    permission). Its copy is in place; it is taken again only to try the removal again."""

    def __init__(self, source: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror, str(source))
        self.source = source
        self.folder = source.parent


class SourceChanged(OSError):
    """The bytes a link leads to are no longer those that were processed."""


def archive_target(archive_root: Path, name: str, tag: str, now: datetime | None = None) -> Path:
    """`archive/YYYY/MM/<name>`, or `<stem>.<tag><suffix>` when that name is taken."""
    when = now or datetime.now(UTC)
    return free_name(archive_root / f"{when:%Y}" / f"{when:%m}", name, tag)


def quarantine_target(quarantine_root: Path, name: str, tag: str) -> Path:
    return free_name(quarantine_root, name, tag)


def free_name(folder: Path, name: str, tag: str) -> Path:
    """`name` in `folder`, else `<stem>.<tag><suffix>`, else `<stem>.<tag>-<n><suffix>`.
    A name too long to take a variant, a reason file or a temporary name beside it (over
    about 200 bytes) is shortened first (`names.short_name`): its copy, or its reason file,
    could not be written, and the file stayed in the drop folder, failing on every pass."""
    name = short_name(name)
    candidate = folder / name
    stem, suffix = os.path.splitext(name)
    attempt = 0
    while os.path.lexists(candidate):  # a link kept in quarantine takes its name too
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


def keep_in_quarantine(root: Path, file: InboxFile, reasons: list[Any]) -> Path:
    """A byte-exact copy of an unreadable file that stays where it is (a mail attachment in
    the mail archive), as `quarantine/<sha12>-<name>`, where `arflow retry` looks; the reason
    file is written first, so the copy is never there without it."""
    tag = file.sha256[:12]
    name = file.name.removeprefix(f"{tag}-")
    target = root / f"{tag}-{short_name(name)}"
    record: dict[str, Any] = {"source": file.where, "reasons": reasons}
    if short_name(name) != name:
        record["name"] = name  # the copy's name was shortened
    write_reason(target, record)
    with suppress(FileExistsError):  # kept before (a rerun, another worker)
        _copy_exclusive(file.path, target, file.sha256)
    return target


def move_file(source: Path, target: Path) -> Path | None:
    """`place` the file, then `remove_source`: where it went, or None when the source is
    already gone (moved before)."""
    placed = place(source, target)
    if placed is not None:
        remove_source(source)
    return placed


def place(source: Path, target: Path, sha256: str | None = None) -> Path | None:
    """Put `source` at `target` without ever overwriting another file: a taken name (two
    workers archiving different files of the same name at once) gets a `-<n>` variant.
    `sha256`: what was taken (a link's bytes are checked against it; a link taken as a link
    has its `link_fingerprint`). Returns where it is, or None when the source is gone."""
    target.parent.mkdir(parents=True, exist_ok=True)
    as_link = _taken_as_link(source, sha256)
    for candidate in _variants(target):
        try:
            _put(source, candidate, sha256, as_link=as_link)
        except FileNotFoundError:
            return None
        except FileExistsError:
            if not _same(source, candidate, as_link=as_link):
                continue
        return candidate
    raise OSError(f"no free name for {target}")  # pragma: no cover - 1000 variants taken


def remove_source(source: Path) -> None:
    """Remove the original from the drop folder (a link: the link, never its target)."""
    try:
        source.unlink(missing_ok=True)
    except OSError as err:
        if err.errno in _NOT_WRITABLE:
            raise SourceNotRemovable(source, err) from err
        raise


def link_fingerprint(path: Path) -> InboxFile:
    """A link that is not read as a file, fingerprinted by what it holds: where it points."""
    target = os.fsencode(os.readlink(path))
    return InboxFile(path=path, sha256=hashlib.sha256(_LINK_PREFIX + target).hexdigest(),
                     size=len(target))


def materialise_link(link: Path) -> bool:
    """Replace a link to a file by a regular file with the same bytes (and mode and times),
    atomically under the same name, so that what is processed is what gets archived and the
    link's target, which is not ours, is never touched. False when the folder cannot be
    written (the caller reads through the link; `place` copies the bytes then)."""
    try:
        handle, name = tempfile.mkstemp(dir=link.parent, prefix=f".{link.name}.",
                                        suffix=".partial")  # hidden: no pass takes it
    except OSError:
        return False
    tmp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out, link.open("rb") as data:
            shutil.copyfileobj(data, out)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(link, tmp)
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def _taken_as_link(source: Path, sha256: str | None) -> bool:
    if not source.is_symlink():
        return False
    if sha256 is None:
        return not source.is_file()
    try:
        return link_fingerprint(source).sha256 == sha256
    except OSError:
        return False


def _put(source: Path, target: Path, sha256: str | None, *, as_link: bool) -> None:
    """A new name for `source` at `target`; FileExistsError if `target` exists."""
    if as_link:
        os.symlink(os.readlink(source), target)
    elif source.is_symlink():
        _copy_exclusive(source, target, sha256)  # the bytes, never the link
    else:
        _link(source, target, sha256)


def _variants(target: Path, limit: int = 1000) -> list[Path]:
    stem, suffix = os.path.splitext(target.name)
    return [target] + [target.with_name(f"{stem}-{n}{suffix}") for n in range(1, limit)]


def _link(source: Path, target: Path, sha256: str | None) -> None:
    """A hard link at `target`, or a copy across file systems."""
    try:
        os.link(source, target)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        _copy_exclusive(source, target, sha256)


def _copy_exclusive(source: Path, target: Path, sha256: str | None = None) -> None:
    """Copy through a temporary name (the target is never partial); with `sha256`, only
    the bytes that were taken (`SourceChanged` otherwise)."""
    tmp = target.with_name(f".{target.name}.partial")
    shutil.copy2(source, tmp)
    try:
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        if sha256 is not None and sha256_of(tmp) != sha256:
            raise SourceChanged(f"{source} no longer holds the bytes that were processed")
        os.link(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _same(source: Path, candidate: Path, *, as_link: bool) -> bool:
    if not as_link:
        return _same_bytes(source, candidate)
    try:
        return candidate.is_symlink() and os.readlink(candidate) == os.readlink(source)
    except OSError:
        return False


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b) or (a.stat().st_size == b.stat().st_size
                                 and a.read_bytes() == b.read_bytes())
    except OSError:  # gone, or a link kept there that leads nowhere: not the same file
        return False

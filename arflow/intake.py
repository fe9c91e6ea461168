"""Finding files in an inbox and fingerprinting them (content hash before any parsing).

Every file `arflow run` finds is accounted for: read (from a private copy of exactly the bytes
that were fingerprinted, `stage`), skipped as seen before, or left for the next run with the
reason (`Waiting`: still being written, changed while read). What is not a document is never
found: hidden paths, temporary and sidecar files, and arflow's own state (`state_paths`).
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from arflow.completeness import held_back, incomplete_wait
from arflow.errors import ConfigError
from arflow.names import path_text, short_name
from arflow.settings import Settings, env_number

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", ".swp", "~")
SIDECAR_SUFFIXES = (".gt.json", ".reason.json")
SETTLE_ENV = "ARFLOW_SETTLE_SECONDS"
DEFAULT_SETTLE_S = 2.0  # as the drop folder's --stable-delay (`ingest.stability`)
SQLITE_SIDECARS = ("", "-wal", "-shm", "-journal")

Signature = tuple[int, int]  # (size, mtime_ns): what the drop folder's poller compares too


@dataclass(frozen=True)
class InboxFile:
    path: Path  # where the file was found: its name and original path are stored
    sha256: str
    size: int
    mtime_ns: int | None = None  # when fingerprinted, to tell later whether it changed
    staged: Path | None = None  # a private copy of exactly the fingerprinted bytes (`stage`)

    @property
    def name(self) -> str:
        """The file's name as text (`path_text`): what is stored, shown and archived."""
        return path_text(self.path.name)

    @property
    def where(self) -> str:
        """Where the file was found, as text (`path_text`)."""
        return path_text(self.path)

    @property
    def content(self) -> Path:
        """Where the fingerprinted bytes are read from: the private copy when there is one,
        since the original may be written to, replaced or removed meanwhile."""
        return self.staged or self.path


@dataclass(frozen=True)
class Waiting:
    """A file found but not taken this run, and why; the next run looks at it again."""

    path: Path
    why: str


def is_candidate(path: Path) -> bool:
    """A regular, visible, complete-looking file that is not a sidecar of another file."""
    name = path.name
    if name.startswith((".", "~$")) or not path.is_file():
        return False
    lowered = name.lower()
    return not lowered.endswith(IGNORED_SUFFIXES + SIDECAR_SUFFIXES)


def discover(inbox: Path, exclude: Iterable[Path] = ()) -> list[Path]:
    """Candidate files under `inbox` (recursively), in a stable order.

    A path with a hidden part below the inbox is left out, folders included (`.git/`, a sync
    tool's `.stfolder/`, the default `./.arflow` home when the inbox is `.`), and so is
    everything at or under a path of `exclude` (arflow's own state, `state_paths`): walked
    top-down so that such a folder is never even listed. Symbolic links to folders are not
    followed."""
    if not inbox.is_dir():
        raise ConfigError(f"inbox {inbox} is not a directory")
    skip = {p.resolve() for p in exclude}
    found: list[Path] = []
    for root, folders, names in os.walk(inbox):
        here = Path(root)
        folders[:] = [f for f in folders
                      if not f.startswith(".") and (here / f).resolve() not in skip]
        found += [p for name in names
                  if is_candidate(p := here / name) and p.resolve() not in skip]
    return sorted(found)


def check_inbox(settings: Settings, inbox: Path) -> None:
    """`ConfigError` for an inbox no batch may read (not a folder; arflow's own state), said
    before any engine starts (the Prefect one would print its own tracebacks first)."""
    if not inbox.is_dir():
        raise ConfigError(f"inbox {inbox} is not a directory")
    state_paths(settings, inbox)


def state_paths(settings: Settings, inbox: Path) -> list[Path]:
    """What of arflow's own an inbox may hold and must never be taken as a document: its home
    (database, reports, quarantine copies, staged copies), each state folder (should one be
    configured outside the home) and a SQLite database file with its journals.

    A home holding the inbox (`/srv/arflow/inbox` in `/srv/arflow`) is not left out whole,
    or nothing would be found; an inbox that is the home itself or inside one of its state
    folders is refused, as its files would be arflow's own."""
    where = inbox.resolve()
    home = settings.home.resolve()
    folders = [settings.archive_dir, settings.quarantine_dir, settings.split_dir,
               settings.reports_dir, settings.exports_dir, home / "staging"]
    for folder in (p.resolve() for p in folders):
        if where.is_relative_to(folder):
            raise ConfigError(f"inbox {inbox} is inside arflow's own folder {folder}")
    if where == home:
        raise ConfigError(f"inbox {inbox} is ARFLOW_HOME itself; give the invoices a folder "
                          "of their own")
    own = [*folders, *_sqlite_files(settings.database_url)]
    return own if where.is_relative_to(home) else [home, *own]


def _sqlite_files(url: str) -> list[Path]:
    """The database file of a SQLite URL and the journals SQLite keeps beside it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return []
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return []
    return [Path(f"{database}{suffix}") for suffix in SQLITE_SIDECARS]


def settle_window(env: Mapping[str, str] | None = None) -> float:
    """Seconds a file must have gone unmodified before `arflow run` takes it
    (`ARFLOW_SETTLE_SECONDS`, default 2; 0 takes every file at once)."""
    return env_number(dict(os.environ) if env is None else dict(env), SETTLE_ENV,
                      DEFAULT_SETTLE_S, float, valid=lambda v: 0.0 <= v < math.inf,
                      what="a number of seconds >= 0")


def signature(path: Path) -> Signature | None:
    """(size, mtime_ns) now; None when the file is gone."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def settled(
    paths: Iterable[Path], window: float, now: float | None = None, wait: float | None = None,
) -> tuple[list[tuple[Path, Signature]], list[Waiting]]:
    """The files not modified for `window` seconds, with their signature as first seen, and
    those modified more recently (or dated in the future: a clock ahead cannot prove a file
    finished), left for the next run.

    One look at the clock, not the drop folder's two observations `delay` apart
    (`ingest.stability`): a batch takes what is there now and does not wait. A writer that
    pauses longer than the window cannot be told from a finished file by either rule, unless
    the file's format says where it ends and the end is missing: such a file is left alone
    for `wait` seconds after its last change (`completeness.held_back`; default
    `completeness.incomplete_wait()`). The signature is compared again after hashing
    (`fingerprint_unchanged`)."""
    now_ns = time.time_ns() if now is None else int(now * 1e9)
    wait = incomplete_wait() if wait is None else wait
    ready: list[tuple[Path, Signature]] = []
    waiting: list[Waiting] = []
    for path in paths:
        sig = signature(path)
        if sig is None:
            continue  # gone since it was listed: no longer in the inbox to account for
        age = (now_ns - sig[1]) / 1e9
        if age < window:
            waiting.append(Waiting(path, f"still being written (modified {age:.1f} s ago)"))
        elif why := held_back(path, sig[1], wait, now_ns):
            waiting.append(Waiting(path, why))
        else:
            ready.append((path, sig))
    return ready, waiting


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(path: Path) -> InboxFile:
    digest = sha256_of(path)
    stat = path.stat()
    return InboxFile(path=path, sha256=digest, size=stat.st_size, mtime_ns=stat.st_mtime_ns)


def fingerprint_unchanged(path: Path, before: Signature) -> InboxFile | Waiting | None:
    """The file's fingerprint if its size and modification time are still those seen at
    discovery (else the hash may be of a file half written: left for the next run); None
    when it is gone."""
    try:
        file = fingerprint(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Waiting(path, f"cannot be read: {exc}")
    if (file.size, file.mtime_ns) != before:
        return Waiting(path, "still being written (changed while it was fingerprinted)")
    return file


def stage(file: InboxFile, folder: Path, chunk: int = 1 << 20) -> InboxFile | Waiting:
    """`file` with a private copy of its bytes under `folder`, hashed while copied: the copy
    extraction reads and quarantine keeps, so both are exactly the fingerprinted bytes
    whatever happens to the original afterwards. The copy keeps the file's name, as text
    (`path_text`: messages and split parts are named after it), and its modification time.
    A name whose text is too long for a file name (a 200-byte Latin-1 name is up to 800
    bytes as text) is shortened (`short_name`): it was left for the next run, on every run.
    Bytes that differ from the fingerprint (the file changed in between) are not kept:
    left for the next run."""
    target = folder / file.sha256 / short_name(file.name)
    target.parent.mkdir(parents=True)
    digest = hashlib.sha256()
    try:
        with file.path.open("rb") as source, target.open("xb") as copy:
            while block := source.read(chunk):
                digest.update(block)
                copy.write(block)
    except OSError as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        return Waiting(file.path, f"cannot be read: {exc}")
    if digest.hexdigest() != file.sha256:
        shutil.rmtree(target.parent, ignore_errors=True)
        return Waiting(file.path, "still being written (changed after it was fingerprinted)")
    with suppress(OSError):  # the bytes are all there; the date is only for people
        shutil.copystat(file.path, target)
    return replace(file, staged=target)


def unique_by_content(files: list[InboxFile]) -> tuple[list[InboxFile], list[InboxFile]]:
    """Split into first occurrences and byte-identical repeats (within one batch)."""
    seen: set[str] = set()
    first: list[InboxFile] = []
    repeats: list[InboxFile] = []
    for item in files:
        (repeats if item.sha256 in seen else first).append(item)
        seen.add(item.sha256)
    return first, repeats

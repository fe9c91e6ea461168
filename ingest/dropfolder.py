"""The drop folder: take each complete file once, commit its result, then move it.

Order per file (crash-safe): fingerprint → claim and lock its document → process and
persist, with a ledger row naming the target, in ONE transaction → commit → write the
reason file (quarantine) → move → stamp `moved_at`. After a crash anywhere, the rerun finds
either an uncommitted document (processed again, nothing was stored) or a committed ledger
row whose move is pending (only the move is done). The same bytes dropped again become a
`duplicate` row and are archived without processing.

Every entry of the folder is accounted for, links included (`ingest.moves` says how): a link
to a file is read as that file and its bytes archived, the link removed and its target left
alone; a link that leads to no file (dangling, a folder, a loop) is never followed, and moves
to quarantine, as a link, with a reason naming where it points. A folder that cannot be
written (a read-only share) cannot give its files up: they are processed once, copied to the
archive or quarantine (reason file included), and stay; each pass then reports the folder
once in `PassSummary.errors`, with no traceback, and takes them again only to try the
removal (the ledger row's move is pending, so nothing is processed twice).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Session

from arflow.completeness import held_back, incomplete_wait
from arflow.db import session_scope
from arflow.errors import ConfigError, StorageError
from arflow.intake import IGNORED_SUFFIXES, SIDECAR_SUFFIXES, InboxFile, fingerprint
from arflow.names import path_text, short_name
from arflow.reasons import Reason
from arflow.settings import Settings
from ingest import documents, ledger, locks, moves
from ingest.documents import IngestContext
from ingest.eml import MailLimits
from ingest.ledger import DropOutcome
from ingest.mail_ledger import MailOutcome
from ingest.mailbox import read_message
from ingest.stability import StabilityTracker, wait_for_stable
from models import db, repo
from models.domain import Problem

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class DropFolder:
    inbox: Path
    archive: Path
    quarantine: Path
    stable_delay: float = 2.0
    # a file whose format's end is missing is left alone this long after its last change
    incomplete_wait: float = field(default_factory=incomplete_wait)

    @classmethod
    def from_settings(cls, settings: Settings, inbox: Path, stable_delay: float = 2.0,
                      archive: Path | None = None, quarantine: Path | None = None) -> DropFolder:
        return cls(inbox=inbox.resolve(), archive=(archive or settings.archive_dir).resolve(),
                   quarantine=(quarantine or settings.quarantine_dir).resolve(),
                   stable_delay=stable_delay)

    def candidates(self) -> list[Path]:
        """Visible, complete-looking files and links under the inbox, outside archive and
        quarantine."""
        return [p for p in entries(self.inbox) if self._watched(p)]

    def _watched(self, path: Path) -> bool:
        relative = path.relative_to(self.inbox).parts
        if any(part.startswith(".") for part in relative):
            return False
        return not any(path.is_relative_to(root) for root in (self.archive, self.quarantine))

    def target_for(self, file: InboxFile, outcome: DropOutcome) -> Path:
        if outcome == DropOutcome.QUARANTINED:
            return moves.quarantine_target(self.quarantine, file.name, file.sha256[:12])
        return moves.archive_target(self.archive, file.name, file.sha256[:12])


def entries(inbox: Path) -> list[Path]:
    """Regular files and symbolic links under `inbox` with candidate names, in a stable
    order. A link is listed, never followed into a folder: one out of the drop folder or back
    into it would take what is not ours, or loop (`take_file` quarantines such a link)."""
    if not inbox.is_dir():
        raise ConfigError(f"inbox {inbox} is not a directory")
    found: list[Path] = []
    pending = [inbox]
    while pending:
        try:
            with os.scandir(pending.pop()) as listing:
                items = list(listing)
        except OSError as err:  # a sub-folder that cannot be listed: say so, go on
            log.warning("drop folder: cannot list %s: %s", err.filename, err.strerror)
            continue
        for item in items:
            if item.is_symlink() or item.is_file(follow_symlinks=False):
                if _candidate_name(item.name):
                    found.append(Path(item.path))
            elif item.is_dir(follow_symlinks=False):
                pending.append(Path(item.path))
    return sorted(found)


def _candidate_name(name: str) -> bool:
    """Not hidden, not an office lock file, not a partial upload or a sidecar (the naming
    rules of `arflow.intake.is_candidate`, without its `is_file`, which follows links)."""
    return not (name.startswith((".", "~$"))
                or name.lower().endswith(IGNORED_SUFFIXES + SIDECAR_SUFFIXES))


@dataclass
class PassSummary:
    """Files taken in one pass, by outcome; `busy`: gone or held by another worker;
    `errors`: files left in place by an unexpected error (retried next pass), and one line
    per folder that cannot be written (also in `not_writable`, which `watch` logs);
    `waiting`: files that look unfinished (`arflow.completeness`), one line each, left for a
    later pass."""

    outcomes: dict[str, int] = field(default_factory=dict)
    busy: int = 0
    waiting: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    not_writable: list[str] = field(default_factory=list)

    def add(self, outcome: str | None) -> None:
        if outcome is None:
            self.busy += 1
        else:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def taken(self) -> int:
        return sum(self.outcomes.values())


RESUMED = "resumed"  # a pass outcome: only a committed file's pending move was finished


class LeftInFolder(Exception):
    """A file whose result is committed and whose copy is in place, but which its folder
    does not let go (`moves.SourceNotRemovable`); `outcome`: what it was taken as in this
    pass, None when the pass only tried its removal again."""

    def __init__(self, outcome: str | None, cause: moves.SourceNotRemovable) -> None:
        super().__init__(str(cause))
        self.outcome, self.cause = outcome, cause


@dataclass(frozen=True)
class MovePlan:
    row_id: int
    source: Path
    target: Path
    outcome: str
    reasons: list[object] | None
    resumed: bool = False  # the row existed: this call only finishes the move
    sha256: str | None = None  # what was taken: a link's bytes are checked against it

    @classmethod
    def of(cls, row: db.DropFile, file: InboxFile, *, resumed: bool) -> MovePlan:
        """The plan of `row`, recorded for `file`: moved from where the file was found (the
        row's path may be cut, `as_recorded`)."""
        return cls(row.id, file.path, Path(row.target_path), row.outcome, row.reasons,
                   resumed, row.sha256)


def _chars(column: str) -> int:
    """What a text column of the ledger holds, in characters."""
    kind = db.DropFile.__table__.c[column].type
    return kind.length if isinstance(kind, String) and kind.length else sys.maxsize


_NAME_CHARS, _PATH_CHARS = _chars("name"), _chars("original_path")


def as_recorded(file: InboxFile) -> InboxFile:
    """`file` as its ledger row names it: a name or a path longer than the ledger's columns
    (PostgreSQL refused them, and every pass stopped on the file) is cut to them, the name
    kept at the path's end, with "…" where it was cut. The row is found again by the same
    cut path (`ledger.pending_move`); the file is moved from where it was found
    (`MovePlan.of`), and its reason file names it in full."""
    name, where = file.name, file.where
    if len(name) <= _NAME_CHARS and len(where) <= _PATH_CHARS:
        return file
    name = repo.fitted(name, _NAME_CHARS)
    folder = path_text(file.path.parent)
    room = _PATH_CHARS - len(name) - 1
    if len(folder) > room:
        folder = folder[:room - 1] + "…"
    return replace(file, path=Path(folder) / name)


def take_file(ctx: IngestContext, folder: DropFolder, path: Path) -> str | None:
    """Take one stable file; its outcome, or None when it is gone or another worker has it."""
    if path.is_symlink():
        if not path.is_file():  # dangling, a folder, a loop: nothing to read
            return _take_link(ctx, folder, path)
        if not _materialised(ctx, path):
            return None
    try:
        file = fingerprint(path)
    except OSError:
        return None
    if is_eml(path):
        return _take_eml(ctx, folder, file)
    plan = _plan(ctx, folder, file)
    return None if plan is None else _carried(ctx, plan)


def _carried(ctx: IngestContext, plan: MovePlan) -> str:
    try:
        carry_out(ctx, plan)
    except moves.SourceNotRemovable as err:
        raise LeftInFolder(None if plan.resumed else plan.outcome, err) from err
    return RESUMED if plan.resumed else plan.outcome


def _lock_dir(ctx: IngestContext) -> Path:
    return ctx.settings.home / "locks"


def _materialised(ctx: IngestContext, link: Path) -> bool:
    """Turn a link to a file into the file's bytes before it is read (`moves.
    materialise_link`), under a lock on the link's path so that two workers never replace
    it at once; False when another worker holds it. A folder that cannot be written keeps
    the link: it is read through it, and `moves.place` archives a checked copy of its
    bytes."""
    key = hashlib.sha256(f"link:{link}".encode()).hexdigest()
    with locks.content_lock(ctx.engine, _lock_dir(ctx), key) as held:
        if not held:
            return False
        if link.is_symlink() and link.is_file():
            moves.materialise_link(link)
    return True


def _take_link(ctx: IngestContext, folder: DropFolder, path: Path) -> str | None:
    """A link that leads to no file is moved to quarantine as the link it is, recorded in
    the ledger once (under the lock of what it holds), never followed."""
    try:
        file = moves.link_fingerprint(path)
    except OSError:
        return None  # gone meanwhile
    with locks.content_lock(ctx.engine, _lock_dir(ctx), file.sha256) as held:
        if not held or not path.is_symlink():
            return None
        return _carried(ctx, _plan_link(ctx, folder, file))


def _plan_link(ctx: IngestContext, folder: DropFolder, file: InboxFile) -> MovePlan:
    with session_scope(ctx.engine) as session:
        row = ledger.pending_move(session, as_recorded(file))
        if row is not None:
            return MovePlan.of(row, file, resumed=True)
        outcome = DropOutcome.QUARANTINED
        reason = Problem(Reason.UNREADABLE_DOCUMENT, link_problem(file.path)).to_json()
        row = ledger.record(session, as_recorded(file), outcome, document_id=None,
                            target=folder.target_for(file, outcome), reasons=[reason])
        return MovePlan.of(row, file, resumed=False)


def link_problem(link: Path) -> str:
    """Why a link was not read, naming where it points (a person may fix the link)."""
    points_to = os.readlink(link)
    try:
        link.stat()
    except FileNotFoundError:
        why = "which does not exist"
    except OSError as err:
        why = f"which cannot be followed ({err.strerror})"
    else:
        why = "a folder: links are not followed into folders" if link.is_dir() else \
            "which is not a regular file"
    return (f"symbolic link to {points_to}, {why}; nothing was read, and what it points to "
            f"was left alone")


def _plan(ctx: IngestContext, folder: DropFolder, file: InboxFile) -> MovePlan | None:
    with documents.locked(ctx, file) as (session, document):
        if document is None or not file.path.exists():
            return None
        row = ledger.pending_move(session, as_recorded(file))
        if row is not None:
            return MovePlan.of(row, file, resumed=True)
        return MovePlan.of(_decide(ctx, folder, session, document, file), file, resumed=False)


def is_eml(path: Path) -> bool:
    return path.suffix.lower() == ".eml"


def _take_eml(ctx: IngestContext, folder: DropFolder, file: InboxFile) -> str | None:
    """An .eml is read, recorded and moved under its content lock (`ingest.locks`), so a
    second worker never reads it at the same time; it skips the file instead."""
    lock_dir = ctx.settings.home / "locks"
    with locks.content_lock(ctx.engine, lock_dir, file.sha256) as held:
        if not held or not file.path.exists():
            return None
        return _carried(ctx, _plan_eml(ctx, folder, file))


def _plan_eml(ctx: IngestContext, folder: DropFolder, file: InboxFile) -> MovePlan:
    """An .eml file: its attachments are taken like a mailbox message's, then it is moved.
    A rerun after a crash re-reads it; its attachments are known documents by then."""
    with session_scope(ctx.engine) as session:
        row = ledger.pending_move(session, as_recorded(file))
        duplicate = row is None and ledger.taken_before(session, file.sha256)
    if row is not None:
        return MovePlan.of(row, file, resumed=True)
    outcome, reasons = (DropOutcome.DUPLICATE, None) if duplicate else _read_eml(ctx, file)
    with session_scope(ctx.engine) as session:
        row = ledger.record(session, as_recorded(file), outcome, document_id=None,
                            target=folder.target_for(file, outcome), reasons=reasons)
        return MovePlan.of(row, file, resumed=False)


def _read_eml(ctx: IngestContext, file: InboxFile) -> tuple[DropOutcome, list[Any] | None]:
    limits = MailLimits(max_message_bytes=ctx.settings.max_file_bytes)
    result = read_message(ctx, file.path.read_bytes(), limits, origin=str(file.path))
    outcome = {MailOutcome.INGESTED: DropOutcome.PROCESSED,
               MailOutcome.NO_INVOICE: DropOutcome.NO_INVOICE}.get(result.outcome,
                                                                   DropOutcome.QUARANTINED)
    reasons = [{"code": str(result.outcome), "message": result.error}] if result.error else None
    return outcome, reasons


def _decide(ctx: IngestContext, folder: DropFolder, session: Session,
            document: db.Document, file: InboxFile) -> db.DropFile:
    taken = documents.process_locked(ctx, session, document, file)
    if not taken.processed:
        outcome = DropOutcome.DUPLICATE
    else:
        outcome = DropOutcome.QUARANTINED if taken.failed else DropOutcome.PROCESSED
    reasons = taken.reasons if outcome == DropOutcome.QUARANTINED else None
    return ledger.record(session, as_recorded(file), outcome, document_id=taken.document_id,
                         target=folder.target_for(file, outcome), reasons=reasons)


def _held_back(folder: DropFolder, path: Path) -> str | None:
    """Why a stable file is not taken yet (`completeness.held_back`), else None."""
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        return None  # gone or a dangling link: `take_file` accounts for it
    return held_back(path, mtime_ns, folder.incomplete_wait)


def carry_out(ctx: IngestContext, plan: MovePlan) -> None:
    """After the commit: place the copy (never overwriting), write the reason file beside a
    quarantined one, and only then remove the original (a folder that cannot be written
    fails here, with `moves.SourceNotRemovable`: copy and reason file are there, the ledger
    row stays pending), then stamp the ledger."""
    placed = moves.place(plan.source, plan.target, plan.sha256)
    target = placed or plan.target
    if plan.outcome == DropOutcome.QUARANTINED:
        record: dict[str, Any] = {"source": path_text(plan.source), "reasons": plan.reasons}
        if short_name(name := path_text(plan.source.name)) != name:
            record["name"] = name  # the copy's name was shortened (`moves.free_name`)
        moves.write_reason(target, record)
    if placed is not None:
        moves.remove_source(plan.source)
    with session_scope(ctx.engine) as session:
        ledger.mark_moved(session, plan.row_id, target)


def take_all(ctx: IngestContext, folder: DropFolder, paths: list[Path],
             tracker: StabilityTracker | None = None) -> PassSummary:
    summary = PassSummary()
    stuck: dict[Path, list[moves.SourceNotRemovable]] = {}
    for path in paths:
        if why := _held_back(folder, path):
            summary.waiting.append(f"{path_text(path)}: {why}")
            continue  # the tracker keeps it: a later pass looks again
        try:
            summary.add(take_file(ctx, folder, path))
        except LeftInFolder as left:  # expected on a read-only share: reported once below
            if left.outcome is not None:
                summary.add(left.outcome)
            stuck.setdefault(left.cause.folder, []).append(left.cause)
        except (StorageError, ConfigError):
            raise  # the database or the configuration: no point going on with other files
        except Exception as err:  # one bad file must not block the others; it stays put
            log.exception("drop folder: %s left in place", path)
            summary.errors.append(f"{path.name}: {type(err).__name__}: {err}")
        if tracker is not None:
            tracker.forget(path)
    ctx.finish()
    summary.not_writable = [not_writable(where, causes) for where, causes in stuck.items()]
    summary.errors.extend(summary.not_writable)
    return summary


def not_writable(folder: Path, causes: list[moves.SourceNotRemovable], shown: int = 5) -> str:
    """One line for a folder that kept its files: which folder, why, which files, and that
    they are safe (copied, not processed again)."""
    names = ", ".join(cause.source.name for cause in causes[:shown])
    more = f" and {len(causes) - shown} more" if len(causes) > shown else ""
    return (f"drop folder {folder} cannot be written ({causes[0].strerror}): "
            f"{len(causes)} file(s) stay there, copied to the archive or quarantine and not "
            f"processed again: {names}{more}")


def stable_files(folder: DropFolder, max_wait: float | None = None) -> list[Path]:
    """Wait (at most `max_wait`, default 3 × the delay + 1 s) for files to be stable."""
    tracker = StabilityTracker(delay=folder.stable_delay)
    wait = folder.stable_delay * 3 + 1 if max_wait is None else max_wait
    return wait_for_stable(tracker, folder.candidates, max_wait=wait)


def poll_once(ctx: IngestContext, folder: DropFolder, max_wait: float | None = None) -> PassSummary:
    """One pass: wait for files to be stable, then take them."""
    return take_all(ctx, folder, stable_files(folder, max_wait))

"""The drop folder: take each complete file once, commit its result, then move it.

Order per file (crash-safe): fingerprint → claim and lock its document → process and
persist, with a ledger row naming the target, in ONE transaction → commit → write the
reason file (quarantine) → move → stamp `moved_at`. After a crash anywhere, the rerun finds
either an uncommitted document (processed again, nothing was stored) or a committed ledger
row whose move is pending (only the move is done). The same bytes dropped again become a
`duplicate` row and are archived without processing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from arflow.db import session_scope
from arflow.errors import ConfigError, StorageError
from arflow.intake import InboxFile, discover, fingerprint
from arflow.settings import Settings
from ingest import documents, ledger, locks, moves
from ingest.documents import IngestContext
from ingest.eml import MailLimits
from ingest.ledger import DropOutcome
from ingest.mail_ledger import MailOutcome
from ingest.mailbox import read_message
from ingest.stability import StabilityTracker, wait_for_stable
from models import db

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class DropFolder:
    inbox: Path
    archive: Path
    quarantine: Path
    stable_delay: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings, inbox: Path, stable_delay: float = 2.0,
                      archive: Path | None = None, quarantine: Path | None = None) -> DropFolder:
        return cls(inbox=inbox.resolve(), archive=(archive or settings.archive_dir).resolve(),
                   quarantine=(quarantine or settings.quarantine_dir).resolve(),
                   stable_delay=stable_delay)

    def candidates(self) -> list[Path]:
        """Visible, complete-looking files under the inbox, outside archive and quarantine."""
        return [p for p in discover(self.inbox) if self._watched(p)]

    def _watched(self, path: Path) -> bool:
        relative = path.relative_to(self.inbox).parts
        if any(part.startswith(".") for part in relative):
            return False
        return not any(path.is_relative_to(root) for root in (self.archive, self.quarantine))

    def target_for(self, file: InboxFile, outcome: DropOutcome) -> Path:
        if outcome == DropOutcome.QUARANTINED:
            return moves.quarantine_target(self.quarantine, file.name, file.sha256[:12])
        return moves.archive_target(self.archive, file.name, file.sha256[:12])


@dataclass
class PassSummary:
    """Files taken in one pass, by outcome; `busy`: gone or held by another worker;
    `errors`: files left in place by an unexpected error (retried next pass)."""

    outcomes: dict[str, int] = field(default_factory=dict)
    busy: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, outcome: str | None) -> None:
        if outcome is None:
            self.busy += 1
        else:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def taken(self) -> int:
        return sum(self.outcomes.values())


RESUMED = "resumed"  # a pass outcome: only a committed file's pending move was finished


@dataclass(frozen=True)
class MovePlan:
    row_id: int
    source: Path
    target: Path
    outcome: str
    reasons: list[object] | None
    resumed: bool = False  # the row existed: this call only finishes the move

    @classmethod
    def of(cls, row: db.DropFile, *, resumed: bool) -> MovePlan:
        return cls(row.id, Path(row.original_path), Path(row.target_path), row.outcome,
                   row.reasons, resumed)


def take_file(ctx: IngestContext, folder: DropFolder, path: Path) -> str | None:
    """Take one stable file; its outcome, or None when it is gone or another worker has it."""
    try:
        file = fingerprint(path)
    except OSError:
        return None
    if is_eml(path):
        return _take_eml(ctx, folder, file)
    plan = _plan(ctx, folder, file)
    return None if plan is None else _carried(ctx, plan)


def _carried(ctx: IngestContext, plan: MovePlan) -> str:
    carry_out(ctx, plan)
    return RESUMED if plan.resumed else plan.outcome


def _plan(ctx: IngestContext, folder: DropFolder, file: InboxFile) -> MovePlan | None:
    with documents.locked(ctx, file) as (session, document):
        if document is None or not file.path.exists():
            return None
        row = ledger.pending_move(session, file)
        if row is not None:
            return MovePlan.of(row, resumed=True)
        return MovePlan.of(_decide(ctx, folder, session, document, file), resumed=False)


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
        row = ledger.pending_move(session, file)
        duplicate = row is None and ledger.taken_before(session, file.sha256)
    if row is not None:
        return MovePlan.of(row, resumed=True)
    outcome, reasons = (DropOutcome.DUPLICATE, None) if duplicate else _read_eml(ctx, file)
    with session_scope(ctx.engine) as session:
        row = ledger.record(session, file, outcome, document_id=None,
                            target=folder.target_for(file, outcome), reasons=reasons)
        return MovePlan.of(row, resumed=False)


def _read_eml(ctx: IngestContext, file: InboxFile) -> tuple[DropOutcome, list[Any] | None]:
    limits = MailLimits(max_message_bytes=ctx.settings.max_file_bytes)
    result = read_message(ctx, file.path.read_bytes(), limits)
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
    return ledger.record(session, file, outcome, document_id=taken.document_id,
                         target=folder.target_for(file, outcome), reasons=reasons)


def carry_out(ctx: IngestContext, plan: MovePlan) -> None:
    """After the commit: move (never overwriting), reason file beside it, stamp the ledger."""
    moved = moves.move_file(plan.source, plan.target)
    target = moved or plan.target
    if plan.outcome == DropOutcome.QUARANTINED:
        moves.write_reason(target, {"source": str(plan.source), "reasons": plan.reasons})
    with session_scope(ctx.engine) as session:
        ledger.mark_moved(session, plan.row_id, target)


def take_all(ctx: IngestContext, folder: DropFolder, paths: list[Path],
             tracker: StabilityTracker | None = None) -> PassSummary:
    summary = PassSummary()
    for path in paths:
        try:
            summary.add(take_file(ctx, folder, path))
        except (StorageError, ConfigError):
            raise  # the database or the configuration: no point going on with other files
        except Exception as err:  # one bad file must not block the others; it stays put
            log.exception("drop folder: %s left in place", path)
            summary.errors.append(f"{path.name}: {type(err).__name__}: {err}")
        if tracker is not None:
            tracker.forget(path)
    ctx.finish()
    return summary


def stable_files(folder: DropFolder, max_wait: float | None = None) -> list[Path]:
    """Wait (at most `max_wait`, default 3 × the delay + 1 s) for files to be stable."""
    tracker = StabilityTracker(delay=folder.stable_delay)
    wait = folder.stable_delay * 3 + 1 if max_wait is None else max_wait
    return wait_for_stable(tracker, folder.candidates, max_wait=wait)


def poll_once(ctx: IngestContext, folder: DropFolder, max_wait: float | None = None) -> PassSummary:
    """One pass: wait for files to be stable, then take them."""
    return take_all(ctx, folder, stable_files(folder, max_wait))

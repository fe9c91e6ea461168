"""The drop folder's ledger (`drop_files`): one row per file taken, with where it moves.

Repository style: functions take a Session and only add, flush and select."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arflow.intake import InboxFile
from models import db
from models.types import utcnow


class DropOutcome(StrEnum):
    PROCESSED = "processed"      # a new document, committed; the file is archived
    QUARANTINED = "quarantined"  # could not be processed; moved to quarantine with a reason
    DUPLICATE = "duplicate"      # the same bytes were taken before; archived, not processed
    NO_INVOICE = "no_invoice"    # an .eml without invoice attachments; archived


def pending_move(session: Session, file: InboxFile) -> db.DropFile | None:
    """A committed row for this very file whose move has not happened yet (crash recovery)."""
    query = (select(db.DropFile)
             .where(db.DropFile.original_path == file.where,
                    db.DropFile.sha256 == file.sha256, db.DropFile.moved_at.is_(None))
             .order_by(db.DropFile.id).limit(1))
    return session.scalar(query)


def taken_before(session: Session, sha256: str) -> bool:
    """Whether a file with these bytes was taken from the drop folder before."""
    query = select(db.DropFile.id).where(db.DropFile.sha256 == sha256).limit(1)
    return session.scalar(query) is not None


def record(
    session: Session, file: InboxFile, outcome: DropOutcome, *, document_id: int | None,
    target: Path, reasons: list[Any] | None = None,
) -> db.DropFile:
    row = db.DropFile(sha256=file.sha256, name=file.name, original_path=file.where,
                      size_bytes=file.size, outcome=str(outcome), document_id=document_id,
                      target_path=str(target), reasons=reasons)
    session.add(row)
    session.flush()
    return row


def mark_moved(session: Session, row_id: int, target: Path | None = None) -> None:
    """Stamp the move; `target` records where the file went when the name had to change."""
    row = session.get_one(db.DropFile, row_id)
    row.moved_at = utcnow()
    if target is not None:
        row.target_path = str(target)
    session.flush()


def outcomes(session: Session) -> dict[str, int]:
    """How many drop-folder files ended in each outcome."""
    counts: dict[str, int] = {}
    for outcome in session.scalars(select(db.DropFile.outcome)):
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts

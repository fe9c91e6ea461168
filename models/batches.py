"""Batches: one row per ingest run, with the outcome counts of its documents."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.db import Batch, Document
from models.domain import DocumentStatus
from models.types import utcnow


def start_batch(session: Session, source: str | None = None) -> int:
    """Open a batch; returns its id."""
    batch = Batch(started_at=utcnow(), source=source)
    session.add(batch)
    session.flush()
    return batch.id


def finish_batch(session: Session, batch_id: int, *, duplicates: int = 0) -> Batch:
    """Stamp the end time and count the batch's documents by status. Duplicates are not
    stored as documents of the batch, so the caller passes how many it skipped; a file split
    into its invoices is not counted, its invoices are."""
    batch = session.get_one(Batch, batch_id)
    query = (select(Document.status, func.count()).where(Document.batch_id == batch_id)
             .group_by(Document.status))
    by_status: dict[str, int] = {status: n for status, n in session.execute(query)}
    batch.finished_at = utcnow()
    batch.total = sum(n for status, n in by_status.items() if status != DocumentStatus.SPLIT)
    batch.auto_approved = by_status.get(DocumentStatus.AUTO_APPROVED, 0)
    batch.needs_review = by_status.get(DocumentStatus.NEEDS_REVIEW, 0)
    batch.failed = by_status.get(DocumentStatus.FAILED, 0)
    batch.duplicates = duplicates
    session.flush()
    return batch

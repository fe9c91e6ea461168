"""Retrying failed documents once their cause is fixed (`arflow retry`).

A document fails when it cannot be read: a Tesseract timeout on a busy night, a missing
language pack, a corrupt file. Its original bytes are always kept (quarantine copy, drop-folder
ledger target, mail archive or the inbox itself), so after the cause is fixed the document can
be read again: found by content hash (a copy whose bytes changed is never used), extracted,
validated and matched like a new one, stored over its failed result under a row lock (a
second `arflow retry` skips what the first holds), and audited. A document the database
still refuses (STORAGE_ERROR: a value its column cannot hold) fails again, with what it
refused, and the retry goes on with the others (`pipeline.persist_isolated`).

Documents left `received` (claimed by a worker that crashed, and not taken up again because
their file left the drop folder by hand) are retried too once they are `STUCK_AFTER` old, so
they cannot sit unseen: processed from a kept copy, or reported with their bytes missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session

from arflow import pipeline, progress
from arflow.db import session_scope
from arflow.intake import InboxFile, fingerprint
from arflow.names import path_text
from arflow.settings import Settings
from matching.types import MasterData
from models import db
from models.audit import append_audit
from models.domain import DocumentStatus
from models.types import utcnow

ACTOR = "arflow retry"
STUCK_AFTER = timedelta(minutes=10)  # far beyond the claim → lock step of a live worker
RETRIABLE = (DocumentStatus.FAILED, db.DOC_RECEIVED)


@dataclass(frozen=True)
class Retried:
    """One failed document after the retry; `status` None: its bytes were not found."""

    document_id: int
    source_name: str
    before: str | None  # the error code it failed with ("received": it was stuck)
    status: str | None
    reasons: list[str] = field(default_factory=list)


def retry_ids(session: Session, codes: Sequence[str] = ()) -> list[int]:
    """Failed documents with one of `codes`, oldest first; without codes, every failed
    document and every one stuck in `received`."""
    doc = db.Document
    if codes:
        wanted = and_(doc.status == DocumentStatus.FAILED, doc.error_code.in_(list(codes)))
    else:
        stuck = and_(doc.status == db.DOC_RECEIVED, doc.received_at < utcnow() - STUCK_AFTER)
        wanted = or_(doc.status == DocumentStatus.FAILED, stuck)
    return list(session.scalars(select(doc.id).where(wanted).order_by(doc.id)))


def kept_copies(session: Session, document: db.Document, settings: Settings) -> list[Path]:
    """Where the document's bytes may be, most likely first."""
    moved = session.scalars(select(db.DropFile.target_path)
                            .where(db.DropFile.document_id == document.id))
    quarantined = sorted(settings.quarantine_dir.glob(f"{document.sha256[:12]}-*"))
    original = [Path(document.original_path)] if document.original_path else []
    return [Path(p) for p in moved] + [p for p in quarantined
                                       if not p.name.endswith(".reason.json")] + original


def find_bytes(candidates: Iterable[Path], sha256: str) -> InboxFile | None:
    """The first candidate that still holds exactly these bytes."""
    for path in candidates:
        try:
            file = fingerprint(path)
        except OSError:
            continue
        if file.sha256 == sha256:
            return file
    return None


def retry_failed(engine: Engine, settings: Settings, master: MasterData,
                 codes: Sequence[str] = ()) -> list[Retried]:
    """Read again every document `retry_ids` selects; one transaction each."""
    with session_scope(engine) as session:
        ids = retry_ids(session, codes)
    progress.started(len(ids))  # the CLI's progress bar: a document may take seconds (OCR)
    out = []
    for document_id in ids:
        with session_scope(engine) as session:
            done = _retry_one(session, document_id, settings, master)
        if done is not None:
            out.append(done)
        progress.advanced(done.source_name if done is not None else str(document_id))
    return out


def _retry_one(session: Session, document_id: int, settings: Settings,
               master: MasterData) -> Retried | None:
    query = (select(db.Document).where(db.Document.id == document_id)
             .with_for_update(skip_locked=True))
    document = session.scalar(query)
    if document is None or document.status not in RETRIABLE:
        return None  # another worker holds it, or it was handled meanwhile
    state = {"status": document.status, "error_code": document.error_code}
    before = document.error_code if document.status == DocumentStatus.FAILED else "received"
    kept = find_bytes(kept_copies(session, document, settings), document.sha256)
    if kept is None:
        return Retried(document.id, document.source_name, before, None)
    outcome, *parts = pipeline.process_one(as_received(document, kept), settings, master)
    named = [replace(o, part=replace(o.part, of_name=document.source_name)) if o.part else o
             for o in parts]  # after the file as received, not its kept copy
    # a file of several invoices with them; what the database still refuses fails again
    outcome, *_ = pipeline.persist_isolated(session, document.batch_id or 0,
                                            [outcome, *named])
    append_audit(session, actor=ACTOR, action="document.retry", entity="document",
                 entity_id=document.id, before=state,
                 after={"status": document.status, "error_code": document.error_code,
                        "read_from": path_text(kept.path)})
    codes = sorted({str(p.code) for p in outcome.decision.reasons})
    return Retried(document.id, document.source_name, before, document.status, codes)


def as_received(document: db.Document, kept: InboxFile) -> InboxFile:
    """The kept bytes as the document's file: read from the kept copy (`staged`), named
    after the document, as received (its messages, its invoices' names)."""
    folder = Path(document.original_path).parent if document.original_path else Path()
    return replace(kept, path=folder / document.source_name, staged=kept.path)

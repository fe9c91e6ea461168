"""Taking one file in as a document, exactly once across restarts and concurrent workers.

1. `claim`: a short transaction makes sure a document row exists for the file's content hash
   (status `received`); a concurrent insert of the same hash loses cleanly
   (`repo.claim_document`).
2. `locked`: a second transaction locks that row with `SELECT … FOR UPDATE SKIP LOCKED`
   (PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE). A worker that does not get
   the lock skips the file: another worker owns it right now.
3. `process_locked`: extract, decide and persist in the locked transaction; the commit
   releases the lock. A crash rolls everything back and unlocks the row, which stays
   `received`, so the next run processes it; a row past `received` is never processed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arflow import pipeline
from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.errors import StorageError
from arflow.intake import InboxFile
from arflow.settings import Settings
from matching.context import Context, build_context
from matching.types import MasterData
from models import db, repo
from models.domain import DocumentStatus


@dataclass
class IngestContext:
    """Settings, engine and one ingest pass: its batch, and its master data and matching
    context, loaded at the pass's first document. The pass's documents are decided one after
    the other in that context, as in a batch: a resent copy is a duplicate of the first, and
    what an auto-approved invoice billed counts for the next. `finish` ends the pass, so the
    next pass (`arflow watch` runs one after another) reads the master data again: new
    orders, parties, receipts and approvals."""

    settings: Settings
    engine: Engine
    source: str
    batch_id: int | None = None
    _master: MasterData | None = field(default=None, repr=False)
    _matching: Context | None = field(default=None, repr=False)
    # content hash -> why the database refused the name or path of its document (`claim`)
    refused: dict[str, StorageError] = field(default_factory=dict, repr=False)

    def master(self) -> MasterData:
        if self._master is None:
            with session_scope(self.engine) as session:
                self._master = repo.load_master_data(session)
        return self._master

    def matching(self) -> Context:
        if self._matching is None:
            self._matching = build_context(self.master(), self.settings.tolerances)
        return self._matching

    def finish(self) -> None:
        """End the pass: stamp its batch (when it stored any document), forget its master
        data."""
        if self.batch_id is not None:
            with session_scope(self.engine) as session:
                repo.finish_batch(session, self.batch_id)
        self.batch_id, self._master, self._matching = None, None, None
        self.refused.clear()


def open_context(settings: Settings, source: str) -> IngestContext:
    return IngestContext(settings=settings, engine=engine_for(settings.database_url),
                         source=source)


@dataclass(frozen=True)
class Taken:
    """What happened to one document: processed now, or known from before."""

    processed: bool
    document_id: int
    failed: bool
    reasons: list[Any]


def claim(ctx: IngestContext, file: InboxFile) -> None:
    """Make sure a document row exists for the file's content (committed at once).

    A name or path the database refuses (a file nested so deep that its path is longer
    than its column, on PostgreSQL) is stored cut to its column (`repo.receive_claimed`'s
    `fit`), and the refusal kept in `ctx.refused`: `process_locked` then stores the file as
    failed, as a batch does (`pipeline.store_batch`), rather than stopping every pass."""
    try:
        _claim(ctx, file, fit=False)
    except StorageError as err:
        if not pipeline.storage_refused(err):
            raise
        _claim(ctx, file, fit=True)
        ctx.refused[file.sha256] = err


def _claim(ctx: IngestContext, file: InboxFile, *, fit: bool) -> None:
    batch_id = ctx.batch_id
    with session_scope(ctx.engine) as session:
        if repo.get_document_by_sha256(session, file.sha256) is not None:
            return
        if batch_id is None:
            batch_id = repo.start_batch(session, ctx.source)
        repo.receive_claimed(session, batch_id=batch_id, file=file, fit=fit)
    ctx.batch_id = batch_id  # once committed: a refused claim takes its new batch with it


@contextmanager
def locked(ctx: IngestContext, file: InboxFile) -> Iterator[tuple[Session, db.Document | None]]:
    """A transaction holding the file's document row, or None when another worker holds it."""
    ctx.matching()  # loaded before the lock: SQLite allows one transaction at a time
    claim(ctx, file)
    with session_scope(ctx.engine) as session:
        query = (select(db.Document).where(db.Document.sha256 == file.sha256)
                 .with_for_update(skip_locked=True))
        yield session, session.scalar(query)


def process_locked(
    ctx: IngestContext, session: Session, document: db.Document, file: InboxFile
) -> Taken:
    """Process the locked document unless an earlier run already did. A document the
    database refuses fails alone, with STORAGE_ERROR (`pipeline.persist_isolated`), as
    does one whose name or path it refused (`claim`): the caller quarantines it like any
    failed file, and the other files and messages go on."""
    if document.status != db.DOC_RECEIVED:
        return _taken(document, processed=False)
    outcomes = pipeline.process_one(file, ctx.settings, ctx.master(), within=ctx.matching())
    refused = ctx.refused.pop(file.sha256, None)
    if refused is not None:  # the file as a whole, none of its invoices (`claim`)
        outcomes = [pipeline.refused_outcome(outcomes[0], refused)]
    pipeline.persist_isolated(session, document.batch_id or 0, outcomes)
    return _taken(document, processed=True)


def _taken(document: db.Document, *, processed: bool) -> Taken:
    return Taken(processed=processed, document_id=document.id,
                 failed=document.status == DocumentStatus.FAILED,
                 reasons=list(document.reasons or []))

"""Exports of accepted invoices, each invoice exactly once: the repository side.

An export claims every accepted document (auto-approved, or approved by the people the
approval matrix asks for) that no export took yet, by setting its ``export_id`` in the
transaction that creates the export row (`pending`). On PostgreSQL the documents are locked
with ``FOR UPDATE SKIP LOCKED``, so two exports running at once take disjoint sets; on SQLite
the write lock (BEGIN IMMEDIATE) makes the second wait and then find them taken. The file is
written after that commit (`arflow.export`) and the export marked `written` with the file's
hash. Every step appends an audit event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import db
from models.audit import append_audit
from models.domain import DocumentStatus, Invoice
from models.queries import INVOICES, invoice_lines, invoice_of
from models.types import utcnow

ACCEPTED = (DocumentStatus.AUTO_APPROVED, DocumentStatus.APPROVED)
PENDING, WRITTEN = "pending", "written"
_CHUNK = 500  # ids per UPDATE: far below SQLite's and PostgreSQL's parameter limits


def exportable(session: Session) -> int:
    """How many accepted invoices wait for an export."""
    return session.scalar(select(func.count()).select_from(_waiting().subquery())) or 0


def _waiting() -> Any:
    return (select(db.Document.id)
            .join(db.Invoice, db.Invoice.document_id == db.Document.id)
            .where(db.Document.status.in_([str(s) for s in ACCEPTED]),
                   db.Document.export_id.is_(None)))


def claim(session: Session, *, actor: str, fmt: str,
          path_for: Callable[[int], str]) -> db.Export | None:
    """A new `pending` export holding every accepted invoice not yet exported, to be written
    to `path_for(its id)`; None when there is none. Flushed; the caller commits before
    writing the file."""
    query = _waiting().order_by(db.Document.id).with_for_update(skip_locked=True, of=db.Document)
    ids = list(session.scalars(query))
    if not ids:
        return None
    export = db.Export(actor=actor, format=fmt, status=PENDING, documents=len(ids), path="")
    session.add(export)
    session.flush()
    export.path = path_for(export.id)
    for chunk in _chunks(ids):
        session.execute(update(db.Document).where(db.Document.id.in_(chunk))
                        .values(export_id=export.id))
    append_audit(session, actor=actor, action="export.create", entity="export",
                 entity_id=export.id, after={"documents": len(ids), "format": fmt,
                                             "first_document": ids[0], "last_document": ids[-1]})
    return export


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def pending(session: Session) -> list[db.Export]:
    """Exports whose file an interrupted run did not write, oldest first."""
    query = select(db.Export).where(db.Export.status == PENDING).order_by(db.Export.id)
    return list(session.scalars(query.with_for_update(skip_locked=True)))


def listing(session: Session) -> list[db.Export]:
    return list(session.scalars(select(db.Export).order_by(db.Export.id)))


def mark_written(session: Session, export: db.Export, *, path: str, sha256: str,
                 actor: str) -> None:
    """Record the file written for `export` (first time or again) and audit it."""
    before = {"status": export.status, "path": export.path, "file_sha256": export.file_sha256}
    export.status, export.path, export.file_sha256 = WRITTEN, path, sha256
    export.written_at = utcnow()
    action = "export.write" if before["status"] == PENDING else "export.rewrite"
    append_audit(session, actor=actor, action=action, entity="export", entity_id=export.id,
                 before=before, after={"status": WRITTEN, "path": path, "file_sha256": sha256})


def records(session: Session, export: db.Export) -> Iterator[dict[str, Any]]:
    """One JSON-ready record per invoice of `export`, in document order: what was accepted,
    who accepted it and when, the party on file, the matched order and its lines. Loaded
    `_CHUNK` documents at a time, so an export of 100,000 invoices is not held in memory."""
    ids = list(session.scalars(select(db.Document.id).where(db.Document.export_id == export.id)
                               .order_by(db.Document.id)))
    for chunk in _chunks(ids):
        yield from _chunk_records(session, export, chunk)


_DOCUMENT = (db.Document.id.label("doc_id"), db.Document.source_name, db.Document.sha256,
             db.Document.status.label("doc_status"), db.Document.reasons,
             db.Document.received_at, db.Order.order_number.label("matched_order"))


def _chunk_records(session: Session, export: db.Export,
                   ids: Sequence[int]) -> list[dict[str, Any]]:
    """The records of documents `ids`, read as plain rows of the columns a record shows: no
    ORM objects, and not the document's stored extraction (~10 KB of JSON each), which an
    export does not show (`bench/export_scale.py`)."""
    query = (select(*_DOCUMENT, *INVOICES.c)
             .join(INVOICES, INVOICES.c.document_id == db.Document.id)
             .outerjoin(db.Order, db.Order.id == INVOICES.c.matched_order_id)
             .where(db.Document.id.in_(ids))
             .order_by(db.Document.id))
    rows = session.execute(query).all()
    lines = invoice_lines(session, [row.id for row in rows])
    signed = _sign_offs(session, ids)
    parties = _parties(session, {row.party_id for row in rows if row.party_id is not None})
    matches = _matches(session, ids)
    return [_record(export, row, invoice_of(row, lines.get(row.id, [])),
                    signed=signed.get(row.doc_id), party=parties.get(row.party_id),
                    matches=matches.get(row.doc_id, [])) for row in rows]


def _sign_offs(session: Session,
               ids: Sequence[int]) -> dict[int, tuple[list[str], datetime]]:
    """Per approved document: its approvers in signing order and when the last one signed."""
    out: dict[int, tuple[list[str], datetime]] = {}
    query = (select(db.ReviewItem.document_id, db.ReviewApproval.actor, db.ReviewApproval.at)
             .join(db.ReviewApproval, db.ReviewApproval.review_item_id == db.ReviewItem.id)
             .where(db.ReviewItem.document_id.in_(ids)).order_by(db.ReviewApproval.id))
    for document_id, actor, at in session.execute(query):
        names, _ = out.get(document_id, ([], at))
        out[document_id] = ([*names, actor], at)
    return out


def _parties(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Per party id: the party on file as a record shows it."""
    query = select(db.Party.id, db.Party.name, db.Party.tax_id, db.Party.iban).where(
        db.Party.id.in_(ids))
    return {row.id: {"name": row.name, "tax_id": row.tax_id, "iban_on_file": row.iban}
            for row in session.execute(query)}


def _matches(session: Session, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Per document: the order lines its invoice lines were matched to, with quantities."""
    out: dict[int, list[dict[str, Any]]] = {}
    query = (select(db.Invoice.document_id, db.InvoiceLine.line_no, db.Order.order_number,
                    db.OrderLine.line_no, db.Match.quantity)
             .join(db.InvoiceLine, db.InvoiceLine.invoice_id == db.Invoice.id)
             .join(db.Match, db.Match.invoice_line_id == db.InvoiceLine.id)
             .join(db.OrderLine, db.OrderLine.id == db.Match.order_line_id)
             .join(db.Order, db.Order.id == db.OrderLine.order_id)
             .where(db.Invoice.document_id.in_(ids))
             .order_by(db.InvoiceLine.line_no, db.Match.id))
    for document_id, line, order, order_line, quantity in session.execute(query):
        out.setdefault(document_id, []).append(
            {"invoice_line": line, "order_number": order, "order_line": order_line,
             "quantity": None if quantity is None else format(quantity, "f")})
    return out


def _record(export: db.Export, row: Any, invoice: Invoice, *,
            signed: tuple[list[str], datetime] | None, party: dict[str, Any] | None,
            matches: list[dict[str, Any]]) -> dict[str, Any]:
    names, at = signed if signed else ([], row.received_at)
    return {
        "export_id": export.id, "document_id": row.doc_id, "source": row.source_name,
        "sha256": row.sha256, "status": row.doc_status,
        "approved_by": names if row.doc_status == DocumentStatus.APPROVED else ["arflow (auto)"],
        "approved_at": at.isoformat(),
        "reasons": sorted({str(p["code"]) for p in row.reasons or []}),
        "party": party,
        "order_number": row.matched_order,
        "invoice": invoice.to_json(),
        "matches": matches,
    }

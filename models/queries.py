"""Read-side queries: the report rows and the stored invoice as a domain object."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import db
from models.domain import Invoice, InvoiceLine, InvoiceType, Party, TaxSubtotal


def dumps(value: Any) -> str:
    """JSON text for storage-side values: Decimal as exact strings, dates ISO 8601."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_domain(row: db.Invoice) -> Invoice:
    """The stored invoice as the domain object (amounts exact, as stored)."""
    return invoice_of(row, row.lines)


def invoice_of(row: Any, lines: Iterable[Any]) -> Invoice:
    """The domain invoice from anything with the `invoices` table's column names as
    attributes (an ORM row, or a plain result row when a bulk read skips the ORM) and its
    `lines`, in order, with the `invoice_lines` column names."""
    return Invoice(
        invoice_number=row.invoice_number, issue_date=row.issue_date, due_date=row.due_date,
        currency=row.currency, order_number=row.order_number,
        seller=Party(name=row.seller_name, tax_id=row.seller_tax_id, address=row.seller_address),
        buyer=Party(name=row.buyer_name, tax_id=row.buyer_tax_id, address=row.buyer_address),
        subtotal=row.subtotal, tax_total=row.tax_total, total=row.total, iban=row.iban,
        payment_terms=row.payment_terms, invoice_type=InvoiceType(row.invoice_type),
        preceding_invoice=row.preceding_invoice, withholding=row.withholding,
        allowances=row.allowances, charges=row.charges,
        tax_breakdown=[TaxSubtotal.from_json(x) for x in row.tax_breakdown or []],
        lines=[InvoiceLine(description=x.description, quantity=x.quantity,
                           unit_price=x.unit_price, amount=x.amount, tax_rate=x.tax_rate,
                           adjustment=x.adjustment)
               for x in lines],
    )


INVOICES = db.Invoice.__table__
_LINES = db.InvoiceLine.__table__
_IDS_PER_QUERY = 500  # far below SQLite's and PostgreSQL's parameter limits


def report_rows(
    session: Session, *, batch_id: int | None = None, status: str | None = None,
) -> list[dict[str, Any]]:
    """JSON-ready rows for the report, oldest first; optionally one batch or one status.
    `reasons` are the sorted reason codes, `problems` the findings with expected/found.
    Read as plain rows (no ORM objects), as an export reads its records."""
    query = (select(db.Document.id.label("doc_id"), db.Document.source_name,
                    db.Document.sha256, db.Document.status.label("doc_status"),
                    db.Document.kind, db.Document.reasons, db.Document.export_id,
                    db.Order.order_number.label("matched_order"), *INVOICES.c)
             .outerjoin(INVOICES, INVOICES.c.document_id == db.Document.id)
             .outerjoin(db.Order, db.Order.id == INVOICES.c.matched_order_id)
             .order_by(db.Document.id))
    if batch_id is not None:
        query = query.where(db.Document.batch_id == batch_id)
    if status is not None:
        query = query.where(db.Document.status == status)
    rows = session.execute(query).all()
    lines = invoice_lines(session, [row.id for row in rows if row.id is not None])
    return [_report_row(row, lines.get(row.id, [])) for row in rows]


def invoice_lines(session: Session, invoice_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Per invoice: its lines in order, as plain rows with the `invoice_lines` columns."""
    out: dict[int, list[Any]] = {}
    for start in range(0, len(invoice_ids), _IDS_PER_QUERY):
        chunk = invoice_ids[start:start + _IDS_PER_QUERY]
        query = (select(_LINES).where(_LINES.c.invoice_id.in_(chunk))
                 .order_by(_LINES.c.invoice_id, _LINES.c.line_no))
        for line in session.execute(query):
            out.setdefault(line.invoice_id, []).append(line)
    return out


def _report_row(row: Any, lines: list[Any]) -> dict[str, Any]:
    return {
        "document_id": row.doc_id,
        "source": row.source_name,
        "sha256": row.sha256,
        "status": row.doc_status,
        "kind": row.kind,
        "order_number": row.matched_order,
        "reasons": sorted({p["code"] for p in row.reasons or []}),
        "problems": list(row.reasons or []),
        "invoice": None if row.id is None else invoice_of(row, lines).to_json(),
        "export_id": row.export_id,  # the export that handed it on (`arflow export`), if any
    }

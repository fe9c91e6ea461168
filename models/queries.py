"""Read-side queries: the report rows and the stored invoice as a domain object."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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


def report_rows(
    session: Session, *, batch_id: int | None = None, status: str | None = None,
) -> list[dict[str, Any]]:
    """JSON-ready rows for the report, oldest first; optionally one batch or one status.
    `reasons` are the sorted reason codes, `problems` the findings with expected/found."""
    query = (select(db.Document, db.Order.order_number)
             .outerjoin(db.Invoice, db.Invoice.document_id == db.Document.id)
             .outerjoin(db.Order, db.Order.id == db.Invoice.matched_order_id)
             .options(selectinload(db.Document.invoice).selectinload(db.Invoice.lines))
             .order_by(db.Document.id))
    if batch_id is not None:
        query = query.where(db.Document.batch_id == batch_id)
    if status is not None:
        query = query.where(db.Document.status == status)
    return [_report_row(doc, order_number) for doc, order_number in session.execute(query)]


def _report_row(doc: db.Document, order_number: str | None) -> dict[str, Any]:
    return {
        "document_id": doc.id,
        "source": doc.source_name,
        "sha256": doc.sha256,
        "status": doc.status,
        "kind": doc.kind,
        "order_number": order_number,
        "reasons": sorted({p["code"] for p in doc.reasons or []}),
        "problems": list(doc.reasons or []),
        "invoice": to_domain(doc.invoice).to_json() if doc.invoice is not None else None,
        "export_id": doc.export_id,  # the export that handed it on (`arflow export`), if any
    }

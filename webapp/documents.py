"""Every document arflow received, whatever happened to it, for the Documents page.

The queue shows review items only; an invoice that was auto-approved, a file that failed or
was split into its invoices has none, so "what happened to invoice X from seller Y?" needs a
page of its own. It searches by invoice number (compared by the keys the duplicate check uses,
`models.search`), seller name or tax ID, file name, status and date received, newest first,
and filters, orders, counts and pages in SQL (as `webapp.queue` does), so a page costs a few
queries with 100,000 documents stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from models.db import DOC_RECEIVED, Document, Invoice, ReviewItem
from models.domain import DocumentStatus
from models.search import lowered_contains, number_matches, tax_id_matches
from models.types import utc_midnight
from webapp.queue import Page, PagedFilter, page_at, typed_day

PAGE_SIZE = 50
STATUSES = ("any", DOC_RECEIVED, *(str(s) for s in DocumentStatus))


@dataclass(frozen=True)
class DocumentFilter(PagedFilter):
    number: str = ""
    seller: str = ""          # name as printed, or tax ID
    file: str = ""
    status: str = "any"
    received_from: str = ""   # YYYY-MM-DD, inclusive
    received_to: str = ""     # YYYY-MM-DD, inclusive
    page: str = "1"


@dataclass(frozen=True)
class Part:
    """One invoice split out of a file of several."""

    source: str
    status: str
    item_id: int | None


@dataclass(frozen=True)
class DocumentRow:
    document_id: int
    source: str
    status: str
    received_at: datetime
    seller: str | None
    seller_tax_id: str | None
    invoice_number: str | None
    issue_date: date | None
    total: Decimal | None
    currency: str | None
    reasons: tuple[str, ...]
    item_id: int | None
    parts: tuple[Part, ...] = ()


def _on_invoice(session: Session, flt: DocumentFilter) -> list[ColumnElement[bool]]:
    """The conditions on the invoice, as one: the document is among those whose invoice
    passes them (a set the database builds once per query, scanning the invoices)."""
    found: list[ColumnElement[bool]] = []
    if flt.number.strip():
        found.append(number_matches(session, Invoice.invoice_number, flt.number))
    if flt.seller.strip():
        found.append(_seller(flt.seller))
    return [Document.id.in_(select(Invoice.document_id).where(*found))] if found else []


def _on_document(flt: DocumentFilter) -> list[ColumnElement[bool]]:
    """The conditions on the document itself; dates are days in UTC, both ends included (up
    to the last day of the calendar, 9999-12-31, which has no day after it: no end then)."""
    found: list[ColumnElement[bool]] = []
    if flt.file.strip():
        found.append(lowered_contains(Document.source_name, flt.file.strip()))
    if flt.status != "any":
        found.append(Document.status == flt.status)
    start, end = typed_day(flt.received_from), typed_day(flt.received_to)
    if start is not None:
        found.append(Document.received_at >= utc_midnight(start))
    if end is not None and end < date.max:
        found.append(Document.received_at < utc_midnight(end + timedelta(days=1)))
    return found


def _seller(typed: str) -> ColumnElement[bool]:
    """The seller's name as printed holds the text (in lower case, `models.search.lowered`),
    or its tax ID does."""
    name = lowered_contains(Invoice.seller_name, typed.strip())
    tax = tax_id_matches(Invoice.seller_tax_id, typed)
    return name if tax is None else or_(name, tax)


def _documents() -> Select[Any]:
    return (select(Document.id, Document.source_name, Document.status, Document.received_at,
                   Invoice.seller_name, Invoice.seller_tax_id, Invoice.invoice_number,
                   Invoice.issue_date, Invoice.total, Invoice.currency, Document.reasons,
                   ReviewItem.id)
            .select_from(Document)
            .outerjoin(Invoice, Invoice.document_id == Document.id)
            .outerjoin(ReviewItem, ReviewItem.document_id == Document.id))


def _count(session: Session, conditions: list[ColumnElement[bool]]) -> int:
    """How many documents pass: counted on the documents alone, whose conditions need no
    join (a join the database would walk for every document)."""
    return session.scalar(select(func.count()).select_from(Document).where(*conditions)) or 0


def load_documents(session: Session, flt: DocumentFilter) -> Page[DocumentRow]:
    """One page of the documents that pass the filter, newest first (by id: the order they
    were stored in). Filter, order, count and paging run in the database."""
    conditions = _on_invoice(session, flt) + _on_document(flt)
    total = _count(session, conditions)
    number, pages, start = page_at(total, flt.page, PAGE_SIZE)
    query = (_documents().where(*conditions).order_by(Document.id.desc())
             .offset(start).limit(PAGE_SIZE))
    rows = [_row(values) for values in session.execute(query)]
    rows = _with_parts(session, rows)
    return Page(rows, number, pages, start + 1 if rows else 0, start + len(rows), total)


def _row(values: Any) -> DocumentRow:
    (doc_id, source, status, received, seller, tax_id, number, issued, total, currency,
     reasons, item_id) = values
    codes = tuple(sorted({str(p["code"]) for p in reasons or []
                          if isinstance(p, dict) and p.get("code")}))
    return DocumentRow(doc_id, source, status, received, seller, tax_id, number, issued, total,
                       currency, codes, item_id)


def _with_parts(session: Session, rows: list[DocumentRow]) -> list[DocumentRow]:
    """The rows, a split file's with the invoices split out of it (one query per page)."""
    split = [r.document_id for r in rows if r.status == DocumentStatus.SPLIT]
    if not split:
        return rows
    query = (select(Document.parent_id, Document.source_name, Document.status, ReviewItem.id)
             .outerjoin(ReviewItem, ReviewItem.document_id == Document.id)
             .where(Document.parent_id.in_(split)).order_by(Document.id))
    parts: dict[int, list[Part]] = {}
    for parent, source, status, item_id in session.execute(query):
        parts.setdefault(int(parent), []).append(Part(source, status, item_id))
    return [replace(r, parts=tuple(parts.get(r.document_id, []))) for r in rows]

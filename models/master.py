"""Load the master data that validation and matching read (`matching.types.MasterData`).

Frames follow the column contracts in `matching.types`; money and quantities are `Decimal`.
Sums are computed by the database (exact on both backends, see `models.types`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from matching.types import (
    BILLED_LINE_COLUMNS,
    GIVEN_BACK_COLUMNS,
    ORDER_LINE_COLUMNS,
    PARTY_COLUMNS,
    SEEN_INVOICE_COLUMNS,
    MasterData,
)
from models import db
from models.domain import DocumentStatus, InvoiceType

# Invoices whose matched quantities count as billed.
ACCEPTED = (DocumentStatus.AUTO_APPROVED, DocumentStatus.APPROVED)
# Credit notes whose quantities the next credit note for the same invoice cannot give back
# again: approved, or still waiting for a person (a rejected one gives nothing back).
GIVING_BACK = (*ACCEPTED, DocumentStatus.NEEDS_REVIEW)
ZERO = Decimal(0)


def load_master_data(session: Session) -> MasterData:
    return MasterData(
        parties=_frame(session, _parties(), PARTY_COLUMNS),
        order_lines=_order_lines(session),
        seen_invoices=_frame(session, _seen_invoices(), SEEN_INVOICE_COLUMNS),
        billed_lines=_frame(session, _billed_lines(), BILLED_LINE_COLUMNS),
        given_back=_given_back(session),
    )


def _frame(session: Session, query: Select[Any], columns: tuple[str, ...]) -> pd.DataFrame:
    rows = [tuple(row) for row in session.execute(query)]
    return pd.DataFrame.from_records(rows, columns=list(columns))


def _parties() -> Select[Any]:
    p = db.Party
    return select(p.id, p.name, p.tax_id, p.iban, p.email).order_by(p.id)


def _seen_invoices() -> Select[Any]:
    """Documents received, for the duplicate ledger; a credit note or correction without its
    total (sharing its invoice's total and date is no sign of a duplicate)."""
    i = db.Invoice
    total = case((i.invoice_type == InvoiceType.INVOICE.value, i.total), else_=None)
    return select(i.document_id, i.seller_tax_id, i.seller_name, i.invoice_number,
                  total.label("total"), i.issue_date).order_by(i.document_id)


def _order_lines(session: Session) -> pd.DataFrame:
    o, ol = db.Order, db.OrderLine
    query = (select(ol.id, o.order_number, o.counterparty_tax_id, o.counterparty_name,
                    o.order_date, o.currency, ol.line_no, ol.description, ol.quantity,
                    ol.unit_price, ol.tax_rate)
             .join(o, o.id == ol.order_id).order_by(o.order_number, ol.line_no))
    frame = _frame(session, query, ORDER_LINE_COLUMNS[:-2])
    received = _sums(session, select(db.Receipt.order_line_id,
                                     func.sum(db.Receipt.quantity_received))
                     .group_by(db.Receipt.order_line_id))
    # Never below nothing: two approved credit notes giving back the same goods must not
    # make room for billing them twice.
    invoiced = {key: max(total, ZERO) for key, total in _sums(session, _invoiced()).items()}
    for column, sums in (("quantity_received", received), ("quantity_invoiced", invoiced)):
        values = [sums.get(key, ZERO) for key in frame["order_line_id"]]
        frame[column] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def _invoiced() -> Select[Any]:
    """Quantities billed per order line by accepted documents; an approved credit note's matches
    are negative, so what it gives back is billable again."""
    m = db.Match
    return _accepted_matches(select(m.order_line_id, func.sum(m.quantity))).group_by(
        m.order_line_id)


def _billed_lines() -> Select[Any]:
    """What each accepted invoice (not credit note or correction) billed, per order line."""
    m, i = db.Match, db.Invoice
    query = select(i.document_id, m.order_line_id, func.sum(m.quantity))
    return (_accepted_matches(query).where(i.invoice_type == InvoiceType.INVOICE.value)
            .group_by(i.document_id, m.order_line_id).order_by(i.document_id, m.order_line_id))


def _given_back(session: Session) -> pd.DataFrame:
    """What each credit note not rejected gives back per order line (its matches, negative in
    the database, turned positive), with what names the invoice it refers to."""
    m, i = db.Match, db.Invoice
    keys = (i.document_id, i.invoice_number, i.seller_tax_id, i.seller_name,
            i.preceding_invoice, m.order_line_id)
    query = (_matches_of(select(*keys, func.sum(m.quantity)), GIVING_BACK)
             .where(i.invoice_type == InvoiceType.CREDIT_NOTE.value)
             .group_by(*keys).order_by(i.document_id, m.order_line_id))
    frame = _frame(session, query, GIVEN_BACK_COLUMNS)
    frame["quantity"] = pd.Series([None if q is None else -q for q in frame["quantity"]],
                                  index=frame.index, dtype=object)
    return frame


def _accepted_matches(query: Select[Any]) -> Select[Any]:
    return _matches_of(query, ACCEPTED)


def _matches_of(query: Select[Any], statuses: tuple[DocumentStatus, ...]) -> Select[Any]:
    m = db.Match
    return (query.join(db.InvoiceLine, db.InvoiceLine.id == m.invoice_line_id)
            .join(db.Invoice, db.Invoice.id == db.InvoiceLine.invoice_id)
            .join(db.Document, db.Document.id == db.Invoice.document_id)
            .where(db.Document.status.in_([str(s) for s in statuses])))


def _sums(session: Session, query: Select[Any]) -> dict[int, Decimal]:
    return {key: total if total is not None else ZERO for key, total in session.execute(query)}

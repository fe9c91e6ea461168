"""An invoice number held once per seller, in the database.

The duplicate check (`matching.duplicates`) sees every document committed before its pass
began, and those decided before it in the same pass. Two copies of one invoice taken at the
same time by workers that cannot see each other (`arflow poll --processes N`, several
machines on one drop folder, a batch run beside the poll) would each be decided as new, and
both could be auto-approved: paid twice. So the document stored first with a seller's
invoice number claims it (each of its duplicate keys, `matching.normalize`) in the same
transaction that stores its decision; a unique constraint makes a second claim wait for the
first transaction and then fail, and the later copy goes to review as `DUPLICATE_INVOICE`
naming the first (`guard`).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arflow.reasons import Reason
from matching.duplicates import duplicate_problem
from matching.normalize import invoice_number_keys, seller_key
from matching.types import Decision
from models.db import InvoiceNumberClaim
from models.domain import DocumentStatus, Invoice

SELLER_KEY_MAX = 300  # the column's length (migration 0011)


def guard(session: Session, document_id: int, invoice: Invoice, decision: Decision) -> Decision:
    """`decision`, or, when another document already holds this seller's invoice number, the
    same sent to review with `DUPLICATE_INVOICE` naming that document. A document flagged
    as a duplicate already claims nothing; an earlier claim of this document (its number
    corrected since) is given up first."""
    session.execute(delete(InvoiceNumberClaim).where(
        InvoiceNumberClaim.document_id == document_id))
    keys = invoice_number_keys(invoice.invoice_number)
    if not keys or Reason.DUPLICATE_INVOICE in decision.reason_codes:
        return decision
    seller = _bounded(seller_key(decision.party_id, invoice.seller.tax_id, invoice.seller.name))
    holder = _claim(session, document_id, seller, keys)
    return decision if holder is None else _duplicate(decision, invoice, holder)


def _claim(session: Session, document_id: int, seller: str, keys: tuple[str, ...]) -> int | None:
    """Claim `keys` for `document_id`; the document holding one of them already, or None."""
    holder = _holder(session, seller, keys)
    if holder is not None:
        return holder
    rows = [{"seller_key": seller, "number_key": key, "document_id": document_id}
            for key in keys]
    try:
        with session.begin_nested():
            session.execute(insert(InvoiceNumberClaim), rows)
    except IntegrityError:  # claimed by a transaction that committed meanwhile
        return _holder(session, seller, keys)
    return None


def _bounded(key: str) -> str:
    """The seller key as stored: a name key longer than the column (a seller known only by a
    very long name) by its SHA-256 instead."""
    if len(key) <= SELLER_KEY_MAX:
        return key
    return "H:" + hashlib.sha256(key.encode()).hexdigest()


def _holder(session: Session, seller: str, keys: tuple[str, ...]) -> int | None:
    return session.scalar(select(InvoiceNumberClaim.document_id).where(
        InvoiceNumberClaim.seller_key == seller, InvoiceNumberClaim.number_key.in_(keys))
        .order_by(InvoiceNumberClaim.document_id).limit(1))


def _duplicate(decision: Decision, invoice: Invoice, holder: int) -> Decision:
    problem = duplicate_problem(invoice.invoice_number, f"as document {holder}, stored "
                                                        "while this one was being decided")
    decision.reasons = [*decision.reasons, problem]
    decision.status = DocumentStatus.NEEDS_REVIEW
    return decision

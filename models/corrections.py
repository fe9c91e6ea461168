"""Correct an extracted field of a review item, then re-run validation and matching.

The corrected invoice goes through `matching.engine.evaluate_batch` with the master data from
the database (only earlier documents count as seen invoices, so the item is not its own
duplicate; a credit note's own stored matches are left out of what other credit notes give
back, since they are replaced). The item stays open with the new findings, even when none are
left: a person other than the corrector must still approve it
(`models.approvals.check_can_approve`).
Earlier sign-offs are withdrawn, since they were given for other values.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from arflow.reasons import Reason
from arflow.settings import Tolerances
from extractors.parse import currency_code
from matching.context import SharedMaster
from matching.engine import evaluate_batch
from matching.types import Candidate, Decision
from models.approvals import (
    DECIDABLE,
    ApprovalRefused,
    control_character,
    lock_item,
    reason_codes,
    save_change,
)
from models.audit import append_audit
from models.currencies import ISO_4217
from models.db import Document, ReviewApproval, ReviewItem, User
from models.db import Invoice as InvoiceRow
from models.domain import (
    DocumentKind,
    DocumentStatus,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
    InvoiceType,
    Problem,
    WordBox,
)
from models.master import load_master_data
from models.queries import to_domain
from models.repo import save_extraction
from models.typed import NotANumber, typed_number
from models.types import quantize

TEXT_FIELDS = ("invoice_number", "currency", "order_number", "iban", "payment_terms",
               "seller.name", "seller.tax_id", "buyer.name", "buyer.tax_id", "preceding_invoice")
DATE_FIELDS = ("issue_date", "due_date")
MONEY_FIELDS = ("subtotal", "tax_total", "total", "withholding", "allowances", "charges")
# at most 9 digits: no invoice has a billion lines, and int() refuses over 4,300 digits
LINE_FIELD = re.compile(r"^lines\[(\d{1,9})\]\.(description|quantity|unit_price|amount|tax_rate)$")
TYPE_FIELD = "invoice_type"  # invoice, credit_note or corrected_invoice
EDITABLE = (*TEXT_FIELDS, *DATE_FIELDS, *MONEY_FIELDS, TYPE_FIELD)
# Findings that only extraction raises; validation raises the others again.
EXTRACTION_ONLY = (Reason.LOW_CONFIDENCE, Reason.EINVOICE_MISMATCH, Reason.QR_MISMATCH,
                   Reason.OCR_FAILED, Reason.EINVOICE_UNREADABLE)
FREE_TEXT = ("payment_terms", "description")  # several lines allowed
FREE_TEXT_MAX = 2000  # characters of a corrected free text (its column has no bound)


def parse_value(name: str, text: str) -> Any:
    """The typed value of a corrected field; empty text clears it (None)."""
    text = text.strip()
    line = LINE_FIELD.match(name)
    if name not in EDITABLE and line is None:
        raise ApprovalRefused(f"field {name!r} cannot be corrected")
    if not text:
        return None
    try:
        if name == TYPE_FIELD:
            return InvoiceType(text.lower().replace(" ", "_"))
        if name in DATE_FIELDS:
            return date.fromisoformat(text)
        if name in MONEY_FIELDS or (line is not None and line.group(2) != "description"):
            return _number(name, text)
    except (ValueError, InvalidOperation) as err:
        raise ApprovalRefused(f"{text!r} is not a valid value for {name}") from err
    if name == "currency":
        return _currency(text)
    return _text(name, text.upper().replace(" ", "") if name == "iban" else text)


def _text(name: str, text: str) -> str:
    """A corrected text, if its column can hold it: no control characters (PostgreSQL
    stores no NUL; one line but in free texts) and no longer than the column."""
    free = name.rsplit(".", 1)[-1] in FREE_TEXT
    if control_character(text, "\t\n\r" if free else ""):
        raise ApprovalRefused(f"the value for {name} holds a control character (such as NUL "
                              "or a line break); type it again without it")
    column = InvoiceRow.__table__.c.get(name.replace(".", "_"))
    limit = getattr(column.type, "length", None) if column is not None else None
    limit = limit or FREE_TEXT_MAX
    if len(text) > limit:
        raise ApprovalRefused(f"the value for {name} is too long ({len(text)} characters; at "
                              f"most {limit} characters)")
    return text


def _number(name: str, text: str) -> Decimal:
    """A typed amount or quantity (`models.typed`), one the database can hold exactly."""
    try:
        value = typed_number(text)
        quantize(value)  # NUMERIC(18, 4): refuses what the column cannot hold
    except NotANumber as err:
        raise ApprovalRefused(f"{err} (for {name})") from err
    except ValueError as err:
        raise ApprovalRefused(f"{text!r} is too large for {name}") from err
    return value


def _currency(text: str) -> str:
    code = currency_code(text)
    if code is None or code not in ISO_4217:
        raise ApprovalRefused(f"{text!r} is not a currency: type its ISO 4217 code, "
                              "such as EUR or USD")
    return code


def with_value(invoice: Invoice, name: str, value: Any) -> Invoice:
    """A copy of `invoice` with one field replaced."""
    copy = Invoice.from_json(invoice.to_json())
    line = LINE_FIELD.match(name)
    if line is not None:
        index = int(line.group(1))
        if index >= len(copy.lines):
            raise ApprovalRefused(f"the invoice has no line {index}")
        setattr(copy.lines[index], line.group(2), value)
        return copy
    head, _, rest = name.partition(".")
    setattr(getattr(copy, head), rest, value) if rest else setattr(copy, head, value)
    return copy


def revalidate(session: Session, document: Document, invoice: Invoice,
               carried: list[Problem], tol: Tolerances | None = None, *,
               master: SharedMaster | None = None) -> Decision:
    """The decision on `invoice` against the master data (`master`, loaded when not given:
    several items decided against the same data share one load and its indexes), as seen by
    its document: only documents received before it are its possible originals."""
    shared = master if master is not None else SharedMaster.of(load_master_data(session))
    base = shared.data
    seen, given = base.seen_invoices, base.given_back
    # A corrected credit note replaces what it gave back; only other ones limit it.
    view = replace(base, seen_invoices=seen[seen["document_id"] < document.id],
                   given_back=given[given["document_id"] != document.id])
    key = document.original_path or document.source_name
    candidate = Candidate(key=key, invoice=invoice, problems=carried)
    return evaluate_batch([candidate], view, tol, index=shared.index)[0]


def _result(document: Document, invoice: Invoice) -> ExtractionResult:
    stored = document.extraction or {}
    evidence = {name: [WordBox(**box) for box in boxes]
                for name, boxes in (stored.get("evidence") or {}).items()}
    return ExtractionResult(
        source=str(stored.get("source") or document.source_name),
        status=ExtractionStatus(document.extraction_status or ExtractionStatus.PARTIAL),
        kind=DocumentKind(document.kind or DocumentKind.DIGITAL), invoice=invoice,
        confidence=dict(stored.get("confidence") or {}),
        errors=[Problem(**e) for e in stored.get("errors") or []],
        pages=document.pages or 0, evidence=evidence)


def decide_again(session: Session, item: ReviewItem, invoice: Invoice,
                 carried_problems: list[Problem], *, tol: Tolerances | None = None,
                 master: SharedMaster | None = None) -> None:
    """Validate and match `invoice` again and store it with the new findings on the item,
    which stays open (a person still signs off); earlier sign-offs are withdrawn, since they
    were given for other values or other master data."""
    document = session.get_one(Document, item.document_id)
    decision = revalidate(session, document, invoice, carried_problems, tol, master=master)
    decision.status = DocumentStatus.NEEDS_REVIEW
    save_extraction(session, document, _result(document, invoice), decision,
                    assigned_role=item.assigned_role)
    session.execute(delete(ReviewApproval).where(ReviewApproval.review_item_id == item.id))


def carried(item: ReviewItem, name: str | None = None) -> list[Problem]:
    """The item's findings that only extraction raises (kept through a new decision), but
    those on the field `name`, which was just corrected."""
    return [Problem(**p) for p in item.reasons or []
            if p["code"] in EXTRACTION_ONLY and p.get("field") != name]


def correct_field(session: Session, item_id: int, *, user: User, expected_version: int,
                  name: str, text: str, tol: Tolerances | None = None) -> ReviewItem:
    """Set one field, re-run validation and matching, store the new findings; audited."""
    item = lock_item(session, item_id, expected_version)
    if item.status not in DECIDABLE:
        raise ApprovalRefused(f"review item {item.id} is already {item.status}")
    document = session.get_one(Document, item.document_id)
    if document.invoice is None:
        raise ApprovalRefused("this document has no extracted invoice to correct")
    value = parse_value(name, text)
    old = to_domain(document.invoice)
    before = {"field": name, "value": _show(_get(old, name)), "reasons": reason_codes(item)}
    invoice = with_value(old, name, value)
    decide_again(session, item, invoice, carried(item, name), tol=tol)
    save_change(session, item, expected_version)
    append_audit(session, actor=user.name, action="review.correct", entity="review_item",
                 entity_id=item.id, before=before,
                 after={"field": name, "value": _show(value), "reasons": reason_codes(item)})
    return item


def _get(invoice: Invoice, name: str) -> Any:
    line = LINE_FIELD.match(name)
    if line is None:
        return invoice.get(name)
    index = int(line.group(1))
    return getattr(invoice.lines[index], line.group(2)) if index < len(invoice.lines) else None


def _show(value: Any) -> str | None:
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)

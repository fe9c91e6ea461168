"""Repository functions for documents, invoices and their decisions.

Every function takes a `Session` and only adds, flushes and selects: the caller owns the
transaction (`arflow.db.session_scope`), so a document, its invoice, lines, matches and
review item commit together or not at all. Batches, master data and the read-side queries
live in `models.batches`, `models.master` and `models.queries`; they are re-exported here so
callers need one module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matching.types import Decision
from models import db
from models.batches import finish_batch, start_batch
from models.domain import (
    DocumentStatus,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
    Problem,
    pages_label,
)
from models.master import load_master_data
from models.number_claims import Claimant, guard, guard_all
from models.queries import dumps, report_rows, to_domain
from models.upsert import chunks

__all__ = [
    "Saved", "claim_document", "create_document", "dumps", "finish_batch", "fitted",
    "get_document_by_sha256", "known_hashes", "load_master_data", "receive_claimed",
    "receive_file", "record_failure", "report_rows", "save_extraction", "save_outcome",
    "save_outcomes", "start_batch", "stores_invoice", "to_domain",
]


class StoredFile(Protocol):
    """What storage needs to know about a received file (`arflow.intake.InboxFile`)."""

    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def name(self) -> str: ...  # as text the database holds
    @property
    def where(self) -> str: ...


class Outcome(Protocol):
    """One processed file to store (`arflow.pipeline.DocumentOutcome`)."""

    @property
    def file(self) -> StoredFile: ...
    @property
    def extraction(self) -> ExtractionResult: ...
    @property
    def decision(self) -> Decision: ...
    @property
    def part(self) -> Part | None: ...


@dataclass(frozen=True)
class Part:
    """One invoice of a file of several: the file's content hash and name, and its pages."""

    of_sha256: str
    of_name: str
    first: int  # 0-based, inclusive
    last: int

    @property
    def name(self) -> str:
        return f"{self.of_name}, {pages_label(self.first, self.last)}"


def known_hashes(session: Session, hashes: Sequence[str]) -> set[str]:
    """The subset of `hashes` already stored as documents."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(hashes))):
        found.update(session.scalars(select(db.Document.sha256)
                                     .where(db.Document.sha256.in_(chunk))))
    return found


def get_document_by_sha256(session: Session, sha256: str) -> db.Document | None:
    return session.scalar(select(db.Document).where(db.Document.sha256 == sha256))


def create_document(
    session: Session, *, sha256: str, source_name: str, size_bytes: int,
    original_path: str | None = None, batch_id: int | None = None,
    parent_id: int | None = None,
) -> db.Document:
    """Record a newly received file (status `received`). A second insert of the same
    sha256 fails at flush with a unique violation: check `get_document_by_sha256` first."""
    document = db.Document(
        sha256=sha256, source_name=source_name, size_bytes=size_bytes,
        original_path=original_path, batch_id=batch_id, status=db.DOC_RECEIVED,
        parent_id=parent_id,
    )
    session.add(document)
    session.flush()
    return document


def claim_document(
    session: Session, *, sha256: str, source_name: str, size_bytes: int,
    original_path: str | None = None, batch_id: int | None = None,
    parent_id: int | None = None,
) -> tuple[db.Document, bool]:
    """The document with this content hash and whether this call created it. Safe against a
    concurrent worker inserting the same file: the losing insert is undone by a savepoint."""
    existing = get_document_by_sha256(session, sha256)
    if existing is not None:
        return existing, False
    try:
        with session.begin_nested():
            document = create_document(session, sha256=sha256, source_name=source_name,
                                       size_bytes=size_bytes, original_path=original_path,
                                       batch_id=batch_id, parent_id=parent_id)
    except IntegrityError:
        winner = get_document_by_sha256(session, sha256)
        if winner is None:
            raise
        return winner, False
    return document, True


def save_outcome(
    session: Session, *, batch_id: int | None, file: StoredFile,
    extraction: ExtractionResult, decision: Decision, part: Part | None = None,
) -> db.Document:
    """Store one processed file: its document row (once per content hash), the extraction
    and the decision (invoice, lines, matches, review item). A `part` of a file of several
    invoices is named after that file and its pages, and linked to its document."""
    document = receive_file(session, batch_id=batch_id, file=file, part=part)
    save_extraction(session, document, extraction, decision)
    return document


@dataclass(frozen=True)
class Saved:
    """What `save_outcomes` did with one outcome: its document (None: a part of a file left
    alone, not looked up) and whether the outcome was stored onto it by this call."""

    document: db.Document | None
    stored: bool


def save_outcomes(
    session: Session, *, batch_id: int | None, outcomes: Sequence[Outcome],
    leave_stored: bool = False, created: set[int] | None = None, fit: bool = False,
) -> list[Saved]:
    """`save_outcome` for every file of a batch, in one transaction, with the invoice
    numbers of all claimed together (`number_claims.guard_all`) after every document row is
    there (a claim names its document) and before anything else is stored. Claimed one
    document after another instead, two batches storing copies of the same invoices in
    opposite order would deadlock. Each outcome's decision is updated in place, as `guard`
    does, when its number turns out to be held already.

    `leave_stored` (a batch run, which planned its files as never seen): a document found
    stored already, not created by this call (another batch or channel stored the same
    bytes since the plan), keeps what was stored: its extraction, decision, invoice and
    review item, maybe a reviewer's work since. Nor are the parts of such a file stored
    (they are that document's). Those outcomes come back with `stored` False. Without it
    (the per-document channels, which create and lock their document before processing
    it, and `arflow retry`, which reads a failed document again on purpose), every outcome
    is stored onto its document.

    `created` (a batch stored one document per transaction, `pipeline.store_batch`): the
    documents its earlier transactions created, this batch's as if created by this call;
    the ones this call creates are added. `fit`: names and paths cut to their columns
    (`receive_claimed`)."""
    saved: list[Saved] = []
    # this batch's documents (a part may repeat a file's bytes)
    created = set() if created is None else created
    left: set[str] = set()  # content hashes of the files left as they were stored
    for outcome in outcomes:
        if leave_stored and outcome.part is not None and outcome.part.of_sha256 in left:
            saved.append(Saved(None, stored=False))
            continue
        document, new = receive_claimed(session, batch_id=batch_id, file=outcome.file,
                                        part=outcome.part, fit=fit)
        if new:
            created.add(document.id)
        mine = not leave_stored or document.id in created
        if not mine and outcome.part is None:
            left.add(outcome.file.sha256)
        saved.append(Saved(document, stored=mine))
    kept = [(s.document, o) for s, o in zip(saved, outcomes, strict=True)
            if s.stored and s.document is not None]
    guard_all(session, [Claimant(d.id, o.extraction.invoice, o.decision) for d, o in kept
                        if stores_invoice(o.extraction)])
    for document, outcome in kept:
        save_extraction(session, document, outcome.extraction, outcome.decision, claimed=True)
    return saved


def receive_file(
    session: Session, *, batch_id: int | None, file: StoredFile, part: Part | None = None,
) -> db.Document:
    """The document of a received file, created unless its content hash is stored already
    (`claim_document`); a `part` is linked to the document of its file, stored before it."""
    return receive_claimed(session, batch_id=batch_id, file=file, part=part)[0]


def receive_claimed(
    session: Session, *, batch_id: int | None, file: StoredFile, part: Part | None = None,
    fit: bool = False,
) -> tuple[db.Document, bool]:
    """`receive_file`, and whether this call created the document. `fit`: the name and the
    path cut to what their columns hold, as text any database takes (`fitted`), for the
    record of a document the database refused."""
    parent = None if part is None else get_document_by_sha256(session, part.of_sha256)
    name, where = file.name if part is None else part.name, file.where
    if fit:
        name, where = fitted(name, _length("source_name")), fitted(where, _length("original_path"))
    return claim_document(session, sha256=file.sha256, source_name=name,
                          size_bytes=file.size, original_path=where,
                          batch_id=batch_id, parent_id=parent.id if parent else None)


def _length(column: str) -> int | None:
    """The length of a text column of documents (None: unbounded)."""
    kind = db.Document.__table__.c[column].type
    return kind.length if isinstance(kind, String) else None


def fitted(text: str, length: int | None) -> str:
    """`text` as any database stores it: a NUL or a lone surrogate (neither is UTF-8 text
    PostgreSQL takes) written as \\x00 or \\udcNN, and cut to `length` characters with "…"
    at the end when longer."""
    text = text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    if length is None or len(text) <= length:
        return text
    return text[:length - 1] + "…"


def record_failure(session: Session, document: db.Document, problem: Problem) -> None:
    """A document that could not be read at all: status `failed` with the error code."""
    document.status = DocumentStatus.FAILED
    document.extraction_status = ExtractionStatus.FAILED
    document.error_code = problem.code
    document.error_message = problem.message
    document.reasons = [problem.to_json()]
    session.flush()


def save_extraction(
    session: Session, document: db.Document, result: ExtractionResult, decision: Decision,
    *, assigned_role: str | None = None, claimed: bool = False,
) -> db.Invoice | None:
    """Store an extraction and its decision; replaces an earlier invoice of the document.

    Creates the invoice with its lines, the line matches, and a review item when the
    decision needs review. A failed extraction stores no invoice. The invoice's number is
    claimed for its seller first (`number_claims.guard`): held by another document already,
    the decision goes to review as a duplicate. `claimed`: the caller has done so already,
    with the other documents of its transaction (`save_outcomes`)."""
    stored = stores_invoice(result)
    if stored and not claimed:
        decision = guard(session, document.id, result.invoice, decision)
    _store_result(document, result, decision)
    if document.invoice is not None:
        session.delete(document.invoice)
        session.flush()
    invoice = None
    if stored:
        invoice = _invoice_row(session, result.invoice, decision)
        document.invoice = invoice
        session.flush()
        _add_matches(session, invoice, result.invoice, decision)
    if decision.status == DocumentStatus.NEEDS_REVIEW:
        _open_review(session, document, decision, assigned_role)
    session.flush()
    return invoice


def stores_invoice(result: ExtractionResult) -> bool:
    """Whether storing `result` stores an invoice (and claims its number): not for a file
    that could not be read, nor for one split into its invoices (they are stored apart)."""
    return result.status not in (ExtractionStatus.FAILED, ExtractionStatus.SPLIT)


def _store_result(document: db.Document, result: ExtractionResult, decision: Decision) -> None:
    document.kind = str(result.kind)
    document.extraction_status = str(result.status)
    document.pages = result.pages
    document.status = str(decision.status)
    document.extraction = extraction_json(result)
    document.reasons = [p.to_json() for p in decision.reasons]
    first_error = result.errors[0] if result.errors else None
    failed = result.status == ExtractionStatus.FAILED and first_error is not None
    document.error_code = first_error.code if failed and first_error else None
    document.error_message = first_error.message if failed and first_error else None


def extraction_json(result: ExtractionResult) -> dict[str, Any]:
    """`ExtractionResult.to_json()` plus the evidence word boxes per field."""
    out = result.to_json()
    out["pages"] = result.pages
    out["evidence"] = {name: [asdict(box) for box in boxes]
                       for name, boxes in result.evidence.items()}
    return out


def _invoice_row(session: Session, inv: Invoice, decision: Decision) -> db.Invoice:
    order_id = None
    if decision.order_number is not None:
        order_id = session.scalar(
            select(db.Order.id).where(db.Order.order_number == decision.order_number))
    return db.Invoice(
        invoice_number=inv.invoice_number, issue_date=inv.issue_date, due_date=inv.due_date,
        currency=inv.currency, order_number=inv.order_number,
        seller_name=inv.seller.name, seller_tax_id=inv.seller.tax_id,
        seller_address=inv.seller.address, buyer_name=inv.buyer.name,
        buyer_tax_id=inv.buyer.tax_id, buyer_address=inv.buyer.address,
        subtotal=inv.subtotal, tax_total=inv.tax_total, total=inv.total, iban=inv.iban,
        payment_terms=inv.payment_terms, invoice_type=inv.invoice_type.value,
        preceding_invoice=inv.preceding_invoice, withholding=inv.withholding,
        allowances=inv.allowances, charges=inv.charges,
        tax_breakdown=[row.to_json() for row in inv.tax_breakdown] or None,
        party_id=decision.party_id,
        matched_order_id=order_id,
        lines=[
            db.InvoiceLine(line_no=i, description=line.description, quantity=line.quantity,
                           unit_price=line.unit_price, amount=line.amount, tax_rate=line.tax_rate,
                           adjustment=line.adjustment)
            for i, line in enumerate(inv.lines)
        ],
    )


def _add_matches(session: Session, row: db.Invoice, inv: Invoice, decision: Decision) -> None:
    for match in decision.line_matches:
        if match.order_line_id is None or not 0 <= match.invoice_line < len(row.lines):
            continue
        quantity = (Decimal(match.quantity) if match.quantity is not None
                    else inv.lines[match.invoice_line].quantity)
        session.add(db.Match(invoice_line_id=row.lines[match.invoice_line].id,
                             order_line_id=match.order_line_id, quantity=quantity))


def _open_review(
    session: Session, document: db.Document, decision: Decision, role: str | None,
) -> db.ReviewItem:
    item = session.scalar(select(db.ReviewItem).where(db.ReviewItem.document_id == document.id))
    if item is None:
        received = document.invoice
        item = db.ReviewItem(document_id=document.id,
                             received_total=None if received is None else received.total,
                             received_currency=None if received is None else received.currency,
                             received_reason_codes=db.reason_codes_text(
                                 p.code for p in decision.reasons))
        session.add(item)
    item.status = db.ReviewStatus.OPEN
    item.reasons = [p.to_json() for p in decision.reasons]
    item.reason_codes = db.reason_codes_text(p.code for p in decision.reasons)
    item.assigned_role = role
    return item

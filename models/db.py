"""The database schema: SQLAlchemy 2.0 typed declarative models (SQLite and PostgreSQL).

Money and quantities use `models.types.Amount` / `Quantity` (NUMERIC(18, 4), exact on both
backends), datetimes are timezone-aware UTC, JSON columns are JSONB on PostgreSQL.
The first Alembic revision (`migrations/versions/0001_initial.py`) creates exactly these tables;
change both together.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from models.types import Amount, JSONDoc, Quantity, UTCDateTime, utcnow

# Document lifecycle before a decision exists; afterwards the status is a `DocumentStatus`.
DOC_RECEIVED = "received"


class ReviewStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    ON_HOLD = "on_hold"


# Named constraints, so later migrations (and SQLite batch mode) can address them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        date: Date(),
        Decimal: Amount(),
        dict[str, Any]: JSONDoc,
        list[Any]: JSONDoc,
    }


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(1024))
    total: Mapped[int] = mapped_column(default=0)
    auto_approved: Mapped[int] = mapped_column(default=0)
    needs_review: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source_name: Mapped[str] = mapped_column(String(512))
    original_path: Mapped[str | None] = mapped_column(String(2048))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default=DOC_RECEIVED, index=True)
    extraction_status: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    # The file of several invoices this one was split from (its status is `split`).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    # The export that handed this accepted invoice on for posting and payment (`models.exports`).
    export_id: Mapped[int | None] = mapped_column(ForeignKey("exports.id"), index=True)
    # ExtractionResult.to_json() plus "evidence" (word boxes per field) for the review UI.
    # Deferred: 6-46 KB of JSON a document, read only where one document is shown or
    # corrected; lists, reports and exports of many documents leave it in the database.
    extraction: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    # The decision's reasons (or the failure), [Problem.to_json(), ...], for the report.
    reasons: Mapped[list[Any] | None]

    invoice: Mapped[Invoice | None] = relationship(back_populates="document")


class InvoiceNumberClaim(Base):
    """A seller's invoice number, held by the first document stored with it
    (`models.number_claims`): the database's guard against two copies of one invoice, decided
    at the same time by different workers that cannot see each other, both being accepted."""

    __tablename__ = "invoice_number_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_key: Mapped[str] = mapped_column(String(300))
    number_key: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True)

    __table_args__ = (UniqueConstraint("seller_key", "number_key"),)


class Export(Base):
    """One hand-over of accepted invoices for posting and payment (`arflow export`).

    Its documents are claimed (their `export_id` set) in the transaction that creates it with
    status `pending`; its file is written afterwards, and then it is marked `written` with the
    file's SHA-256. A run interrupted in between leaves it `pending`, and the next run writes
    it (the same invoices, the same bytes) before claiming any others."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    format: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    documents: Mapped[int]
    path: Mapped[str] = mapped_column(String(2048))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    written_at: Mapped[datetime | None]


class Party(Base):
    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(512))
    tax_id: Mapped[str] = mapped_column(String(32), unique=True)
    iban: Mapped[str | None] = mapped_column(String(34))
    email: Mapped[str | None] = mapped_column(String(320))


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(64), unique=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    counterparty_tax_id: Mapped[str | None] = mapped_column(String(32), index=True)
    counterparty_name: Mapped[str] = mapped_column(String(512))
    order_date: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.line_no"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal]
    tax_rate: Mapped[Decimal | None] = mapped_column(Quantity())

    order: Mapped[Order] = relationship(back_populates="lines")


class Receipt(Base):
    """Goods received for an order line; one row per (order line, received date)."""

    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("order_line_id", "received_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    quantity_received: Mapped[Decimal] = mapped_column(Quantity())
    received_date: Mapped[date]


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), unique=True
    )
    invoice_number: Mapped[str | None] = mapped_column(String(64))
    issue_date: Mapped[date | None]
    due_date: Mapped[date | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    order_number: Mapped[str | None] = mapped_column(String(64))
    seller_name: Mapped[str | None] = mapped_column(String(512))
    seller_tax_id: Mapped[str | None] = mapped_column(String(32))
    seller_address: Mapped[str | None] = mapped_column(Text)
    buyer_name: Mapped[str | None] = mapped_column(String(512))
    buyer_tax_id: Mapped[str | None] = mapped_column(String(32))
    buyer_address: Mapped[str | None] = mapped_column(Text)
    subtotal: Mapped[Decimal | None]
    tax_total: Mapped[Decimal | None]
    total: Mapped[Decimal | None]
    iban: Mapped[str | None] = mapped_column(String(34))
    payment_terms: Mapped[str | None] = mapped_column(Text)
    invoice_type: Mapped[str] = mapped_column(String(20), default="invoice",
                                              server_default="invoice")
    preceding_invoice: Mapped[str | None] = mapped_column(String(64))
    withholding: Mapped[Decimal | None]
    allowances: Mapped[Decimal | None]
    charges: Mapped[Decimal | None]
    tax_breakdown: Mapped[list[Any] | None]  # [{rate, base, amount}] as stated, or NULL
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    matched_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)

    document: Mapped[Document] = relationship(back_populates="invoice")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.line_no", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_invoices_seller_number", "seller_tax_id", "invoice_number"),)


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    line_no: Mapped[int]  # 0-based index into Invoice.lines
    description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[Decimal | None] = mapped_column(Quantity())
    unit_price: Mapped[Decimal | None]
    amount: Mapped[Decimal | None]
    tax_rate: Mapped[Decimal | None] = mapped_column(Quantity())
    adjustment: Mapped[Decimal | None]  # line charges less line allowances

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    matches: Mapped[list[Match]] = relationship(cascade="all, delete-orphan")


class Match(Base):
    """An invoice line billed against an order line, for `quantity`."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_line_id: Mapped[int] = mapped_column(
        ForeignKey("invoice_lines.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[Decimal | None] = mapped_column(Quantity())  # None: not on the invoice


class ReviewItem(Base):
    """A document waiting for a person. `version` gives optimistic locking on every UPDATE."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.OPEN, index=True)
    # [Problem.to_json(), ...]: code, message, field, page, expected, found
    reasons: Mapped[list[Any]]
    # the reasons' codes, sorted, space-separated and space-padded (" A B "): the queue
    # filters, sorts and counts by reason in SQL with it (see ``reason_codes_text``)
    reason_codes: Mapped[str] = mapped_column(String(1024), default="", server_default="")
    assigned_role: Mapped[str | None] = mapped_column(String(64))
    # the invoice's total and currency when the item was opened, before any correction
    # (migration 0013): a correction cannot lower who must approve (`routing_amount`)
    received_total: Mapped[Decimal | None]
    received_currency: Mapped[str | None] = mapped_column(String(3))
    # the reason codes it was opened with (as `reason_codes`): a correction that clears a
    # finding a role is named for (BANK_DETAILS_CHANGED) leaves that role needed
    received_reason_codes: Mapped[str] = mapped_column(String(1024), default="",
                                                       server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


def reason_codes_text(codes: Any) -> str:
    """``ReviewItem.reason_codes`` for ``codes``: " A B " (sorted, unique, padded), so that
    ``LIKE '% A %'`` finds one code and ordering by it orders by the sorted codes."""
    unique = sorted({str(code) for code in codes})
    return f" {' '.join(unique)} " if unique else ""


class AuditEvent(Base):
    """Append-only, hash-chained log. UPDATE and DELETE are refused by database triggers."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # unique: the chain cannot fork
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    # the Audit page's filters (migration 0012): who, which action, since when; each index
    # ends with the id, so a filtered page reads the newest events first without sorting
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),
                      Index("ix_audit_actor_id", "actor", "id"),
                      Index("ix_audit_action_id", "action", "id"),
                      Index("ix_audit_at", "at"))


# --- Approver's workplace (migration 0002_users): users, web sessions, approvals. ---


class User(Base):
    """A person who reviews; `approval_limit` None means no amount limit."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    role: Mapped[str] = mapped_column(String(32))
    approval_limit: Mapped[Decimal | None]
    # Where the approvers' digest (`arflow notify`) is sent; None: no digest.
    email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A logged-in browser: only the SHA-256 of the cookie token is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ReviewApproval(Base):
    """One approver's sign-off on a review item (two are needed above the matrix threshold)."""

    __tablename__ = "review_approvals"
    __table_args__ = (UniqueConstraint("review_item_id", "actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_item_id: Mapped[int] = mapped_column(
        ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class DropFile(Base):
    """One file taken from the drop folder: the ledger of that channel (issue 6).

    Written in the transaction that commits the file's document, with the path the original
    moves to; `moved_at` is stamped after the move. A row with `moved_at` NULL is a move still
    to be done (a crash came between commit and move): a restart finishes it."""

    __tablename__ = "drop_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(512))
    original_path: Mapped[str] = mapped_column(String(2048))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))  # processed | quarantined | duplicate
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    target_path: Mapped[str] = mapped_column(String(2048))
    reasons: Mapped[list[Any] | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    moved_at: Mapped[datetime | None]


class MailMessage(Base):
    """One IMAP message seen by arflow: the mail ledger, unique per (mailbox, UIDVALIDITY, UID)."""

    __tablename__ = "mail_messages"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(512))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998))
    outcome: Mapped[str] = mapped_column(String(16))  # ingested | no_invoice | oversized | ...
    error: Mapped[str | None] = mapped_column(Text)
    documents: Mapped[list[Any] | None]  # sha256 of every attachment taken as a document
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]


# --- Login throttling (migration 0004_login_failures). ---


class LoginFailure(Base):
    """One failed login, kept while it counts towards the throttle window."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_name: Mapped[str] = mapped_column(String(128), index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

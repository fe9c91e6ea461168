"""Everything the item page shows: fields, reasons in plain words, evidence boxes placed on
the page images, invoice lines beside their matched order lines, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arflow.errors import DocumentTooLarge
from arflow.reasons import Reason, describe
from arflow.settings import Settings
from models import approvals
from models.approvals import ApprovalMatrix, ApprovalRefused
from models.audit_log import AuditEntry, entry
from models.corrections import EDITABLE
from models.db import (
    Document,
    Match,
    Order,
    OrderLine,
    Party,
    ReviewItem,
    ReviewStatus,
    User,
)
from models.queries import to_domain
from webapp.evidence import hot_boxes
from webapp.pages import document_path, has_pages, page_sizes
from webapp.queue import next_item

SHOWN_FIELDS = ("invoice_number", "issue_date", "due_date", "currency", "order_number",
                "seller.name", "seller.tax_id", "buyer.name", "buyer.tax_id", "subtotal",
                "allowances", "charges", "tax_total", "total", "withholding", "iban",
                "payment_terms", "invoice_type",
                "preceding_invoice")


@dataclass(frozen=True)
class Box:
    """A word box in PDF points from the page's top-left corner (drawn in an SVG overlay)."""

    page: int
    x: float
    y: float
    width: float
    height: float
    field: str
    text: str
    reason: bool  # behind a reason: highlighted


@dataclass(frozen=True)
class PageView:
    index: int
    width: float  # PDF points
    height: float


@dataclass(frozen=True)
class LinePair:
    index: int
    invoice: dict[str, Any]
    order: dict[str, Any] | None


@dataclass(frozen=True)
class Sibling:
    """Another invoice split out of the same file: its name, status and review item."""

    name: str
    status: str
    item_id: int | None


@dataclass(frozen=True)
class BankChange:
    """A BANK_DETAILS_CHANGED item's two accounts: the one on file and the invoice's."""

    on_file: str | None
    invoice: str


@dataclass
class ItemView:
    item: ReviewItem
    document: Document
    fields: list[tuple[str, str | None, bool]]  # name, value, behind a reason
    reasons: list[dict[str, Any]]
    pages: list[PageView]
    boxes: list[Box]
    lines: list[LinePair]
    order_number: str | None
    history: list[AuditEntry]  # with only what each event changed (`models.audit_log`)
    approvers: list[str]
    role: str
    amount: Decimal | None          # the invoice total, in the invoice's currency
    valued: Decimal | None          # the same in the approval matrix's currency (None: cannot)
    matrix_currency: str
    refusal: str | None  # why the viewer may not approve now; None: they may
    act_refusal: str | None  # why they may not hold, release or escalate it; None: they may
    hold: approvals.Hold | None = None  # who put it on hold and why: no decision meanwhile
    editable: list[str] = field(default_factory=list)
    part_of: str | None = None  # the file of several invoices this one was split from
    siblings: list[Sibling] = field(default_factory=list)
    bank: BankChange | None = None  # an account to accept (`models.bank_details`)
    page_count: int = 0  # the document's pages; `pages` may show fewer (`MAX_PAGES_SHOWN`)
    next_item: int | None = None  # the next open item the viewer's role may take

    @property
    def first_pages(self) -> int:
        """How many first pages of a long document are shown (`MAX_PAGES_SHOWN`)."""
        return MAX_PAGES_SHOWN

    @property
    def first_field(self) -> str | None:
        """The first reason's field, preselected in the correction form."""
        names = [str(r["field"]) for r in self.reasons if r.get("field") in self.editable]
        return names[0] if names else None


def reason_fields(item: ReviewItem) -> list[str]:
    return sorted({str(p["field"]) for p in item.reasons or [] if p.get("field")})


PageSizes = tuple[tuple[float, float], ...]


def _page_sizes(document: Document, settings: Settings) -> PageSizes:
    """Each page's size in points, as the stored word boxes are (a PDF's pages, or an image's:
    pixels at the resolution the OCR read them, `webapp.pages`); none without the file."""
    path = document_path(document, settings)
    if path is None or not has_pages(path):
        return ()
    try:
        return page_sizes(path, path.stat().st_mtime, float(settings.ocr_dpi))
    except DocumentTooLarge:  # an image Pillow refuses to open (a decompression bomb)
        return ()


def _boxes(document: Document, sizes: PageSizes, fields: list[str]) -> list[Box]:
    if not sizes:
        return []
    evidence = (document.extraction or {}).get("evidence") or {}
    invoice = to_domain(document.invoice) if document.invoice is not None else None
    hot = hot_boxes(evidence, fields, invoice)
    out = []
    for name, boxes in evidence.items():
        for i, b in enumerate(boxes):
            page = int(b.get("page", 0))
            if page >= len(sizes):
                continue
            out.append(Box(page, b["x0"], b["top"], b["x1"] - b["x0"], b["bottom"] - b["top"],
                           name, str(b.get("text", "")), (name, i) in hot))
    return out


MAX_PAGES_SHOWN = 20  # a longer document shows these and the pages with highlighted evidence


def _pages(sizes: PageSizes, boxes: list[Box], every: bool = False) -> list[PageView]:
    """Every page, so an approver sees the whole invoice (the browser loads all but the first
    as they are scrolled to); of a longer document the first `MAX_PAGES_SHOWN` and those
    with highlighted evidence, unless `every` (the page's "show all pages" link)."""
    highlighted = {b.page for b in boxes if b.reason}
    first = len(sizes) if every else min(len(sizes), MAX_PAGES_SHOWN)
    wanted = sorted(set(range(first)) | highlighted)
    return [PageView(i, *sizes[i]) for i in wanted if i < len(sizes)]


def _line_pairs(session: Session, document: Document) -> list[LinePair]:
    invoice = document.invoice
    if invoice is None:
        return []
    pairs = []
    for line in invoice.lines:
        order_line = session.scalar(
            select(OrderLine).join(Match, Match.order_line_id == OrderLine.id)
            .where(Match.invoice_line_id == line.id).limit(1))
        pairs.append(LinePair(line.line_no, _cells(line, ("description", "quantity",
                                                          "unit_price", "amount")),
                              None if order_line is None else _cells(
                                  order_line, ("line_no", "description", "quantity",
                                               "unit_price"))))
    return pairs


def _cells(row: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def _fields(document: Document, hot: list[str]) -> list[tuple[str, str | None, bool]]:
    if document.invoice is None:
        return []
    invoice = to_domain(document.invoice)
    shown = [(name, invoice.get(name)) for name in SHOWN_FIELDS]
    return [(name, None if value is None else str(value), name in hot) for name, value in shown]


def _refusal(session: Session, item: ReviewItem, user: User, matrix: ApprovalMatrix) -> str | None:
    try:
        approvals.check_can_approve(session, item, user, matrix)
    except ApprovalRefused as err:
        return err.message
    return None


def item_view(session: Session, item_id: int, user: User, settings: Settings,
              matrix: ApprovalMatrix, *, every_page: bool = False) -> ItemView | None:
    item = session.get(ReviewItem, item_id)
    if item is None:
        return None
    document = session.get_one(Document, item.document_id)
    hot = reason_fields(item)
    sizes = _page_sizes(document, settings)  # finds and opens the file: once
    boxes = _boxes(document, sizes, hot)
    reasons = [{**p, "plain": describe(str(p["code"]))} for p in item.reasons or []]
    lines = _line_pairs(session, document)
    return ItemView(
        item=item, document=document, fields=_fields(document, hot), reasons=reasons,
        pages=_pages(sizes, boxes, every_page), boxes=boxes, page_count=len(sizes),
        next_item=next_item(session, matrix, user.role, item.id),
        lines=lines, order_number=_order_number(session, document),
        history=[entry(event) for event in approvals.history(session, item.id)],
        approvers=_signers(session, item, matrix),
        role=approvals.effective_role(session, item, matrix),
        amount=document.invoice.total if document.invoice is not None else None,
        valued=approvals.item_amount(session, item, matrix), matrix_currency=matrix.currency,
        refusal=_refusal(session, item, user, matrix),
        act_refusal=approvals.act_refusal(session, item, user, matrix),
        hold=approvals.current_hold(session, item),
        editable=list(EDITABLE) + [f"lines[{p.index}].{c}" for p in lines
                                   for c in ("quantity", "unit_price", "amount")],
        bank=_bank_change(session, item, document), **_split_from(session, document))


def _signers(session: Session, item: ReviewItem, matrix: ApprovalMatrix) -> list[str]:
    """Who signed; on an item still waiting, a signature that lapsed says why
    (`approvals.standing_signatures`)."""
    if item.status not in (ReviewStatus.OPEN, ReviewStatus.ON_HOLD):
        return approvals.approvers(session, item.id)
    standing, lapsed = approvals.standing_signatures(session, item, matrix)
    return standing + [f"{name} (no longer counts: {why})" for name, why in lapsed.items()]


def _bank_change(session: Session, item: ReviewItem, document: Document) -> BankChange | None:
    invoice = document.invoice
    if (Reason.BANK_DETAILS_CHANGED not in approvals.reason_codes(item) or invoice is None
            or invoice.party_id is None or not invoice.iban):
        return None
    party = session.get(Party, invoice.party_id)
    return None if party is None else BankChange(party.iban, invoice.iban)


def _split_from(session: Session, document: Document) -> dict[str, Any]:
    """The file this invoice was split from and its other invoices (none for a whole file)."""
    if document.parent_id is None:
        return {}
    parent = session.get_one(Document, document.parent_id)
    others = list(session.scalars(select(Document).where(
        Document.parent_id == parent.id, Document.id != document.id).order_by(Document.id)))
    items = dict(session.execute(select(ReviewItem.document_id, ReviewItem.id).where(
        ReviewItem.document_id.in_([d.id for d in others]))).tuples().all())
    return {"part_of": parent.source_name,
            "siblings": [Sibling(d.source_name, d.status, items.get(d.id)) for d in others]}


def _order_number(session: Session, document: Document) -> str | None:
    invoice = document.invoice
    if invoice is None or invoice.matched_order_id is None:
        return None
    return session.get_one(Order, invoice.matched_order_id).order_number

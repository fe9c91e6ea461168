"""The review queue as rows for the web page: filter and sort by reason, counterparty,
amount and age; counts per reason. Filtering happens in Python over the open items
(one query), which keeps SQLite and PostgreSQL identical."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.approvals import ApprovalMatrix, rank, required_role
from models.db import Document, Invoice, ReviewItem, ReviewStatus
from models.types import utcnow

PAGE_SIZE = 50
SORTS = ("age", "amount", "counterparty", "reason")
STATUSES = ("open", "on_hold", "approved", "rejected", "all")


@dataclass(frozen=True)
class QueueRow:
    item_id: int
    version: int
    status: str
    source: str
    counterparty: str | None
    amount: Decimal | None
    currency: str | None
    created_at: datetime
    reasons: tuple[str, ...]
    role: str

    @property
    def age_days(self) -> float:
        return (utcnow() - self.created_at).total_seconds() / 86400


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"
    reason: str = ""
    counterparty: str = ""
    min_amount: str = ""
    max_amount: str = ""
    older_than: str = ""  # days
    sort: str = "age"
    desc: bool = False
    page: str = "1"

    def query(self, page: int) -> str:
        """This filter as a query string, on another page."""
        values = {k: v for k, v in asdict(self).items() if v not in ("", False)}
        values.update(page=str(page), desc="1" if self.desc else "")
        return urlencode({k: v for k, v in values.items() if v != ""})


@dataclass(frozen=True)
class Page:
    """One page of the filtered queue: `rows`, its 1-based `number` of `pages`, and where
    its rows sit in the whole list (`first`..`last` of `total`)."""

    rows: list[QueueRow]
    number: int
    pages: int
    first: int
    last: int
    total: int


def paginate(rows: list[QueueRow], page: str, size: int | None = None) -> Page:
    """The requested page (clamped to the pages there are; a non-number means page 1)."""
    size = size or PAGE_SIZE
    pages = max(1, -(-len(rows) // size))
    number = min(max(int(page) if page.isdigit() else 1, 1), pages)
    start = (number - 1) * size
    shown = rows[start:start + size]
    return Page(shown, number, pages, start + 1 if shown else 0, start + len(shown), len(rows))


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ".")) if text.strip() else None
    except InvalidOperation:
        return None


def load_rows(session: Session, status: str, matrix: ApprovalMatrix) -> list[QueueRow]:
    query = (select(ReviewItem, Document.source_name, Invoice.seller_name, Invoice.total,
                    Invoice.currency)
             .join(Document, Document.id == ReviewItem.document_id)
             .outerjoin(Invoice, Invoice.document_id == Document.id))
    if status == "open":
        query = query.where(ReviewItem.status.in_([ReviewStatus.OPEN, ReviewStatus.ON_HOLD]))
    elif status != "all":
        query = query.where(ReviewItem.status == status)
    return [_row(item, (source, seller, total, currency), matrix)
            for item, source, seller, total, currency in session.execute(query)]


def _row(item: ReviewItem, doc: tuple[str, str | None, Decimal | None, str | None],
         matrix: ApprovalMatrix) -> QueueRow:
    source, seller, total, currency = doc
    codes = tuple(sorted({str(p["code"]) for p in item.reasons or []}))
    routed = required_role(matrix, matrix.in_own_currency(total, currency), codes)
    role = max([routed, item.assigned_role or routed], key=rank)
    return QueueRow(item.id, item.version, item.status, source, seller, total, currency,
                    item.created_at, codes, role)


def apply(rows: list[QueueRow], flt: QueueFilter) -> list[QueueRow]:
    low, high = _decimal(flt.min_amount), _decimal(flt.max_amount)
    age = _decimal(flt.older_than)
    name = flt.counterparty.strip().casefold()
    kept = [r for r in rows
            if (not flt.reason or flt.reason in r.reasons)
            and (not name or name in (r.counterparty or "").casefold())
            and (low is None or (r.amount is not None and r.amount >= low))
            and (high is None or (r.amount is not None and r.amount <= high))
            and (age is None or r.age_days >= float(age))]
    return sorted(kept, key=_sort_key(flt.sort), reverse=flt.desc)


def _sort_key(sort: str) -> Callable[[QueueRow], Any]:
    if sort == "amount":
        return lambda r: (r.amount is None, r.amount or Decimal(0))
    if sort == "counterparty":
        return lambda r: ((r.counterparty or "").casefold(), r.item_id)
    if sort == "reason":
        return lambda r: (r.reasons, r.item_id)
    return lambda r: (r.created_at, r.item_id)


def reason_counts(rows: list[QueueRow]) -> list[tuple[str, int]]:
    counts = Counter(code for row in rows for code in row.reasons)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def counterparty_counts(rows: list[QueueRow]) -> list[tuple[str, int]]:
    counts = Counter(row.counterparty or "(unknown)" for row in rows)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

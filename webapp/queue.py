"""The review queue as rows for the web page: filter and sort by reason, counterparty,
amount and age; counts per reason and counterparty. The web page filters, sorts, counts and
pages in SQL (`load_page`; reasons through ``ReviewItem.reason_codes``), the same on SQLite
and PostgreSQL: a page costs a few queries whether 50 or 100,000 items are open."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from models.approvals import ApprovalMatrix, rank, required_role, routing_codes
from models.db import Document, Invoice, ReviewItem, ReviewStatus
from models.search import lowered, lowered_contains
from models.typed import NotANumber, typed_number
from models.types import MAX_ABS, utcnow

PAGE_SIZE = 50
_LARGEST = MAX_ABS - 1  # the largest amount a NUMERIC(18, 4) column holds, whole units
_MAX_DAYS = Decimal(36_500)  # an age filter of more than 100 years finds nothing older
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


class PagedFilter:
    """A list's filter as typed in its form (a dataclass of texts), with its `page`."""

    def query(self, page: int) -> str:
        """This filter as a query string, on another page."""
        values = {k: v for k, v in asdict(self).items() if v != ""}  # type: ignore[call-overload]
        values["page"] = str(page)
        return urlencode(values)


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


Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a filtered list (the queue, the documents): `rows`, its 1-based `number`
    of `pages`, and where its rows sit in the whole list (`first`..`last` of `total`)."""

    rows: list[Row]
    number: int
    pages: int
    first: int
    last: int
    total: int


_PAGE_DIGITS = 18  # a longer page number is past the last page of any list


def page_at(total: int, page: str, size: int) -> tuple[int, int, int]:
    """The requested page's number (clamped; a non-number means page 1, a number of more
    digits than any page count has the last page), the number of pages and the offset of
    the page's first row."""
    pages = max(1, -(-total // size))
    asked = 1
    if page.isdecimal() and page.isascii():
        asked = int(page) if len(page) <= _PAGE_DIGITS else pages
    number = min(max(asked, 1), pages)
    return number, pages, (number - 1) * size


def typed_day(text: str) -> date | None:
    """A date typed in a filter box (YYYY-MM-DD), else None (no filter)."""
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _decimal(text: str) -> Decimal | None:
    """A number typed in a filter box as people type them ("12,50", "1.000", "12,500.00":
    `models.typed`), else None (no filter)."""
    try:
        return typed_number(text) if text.strip() else None
    except NotANumber:
        return None


def _amount(text: str) -> Decimal | None:
    """An amount filter, held within what the money columns can hold (beyond it every
    stored amount is below or above it anyway)."""
    value = _decimal(text)
    return None if value is None else max(min(value, _LARGEST), -_LARGEST)


def _days(text: str) -> float | None:
    value = _decimal(text)
    return None if value is None else float(max(min(value, _MAX_DAYS), Decimal(0)))


def _items(status: str) -> Select[Any]:
    """Review items of a status ("open" = open or on hold, "all") with their document's
    name and their invoice's seller, total and currency."""
    query = (select(ReviewItem, Document.source_name, Invoice.seller_name, Invoice.total,
                    Invoice.currency)
             .join(Document, Document.id == ReviewItem.document_id)
             .outerjoin(Invoice, Invoice.document_id == Document.id))
    return with_status(query, status)


def with_status(query: Select[Any], status: str) -> Select[Any]:
    if status == "open":
        return query.where(ReviewItem.status.in_([ReviewStatus.OPEN, ReviewStatus.ON_HOLD]))
    if status != "all":
        return query.where(ReviewItem.status == status)
    return query


def load_page(session: Session, flt: QueueFilter, matrix: ApprovalMatrix) -> Page[QueueRow]:
    """One page of the filtered, sorted queue. Filters, order, count and paging run in the
    database, so a page costs the same with 50 or 100,000 open items."""
    query = _filtered(_items(flt.status), flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    number, pages, start = page_at(total, flt.page, PAGE_SIZE)
    ordered = query.order_by(*_order(flt)).offset(start).limit(PAGE_SIZE)
    rows = [_row(item, (source, seller, amount, currency), matrix)
            for item, source, seller, amount, currency in session.execute(ordered)]
    return Page(rows, number, pages, start + 1 if rows else 0, start + len(rows), total)


def _filtered(query: Select[Any], flt: QueueFilter) -> Select[Any]:
    low, high = _amount(flt.min_amount), _amount(flt.max_amount)
    age = _days(flt.older_than)
    name = flt.counterparty.strip()
    if flt.reason:
        query = query.where(ReviewItem.reason_codes.contains(f" {flt.reason} ", autoescape=True))
    if name:
        query = query.where(lowered_contains(Invoice.seller_name, name))
    if low is not None:
        query = query.where(Invoice.total >= low)
    if high is not None:
        query = query.where(Invoice.total <= high)
    if age is not None:
        query = query.where(ReviewItem.created_at <= utcnow() - timedelta(days=age))
    return query


def _order(flt: QueueFilter) -> list[Any]:
    """ORDER BY for a sort: age (oldest first), amount (missing last), counterparty (in
    lower case) or reasons (their sorted codes), each then by item; ``desc`` reverses all keys."""
    keys: list[Any]
    if flt.sort == "amount":
        keys = [case((Invoice.total.is_(None), 1), else_=0), Invoice.total, ReviewItem.id]
    elif flt.sort == "counterparty":
        keys = [lowered(func.coalesce(Invoice.seller_name, "")), ReviewItem.id]
    elif flt.sort == "reason":
        keys = [ReviewItem.reason_codes, ReviewItem.id]
    else:
        keys = [ReviewItem.created_at, ReviewItem.id]
    return [key.desc() for key in keys] if flt.desc else keys


def _row(item: ReviewItem, doc: tuple[str, str | None, Decimal | None, str | None],
         matrix: ApprovalMatrix) -> QueueRow:
    source, seller, total, currency = doc
    codes = tuple(sorted({str(p["code"]) for p in item.reasons or []}))
    amount = matrix.routing_amount(total, currency, item.received_total, item.received_currency)
    routed = required_role(matrix, amount, routing_codes(item))
    role = max([routed, item.assigned_role or routed], key=rank)
    return QueueRow(item.id, item.version, item.status, source, seller, total, currency,
                    item.created_at, codes, role)


def count_items(session: Session, status: str) -> int:
    query = with_status(select(func.count(ReviewItem.id)), status)
    return session.scalar(query) or 0


def reason_counts(session: Session, status: str) -> list[tuple[str, int]]:
    """Items per reason code among the items of a status (most frequent first): one GROUP BY
    over the code sets, which are few, each split and added up here."""
    query = select(ReviewItem.reason_codes, func.count(ReviewItem.id))
    counts: Counter[str] = Counter()
    for codes, n in session.execute(with_status(query, status).group_by(ReviewItem.reason_codes)):
        for code in str(codes).split():
            counts[code] += int(n)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def counterparty_counts(session: Session, status: str) -> list[tuple[str, int]]:
    name = func.coalesce(Invoice.seller_name, "(unknown)")
    query = (select(name, func.count(ReviewItem.id))
             .join(Document, Document.id == ReviewItem.document_id)
             .outerjoin(Invoice, Invoice.document_id == Document.id).group_by(name))
    rows = session.execute(with_status(query, status)).all()
    return sorted(((str(n), int(c)) for n, c in rows), key=lambda kv: (-kv[1], kv[0]))


NEXT_LOOKAHEAD = 200  # open items read to find the next one a user may decide


def next_item(session: Session, matrix: ApprovalMatrix, role: str, current: int) -> int | None:
    """The oldest open item, other than `current`, routed to `role` or below (one this user's
    role may take: the queue's default order, held items aside), for the item page's "next
    item" link; None when none of the oldest `NEXT_LOOKAHEAD` is."""
    query = (_items("all").where(ReviewItem.status == ReviewStatus.OPEN,
                                  ReviewItem.id != current)
             .order_by(ReviewItem.created_at, ReviewItem.id).limit(NEXT_LOOKAHEAD))
    for item, source, seller, amount, currency in session.execute(query):
        row = _row(item, (source, seller, amount, currency), matrix)
        if rank(row.role) <= rank(role):
            return row.item_id
    return None


"""Upserts of validated master-data records by natural key (add/flush only; caller commits).

Each writer returns (inserted, updated, unchanged) counted per input record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import db
from models.party_accounts import IbanChange

Counts = tuple[int, int, int]
CHUNK = 500  # keys per IN (...) query
T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str


@dataclass(frozen=True)
class PartyRecord:
    line: int
    name: str
    tax_id: str
    iban: str | None
    email: str | None


@dataclass(frozen=True)
class OrderLineRecord:
    line: int
    order_number: str
    counterparty_tax_id: str | None
    counterparty_name: str
    order_date: date
    currency: str
    line_no: int
    description: str | None
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal | None


@dataclass(frozen=True)
class ReceiptRecord:
    line: int
    order_number: str
    line_no: int
    quantity_received: Decimal
    received_date: date


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """Slices of at most CHUNK items (bounded IN lists and executemany batches)."""
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _existing(session: Session, column: InstrumentedAttribute[Any],
              keys: Iterable[Any], *, lock: bool = False) -> list[Any]:
    """The rows whose `column` is one of `keys`; row-locked with `lock` (in key order)."""
    entity = column.class_
    out: list[Any] = []
    for chunk in chunks(sorted(set(keys))):
        query = select(entity).where(column.in_(chunk)).order_by(column)
        out.extend(session.scalars(query.with_for_update() if lock else query))
    return out


def _apply(row: Any, values: dict[str, Any]) -> bool:
    """Set changed attributes; True when anything changed."""
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    for key, value in changed.items():
        setattr(row, key, value)
    return bool(changed)


def _insert(session: Session, model: type[db.Base], rows: list[dict[str, Any]]) -> None:
    """Flush pending updates, then insert new rows in executemany batches (ORM bulk insert)."""
    session.flush()
    for chunk in chunks(rows):
        session.execute(insert(model), list(chunk))


def parties(session: Session, records: list[PartyRecord],
            iban_changes: list[IbanChange] | None = None) -> Counts:
    """Upsert by tax ID; each known party's changed IBAN is added to `iban_changes`."""
    # locked, so that an account a finance lead accepts meanwhile is not overwritten unseen
    found = {p.tax_id: p for p in _existing(session, db.Party.tax_id,
                                               (r.tax_id for r in records), lock=True)}
    new: list[dict[str, Any]] = []
    updated = 0
    for rec in records:
        values = {"name": rec.name, "iban": rec.iban, "email": rec.email}
        if (row := found.get(rec.tax_id)) is None:
            new.append({"tax_id": rec.tax_id, **values})
            continue
        if row.iban != rec.iban and iban_changes is not None:
            iban_changes.append(IbanChange(row.id, row.tax_id, rec.name, row.iban, rec.iban))
        if _apply(row, values):
            updated += 1
    _insert(session, db.Party, new)
    _link_orders(session)
    return len(new), updated, len(records) - len(new) - updated


def _link_orders(session: Session) -> None:
    """Point orders at the party with their counterparty tax ID."""
    party = (select(db.Party.id).where(db.Party.tax_id == db.Order.counterparty_tax_id)
             .scalar_subquery())
    session.execute(update(db.Order).where(db.Order.counterparty_tax_id.is_not(None))
                    .values(party_id=party).execution_options(synchronize_session=False))


def _upsert_orders(session: Session, records: list[OrderLineRecord]) -> dict[str, tuple[
        db.Order, bool]]:
    """One order per order_number; value: (row, header inserted or changed)."""
    found = {o.order_number: o for o in _existing(session, db.Order.order_number,
                                                   (r.order_number for r in records))}
    tax_ids = {r.counterparty_tax_id for r in records if r.counterparty_tax_id}
    party_ids = {p.tax_id: p.id for p in _existing(session, db.Party.tax_id, tax_ids)}
    out: dict[str, tuple[db.Order, bool]] = {}
    for rec in records:
        if rec.order_number in out:
            continue
        values = {"counterparty_tax_id": rec.counterparty_tax_id,
                  "counterparty_name": rec.counterparty_name, "order_date": rec.order_date,
                  "currency": rec.currency,
                  "party_id": party_ids.get(rec.counterparty_tax_id or "")}
        row = found.get(rec.order_number)
        if row is None:
            row = db.Order(order_number=rec.order_number, **values)
            session.add(row)
            out[rec.order_number] = (row, True)
        else:
            out[rec.order_number] = (row, _apply(row, values))
    session.flush()
    return out


def order_lines(session: Session, records: list[OrderLineRecord]) -> Counts:
    orders = _upsert_orders(session, records)
    ids = [row.id for row, _ in orders.values()]
    found = {(ln.order_id, ln.line_no): ln for ln in _existing(session, db.OrderLine.order_id, ids)}
    new: list[dict[str, Any]] = []
    updated = 0
    for rec in records:
        order, header_changed = orders[rec.order_number]
        values = {"description": rec.description, "quantity": rec.quantity,
                  "unit_price": rec.unit_price, "tax_rate": rec.tax_rate}
        if (row := found.get((order.id, rec.line_no))) is None:
            new.append({"order_id": order.id, "line_no": rec.line_no, **values})
        elif _apply(row, values) or header_changed:
            updated += 1
    _insert(session, db.OrderLine, new)
    return len(new), updated, len(records) - len(new) - updated


def known_order_lines(session: Session, records: list[ReceiptRecord]) -> dict[tuple[str, int], int]:
    """(order_number, line_no) -> order_line id, for the orders the receipts name."""
    numbers = sorted({r.order_number for r in records})
    out: dict[tuple[str, int], int] = {}
    for chunk in chunks(numbers):
        query = (select(db.Order.order_number, db.OrderLine.line_no, db.OrderLine.id)
                 .join(db.OrderLine, db.OrderLine.order_id == db.Order.id)
                 .where(db.Order.order_number.in_(chunk)))
        out.update({(number, line_no): id_ for number, line_no, id_ in session.execute(query)})
    return out


def receipts_on_file(session: Session, ids: Iterable[int]) -> dict[tuple[int, date], Decimal]:
    """(order line id, received date) -> quantity, of the stored receipts of those lines."""
    return {(r.order_line_id, r.received_date): r.quantity_received
            for r in _existing(session, db.Receipt.order_line_id, ids)}


def receipts(session: Session, records: list[ReceiptRecord],
             known: dict[tuple[str, int], int]) -> Counts:
    ids = [known[(r.order_number, r.line_no)] for r in records]
    found = {(r.order_line_id, r.received_date): r
             for r in _existing(session, db.Receipt.order_line_id, ids)}
    new: list[dict[str, Any]] = []
    updated = 0
    for rec, line_id in zip(records, ids, strict=True):
        row = found.get((line_id, rec.received_date))
        if row is None:
            new.append({"order_line_id": line_id, "received_date": rec.received_date,
                        "quantity_received": rec.quantity_received})
        elif _apply(row, {"quantity_received": rec.quantity_received}):
            updated += 1
    _insert(session, db.Receipt, new)
    return len(new), updated, len(records) - len(new) - updated

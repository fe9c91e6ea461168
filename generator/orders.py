"""Purchase orders and goods receipts for scenarios, and the master-data CSV files."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from generator import catalog
from generator.model import Company, LineSpec

PARTIES_HEADER = ("name", "tax_id", "iban", "email")
ORDERS_HEADER = ("order_number", "counterparty_tax_id", "counterparty_name", "order_date",
                 "currency", "line_no", "description", "quantity", "unit_price", "tax_rate")
RECEIPTS_HEADER = ("order_number", "line_no", "quantity_received", "received_date")
_QUANTITIES = (2, 3, 4, 5, 6, 8, 10, 12, 20, 24, 30, 50)


@dataclass
class OrderLine:
    line_no: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    received: Decimal


@dataclass
class Order:
    number: str
    seller: Company
    order_date: date
    received_date: date
    lines: list[OrderLine]

    @property
    def currency(self) -> str:
        return self.seller.currency


def make_order(rng: random.Random, number: str, seller: Company, rate: Decimal,
               n_lines: int, *, partial: bool = False) -> Order:
    """An order of `n_lines` distinct items; `partial` leaves one line short-received."""
    order_date = date(2026, 1, 5) + timedelta(days=rng.randint(0, 120))
    lines: list[OrderLine] = []
    seen: set[str] = set()
    while len(lines) < n_lines:
        item = catalog.random_item(rng, seller.language)
        if item.description in seen:
            continue
        seen.add(item.description)
        qty = Decimal(rng.choice(_QUANTITIES))
        lines.append(OrderLine(len(lines) + 1, item.description, qty, item.unit_price, rate,
                               qty))
    if partial:
        line = rng.choice(lines)
        line.received = Decimal(rng.randint(1, int(line.quantity) - 1))
    received_date = order_date + timedelta(days=rng.randint(2, 12))
    return Order(number, seller, order_date, received_date, lines)


def bill(order: Order, *, fraction: Decimal = Decimal(1)) -> list[LineSpec]:
    """Invoice lines billing `fraction` of what was received, at the ordered prices."""
    specs = []
    for line in order.lines:
        qty = (line.received * fraction).to_integral_value()
        if qty > 0:
            specs.append(LineSpec(line.description, qty, line.unit_price, line.tax_rate))
    return specs


def _write(path: Path, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_parties(path: Path, parties: list[Company]) -> Path:
    return _write(path, PARTIES_HEADER, [(p.name, p.tax_id, p.iban or "", p.email)
                                         for p in parties])


def write_orders(path: Path, orders: list[Order]) -> Path:
    rows: list[tuple[object, ...]] = [
        (o.number, o.seller.tax_id, o.seller.name, o.order_date.isoformat(), o.currency,
         line.line_no, line.description, line.quantity, line.unit_price, line.tax_rate)
        for o in orders for line in o.lines]
    return _write(path, ORDERS_HEADER, rows)


def write_receipts(path: Path, orders: list[Order]) -> Path:
    rows: list[tuple[object, ...]] = [
        (o.number, line.line_no, line.received, o.received_date.isoformat())
        for o in orders for line in o.lines if line.received > 0]
    return _write(path, RECEIPTS_HEADER, rows)

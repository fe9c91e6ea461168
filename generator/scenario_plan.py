"""Planning a scenario: which seller and order each invoice bills, and what it prints."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from arflow.reasons import Reason
from generator import orders as od
from generator.breakdown import maybe_breakdown, settle_breakdown
from generator.credit_notes import make_credit_note
from generator.model import (
    Company,
    Document,
    Header,
    LineSpec,
    compose,
    hide_line_rates,
    make_company,
    tax_rate,
)
from generator.plants import HEADER_PLANTS, LINE_PLANTS, NEEDS_IBAN, plant_header, plant_lines
from models.domain import InvoiceType

SELLER_COUNTRIES = ("ES", "ES", "GB", "ES", "US", "ES", "DE", "ES", "FR", "ES")
COPIES = (Reason.DUPLICATE_INVOICE, Reason.SUSPECTED_DUPLICATE)
# Documents that follow an earlier invoice of the scenario (in batch 2 when batches are split).
LATE_KINDS = (*COPIES, Reason.CREDIT_NOTE)
_PRINTS_ORDER = (*LINE_PLANTS, Reason.CURRENCY_MISMATCH, Reason.ORDER_NOT_FOUND)
_LAYOUTS = {"es": ("boxes", "modern", "compact"), "en": ("classic", "modern", "compact")}
_NUMBER_FORMATS = ("F{y}-{n:04d}", "INV-{n:05d}", "{y}/{n:04d}", "A-{n:06d}", "FAC-{yy}-{n:04d}")


@dataclass
class Slot:
    kind: str | None
    seller: Company
    order: od.Order
    order_on_file: bool = True
    batch: int = 1
    original: Slot | None = None
    fraction: Decimal = Decimal(1)
    layout: str = ""
    header: Header | None = None
    specs: list[LineSpec] = field(default_factory=list)
    name: str = ""
    order_printed: bool = False


class Planner:
    """Draws sellers, orders and slots from one seeded random stream."""

    def __init__(self, seed: int, *, breakdown: float = 0.0) -> None:
        self.rng = random.Random(seed)
        self.breakdown = breakdown  # share of taxed invoices printing their VAT breakdown
        self.buyer = make_company(self.rng, "ES")
        self.sellers = [make_company(self.rng, c) for c in SELLER_COUNTRIES]
        self.unknown: list[Company] = []
        self.orders: list[od.Order] = []
        self._numbers: dict[str, list[int | str]] = {}

    def new_order(self, seller: Company, *, partial: bool = False, long: bool = False,
                  on_file: bool = True) -> od.Order:
        number = f"PO-2026-{len(self.orders) + 101:04d}" if on_file else "-"
        n_lines = self.rng.randint(25, 40) if long else self.rng.randint(1, 5)
        rate = tax_rate(self.rng, seller, self.buyer)
        order = od.make_order(self.rng, number, seller, rate, n_lines, partial=partial)
        if on_file:
            self.orders.append(order)
        return order

    def next_number(self, seller: Company, year: int) -> str:
        state = self._numbers.setdefault(
            seller.tax_id, [self.rng.choice(_NUMBER_FORMATS), self.rng.randint(40, 900)])
        state[1] = int(state[1]) + self.rng.randint(1, 9)
        return str(state[0]).format(y=year, yy=year % 100, n=state[1])

    def clean_slots(self, count: int) -> list[Slot]:
        slots = []
        for i in range(count):
            seller = self.sellers[i % len(self.sellers)]
            order = self.new_order(seller, long=i % 7 == 3, partial=self.rng.random() < 0.25)
            slots.append(Slot(None, seller, order))
        return slots

    def planted_slot(self, kind: str, index: int, free: list[Slot], split: bool) -> Slot:
        if kind in LATE_KINDS or (kind == Reason.OVER_BILLING and split):
            original = free.pop()
            _prepare_original(original, kind, self.rng)
            return Slot(kind, original.seller, original.order, batch=2 if split else 1,
                        original=original, order_on_file=kind != Reason.CREDIT_NOTE)
        seller = self._seller_for(kind, index)
        on_file = kind != Reason.ORDER_NOT_FOUND
        order = self.new_order(seller, partial=kind == Reason.OVER_BILLING, on_file=on_file)
        return Slot(kind, seller, order, order_on_file=on_file)

    def _seller_for(self, kind: str, index: int) -> Company:
        if kind == Reason.UNKNOWN_PARTY:
            company = make_company(self.rng, "ES")
            self.unknown.append(company)
            return company
        pool = [s for s in self.sellers if s.iban] if kind in NEEDS_IBAN else self.sellers
        return pool[(index * 3 + 1) % len(pool)]

    def assign_layouts(self, slots: list[Slot]) -> None:
        counters = {"es": 0, "en": 0}
        for slot in slots:
            language = slot.seller.language
            options = _LAYOUTS[language]
            if slot.original is not None and slot.kind == Reason.DUPLICATE_INVOICE:
                others = [x for x in options if x != slot.original.layout]
                slot.layout = self.rng.choice(others)
            elif len(slot.order.lines) >= 25:
                slot.layout = "compact"
            else:
                slot.layout = options[counters[language] % 2]  # compact is for long orders
                counters[language] += 1

    def document(self, slot: Slot, seed: int) -> Document:
        header, specs = self._content(slot)
        slot.header, slot.specs = header, specs
        doc = compose(self.rng, seed, header, specs)
        if slot.kind in HEADER_PLANTS:
            plant_header(str(slot.kind), doc, slot.seller, self.rng)
        if slot.kind in _PRINTS_ORDER and slot.kind != Reason.ORDER_NOT_FOUND:
            doc.invoice.order_number = slot.order.number
        if slot.kind == Reason.CREDIT_NOTE and slot.original and slot.original.header:
            make_credit_note(doc, self.rng, kind=InvoiceType.CREDIT_NOTE,
                             preceding=slot.original.header.invoice_number)
        slot.order_printed = doc.invoice.order_number is not None
        hide_line_rates(doc)
        maybe_breakdown(doc, self.breakdown, mixed=0.0)  # its own stream: the rest as before
        settle_breakdown(doc)
        return doc

    def _content(self, slot: Slot) -> tuple[Header, list[LineSpec]]:
        original = slot.original
        if original is not None and original.header is not None and slot.kind == Reason.CREDIT_NOTE:
            later = original.header.issue_date + timedelta(days=self.rng.randint(3, 25))
            return replace(original.header, layout=slot.layout, issue_date=later), list(
                original.specs)  # the whole invoice given back
        if original is not None and original.header is not None and slot.kind in COPIES:
            number = original.header.invoice_number
            if slot.kind == Reason.SUSPECTED_DUPLICATE:
                number = self.next_number(slot.seller, original.header.issue_date.year)
            return replace(original.header, layout=slot.layout,
                           invoice_number=number), list(original.specs)
        issue = slot.order.received_date + timedelta(days=self.rng.randint(0, 10))
        if original is not None:  # split over-billing: bill part of what was not received
            issue += timedelta(days=20)
        header = Header(slot.seller, self.buyer, slot.layout, issue,
                        self.next_number(slot.seller, issue.year), slot.order.number,
                        slot.seller.language)
        return header, self._specs(slot)

    def _specs(self, slot: Slot) -> list[LineSpec]:
        if slot.original is not None:
            return [LineSpec(x.description, Decimal(self.rng.randint(1, int(x.quantity
                                                                          - x.received))),
                             x.unit_price, x.tax_rate)
                    for x in slot.order.lines if x.received < x.quantity]
        specs = od.bill(slot.order, fraction=slot.fraction)
        if slot.kind in LINE_PLANTS:
            specs = plant_lines(str(slot.kind), slot.order, specs, self.rng)
        return specs


def _prepare_original(original: Slot, kind: str, rng: random.Random) -> None:
    """Make room for a later invoice on the same order without over-billing it."""
    if kind == Reason.CREDIT_NOTE:
        return  # credited in full: the original bills as it would
    if kind in COPIES:  # the original bills half; the copy bills the other half
        for line in original.order.lines:
            line.quantity *= 2
            line.received *= 2
        original.fraction = Decimal("0.5")
        return
    if all(line.received == line.quantity for line in original.order.lines):
        line = rng.choice(original.order.lines)
        line.received = Decimal(rng.randint(1, int(line.quantity) - 1))

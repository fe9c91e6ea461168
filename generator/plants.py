"""Planted problems: each reason code's change to an invoice's lines or printed header."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from arflow.reasons import Reason
from generator import fmt, ids
from generator.model import Company, Document, LineSpec
from generator.orders import Order

LINE_PLANTS = (Reason.PRICE_VARIANCE, Reason.QUANTITY_VARIANCE, Reason.OVER_BILLING)
HEADER_PLANTS = (
    Reason.ARITHMETIC_MISMATCH, Reason.MISSING_FIELD, Reason.INVALID_DATES,
    Reason.INVALID_TAX_ID, Reason.INVALID_IBAN, Reason.BANK_DETAILS_CHANGED,
    Reason.CURRENCY_MISMATCH, Reason.ORDER_NOT_FOUND,
)
OTHER_PLANTS = (Reason.UNKNOWN_PARTY, Reason.DUPLICATE_INVOICE, Reason.SUSPECTED_DUPLICATE,
                Reason.CREDIT_NOTE)
SUPPORTED = tuple(str(r) for r in (*LINE_PLANTS, *HEADER_PLANTS, *OTHER_PLANTS))
# Plants whose invoice needs the seller's IBAN on the page.
NEEDS_IBAN = (Reason.INVALID_IBAN, Reason.BANK_DETAILS_CHANGED)

# Codes a correct pipeline may reasonably add to the planted one (follow-on findings).
ALSO_ACCEPTABLE: dict[str, tuple[str, ...]] = {
    Reason.ARITHMETIC_MISMATCH: (Reason.TOTAL_VARIANCE,),
    Reason.INVALID_TAX_ID: (Reason.UNKNOWN_PARTY,),
    Reason.INVALID_IBAN: (Reason.BANK_DETAILS_CHANGED,),
    Reason.CURRENCY_MISMATCH: (Reason.TOTAL_VARIANCE, Reason.PRICE_VARIANCE),
    Reason.PRICE_VARIANCE: (Reason.TOTAL_VARIANCE,),
    Reason.QUANTITY_VARIANCE: (Reason.OVER_BILLING, Reason.TOTAL_VARIANCE),
    Reason.OVER_BILLING: (Reason.TOTAL_VARIANCE,),
    Reason.MISSING_FIELD: (Reason.LOW_CONFIDENCE,),
}
_OTHER_CURRENCY = {"EUR": "USD", "USD": "EUR", "GBP": "EUR"}


def plant_lines(kind: str, order: Order, specs: list[LineSpec],
                rng: random.Random) -> list[LineSpec]:
    """Change one billed line: +5 % price, more than ordered, or more than received."""
    if kind == Reason.PRICE_VARIANCE:
        index = rng.randrange(len(specs))
        price = fmt.money(specs[index].unit_price * Decimal("1.05"))
        return _replace_at(specs, index, replace(specs[index], unit_price=price))
    by_description = {line.description: line for line in order.lines}
    if kind == Reason.QUANTITY_VARIANCE:
        index = rng.randrange(len(specs))
        ordered = by_description[specs[index].description].quantity
        return _replace_at(specs, index, replace(specs[index],
                                                 quantity=ordered + rng.randint(1, 5)))
    short = [i for i, s in enumerate(specs)
             if by_description[s.description].received < by_description[s.description].quantity]
    index = rng.choice(short)
    line = by_description[specs[index].description]
    extra = rng.randint(1, int(line.quantity - line.received))
    return _replace_at(specs, index, replace(specs[index], quantity=line.received + extra))


def _replace_at(specs: list[LineSpec], index: int, spec: LineSpec) -> list[LineSpec]:
    return [*specs[:index], spec, *specs[index + 1 :]]


def plant_header(kind: str, doc: Document, seller: Company, rng: random.Random) -> None:
    """Change what the invoice prints so it carries the planted problem."""
    inv = doc.invoice
    assert inv.total is not None and inv.issue_date is not None
    if kind == Reason.ARITHMETIC_MISMATCH:
        inv.total += Decimal(rng.randint(100, 9000)) / 100
    elif kind == Reason.MISSING_FIELD:
        inv.invoice_number = None
    elif kind == Reason.INVALID_DATES:
        inv.due_date = inv.issue_date - timedelta(days=rng.randint(5, 40))
    elif kind == Reason.INVALID_TAX_ID:
        inv.seller.tax_id = ids.corrupt_tax_id(inv.seller.tax_id or seller.tax_id, rng)
    elif kind == Reason.INVALID_IBAN:
        assert seller.iban is not None
        inv.iban = ids.corrupt_iban(seller.iban, rng)
    elif kind == Reason.BANK_DETAILS_CHANGED:
        inv.iban = ids.iban_for(rng, seller.country)
    elif kind == Reason.CURRENCY_MISMATCH:
        inv.currency = _OTHER_CURRENCY[inv.currency or seller.currency]
    elif kind == Reason.ORDER_NOT_FOUND:
        inv.order_number = f"PO-2026-{rng.randint(9000, 9999):04d}"

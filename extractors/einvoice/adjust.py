"""Allowances, charges and price base quantities: what makes an e-invoice line's amount differ
from quantity × price and its subtotal from the sum of its lines (EN 16931 BG-20/21, BG-27/28,
BT-149). Only stated values are combined; nothing is estimated."""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import Element

from extractors.einvoice.xmlsafe import text, to_decimal
from models.domain import InvoiceLine


def per_unit(price: Decimal | None, base: Decimal | None, line: InvoiceLine) -> Decimal | None:
    """The price of one unit when the price is stated per `base` units (BT-149). Some senders
    fill the base quantity without meaning it (a price of 49 "per 49 months" on a line of 3 ×
    49): the reading the line's own amount agrees with wins."""
    if price is None or base is None or base in (0, 1):
        return price
    if line.quantity is None or line.amount is None:
        return price / base
    extra = line.adjustment or Decimal(0)
    per = price / base
    if abs(line.quantity * per + extra - line.amount) <= abs(line.quantity * price + extra
                                                               - line.amount):
        return per
    return price


def net_adjustment(items: list[Element], amount: str) -> Decimal | None:
    """Charges less allowances of `items` (each with a ChargeIndicator: true for a charge);
    None when there are none."""
    total: Decimal | None = None
    for item in items:
        value = to_decimal(text(item, amount), "allowance or charge")
        if value is None:
            continue
        charge = (text(item, "ChargeIndicator", "ChargeIndicator/Indicator") or "").lower()
        total = (total or Decimal(0)) + (value if charge == "true" else -value)
    return total


def nonzero(value: Decimal | None) -> Decimal | None:
    """A stated total of allowances or charges; an explicit zero states none."""
    return value or None

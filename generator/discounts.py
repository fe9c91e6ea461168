"""Document-level discounts and charges (EN 16931 BT-107 / BT-108) on random invoices, opt-in.

``generate_documents(..., discounts=share)`` (``python -m generator documents --discounts
SHARE``; the benches' ``--discounts``) gives about that share of the documents a discount
("Descuento pronto pago 2%", "Trade discount 5%"), a shipping or handling charge ("Portes",
"Freight") or both, printed in the totals block between the lines' sum and the tax base:

    Subtotal                  1.000,00
    Dto. pronto pago 2%         -20,00
    Portes                       15,00
    Base imponible              995,00
    IVA 21%                     208,95
    Total                     1.203,95

A percentage discount is taken off each VAT rate's lines; a charge is taxed at the
document's highest rate. The ground truth keeps EN 16931's reading: ``allowances`` and
``charges`` are the sums of those rows (None without one), ``subtotal`` is the tax base
after them and ``total`` the tax base plus tax. English documents sometimes print no tax
base row (the tax and total follow the charges); their ``subtotal`` is still the tax base,
which the printed amounts state as total - tax. Spanish ones always print it, as the law
asks.

Every draw here comes from a stream of its own, seeded from the document's seed, so the
default share 0 leaves every document and its ground truth exactly as before.
"""

from __future__ import annotations

import random
from decimal import Decimal

from generator.fmt import money
from generator.model import AdjustmentStyle, Document, TaxLine, opted_in

_PERCENTS = (Decimal(2), Decimal(2), Decimal(3), Decimal(5), Decimal(10))
_DISCOUNTS = {
    "es": ("Descuento", "Dto.", "Dto. pronto pago", "Descuento pronto pago", "Dto. comercial",
           "Rappel"),
    "en": ("Discount", "Trade discount", "Early payment discount", "Volume rebate"),
}
_CHARGES = {
    "es": ("Portes", "Gastos de envío", "Transporte", "Embalaje"),
    "en": ("Shipping", "Freight", "Handling", "Shipping and handling", "Delivery charge"),
}
_CHARGE_AMOUNTS = tuple(Decimal(v) for v in ("4.95", "9.90", "12.50", "15.00", "18.75", "25.00",
                                             "35.00", "49.00", "60.00"))
# a charge as a share of the lines, never a discount's share (rows that cancel out tie nothing)
_CHARGE_PERCENTS = (Decimal(1), Decimal("1.5"), Decimal("2.5"))
_GROSS = {"es": ("Subtotal", "Suma", "Importe bruto"),
          "en": ("Subtotal", "Goods total", "Gross amount")}
_BASE = {"es": ("Base imponible",),
         "en": ("Net amount", "Total excl. tax", "Taxable amount", "Subtotal")}
_NO_BASE_ROW = {"es": 0.0, "en": 0.35}  # share printing no tax base row


def maybe_discounts(doc: Document, share: float) -> bool:
    """Give ``doc`` a discount and/or a charge with probability ``share``; True if it did."""
    rng = opted_in("discounts", doc, share)
    return rng is not None and make_adjustments(doc, rng)


Row = tuple[str, dict[Decimal, Decimal]]  # printed label, amount per VAT rate (allowances < 0)


def make_adjustments(doc: Document, rng: random.Random) -> bool:
    """Draw ``doc``'s discount and charge rows, fix its tax base, tax and total, and say how
    its totals block prints them; False (``doc`` unchanged) when every row came to 0."""
    roll = rng.random()
    rows = _discount_rows(doc, rng) if roll < 0.7 else []
    rows += _charge_rows(doc, rng) if roll >= 0.45 else []
    printed = [(name, sum(parts.values(), Decimal(0))) for name, parts in rows]
    printed = [(name, value) for name, value in printed if value]
    if not printed:
        return False
    bases = {t.rate: t.base for t in doc.tax_lines}
    for _, parts in rows:
        for rate, value in parts.items():
            bases[rate] += value
    doc.tax_lines = [TaxLine(rate, base, money(base * rate / 100)) for rate, base in bases.items()]
    inv = doc.invoice
    allowances = [-value for _, value in printed if value < 0]
    charges = [value for _, value in printed if value > 0]
    inv.allowances = sum(allowances, Decimal(0)) if allowances else None
    inv.charges = sum(charges, Decimal(0)) if charges else None
    inv.subtotal = sum((t.base for t in doc.tax_lines), Decimal(0))
    inv.tax_total = sum((t.tax for t in doc.tax_lines), Decimal(0))
    inv.total = inv.subtotal + inv.tax_total
    gross = rng.choice(_GROSS[doc.language])
    base = rng.choice([b for b in _BASE[doc.language] if b != gross])
    doc.adjustments = AdjustmentStyle(
        gross_label=gross, rows=tuple(printed),
        base_label=None if rng.random() < _NO_BASE_ROW[doc.language] else base,
        negative=rng.random() < 0.7)
    return True


def _discount_rows(doc: Document, rng: random.Random) -> list[Row]:
    """One or two percentage discounts, each off every rate's lines."""
    names = rng.sample(_DISCOUNTS[doc.language], 2 if rng.random() < 0.2 else 1)
    out: list[Row] = []
    for name in names:
        percent = rng.choice(_PERCENTS)
        out.append((f"{name} {percent}%",
                    {t.rate: -money(t.base * percent / 100) for t in doc.tax_lines}))
    return out


def _charge_rows(doc: Document, rng: random.Random) -> list[Row]:
    """One or two charges at the highest rate: a fixed amount or a share of the lines."""
    rate = doc.tax_lines[0].rate
    lines = sum((t.base for t in doc.tax_lines), Decimal(0))
    names = rng.sample(_CHARGES[doc.language], 2 if rng.random() < 0.15 else 1)
    out: list[Row] = []
    for name in names:
        if rng.random() < 0.3:
            share = rng.choice(_CHARGE_PERCENTS)
            amount = max(money(lines * share / 100), Decimal("5.00"))
        else:
            amount = rng.choice(_CHARGE_AMOUNTS)
        out.append((name, {rate: amount}))
    return out

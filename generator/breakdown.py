"""The VAT breakdown (EN 16931 BG-23: base, rate and tax per rate) printed, opt-in.

``generate_documents(..., breakdown=share)`` (``python -m generator documents --breakdown
SHARE``; the benches' ``--breakdown``) prints about that share of the taxed documents' VAT
breakdown with its bases, as Spanish invoices must and many others do:

- a table above or beside the totals block, one row per rate, under column labels in the
  document's language ("Base imponible | % IVA | Cuota IVA", "VAT rate | Net | VAT | Gross"),
  the rate as "21%", "21 %", "21,00%" or a bare "21,00" under a "%" label; the totals block
  then keeps its row per rate or prints one tax row ("Total IVA");
- or the totals block's tax rows with their base: "IVA 21% s/ 1.000,00   210,00",
  "VAT 20% on £1,000.00   £200.00" (not in the boxed layout, whose labels stand over
  their values).

Half of the documents drawn that have one rate and two lines or more get a second, reduced
rate on some of their lines (Spain 10 % or 4 %, Germany 7 %, France 10 %, the UK 5 %), so
that tables of several rows are common; their lines then print their rates. The ground truth
``tax_breakdown`` is the rows printed (``settle_breakdown``, after any discount or charge has
moved the bases). Documents not drawn keep no ``tax_breakdown`` in their ground truth, even
those with several rates whose totals block prints a tax row per rate without its base.

Every draw here comes from a stream of its own, seeded from the document's seed, so the
default share 0 leaves every document and its ground truth exactly as before.
"""

from __future__ import annotations

import random
from decimal import Decimal

from generator.model import BreakdownStyle, Document, opted_in, tax_breakdown
from models.domain import TaxSubtotal

_REDUCED = {"ES": (Decimal(10), Decimal(4)), "DE": (Decimal(7),), "FR": (Decimal(10),),
            "GB": (Decimal(5),)}
_MIXED = 0.5  # share of the one-rate documents drawn that get a second rate
_COLUMNS = {
    "es": {"base": ("Base imponible", "Base"), "rate": ("% IVA", "Tipo IVA", "IVA %", "Tipo"),
           "tax": ("Cuota IVA", "Cuota", "Importe IVA"), "gross": ("Total",)},
    "en": {"base": ("Net amount", "Net", "Taxable amount"),
           "rate": ("VAT rate", "Rate", "VAT %", "Tax rate"),
           "tax": ("VAT", "VAT amount", "Tax amount"), "gross": ("Gross", "Total")},
}
_ORDERS = (("base", "rate", "tax"), ("rate", "base", "tax"), ("base", "rate", "tax", "gross"),
           ("rate", "base", "tax", "gross"))
_RATES = ("percent", "spaced", "places", "bare")
_JOINERS = {"es": ("s/", "sobre"), "en": ("on",)}
_TAX_TOTAL = {"es": ("Total IVA", "Cuota IVA", "IVA"), "en": ("Total VAT", "VAT", "Tax")}


def eligible(doc: Document) -> bool:
    """A document that charges VAT: one with nothing to break down prints no breakdown."""
    return doc.invoice.tax_total is not None and doc.invoice.tax_total > 0


def maybe_breakdown(doc: Document, share: float, *, mixed: float = _MIXED) -> bool:
    """Print an eligible ``doc``'s VAT breakdown with probability ``share``; True if drawn.
    ``mixed``: the share of those given a second rate (0 for a scenario's invoices, whose
    orders state one rate)."""
    rng = opted_in("breakdown", doc, share) if eligible(doc) else None
    if rng is not None:
        make_breakdown(doc, rng, mixed=mixed)
    return rng is not None


def make_breakdown(doc: Document, rng: random.Random, *, mixed: float = _MIXED) -> None:
    """Maybe give ``doc`` a second rate, and draw how its breakdown is printed. Call
    `settle_breakdown` once its bases are final (after `generator.discounts`)."""
    if rng.random() < mixed:
        mix_rates(doc, rng)
    doc.breakdown = _table(doc, rng) if doc.layout == "boxes" or rng.random() < 0.7 else \
        BreakdownStyle(kind="rows", joiner=rng.choice(_JOINERS[doc.language]))


def mix_rates(doc: Document, rng: random.Random) -> bool:
    """Put a reduced rate on some of a one-rate document's lines (at least one line keeps
    each rate) and recompute its tax; False (``doc`` unchanged) when it cannot have two."""
    lines, taxes = doc.invoice.lines, doc.tax_lines
    if len(taxes) != 1 or len(lines) < 2 or doc.seller_country not in _REDUCED:
        return False
    rate, reduced = taxes[0].rate, rng.choice(_REDUCED[doc.seller_country])
    chosen = set(rng.sample(range(len(lines)), rng.randint(1, len(lines) - 1)))
    for index, line in enumerate(lines):
        line.tax_rate = reduced if index in chosen else rate
    doc.line_rates_printed = True
    doc.tax_lines = tax_breakdown(lines)
    inv = doc.invoice
    inv.tax_total = sum((t.tax for t in doc.tax_lines), Decimal(0))
    assert inv.subtotal is not None
    inv.total = inv.subtotal + inv.tax_total
    return True


def _table(doc: Document, rng: random.Random) -> BreakdownStyle:
    labels = _COLUMNS[doc.language]
    columns = tuple((key, rng.choice(labels[key])) for key in rng.choice(_ORDERS))
    rate_label = dict(columns)["rate"]
    notations = [r for r in _RATES if r != "bare" or "%" in rate_label]
    per_rate = rng.random() < 0.5
    return BreakdownStyle(
        kind="table", columns=columns, rate=rng.choice(notations),
        position="above" if doc.layout == "boxes" or rng.random() < 0.5 else "beside",
        per_rate=per_rate, tax_label="" if per_rate else rng.choice(_TAX_TOTAL[doc.language]))


def settle_breakdown(doc: Document) -> None:
    """The ground truth's ``tax_breakdown``: the rows ``doc`` prints, if it prints them."""
    if doc.breakdown is not None:
        doc.invoice.tax_breakdown = [TaxSubtotal(t.rate, t.base, t.tax) for t in doc.tax_lines]

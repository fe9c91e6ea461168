"""The VAT breakdown as each syntax states it (EN 16931 BG-23: rate, taxable base, tax amount).

Validation checks each row (base × rate = tax) and the rows against the totals, which is what
lets it check the tax of an invoice whose document-level allowances or charges fall in another
VAT category than its lines (`matching.checks`).
"""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import Element

from extractors.einvoice.xmlsafe import amount_in, find_all, text, to_decimal
from models.domain import TaxSubtotal


def ubl_breakdown(root: Element, currency: str | None) -> list[TaxSubtotal]:
    """TaxTotal/TaxSubtotal of the TaxTotal in the document currency (a second TaxTotal may
    restate the tax in the accounting currency, without rows)."""
    totals = find_all(root, "TaxTotal")
    chosen = next((t for t in totals if find_all(t, "TaxSubtotal")), None)
    return [TaxSubtotal(rate=to_decimal(text(row, "TaxCategory/Percent"), "tax rate"),
                        base=amount_in(row, "TaxableAmount", currency),
                        amount=amount_in(row, "TaxAmount", currency))
            for row in find_all(chosen, "TaxSubtotal")]


def cii_breakdown(settlement: Element | None, currency: str | None) -> list[TaxSubtotal]:
    """ApplicableTradeTax of the header settlement (ApplicablePercent in ZUGFeRD 1.0)."""
    return [TaxSubtotal(
        rate=to_decimal(text(row, "RateApplicablePercent", "ApplicablePercent"), "tax rate"),
        base=amount_in(row, "BasisAmount", currency),
        amount=amount_in(row, "CalculatedAmount", currency),
    ) for row in find_all(settlement, "ApplicableTradeTax")]


def facturae_breakdown(invoice: Element | None) -> list[TaxSubtotal]:
    """Invoice-level TaxesOutputs; an equivalence surcharge joins its row's rate and tax, as
    TotalTaxOutputs counts it."""
    out = []
    for row in find_all(invoice, "TaxesOutputs/Tax"):
        rate = to_decimal(text(row, "TaxRate"), "tax rate")
        amount = to_decimal(text(row, "TaxAmount/TotalAmount"), "tax amount")
        surcharge = to_decimal(text(row, "EquivalenceSurcharge"), "equivalence surcharge")
        extra = to_decimal(text(row, "EquivalenceSurchargeAmount/TotalAmount"), "surcharge")
        out.append(TaxSubtotal(rate=_plus(rate, surcharge),
                               base=to_decimal(text(row, "TaxableBase/TotalAmount"), "base"),
                               amount=_plus(amount, extra)))
    return out


def fatturapa_breakdown(body: Element | None) -> list[TaxSubtotal]:
    """DatiRiepilogo rows (AliquotaIVA, ImponibileImporto, Imposta)."""
    return [TaxSubtotal(rate=to_decimal(text(row, "AliquotaIVA"), "tax rate"),
                        base=to_decimal(text(row, "ImponibileImporto"), "base"),
                        amount=to_decimal(text(row, "Imposta"), "tax amount"))
            for row in find_all(body, "DatiBeniServizi/DatiRiepilogo")]


def _plus(value: Decimal | None, extra: Decimal | None) -> Decimal | None:
    """`value` plus `extra` when there is an extra; None stays None (nothing made up)."""
    if value is None or extra is None:
        return value
    return value + extra

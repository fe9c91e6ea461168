"""Spanish Facturae 3.2.x (FACe / B2B). Only the first invoice of a batch file is read.

The invoice number is ``InvoiceNumber``, prefixed by ``InvoiceSeriesCode`` and a hyphen when a
series is given (Spanish invoices are identified by series + number). ``total`` is
``InvoiceTotal`` (tax inclusive, before IRPF withholding); the amount due after withholding
is ``TotalExecutableAmount`` and is not a contract field; the IRPF withheld is
``TotalTaxesWithheld`` (``withholding``). A line's ``tax_rate`` is the output tax it bears,
as ``TotalTaxOutputs`` counts it: the VAT rate plus any recargo de equivalencia
(``EquivalenceSurcharge``, 21 + 5.2 for a retailer under that regime)."""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import Element

from extractors.einvoice.adjust import nonzero
from extractors.einvoice.breakdown import facturae_breakdown
from extractors.einvoice.doctype import invoice_type
from extractors.einvoice.xmlsafe import (
    clean_iban,
    find,
    find_all,
    join_address,
    text,
    to_date,
    to_decimal,
)
from models.domain import Invoice, InvoiceLine, Party


def parse_facturae(root: Element) -> Invoice:
    inv = find(root, "Invoices/Invoice")
    totals = find(inv, "InvoiceTotals")
    installment = find(inv, "PaymentDetails/Installment")
    header = find(inv, "InvoiceHeader")
    return Invoice(
        invoice_number=_number(header),
        issue_date=to_date(text(inv, "InvoiceIssueData/IssueDate")),
        due_date=to_date(text(installment, "InstallmentDueDate")),
        currency=text(inv, "InvoiceIssueData/InvoiceCurrencyCode"),
        seller=_party(find(root, "Parties/SellerParty")),
        buyer=_party(find(root, "Parties/BuyerParty")),
        order_number=text(inv, "Items/InvoiceLine/ReceiverTransactionReference"),
        subtotal=to_decimal(text(totals, "TotalGrossAmountBeforeTaxes")),
        tax_total=to_decimal(text(totals, "TotalTaxOutputs")),
        total=to_decimal(text(totals, "InvoiceTotal")),
        withholding=nonzero(to_decimal(text(totals, "TotalTaxesWithheld"))),
        allowances=nonzero(to_decimal(text(totals, "TotalGeneralDiscounts"))),
        charges=nonzero(to_decimal(text(totals, "TotalGeneralSurcharges"))),
        iban=clean_iban(text(installment, "AccountToBeCredited/IBAN")),
        payment_terms=text(installment, "CollectionAdditionalInformation"),
        lines=[_line(item) for item in find_all(inv, "Items/InvoiceLine")],
        invoice_type=invoice_type(text(header, "InvoiceClass")),
        preceding_invoice=_number(find(header, "Corrective")),
        tax_breakdown=facturae_breakdown(inv),
    )


def _number(header: Element | None) -> str | None:
    number = text(header, "InvoiceNumber")
    series = text(header, "InvoiceSeriesCode")
    return f"{series}-{number}" if series and number else number


def _party(el: Element | None) -> Party:
    if el is None:
        return Party()
    entity = find(el, "LegalEntity", "Individual")
    addr = find(entity, "AddressInSpain", "OverseasAddress")
    return Party(
        name=_name(entity),
        tax_id=text(el, "TaxIdentification/TaxIdentificationNumber"),
        address=join_address(
            text(addr, "Address"),
            " ".join(p for p in (text(addr, "PostCode"), text(addr, "Town")) if p) or None,
            text(addr, "PostCodeAndTown"),
            text(addr, "Province"),
            text(addr, "CountryCode"),
        ),
    )


def _name(entity: Element | None) -> str | None:
    corporate = text(entity, "CorporateName")
    if corporate:
        return corporate
    parts = (text(entity, "Name"), text(entity, "FirstSurname"), text(entity, "SecondSurname"))
    return " ".join(p for p in parts if p) or None


def _line(item: Element) -> InvoiceLine:
    return InvoiceLine(
        description=text(item, "ItemDescription"),
        quantity=to_decimal(text(item, "Quantity"), "quantity"),
        unit_price=to_decimal(text(item, "UnitPriceWithoutTax"), "unit price"),
        amount=to_decimal(text(item, "GrossAmount", "TotalCost"), "line amount"),
        tax_rate=_output_rate(item),
        adjustment=_line_adjustment(item),
    )


def _output_rate(item: Element) -> Decimal | None:
    """The line's output tax rate: each tax's rate plus its equivalence surcharge, summed over
    the line's output taxes (TotalTaxOutputs counts both); None when no rate is stated."""
    total: Decimal | None = None
    for tax in find_all(item, "TaxesOutputs/Tax"):
        rate = to_decimal(text(tax, "TaxRate"), "tax rate")
        if rate is None:
            continue
        surcharge = to_decimal(text(tax, "EquivalenceSurcharge"), "equivalence surcharge")
        total = (total or Decimal(0)) + rate + (surcharge or Decimal(0))
    return total


def _line_adjustment(item: Element) -> Decimal | None:
    """Line surcharges less line discounts: GrossAmount = TotalCost - discounts + charges."""
    found = [(to_decimal(text(el, "DiscountAmount"), "discount"), -1)
             for el in find_all(item, "DiscountsAndRebates/Discount")]
    found += [(to_decimal(text(el, "ChargeAmount"), "charge"), 1)
              for el in find_all(item, "Charges/Charge")]
    values = [sign * value for value, sign in found if value is not None]
    return sum(values, Decimal(0)) if values else None

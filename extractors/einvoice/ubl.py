"""OASIS UBL 2.1 Invoice and CreditNote (EN 16931 UBL binding, Peppol BIS Billing 3.0,
XRechnung UBL)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from extractors.einvoice.adjust import net_adjustment, nonzero, per_unit
from extractors.einvoice.breakdown import ubl_breakdown
from extractors.einvoice.doctype import invoice_type
from extractors.einvoice.xmlsafe import (
    amount_in,
    clean_iban,
    find,
    find_all,
    join_address,
    local_name,
    text,
    to_date,
    to_decimal,
)
from models.domain import Invoice, InvoiceLine, Party


def parse_ubl(root: Element) -> Invoice:
    currency = text(root, "DocumentCurrencyCode")
    totals = find(root, "LegalMonetaryTotal")
    credit_note = local_name(root.tag) == "CreditNote"
    line_tag = "CreditNoteLine" if credit_note else "InvoiceLine"
    return Invoice(
        invoice_number=text(root, "ID"),
        issue_date=to_date(text(root, "IssueDate")),
        due_date=to_date(text(root, "DueDate", "PaymentMeans/PaymentDueDate")),
        currency=currency,
        seller=_party(find(root, "AccountingSupplierParty/Party")),
        buyer=_party(find(root, "AccountingCustomerParty/Party")),
        order_number=text(root, "OrderReference/ID"),
        subtotal=amount_in(totals, "TaxExclusiveAmount", currency),
        tax_total=amount_in(root, "TaxTotal/TaxAmount", currency),
        total=amount_in(totals, "TaxInclusiveAmount", currency),
        iban=_iban(root),
        payment_terms=text(root, "PaymentTerms/Note"),
        lines=[_line(item) for item in find_all(root, line_tag)],
        invoice_type=invoice_type(text(root, "InvoiceTypeCode", "CreditNoteTypeCode"),
                                  root_is_credit_note=credit_note),
        preceding_invoice=text(root, "BillingReference/InvoiceDocumentReference/ID"),
        allowances=nonzero(amount_in(totals, "AllowanceTotalAmount", currency)),
        charges=nonzero(amount_in(totals, "ChargeTotalAmount", currency)),
        tax_breakdown=ubl_breakdown(root, currency),
    )


def _party(el: Element | None) -> Party:
    if el is None:
        return Party()
    addr = find(el, "PostalAddress")
    return Party(
        name=text(el, "PartyLegalEntity/RegistrationName", "PartyName/Name"),
        tax_id=_tax_id(el),
        address=join_address(
            text(addr, "StreetName"),
            text(addr, "AdditionalStreetName"),
            text(addr, "AddressLine/Line"),
            " ".join(p for p in (text(addr, "PostalZone"), text(addr, "CityName")) if p) or None,
            text(addr, "Country/IdentificationCode"),
        ),
    )


def _tax_id(party: Element) -> str | None:
    """CompanyID of the VAT tax scheme (BT-31/BT-48) preferred, else of any tax scheme."""
    schemes = find_all(party, "PartyTaxScheme")
    for scheme in schemes:
        if (text(scheme, "TaxScheme/ID") or "").upper() == "VAT" and text(scheme, "CompanyID"):
            return text(scheme, "CompanyID")
    for scheme in schemes:
        if text(scheme, "CompanyID"):
            return text(scheme, "CompanyID")
    return None


def _iban(root: Element) -> str | None:
    for acct in find_all(root, "PaymentMeans/PayeeFinancialAccount"):
        iban = clean_iban(text(acct, "ID"))
        if iban:
            return iban
    return None


def _line(item: Element) -> InvoiceLine:
    line = InvoiceLine(
        description=text(item, "Item/Name", "Item/Description"),
        quantity=to_decimal(text(item, "InvoicedQuantity", "CreditedQuantity"), "quantity"),
        amount=to_decimal(text(item, "LineExtensionAmount"), "line amount"),
        tax_rate=to_decimal(text(item, "Item/ClassifiedTaxCategory/Percent"), "tax rate"),
        adjustment=net_adjustment(find_all(item, "AllowanceCharge"), "Amount"),
    )
    line.unit_price = per_unit(to_decimal(text(item, "Price/PriceAmount"), "unit price"),
                               to_decimal(text(item, "Price/BaseQuantity"), "base quantity"),
                               line)
    return line

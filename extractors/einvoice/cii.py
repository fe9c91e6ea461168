"""UN/CEFACT Cross Industry Invoice: CII D16B (Factur-X / ZUGFeRD 2.x / XRechnung CII) and
ZUGFeRD 1.0 ``CrossIndustryDocument``. Both share local element names for most business
terms; where 1.0 named a group differently the paths list both spellings (2.x first)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from extractors.einvoice.adjust import net_adjustment, nonzero, per_unit
from extractors.einvoice.breakdown import cii_breakdown
from extractors.einvoice.doctype import invoice_type
from extractors.einvoice.xmlsafe import (
    amount_in,
    clean_iban,
    find,
    find_all,
    join_address,
    text,
    to_date,
    to_decimal,
)
from models.domain import Invoice, InvoiceLine, Party

_DOC = ("ExchangedDocument", "HeaderExchangedDocument")
_TX = ("SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
_AGREEMENT = ("ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement")
_SETTLEMENT = ("ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement")
_DUE_DATE = "SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString"
_PAYEE_ACCOUNT = "SpecifiedTradeSettlementPaymentMeans/PayeePartyCreditorFinancialAccount"
_LINE_AGREEMENT = ("SpecifiedLineTradeAgreement", "SpecifiedSupplyChainTradeAgreement")
_NET_PRICE = "NetPriceProductTradePrice"
_LINE_SETTLEMENT = ("SpecifiedLineTradeSettlement", "SpecifiedSupplyChainTradeSettlement")
_SUMMATION = (
    "SpecifiedTradeSettlementHeaderMonetarySummation",
    "SpecifiedTradeSettlementMonetarySummation",
)


def parse_cii(root: Element) -> Invoice:
    doc = find(root, *_DOC)
    tx = find(root, *_TX)
    agreement = find(tx, *_AGREEMENT)
    settlement = find(tx, *_SETTLEMENT)
    summation = find(settlement, *_SUMMATION)
    currency = text(settlement, "InvoiceCurrencyCode")
    return Invoice(
        invoice_number=text(doc, "ID"),
        issue_date=to_date(text(doc, "IssueDateTime/DateTimeString")),
        due_date=to_date(text(settlement, _DUE_DATE)),
        currency=currency,
        seller=_party(find(agreement, "SellerTradeParty")),
        buyer=_party(find(agreement, "BuyerTradeParty")),
        order_number=text(
            agreement,
            "BuyerOrderReferencedDocument/IssuerAssignedID",
            "BuyerOrderReferencedDocument/ID",
        ),
        subtotal=amount_in(summation, "TaxBasisTotalAmount", currency),
        tax_total=amount_in(summation, "TaxTotalAmount", currency),
        total=amount_in(summation, "GrandTotalAmount", currency),
        iban=_iban(settlement),
        payment_terms=text(settlement, "SpecifiedTradePaymentTerms/Description"),
        lines=[_line(item) for item in find_all(tx, "IncludedSupplyChainTradeLineItem")],
        invoice_type=invoice_type(text(doc, "TypeCode")),
        preceding_invoice=text(settlement, "InvoiceReferencedDocument/IssuerAssignedID"),
        allowances=nonzero(amount_in(summation, "AllowanceTotalAmount", currency)),
        charges=nonzero(amount_in(summation, "ChargeTotalAmount", currency)),
        tax_breakdown=cii_breakdown(settlement, currency),
    )


def _party(el: Element | None) -> Party:
    if el is None:
        return Party()
    addr = find(el, "PostalTradeAddress")
    return Party(
        name=text(el, "Name"),
        tax_id=_tax_id(el),
        address=join_address(
            text(addr, "LineOne"),
            text(addr, "LineTwo"),
            text(addr, "LineThree"),
            " ".join(p for p in (text(addr, "PostcodeCode"), text(addr, "CityName")) if p) or None,
            text(addr, "CountryID"),
        ),
    )


def _tax_id(party: Element) -> str | None:
    """VAT id (schemeID VA) preferred, then the national tax number (FC)."""
    regs = [r for r in find_all(party, "SpecifiedTaxRegistration/ID") if text(r)]
    for scheme in ("VA", "FC"):
        for reg in regs:
            if reg.get("schemeID") == scheme:
                return text(reg)
    return text(regs[0]) if regs else None


def _iban(settlement: Element | None) -> str | None:
    for acct in find_all(settlement, _PAYEE_ACCOUNT):
        iban = clean_iban(text(acct, "IBANID"))
        if iban:
            return iban
    return None


def _line(item: Element) -> InvoiceLine:
    line = InvoiceLine(
        description=text(item, "SpecifiedTradeProduct/Name", "SpecifiedTradeProduct/Description"),
        quantity=to_decimal(
            text(
                item,
                "SpecifiedLineTradeDelivery/BilledQuantity",
                "SpecifiedSupplyChainTradeDelivery/BilledQuantity",
            ),
            "quantity",
        ),
        amount=to_decimal(
            text(
                item,
                "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount",
                "SpecifiedSupplyChainTradeSettlement/SpecifiedTradeSettlementMonetarySummation/LineTotalAmount",
            ),
            "line amount",
        ),
        tax_rate=to_decimal(
            text(
                item,
                "SpecifiedLineTradeSettlement/ApplicableTradeTax/RateApplicablePercent",
                "SpecifiedSupplyChainTradeSettlement/ApplicableTradeTax/ApplicablePercent",
            ),
            "tax rate",
        ),
        adjustment=net_adjustment(
            [el for path in _LINE_SETTLEMENT
             for el in find_all(item, f"{path}/SpecifiedTradeAllowanceCharge")], "ActualAmount"),
    )
    line.unit_price = per_unit(
        to_decimal(text(item, *(f"{a}/{_NET_PRICE}/ChargeAmount" for a in _LINE_AGREEMENT)),
                   "unit price"),
        to_decimal(text(item, *(f"{a}/{_NET_PRICE}/BasisQuantity" for a in _LINE_AGREEMENT)),
                   "base quantity"),
        line)
    return line

"""Retail invoices whose line amounts include the tax ("Prijs incl. BTW", a "Total" column
after the tax): checked as such, so a consistent one raises no ARITHMETIC_MISMATCH and an
inconsistent one still does; a row noting what the item above includes is not an item."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from arflow.reasons import Reason
from arflow.settings import Tolerances
from extractors.api import extract_file
from matching.checks import arithmetic
from models.domain import Invoice, InvoiceLine

CORPUS = Path(__file__).parent / "data" / "corpus"
D = Decimal


def test_coolblue_lines_with_tax_and_an_included_levy() -> None:
    """Five items priced with 21 % BTW (717.97 in all = the total; 593.36 without BTW), and
    "Incl. Thuiskopieheffing: Thuiskopie €3.50 ... € 4,24" under the iPad: part of its price."""
    invoice = extract_file(CORPUS / "coolblue1.pdf").invoice
    assert [ln.amount for ln in invoice.lines] == [D(a) for a in (
        "399.00", "69.99", "189.00", "14.99", "44.99")]
    assert "Thuiskopieheffing" in (invoice.lines[0].description or "")
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        D("593.36"), D("124.61"), D("717.97"))
    assert arithmetic(invoice, Tolerances()) == []


def test_flipkart_net_price_and_a_total_with_tax() -> None:
    """1 × 278.61 at 14.50 % = 319.00, the grand total (no subtotal printed)."""
    invoice = extract_file(CORPUS / "FlipkartInvoice.pdf").invoice
    [line] = invoice.lines
    assert (line.quantity, line.unit_price, line.amount, line.tax_rate) == (
        D(1), D("278.61"), D("319.00"), D("14.50"))
    assert arithmetic(invoice, Tolerances()) == []


def _retail(tax: str, second: str = "60.50") -> Invoice:
    lines = [InvoiceLine("Kettle", D(1), D("121.00"), D("121.00"), D(21)),
             InvoiceLine("Toaster", D(2), D("30.25"), D(second), D(21))]
    total = D("121.00") + D(second)
    return Invoice(invoice_number="R-1", currency="EUR", lines=lines, subtotal=D("150.00"),
                   tax_total=D(tax), total=total)


def test_tax_included_lines_are_still_checked() -> None:
    assert arithmetic(_retail("31.50"), Tolerances()) == []
    wrong_tax = {(p.code, p.field) for p in arithmetic(_retail("35.00"), Tolerances())}
    assert (Reason.ARITHMETIC_MISMATCH, "tax_total") in wrong_tax
    wrong_line = replace(_retail("31.50", second="61.50"), subtotal=D("150.83"),
                         tax_total=D("31.67"))
    fields = {p.field for p in arithmetic(wrong_line, Tolerances())}
    assert "lines[1].amount" in fields  # 2 × 30.25 is not 61.50, with tax or without


def test_net_lines_are_not_taken_for_tax_included() -> None:
    """Lines adding up to the subtotal are net: a line stated with its tax by mistake is
    found, though it would agree under tax-included amounts."""
    net = Invoice(invoice_number="N-1", currency="EUR", subtotal=D("150.00"),
                  tax_total=D("31.50"), total=D("181.50"),
                  lines=[InvoiceLine("Kettle", D(1), D("100.00"), D("121.00"), D(21)),
                         InvoiceLine("Toaster", D(1), D("29.00"), D("29.00"), D(21))])
    fields = {p.field for p in arithmetic(net, Tolerances())}
    assert fields == {"lines[0].amount"}

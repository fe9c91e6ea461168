"""E-invoice line tax rates read as the document's tax total counts them, so that a correct
e-invoice raises no ARITHMETIC_MISMATCH on its tax."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from arflow.settings import Tolerances
from extractors.einvoice import parse_einvoice
from matching.checks import arithmetic

DATA = Path(__file__).parent / "data" / "einvoice"
D = Decimal


def test_facturae_equivalence_surcharge_is_part_of_the_line_rate() -> None:
    # A sale to a retailer under the recargo de equivalencia: each line bears VAT 21 % plus a
    # 5.2 % surcharge, and TotalTaxOutputs (419.20) is 336.00 of VAT + 83.20 of surcharge.
    invoice = parse_einvoice((DATA / "facturae-invoice-vat-provider.facturae.xml").read_bytes())
    assert [(ln.amount, ln.tax_rate) for ln in invoice.lines] == [
        (D("1000.00"), D("26.20")), (D("600.00"), D("26.20"))]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        D("1600.00"), D("419.20"), D("2019.20"))
    assert arithmetic(invoice, Tolerances()) == []


def test_facturae_without_surcharge_keeps_the_vat_rate() -> None:
    invoice = parse_einvoice((DATA / "facturae-invoice-vat.facturae.xml").read_bytes())
    assert {ln.tax_rate for ln in invoice.lines} == {D("21.0")}
    assert arithmetic(invoice, Tolerances()) == []

"""Allowances, charges and price base quantities in real e-invoices: read as stated, so that a
correct e-invoice raises no ARITHMETIC_MISMATCH and an inconsistent one still does."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arflow.settings import Tolerances
from extractors.einvoice import parse_einvoice
from matching.checks import arithmetic
from models.domain import Invoice

DATA = Path(__file__).parent / "data" / "einvoice"
D = Decimal


def _read(name: str) -> Invoice:
    return parse_einvoice((DATA / name).read_bytes())


@pytest.mark.parametrize(("name", "allowances", "charges"), [
    ("peppol-base-example.xml", None, D(25)),                     # UBL document charge
    ("peppol-Allowance-example.xml", D(200), D(200)),             # UBL, and line allowances
    ("xml-rechnung-EN16931_Rabatte.cii.xml", D("14.73"), D("5.80")),  # CII, two VAT rates
    ("factur-x-akretion-basic.xml", D(9), D(14)),                 # CII, line allowances
])
def test_consistent_e_invoices_with_allowances_and_charges_add_up(
    name: str, allowances: Decimal | None, charges: Decimal | None,
) -> None:
    invoice = _read(name)
    assert (invoice.allowances, invoice.charges) == (allowances, charges)
    assert arithmetic(invoice, Tolerances()) == []


def test_a_charge_outside_every_vat_base_is_found() -> None:
    """gobl's Facturae IRPF sample: the lines (one with a line discount) and its 200.00 general
    surcharge add up to the subtotal, but the surcharge is in no VAT base: the breakdown's
    bases sum to 4037.00 against a subtotal of 4237.00, so the surcharge bears no VAT."""
    invoice = _read("facturae-invoice-vat-irpf.facturae.xml")
    assert (invoice.allowances, invoice.charges) == (None, D("200.00"))
    [problem] = arithmetic(invoice, Tolerances())
    assert (problem.field, problem.expected, problem.found) == ("subtotal", "4037.00", "4237.00")
    assert problem.message == "subtotal does not equal sum of the VAT breakdown's bases"


def test_line_allowances_and_charges_are_the_line_adjustment() -> None:
    lines = _read("peppol-Allowance-example.xml").lines
    assert (lines[0].quantity, lines[0].unit_price, lines[0].adjustment, lines[0].amount) == (
        D(10), D(410), D(-100), D("4000.00"))
    irpf = _read("facturae-invoice-vat-irpf.facturae.xml").lines[0]
    assert (irpf.quantity, irpf.unit_price, irpf.adjustment, irpf.amount) == (
        D(20), D(200), D("-200.00"), D("3800.00"))


def test_base_quantity_is_used_only_when_the_line_agrees() -> None:
    # CII_example9 states a price of 49 per 49 months on a line of 3 months for 147: the
    # base quantity is not meant, the price is per month.
    [line] = _read("en16931-CII_example9.xml").lines
    assert (line.quantity, line.unit_price, line.amount) == (D(3), D(49), D(147))


def test_an_inconsistent_line_is_still_found() -> None:
    # EN 16931's example 2 bills 2 laptops at 1273.00 (+12 charge, -12 allowance) for 1273.00.
    invoice = _read("en16931-ubl-tc434-example2.xml")
    [problem] = arithmetic(invoice, Tolerances())
    assert (problem.field, problem.expected, problem.found) == (
        "lines[0].amount", "2546.00", "1273.00")


def test_a_wrong_subtotal_is_found_with_its_charges_counted() -> None:
    invoice = _read("peppol-base-example.xml")
    invoice.subtotal = D(1300)  # the lines' sum, forgetting the 25 charge
    fields = {(p.field, p.expected) for p in arithmetic(invoice, Tolerances())}
    assert ("subtotal", "1325") in fields

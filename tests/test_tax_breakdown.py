"""The VAT breakdown (EN 16931 BG-23): read from every e-invoice syntax, checked row by row and
against the totals, stored, and read back for a re-check."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from arflow.reasons import Reason
from arflow.settings import Tolerances
from extractors.einvoice import parse_einvoice
from matching.checks import arithmetic
from matching.engine import evaluate_batch
from matching.types import Candidate, MasterData
from models import db, repo
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice, TaxSubtotal
from models.queries import to_domain
from tests.test_validate import clean_invoice, line

EINVOICE = Path(__file__).resolve().parent / "data" / "einvoice"
D = Decimal


def _read(name: str) -> Invoice:
    return parse_einvoice((EINVOICE / name).read_bytes())


@pytest.mark.parametrize(("name", "rows"), [
    ("peppol-base-example.xml", [("25.0", "1325", "331.25")]),  # UBL
    ("zugferd1-comfort.xml", [("7.00", "275.00", "19.25"), ("19.00", "198.00", "37.62")]),  # CII
    ("xml-rechnung-EN16931_Rechnungskorrektur.cii.xml",
     [("19.00", "-4.85", "-0.92"), ("7.00", "-2.82", "-0.20")]),
    # Facturae: VAT 21 % and its 5.2 % recargo de equivalencia on the same base, one row
    ("facturae-invoice-vat-provider.facturae.xml", [("26.20", "1600.00", "419.20")]),
    ("fatturapa-IT01234567890_FPA01.xml", [("22.00", "5.00", "1.10")]),
])
def test_breakdown_read_from_each_syntax(name: str, rows: list[tuple[str, str, str]]) -> None:
    invoice = _read(name)
    assert invoice.tax_breakdown == [TaxSubtotal(D(r), D(b), D(a)) for r, b, a in rows]
    assert not [p for p in arithmetic(invoice, Tolerances()) if p.field == "tax_total"]


def test_allowances_in_another_vat_category_than_the_line_add_up() -> None:
    """XRechnung 04.03a: one line at 19 %, allowances at 19 % and at 0 % (category E). Checked
    at the line's single rate, the tax looked wrong (expected 3833316.67 against the stated
    3933072.07); by the breakdown it adds up."""
    invoice = _read("xrechnung-04.03a-INVOICE_ubl.xml")
    assert invoice.allowances == D("989815.47")
    assert [r.rate for r in invoice.tax_breakdown] == [D(19), D(0)]
    assert arithmetic(invoice, Tolerances()) == []
    wrong = replace(invoice, tax_breakdown=[replace(invoice.tax_breakdown[0],
                                                    amount=D("3833316.67")),
                                            invoice.tax_breakdown[1]])
    found = {(p.code, p.field) for p in arithmetic(wrong, Tolerances())}
    assert found == {(Reason.ARITHMETIC_MISMATCH, "tax_breakdown[0].amount"),
                     (Reason.ARITHMETIC_MISMATCH, "tax_total")}


def _two_rates_with_a_discount(tax_10: str) -> Invoice:
    """Food at 10 % and tools at 21 % with a 10.00 discount on the food: a case the lines alone
    cannot check (the discount's rate is only in the breakdown)."""
    rows = [TaxSubtotal(D(10), D("90.00"), D(tax_10)), TaxSubtotal(D(21), D("50.00"), D("10.50"))]
    tax = D(tax_10) + D("10.50")
    return replace(clean_invoice(), lines=[line("Olive oil 5 l", "10", "10.00", "100.00", "10"),
                                           line("Steel bolts M8", "100", "0.50", "50.00")],
                   allowances=D("10.00"), subtotal=D("140.00"), tax_total=tax,
                   total=D("140.00") + tax, tax_breakdown=rows)


def test_a_wrong_tax_with_several_rates_and_a_discount_is_caught() -> None:
    assert arithmetic(_two_rates_with_a_discount("9.00"), Tolerances()) == []
    [problem] = arithmetic(_two_rates_with_a_discount("19.00"), Tolerances())
    assert (problem.field, problem.expected, problem.found) == (
        "tax_breakdown[0].amount", "9.00", "19.00")
    # without the breakdown no rate can be put on the discount, and the tax goes unchecked
    blind = replace(_two_rates_with_a_discount("19.00"), tax_breakdown=[])
    assert arithmetic(blind, Tolerances()) == []


def test_breakdown_bases_against_the_subtotal() -> None:
    invoice = replace(_two_rates_with_a_discount("9.00"), subtotal=D("150.00"),
                      total=D("169.50"))
    fields = {p.field for p in arithmetic(invoice, Tolerances())}
    assert fields == {"subtotal"}  # the lines less the discount and the breakdown both say 140


def test_breakdown_stored_and_read_back_for_a_recheck(db_session: Session) -> None:
    invoice = _read("xrechnung-04.03a-INVOICE_ubl.xml")
    [decision] = evaluate_batch([Candidate("x.xml", invoice)], MasterData.empty())
    assert Reason.ARITHMETIC_MISMATCH not in decision.reason_codes
    document = repo.create_document(db_session, sha256="b" * 64, source_name="x.xml",
                                    size_bytes=1)
    result = ExtractionResult(source="x.xml", status=ExtractionStatus.OK,
                              kind=DocumentKind.EINVOICE, invoice=invoice, pages=0)
    repo.save_extraction(db_session, document, result, decision)
    db_session.commit()
    stored = to_domain(db_session.scalars(select(db.Invoice)).one())
    assert stored.tax_breakdown == invoice.tax_breakdown
    [again] = evaluate_batch([Candidate("x.xml", stored)], MasterData.empty())
    assert again.reason_codes == decision.reason_codes
    assert Invoice.from_json(invoice.to_json()).tax_breakdown == invoice.tax_breakdown
    assert "tax_breakdown" not in clean_invoice().to_json()  # printed: no key, as before

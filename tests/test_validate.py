"""Validation: every reason code with a case that raises it and one that does not."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arflow.reasons import Reason
from arflow.settings import Tolerances
from matching.normalize import norm_invoice_number, norm_name, norm_order_number, norm_tax_id
from matching.types import ORDER_LINE_COLUMNS, MasterData
from matching.validate import validate
from models.domain import Invoice, InvoiceLine, Party

TODAY = date(2024, 6, 1)
ACME_TAX, ACME_IBAN = "B58378431", "ES9121000418450200051332"
OTHER_IBAN = "DE89370400440532013000"


def master(seen: list[dict[str, object]] | None = None, currency: str = "EUR") -> MasterData:
    parties = pd.DataFrame({
        "party_id": [1, 2], "name": ["Acme Supplies S.L.", "Globex Corporation"],
        "tax_id": [ACME_TAX, "DE136695976"], "iban": [ACME_IBAN, None], "email": [None, None],
    })
    lines = pd.DataFrame([
        (10, "PO-1001", ACME_TAX, "Acme Supplies", date(2024, 3, 1), currency, 1,
         "Steel bolts M8", Decimal(100), Decimal("0.50"), Decimal(21), Decimal(100), Decimal(0)),
        (11, "PO-1001", ACME_TAX, "Acme Supplies", date(2024, 3, 1), currency, 2,
         "Washers M8", Decimal(200), Decimal("0.10"), Decimal(21), Decimal(200), Decimal(0)),
    ], columns=list(ORDER_LINE_COLUMNS))
    seen_frame = pd.DataFrame(seen or [], columns=[
        "document_id", "seller_tax_id", "seller_name", "invoice_number", "total", "issue_date"])
    return MasterData(parties, lines, seen_frame)


def line(description: str, qty: str, price: str, amount: str, rate: str = "21") -> InvoiceLine:
    return InvoiceLine(description, Decimal(qty), Decimal(price), Decimal(amount), Decimal(rate))


def clean_invoice() -> Invoice:
    return Invoice(
        invoice_number="F-2024-001", issue_date=date(2024, 3, 10), due_date=date(2024, 4, 9),
        currency="EUR", seller=Party("Acme Supplies SL", "ES" + ACME_TAX),
        buyer=Party("Us S.A.", "A28015865"), order_number="PO 1001",
        subtotal=Decimal("70.00"), tax_total=Decimal("14.70"), total=Decimal("84.70"),
        iban=ACME_IBAN,
        lines=[line("Steel bolts M8", "100", "0.50", "50.00"),
               line("Washers M8", "200", "0.10", "20.00")],
    )


def codes(invoice: Invoice, data: MasterData | None = None) -> set[str]:
    return {p.code for p in validate(invoice, data or master(), Tolerances(), today=TODAY)}


def test_clean_invoice_has_no_findings() -> None:
    assert validate(clean_invoice(), master(), Tolerances(), today=TODAY) == []


@pytest.mark.parametrize("field", ["invoice_number", "issue_date", "currency", "total"])
def test_missing_required_field(field: str) -> None:
    inv = clean_invoice()
    setattr(inv, field, None)
    problems = validate(inv, master(), Tolerances(), today=TODAY)
    assert [p.field for p in problems if p.code == Reason.MISSING_FIELD] == [field]


def test_missing_seller_name_is_reported() -> None:
    inv = clean_invoice()
    inv.seller.name = None  # tax ID still identifies the party
    assert codes(inv) == {Reason.MISSING_FIELD}


def test_line_amount_mismatch_with_evidence() -> None:
    inv = clean_invoice()
    inv.lines[0].amount = Decimal("50.02")
    inv.subtotal, inv.total = Decimal("70.02"), Decimal("84.72")
    found = [p for p in validate(inv, master(), Tolerances(), today=TODAY)
             if p.code == Reason.ARITHMETIC_MISMATCH]
    assert [(p.field, p.expected, p.found) for p in found] == [
        ("lines[0].amount", "50.00", "50.02")]


def test_one_cent_rounding_per_line_is_allowed() -> None:
    inv = clean_invoice()
    inv.lines[0] = line("Steel bolts M8", "3", "0.333", "1.00")
    inv.subtotal = Decimal("21.00")
    inv.tax_total, inv.total = Decimal("4.41"), Decimal("25.41")
    assert Reason.ARITHMETIC_MISMATCH not in codes(inv)


@pytest.mark.parametrize(("field", "value"), [
    ("subtotal", Decimal("71.00")), ("total", Decimal("85.70")), ("tax_total", Decimal("15.70")),
])
def test_totals_that_do_not_add_up(field: str, value: Decimal) -> None:
    inv = clean_invoice()
    setattr(inv, field, value)
    problems = validate(inv, master(), Tolerances(), today=TODAY)
    assert field in {p.field for p in problems if p.code == Reason.ARITHMETIC_MISMATCH}


def test_tax_inconsistent_with_line_rates() -> None:
    inv = clean_invoice()
    inv.lines[1].tax_rate = Decimal(10)  # 50 × 21 % + 20 × 10 % = 12.50, printed 14.70
    problems = validate(inv, master(), Tolerances(), today=TODAY)
    assert [(p.field, p.expected) for p in problems if p.code == Reason.ARITHMETIC_MISMATCH] == [
        ("tax_total", "12.50")]


@pytest.mark.parametrize(("issue", "due"), [
    (date(1999, 12, 31), None), (date(2025, 6, 2), None), (date(2024, 3, 10), date(2024, 3, 9)),
])
def test_invalid_dates(issue: date, due: date | None) -> None:
    inv = clean_invoice()
    inv.issue_date, inv.due_date = issue, due
    assert Reason.INVALID_DATES in codes(inv)


def test_plausible_dates_at_the_edges() -> None:
    inv = clean_invoice()
    inv.issue_date, inv.due_date = date(2000, 1, 1), date(2025, 6, 1)  # today + 365 days
    assert Reason.INVALID_DATES not in codes(inv)


@pytest.mark.parametrize("tax_id", ["B58378432", "ES12345", "12-34567", "69-8429917"])
def test_invalid_tax_id(tax_id: str) -> None:
    inv = clean_invoice()
    inv.buyer.tax_id = tax_id
    assert codes(inv) == {Reason.INVALID_TAX_ID}


@pytest.mark.parametrize("tax_id", ["A28015865", "ESA28015865", "12345678Z", "X1234567L",
                                    "12-3456789", "DE136695976", "GB980780684"])
def test_valid_tax_ids_of_every_scheme(tax_id: str) -> None:
    inv = clean_invoice()
    inv.buyer.tax_id = tax_id
    assert codes(inv) == set()


def test_invalid_iban() -> None:
    inv = clean_invoice()
    inv.iban = "ES9121000418450200051333"
    assert codes(inv) == {Reason.INVALID_IBAN, Reason.BANK_DETAILS_CHANGED}


def test_unknown_party() -> None:
    inv = clean_invoice()
    inv.seller = Party("Initech Ltd", "B12345674")
    problems = validate(inv, master(), Tolerances(), today=TODAY)
    assert Reason.UNKNOWN_PARTY in {p.code for p in problems}


def test_party_found_by_fuzzy_name_without_tax_id() -> None:
    inv = clean_invoice()
    inv.seller = Party("ACME SUPPLIES, S.L.U.", None)
    assert Reason.UNKNOWN_PARTY not in codes(inv)
    inv.seller = Party("Acme Suplies", None)  # one letter off: ratio 96
    assert Reason.UNKNOWN_PARTY not in codes(inv)
    inv.seller = Party("Acme Industrial", None)
    assert Reason.UNKNOWN_PARTY in codes(inv)


def test_known_name_with_another_valid_tax_id_is_another_party() -> None:
    inv = clean_invoice()
    inv.seller = Party("Acme Supplies S.A.", "A28015865")  # valid CIF, not on file
    assert Reason.UNKNOWN_PARTY in codes(inv)
    inv.seller = Party("Acme Supplies S.A.", "B58378432")  # misprint of Acme's: still Acme
    assert codes(inv) == {Reason.INVALID_TAX_ID}


def test_two_parties_of_one_name_told_apart_by_the_misprinted_tax_id() -> None:
    data = master()
    twin = pd.DataFrame({"party_id": [3], "name": ["Acme Supplies GmbH"], "tax_id": ["DE136695976"],
                         "iban": [OTHER_IBAN], "email": [None]})
    data.parties = pd.concat([twin, data.parties], ignore_index=True)  # the twin comes first
    inv = clean_invoice()
    inv.seller = Party("Acme Supplies SL", "B58378432")  # one digit off Acme's B58378431
    assert codes(inv, data) == {Reason.INVALID_TAX_ID}  # Acme's IBAN and order: no other finding
    inv.seller = Party("Acme Supplies SL", None)  # nothing tells them apart
    assert Reason.UNKNOWN_PARTY in codes(inv, data)


def test_bank_details_changed() -> None:
    inv = clean_invoice()
    inv.iban = OTHER_IBAN
    problems = [p for p in validate(inv, master(), Tolerances(), today=TODAY)
                if p.code == Reason.BANK_DETAILS_CHANGED]
    assert [(p.expected, p.found) for p in problems] == [(ACME_IBAN, OTHER_IBAN)]


def test_same_iban_printed_with_spaces_is_not_a_change() -> None:
    inv = clean_invoice()
    inv.iban = "es91 2100 0418 4502 0005 1332"
    assert codes(inv) == set()


def test_currency_mismatch_against_the_matched_order() -> None:
    inv = clean_invoice()
    assert Reason.CURRENCY_MISMATCH in codes(inv, master(currency="USD"))
    assert Reason.CURRENCY_MISMATCH not in codes(inv, master(currency="EUR"))


def _seen(number: str, total: str = "84.70", day: date = date(2024, 3, 10)) -> dict[str, object]:
    return {"document_id": "doc-1", "seller_tax_id": ACME_TAX, "seller_name": "Acme",
            "invoice_number": number, "total": Decimal(total), "issue_date": day}


def test_duplicate_invoice_in_another_layout() -> None:
    problems = validate(clean_invoice(), master([_seen("f 2024/0001")]), Tolerances(),
                        today=TODAY)
    assert [p.code for p in problems] == [Reason.DUPLICATE_INVOICE]
    assert problems[0].found is not None and "doc-1" in problems[0].found


def test_same_number_from_another_seller_is_not_a_duplicate() -> None:
    other = {**_seen("F-2024-001"), "seller_tax_id": "DE136695976", "seller_name": "Globex"}
    assert codes(clean_invoice(), master([other])) == set()


def test_suspected_duplicate_same_seller_total_and_date() -> None:
    assert codes(clean_invoice(), master([_seen("F-2024-777")])) == {Reason.SUSPECTED_DUPLICATE}
    assert codes(clean_invoice(), master([_seen("F-2024-777", total="84.71")])) == set()
    assert codes(clean_invoice(), master([_seen("F-2024-777", day=date(2024, 3, 11))])) == set()


def test_all_findings_are_collected() -> None:
    inv = clean_invoice()
    inv.currency = None
    inv.iban = "ES0000000000000000000000"
    inv.due_date = date(2024, 1, 1)
    inv.total = Decimal("99.99")
    assert codes(inv) >= {Reason.MISSING_FIELD, Reason.INVALID_IBAN, Reason.INVALID_DATES,
                          Reason.ARITHMETIC_MISMATCH}


def test_validate_does_not_change_the_invoice() -> None:
    inv = clean_invoice()
    before = copy.deepcopy(inv)
    validate(inv, master(), Tolerances(), today=TODAY)
    assert inv == before


@pytest.mark.parametrize(("raw", "norm"), [
    ("F-2024-001", "F20241"), ("f 2024/0001", "F20241"), ("0012", "12"), ("INV-000", "INV0"),
])
def test_invoice_number_normalisation(raw: str, norm: str) -> None:
    assert norm_invoice_number(raw) == norm


@pytest.mark.parametrize(("raw", "norm"), [
    ("PO-000123", "123"), ("Pedido nº 0123", "123"), ("po 123", "123"), ("P.O. 123", "123"),
    ("Order #00045", "45"), ("Purchase Order No. 9", "9"), ("POLAR-12", "POLAR12"),
])
def test_order_number_normalisation(raw: str, norm: str) -> None:
    assert norm_order_number(raw) == norm


@given(st.text(max_size=40))
def test_normalisers_accept_any_text(text: str) -> None:
    for norm in (norm_invoice_number(text), norm_order_number(text), norm_tax_id(text)):
        assert norm == "" or (norm.isascii() and norm.isalnum())
    assert norm_name(text) == norm_name(text.upper())


def test_name_and_tax_id_normalisation() -> None:
    assert norm_name("Acme Supplies, S.L.") == norm_name("ACME SUPPLIES SL") == "ACME SUPPLIES"
    assert norm_name("Müller GmbH") == "MULLER"
    assert norm_tax_id("ES B-58378431") == norm_tax_id("b58378431") == "B58378431"

"""Parsers for amounts, currencies, dates, tax IDs and IBANs (examples + property tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iban as std_iban
from stdnum.es import cif, dni

from extractors.dates import parse_date, search_date
from extractors.ids import (
    find_iban,
    find_tax_ids,
    normalize_iban,
    normalize_tax_id,
    plausible_iban,
    plausible_tax_id,
)
from extractors.parse import detect_currency, find_amounts, parse_amount

MONEY = st.decimals(
    min_value=Decimal("0.00"), max_value=Decimal("999999999.99"), places=2,
    allow_nan=False, allow_infinity=False,
)


def en(value: Decimal) -> str:
    return f"{value:,.2f}"


def es(value: Decimal) -> str:
    return en(value).replace(",", "_").replace(".", ",").replace("_", ".")


def fr(value: Decimal) -> str:
    return en(value).replace(",", " ").replace(".", ",")


NOTATIONS: dict[str, Callable[[Decimal], str]] = {
    "en": en, "es": es, "fr": fr,
    "euro_prefix": lambda v: "€" + en(v),
    "euro_suffix": lambda v: es(v) + " €",
    "iso_prefix": lambda v: "USD " + en(v),
    "iso_suffix": lambda v: es(v) + " EUR",
    "nbsp": lambda v: fr(v).replace(" ", "\u00a0"),
}


@pytest.mark.parametrize("name", sorted(NOTATIONS))
@given(value=MONEY)
@settings(max_examples=60, deadline=None)
def test_amount_round_trips_in_every_notation(name: str, value: Decimal) -> None:
    assert parse_amount(NOTATIONS[name](value)) == value


@given(value=MONEY.filter(lambda v: v > 0))
@settings(max_examples=60, deadline=None)
def test_negative_amounts(value: Decimal) -> None:
    assert parse_amount("-" + en(value)) == -value
    assert parse_amount("(" + en(value) + ")") == -value
    assert parse_amount("-" + es(value) + " €") == -value


@pytest.mark.parametrize(("text", "expected"), [
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("1 234,56", "1234.56"),
    ("€1,234.56", "1234.56"), ("1.234,56 €", "1234.56"), ("USD 1,234.56", "1234.56"),
    ("-12.50", "-12.50"), ("(12.50)", "-12.50"), ("$144.00", "144.00"), ("19.0", "19.0"),
    ("1,5", "1.5"), ("-USD 47.90", "-47.90"),
])
def test_amount_examples(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["abc", "12 34", "1.2.3", "2026-02-14", "20%", "", "1,23,4"])
def test_not_amounts(text: str) -> None:
    assert parse_amount(text) is None


def test_decimal_mark_hint_settles_three_decimals() -> None:
    assert parse_amount("1.234") == Decimal(1234)
    assert parse_amount("1.234", decimal_mark=".") == Decimal("1.234")
    assert parse_amount("1,234", decimal_mark=",") == Decimal("1.234")


@pytest.mark.parametrize(("text", "code"), [
    ("€ 12", "EUR"), ("$5", "USD"), ("£3.00", "GBP"), ("Total EUR", "EUR"), ("12 USD", "USD"),
    ("CHF 10.00", "CHF"), ("euros", "EUR"), ("no money here", None), ("THE END", None),
])
def test_currency_detection(text: str, code: str | None) -> None:
    assert detect_currency(text) == code


DAY = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
ES_MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre"]
DE_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
             "September", "Oktober", "November", "Dezember"]


@given(day=DAY)
@settings(max_examples=80, deadline=None)
def test_date_formats_round_trip(day: date) -> None:
    day_first = [
        day.strftime("%d/%m/%Y"), day.strftime("%d-%m-%Y"), day.strftime("%d.%m.%Y"),
        f"{day.day} de {ES_MONTHS[day.month - 1]} de {day.year}",
        day.strftime("%B %d, %Y"), day.strftime("%d %b %Y"), day.strftime("%d-%b-%Y"),
        day.isoformat(), f"{day.day}. {DE_MONTHS[day.month - 1]} {day.year}",
    ]
    for text in day_first:
        assert parse_date(text) == day, text
    assert parse_date(day.strftime("%m/%d/%Y"), day_first=False) == day


def test_month_first_when_only_reading() -> None:
    assert parse_date("02/14/2026") == date(2026, 2, 14)
    assert parse_date("03/04/2026") == date(2026, 4, 3)
    assert parse_date("03/04/2026", day_first=False) == date(2026, 3, 4)


@pytest.mark.parametrize(("text", "day"), [
    (":07-03-201815:34:15", date(2018, 3, 7)),        # a four-digit year, then 15:34
    ("02/01/1611:41:47AM", date(2016, 1, 2)),         # a two-digit year, then 11:41
    (": 21/12/169:29:44AM", date(2016, 12, 21)),      # a two-digit year, then 9:29
    ("Date:2016-07-3113:49:10", date(2016, 7, 31)),   # year first, the day runs into 13:49
    ("01/05/2016-13:19:16", date(2016, 5, 1)),
])
def test_date_run_into_a_time(text: str, day: date) -> None:
    """OCR that loses the space between a receipt's date and time still gives the date."""
    found = search_date(text)
    assert found is not None and found[0] == day
    assert text[found[2]:].lstrip("-")[0].isdigit()  # the time is left out of the span


def test_run_on_digits_are_not_a_glued_time() -> None:
    assert parse_date("3/4/20155") is None
    assert parse_date("12/05/201") is None


def test_search_date_gives_span() -> None:
    found = search_date("Fecha de factura: 13/02/2026 (original)")
    assert found is not None and found[0] == date(2026, 2, 13)
    assert "Fecha de factura: 13/02/2026 (original)"[found[1] : found[2]] == "13/02/2026"


def test_spanish_tax_ids() -> None:
    company = "B1234567" + cif.calc_check_digits("B1234567")[0]
    person = "12345678" + dni.calc_check_digit("12345678")
    assert normalize_tax_id(company) == company
    assert normalize_tax_id(f"ES-{company[0]} {company[1:]}") == "ES" + company
    assert normalize_tax_id(person) == person
    assert normalize_tax_id("X1234567L") == "X1234567L"  # NIE
    wrong = company[:-1] + ("0" if company[-1] != "0" else "1")
    assert normalize_tax_id(wrong) is None
    assert plausible_tax_id(wrong) == wrong


def test_eu_vat_and_ein() -> None:
    assert normalize_tax_id("DE 355 369 209") == "DE355369209"
    assert normalize_tax_id("IE 98 209 58W") == "IE9820958W"
    assert normalize_tax_id("12-3456789") == "12-3456789"
    assert normalize_tax_id("123456789") is None  # an EIN needs its hyphen
    assert find_tax_ids("UStId DE 232 446 240 SWIFT HELADEF1GEL")[0][0] == "DE232446240"


def test_iban() -> None:
    bban = "21000418450200051332"
    value = "ES" + std_iban.calc_check_digits("ES00" + bban) + bban
    spaced = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    assert normalize_iban(spaced) == value
    assert find_iban(f"IBAN: {spaced} BIC: CAIXESBBXXX") == (value, 6, 6 + len(spaced))
    broken = value[:-1] + ("0" if value[-1] != "0" else "1")
    assert normalize_iban(broken) is None and plausible_iban(broken) == broken


PARSERS: list[Callable[[str], object]] = [
    parse_amount, lambda t: parse_amount(t, ","), lambda t: parse_amount(t, "."),
    detect_currency, find_amounts, parse_date, lambda t: parse_date(t, False), search_date,
    normalize_tax_id, find_tax_ids, normalize_iban, find_iban, plausible_tax_id, plausible_iban,
]


@given(text=st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_parsers_never_raise_on_arbitrary_text(text: str) -> None:
    for parser in PARSERS:
        parser(text)


@given(text=st.text(alphabet="0123456789.,-/ €$()%:ENOVUSDabcdefgmrt", max_size=40))
@settings(max_examples=400, deadline=None)
def test_parsers_never_raise_on_number_like_text(text: str) -> None:
    for parser in PARSERS:
        parser(text)

"""The vote between OCR readings of one scan (extractors.ocr.consensus)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fieldreadings import reading

from arflow.settings import load_settings
from extractors.api import extract_file
from extractors.fields import FieldResult
from extractors.ocr import tesseract
from extractors.ocr.consensus import (
    REREADS,
    declared_incomplete,
    needs_another_reading,
    settle,
    vote,
)
from models.domain import WordBox


def test_only_a_short_reading_missing_a_required_field_is_read_again() -> None:
    full = reading(issue_date=date(2018, 1, 2), total=Decimal("9.90"), seller__name="SHOP")
    assert not needs_another_reading(full, pages=1)
    partial = reading(issue_date=date(2018, 1, 2), seller__name="SHOP")
    assert needs_another_reading(partial, pages=1)
    assert not needs_another_reading(partial, pages=4)  # long documents are not read again


def test_a_first_page_of_several_is_not_read_again_for_its_total() -> None:
    dated = reading(issue_date=date(2026, 3, 2), seller__name="Ferretería Norte S.L.")

    def words(text: str) -> list[list[WordBox]]:
        return [[WordBox(t, 10.0 * i, 0, 10.0 * i + 8, 10, conf=0.9)
                 for i, t in enumerate(text.split())]]

    assert declared_incomplete(words("Albarán 7 Página 1 de 2"))
    assert declared_incomplete(words("Page 2 of 3"))
    assert not declared_incomplete(words("Page 2 of 2"))
    assert not declared_incomplete(words("Total 12.00"))
    _, rereads = settle(dated, words("Página 1 de 2"), lambda options: FieldResult())
    assert rereads == 0
    _, rereads = settle(dated, words("Página 2 de 2"), lambda options: FieldResult())
    assert rereads == len(REREADS)


def test_two_readings_agreeing_outvote_the_first() -> None:
    first = reading(issue_date=date(2001, 2, 13), total=Decimal("4.37"), subtotal=Decimal("4.00"))
    second = reading(issue_date=date(2018, 1, 13), total=Decimal("63.00"))
    third = reading(issue_date=date(2018, 1, 13))
    merged = vote(first, [second, third])
    assert merged.invoice.issue_date == date(2018, 1, 13)
    assert merged.evidence["issue_date"][0].text == "2018-01-13"
    # one other reading alone does not overrule the first; subtotal stays with its total
    assert merged.invoice.total == Decimal("4.37")
    assert merged.invoice.subtotal == Decimal("4.00")


def test_a_missing_value_is_filled_with_its_group() -> None:
    first = reading(issue_date=date(2018, 1, 13), subtotal=Decimal("5.00"))
    second = reading(total=Decimal("20.00"), tax_total=Decimal("1.13"))
    merged = vote(first, [second, FieldResult()])
    assert merged.invoice.total == Decimal("20.00")
    assert merged.invoice.tax_total == Decimal("1.13")
    # the subtotal travels with the total: the first reading's is not mixed with them
    assert merged.invoice.subtotal is None
    assert "subtotal" not in merged.confidence and "subtotal" not in merged.evidence


def test_nothing_is_made_up_when_no_reading_has_a_value() -> None:
    first = reading(issue_date=date(2018, 1, 13))
    merged, rereads = settle(first, [[]], lambda options: FieldResult())
    assert rereads == len(REREADS)
    assert merged.invoice.total is None and merged.invoice.seller.name is None


def test_rereads_can_be_switched_off() -> None:
    assert load_settings({}).ocr_reread
    assert not load_settings({"ARFLOW_OCR_REREAD": "0"}).ocr_reread


RECEIPT = Path(__file__).parent / "data" / "receipts" / "X51008099088.jpg"


@pytest.mark.slow
@pytest.mark.skipif(not tesseract.available(), reason="tesseract is not installed")
def test_a_real_receipt_whose_first_reading_loses_the_date(tmp_path: Path) -> None:
    settings = dataclasses.replace(load_settings({"ARFLOW_HOME": str(tmp_path)}), workers=1,
                                   ocr_second_engine="off")  # Tesseract's readings alone
    once = extract_file(RECEIPT, dataclasses.replace(settings, ocr_reread=False))
    assert once.invoice.issue_date is None and once.readings == 1  # the first reading alone
    voted = extract_file(RECEIPT, settings)
    assert voted.invoice.issue_date == date(2018, 6, 27) and voted.readings == 3
    assert voted.evidence["issue_date"]  # the words it was read from come with it


def test_rereads_can_run_side_by_side() -> None:
    first = reading(issue_date=date(2018, 1, 13))
    seen: list[dict[str, object]] = []

    def read_again(options: dict[str, object]) -> FieldResult:
        seen.append(options)
        return reading(total=Decimal("20.00"), seller__name="SHOP")

    merged, rereads = settle(first, [[]], read_again, parallel=2)
    assert rereads == len(REREADS) and sorted(map(str, seen)) == sorted(map(str, REREADS))
    assert merged.invoice.total == Decimal("20.00") and merged.invoice.seller.name == "SHOP"


def test_an_implausible_issue_date_is_read_again() -> None:
    today = date(2026, 12, 5)
    full = {"total": Decimal("37.90"), "seller__name": "GARDENIA"}
    misread = reading(issue_date=date(2081, 8, 29), **full)  # "29/08/2017" read as 2081
    assert needs_another_reading(misread, pages=1, today=today)
    assert needs_another_reading(reading(issue_date=date(1999, 12, 31), **full), 1, today=today)
    assert not needs_another_reading(reading(issue_date=date(2017, 8, 29), **full), 1,
                                     today=today)
    # two other readings agreeing replace it; one alone would not
    fixed = vote(misread, [reading(issue_date=date(2017, 8, 29)),
                           reading(issue_date=date(2017, 8, 29))])
    assert fixed.invoice.issue_date == date(2017, 8, 29)

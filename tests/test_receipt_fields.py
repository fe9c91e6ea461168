"""Seller name and total of real scanned receipts (SROIE 2019, tests/data/receipts/SOURCE.md)
read by PP-OCR (the engine that reads such photos, ``extractors.ocr.rapid``), and of a
receipt image drawn here: the general rules of ``seller_guess``, ``name_repair``,
``totals`` and ``candidates`` that each of them needs."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from arflow.settings import load_settings
from extractors.fields import FieldResult, extract_fields
from extractors.ocr import rapid
from extractors.ocr.pages import RAPIDOCR, ocr_document

RECEIPTS = Path(__file__).parent / "data" / "receipts"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")

needs_rapid = pytest.mark.skipif(not rapid.available(), reason="rapidocr not installed")


@cache
def _fields(name: str) -> FieldResult:
    settings = dataclasses.replace(load_settings(), workers=1)
    return extract_fields(ocr_document(RECEIPTS / name, settings, engine=RAPIDOCR))


@needs_rapid
def test_a_company_number_under_a_line_makes_it_the_company_not_the_brand_above() -> None:
    # "CALTEX" (the brand, big, first) over "BIRU PETROLEUM" / "Co.No:001684044-P"
    assert _fields("X51006334927.jpg").invoice.seller.name == "BIRU PETROLEUM"


@needs_rapid
def test_a_registration_number_misread_as_a_postcode_keeps_the_name() -> None:
    # "KING'S CONFECTIONERY S/B 27350O-U (KJ1)": "27350" is no postcode of an address line;
    # "473 PETALING JAYA" below was taken before
    assert _fields("X51006328345.jpg").invoice.seller.name == "KING'S CONFECTIONERY S/B"


@needs_rapid
def test_the_tax_included_in_the_total_is_not_the_total() -> None:
    # "(Total Included GST @ 6% : 0.41)": 7.20 x 6/106 = 0.41, and 7.20 is printed above
    inv = _fields("X51006328345.jpg").invoice
    assert inv.total == Decimal("7.20")
    assert inv.tax_total == Decimal("0.41")


@needs_rapid
def test_a_name_ends_with_its_legal_form() -> None:
    # "HUGO TRADING SDN BHD" | "Tota" (a "Total" printed on the same line, far right)
    assert _fields("X51005806718.jpg").invoice.seller.name == "HUGO TRADING SDN BHD"


@needs_rapid
def test_the_short_legal_form_with_a_look_alike_is_repaired() -> None:
    # PP-OCR reads "(FC) S/3 (930311-W)"; the logo "ECONSAVE OE" above is not the name
    assert _fields("X51005605295.jpg").invoice.seller.name == "ECONSAVE CASH & CARRY (FC) S/B"


@needs_rapid
def test_a_whole_number_is_not_the_total_of_a_receipt_printed_with_cents() -> None:
    # PP-OCR reads "TOTAL 420" for 46.20: no total rather than 420 (Tesseract's 46.20, which
    # its subtotal and tax confirm, then stands when the readings are combined)
    assert _fields("X51005719823.jpg").invoice.total is None


@needs_rapid
def test_subtotal_plus_tax_rounded_to_five_cents_and_printed_is_the_total() -> None:
    # "SUB TOTAL 14.00", "GST 6% 0.84", "14.85" printed big over "NET TOTAL"
    assert _fields("X51006401977.jpg").invoice.total == Decimal("14.85")


@needs_rapid
def test_a_colon_read_for_the_decimal_point_after_a_total_label() -> None:
    # "Total Payable: 26:58" below "Total 0% supplies: 31.39"
    assert _fields("X51006555819.jpg").invoice.total == Decimal("26.58")


def _till_roll(path: Path, rows: list[tuple[str, str]]) -> Path:
    font = ImageFont.truetype(str(FONT), 28)
    image = Image.new("L", (620, 60 + 50 * len(rows)), 255)
    draw = ImageDraw.Draw(image)
    for i, (left, right) in enumerate(rows):
        draw.text((30, 30 + 50 * i), left, font=font, fill=0)
        draw.text((400, 30 + 50 * i), right, font=font, fill=0)
    image.save(path, dpi=(200, 200))
    return path


def test_a_totals_row_is_never_the_seller(tmp_path: Path) -> None:
    # a receipt photographed without its header: "INCL. TOTAL" is no shop
    path = _till_roll(tmp_path / "cut.png", [("INCL. TOTAL", "RM 32.80"),
                                             ("CASH", "RM 53.00"), ("CHANGE", "RM 20.20")])
    settings = dataclasses.replace(load_settings(), workers=1)
    result = extract_fields(ocr_document(path, settings))
    assert result.invoice.total == Decimal("32.80")
    assert result.invoice.seller.name is None

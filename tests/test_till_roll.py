"""A till roll (a picture much taller than wide) is read along its length: the glyph vote
that finds pages scanned on their side (`geometry.quarter_turn`) is not asked of it. On thin,
letter-spaced print the pieces of each character stand above each other and the vote said
"sideways": 2 of 101 SROIE receipts, upright, were turned a quarter and read as garbage."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import numpy as np
from PIL import Image

from arflow.settings import load_settings
from extractors.api import extract_file
from extractors.ocr.geometry import glyphs, page_correction, quarter_turn, small_copy, till_roll

RECEIPT = Path(__file__).parent / "data" / "receipts" / "X51006619704.jpg"


def _gray(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("L"))


def test_an_upright_till_roll_is_not_turned() -> None:
    with Image.open(RECEIPT) as picture:
        upright = _gray(picture)
    assert till_roll(upright)
    assert abs(page_correction(upright)) < 5
    assert quarter_turn(glyphs(small_copy(upright))[1]) == 90  # what the vote alone says


def test_a_page_and_a_strip_of_lines_still_vote() -> None:
    """Not a roll: an A4 page standing up, and a wide strip, are not till rolls."""
    assert not till_roll(np.zeros((3508, 2480), dtype=np.uint8))
    assert not till_roll(np.zeros((500, 1400), dtype=np.uint8))


def test_the_receipt_is_read() -> None:
    settings = dataclasses.replace(load_settings(), workers=1)
    invoice = extract_file(RECEIPT, settings).invoice
    assert invoice.total == Decimal("32.80")
    assert invoice.seller.name == "MR. D.I.Y. (M) SDN BHD"

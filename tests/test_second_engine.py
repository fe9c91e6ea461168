"""The second OCR engine (extractors.ocr.rapid) and how its reading is combined with
Tesseract's (extractors.ocr.engines)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from fieldreadings import reading
from PIL import Image

from arflow.cli import cli
from arflow.errors import ConfigError, ToolTimeout
from arflow.settings import load_settings
from extractors.api import extract_file
from extractors.fields import FieldResult
from extractors.ocr import rapid, tesseract
from extractors.ocr.engines import combine, merge_spacing, wants_second_engine
from models.domain import InvoiceLine, WordBox

RECEIPTS = Path(__file__).parent / "data" / "receipts"


@pytest.mark.parametrize(("letters", "spaced", "merged"), [
    ("SANYUSTATIONERYSHOP", "SANYO STATIONERY SHOP", "SANYU STATIONERY SHOP"),
    ("EVERGREEN LIGHTSDN BHD", "EYERGREEN LIGHT SDN BHD", "EVERGREEN LIGHT SDN BHD"),
    ("MR.D.I.Y. (M) SDN BHD", "MR. D.I.Y. (4) SDN BHD", "MR. D.I.Y. (M) SDN BHD"),
    ("STAR GROCER SDN BHD", "STAR GROCER SDN BHD", "STAR GROCER SDN BHD"),
])
def test_letters_of_one_reading_spaced_by_both(letters: str, spaced: str, merged: str) -> None:
    assert merge_spacing(letters, spaced) == merged


def test_names_that_do_not_agree_are_not_merged() -> None:
    assert merge_spacing("KEDAIPAPANYEWCHUAN", "Comb Cluys") is None
    assert merge_spacing("", "SHOP") is None


def test_the_second_reading_comes_first_and_the_first_fills_its_gaps() -> None:
    second = reading(issue_date=date(2018, 3, 7), seller__name="SANYUSTATIONERYSHOP")
    first = reading(issue_date=date(2018, 8, 7), total=Decimal("8.70"),
                    subtotal=Decimal("8.21"), seller__name="SANYO STATIONERY SHOP")
    both = combine(second, first)
    assert both.invoice.issue_date == date(2018, 3, 7)
    assert both.invoice.total == Decimal("8.70") and both.invoice.subtotal == Decimal("8.21")
    assert both.evidence["total"] == first.evidence["total"]
    assert both.invoice.seller.name == "SANYU STATIONERY SHOP"


def test_a_total_group_is_not_mixed_between_readings() -> None:
    second = reading(total=Decimal("20.00"))
    first = reading(total=Decimal("19.00"), subtotal=Decimal("17.93"))
    both = combine(second, first)
    assert both.invoice.total == Decimal("20.00") and both.invoice.subtotal is None


def with_lines(result: FieldResult, *amounts: str) -> FieldResult:
    result.invoice.lines = [InvoiceLine(description=f"item {i}", amount=Decimal(a))
                            for i, a in enumerate(amounts)]
    result.confidence["lines"] = 0.9
    return result


def test_the_amounts_that_add_up_win() -> None:
    # PP-OCR paired the labels of a boxed layout with the wrong amounts (they still sum)
    second = with_lines(reading(total=Decimal("3485.86"), subtotal=Decimal("316.90"),
                                tax_total=Decimal("3168.96")), "3000.00", "168.96")
    first = with_lines(reading(total=Decimal("3485.86"), subtotal=Decimal("3168.96"),
                               tax_total=Decimal("316.90")), "3168.96")
    both = combine(second, first)
    assert (both.invoice.subtotal, both.invoice.tax_total) == (Decimal("3168.96"),
                                                               Decimal("316.90"))
    # PP-OCR's lines add up to the subtotal kept: they stay
    assert [line.amount for line in both.invoice.lines] == [Decimal("3000.00"),
                                                            Decimal("168.96")]


def test_lines_that_add_up_replace_lines_that_do_not() -> None:
    second = with_lines(reading(total=Decimal("12.10"), subtotal=Decimal("10.00"),
                                tax_total=Decimal("2.10")), "4.00", "5.00")
    first = with_lines(reading(total=Decimal("12.10")), "4.00", "6.00")
    both = combine(second, first)
    assert both.invoice.subtotal == Decimal("10.00")  # PP-OCR's amounts pass as many sums
    assert [line.amount for line in both.invoice.lines] == [Decimal("4.00"), Decimal("6.00")]


def test_which_documents_both_engines_read() -> None:
    def page(*confs: float) -> list[WordBox]:
        return [WordBox("word", 10.0 * i, 0, 10.0 * i + 8, 10, conf=c)
                for i, c in enumerate(confs)]

    clear, faint = [page(0.95, 0.97)], [page(0.95, 0.6)]
    assert wants_second_engine("auto", [None], clear)        # a photo
    assert wants_second_engine("auto", [300.0, None], clear + clear)
    assert not wants_second_engine("auto", [300.0, 300.0], clear + clear)
    assert wants_second_engine("auto", [300.0], faint)       # a weak first reading
    assert not wants_second_engine("auto", [300.0], [[]])    # no words, no mean
    assert wants_second_engine("always", [300.0], clear)
    assert not wants_second_engine("off", [None], faint)
    assert not wants_second_engine("always", [], [])


def test_the_second_engine_setting() -> None:
    assert load_settings({}).ocr_second_engine == "auto"
    assert load_settings({"ARFLOW_OCR_SECOND_ENGINE": "Always"}).ocr_second_engine == "always"
    assert load_settings({"ARFLOW_OCR_SECOND_ENGINE": "0"}).ocr_second_engine == "off"
    with pytest.raises(ConfigError, match="ARFLOW_OCR_SECOND_ENGINE"):
        load_settings({"ARFLOW_OCR_SECOND_ENGINE": "paddle"})


needs_engine = pytest.mark.skipif(not rapid.available(), reason="rapidocr is not installed")


@pytest.mark.slow
@needs_engine
def test_the_engine_reads_a_real_receipt_into_page_points() -> None:
    image = cv2.imread(str(RECEIPTS / "X51007339134.jpg"), cv2.IMREAD_GRAYSCALE)
    words = rapid.read_words(image, dpi=300.0, page=0)
    texts = " ".join(w.text for w in words).upper()
    assert "STATIONERY" in texts and "8.70" in texts
    height, width = image.shape
    assert all(0 <= w.x0 < w.x1 <= width * 72 / 300 + 1 for w in words)
    assert all(0 <= w.top < w.bottom <= height * 72 / 300 + 1 for w in words)
    assert all(0.0 <= w.conf <= 1.0 for w in words)


@pytest.mark.slow
@needs_engine
def test_the_engine_gives_up_waiting_with_a_typed_error() -> None:
    page = np.full((1800, 1400), 255, np.uint8)
    for row in range(60, 1700, 40):
        cv2.putText(page, "TOTAL 12.50 RM CASH 20.00", (40, row), cv2.FONT_HERSHEY_SIMPLEX,
                    1.0, 0, 2)
    with pytest.raises(ToolTimeout, match="rapidocr timed out"):
        rapid.read_words(page, dpi=300.0, timeout_s=0.001)
    assert rapid.read_words(page, dpi=300.0)  # the engine still works afterwards


@pytest.mark.slow
@needs_engine
@pytest.mark.skipif(not tesseract.available(), reason="tesseract is not installed")
def test_a_real_receipt_read_by_both_engines(tmp_path: Path) -> None:
    settings = dataclasses.replace(load_settings({"ARFLOW_HOME": str(tmp_path)}), workers=1)
    alone = extract_file(RECEIPTS / "X51007339134.jpg",
                         dataclasses.replace(settings, ocr_second_engine="off"))
    both = extract_file(RECEIPTS / "X51007339134.jpg", settings)
    assert alone.invoice.seller.name != "SANYU STATIONERY SHOP"  # Tesseract: "SANYO ..."
    assert both.invoice.seller.name == "SANYU STATIONERY SHOP"
    assert both.invoice.issue_date == date(2017, 10, 6) and both.invoice.total == Decimal("8.70")
    assert both.readings == alone.readings + 1
    assert both.evidence["seller.name"]  # the words it was read from come with it


@pytest.mark.slow
@needs_engine
@pytest.mark.skipif(not tesseract.available(), reason="tesseract is not installed")
def test_a_receipt_saved_as_a_pdf_is_read_again_when_tesseract_reads_it_weakly(
        tmp_path: Path) -> None:
    """A PDF states its resolution, so only the weak first reading calls the second engine."""
    pdf = tmp_path / "receipt.pdf"
    with Image.open(RECEIPTS / "X51008099088.jpg") as photo:
        photo.convert("RGB").save(pdf, resolution=300.0)
    settings = dataclasses.replace(load_settings({"ARFLOW_HOME": str(tmp_path)}), workers=1)
    result = extract_file(pdf, settings)
    assert result.engines == ("tesseract", "rapidocr")
    assert result.invoice.seller.name == "RESTORAN WAN SHENG"
    assert result.invoice.total == Decimal("2.30")


@pytest.mark.slow
@needs_engine
@pytest.mark.skipif(not tesseract.available(), reason="tesseract is not installed")
def test_receipt_photos_through_a_batch_of_two_worker_processes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``arflow run`` with two extraction processes: each loads the second engine itself."""
    monkeypatch.setenv("ARFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ARFLOW_DATABASE_URL", raising=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for photo in RECEIPTS.glob("*.jpg"):
        shutil.copy(photo, inbox / photo.name)
    runner = CliRunner()
    ran = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain",
                              "--workers", "2"])
    assert ran.exit_code == 0, ran.output
    rows = {r["source"]: r for r in map(json.loads, runner.invoke(
        cli, ["report", "--json"]).output.splitlines())}
    sanyu, wan_sheng = rows["X51007339134.jpg"]["invoice"], rows["X51008099088.jpg"]["invoice"]
    assert (sanyu["seller"]["name"], sanyu["issue_date"], sanyu["total"]) == (
        "SANYU STATIONERY SHOP", "2017-10-06", "8.70")
    assert (wan_sheng["seller"]["name"], wan_sheng["issue_date"], wan_sheng["total"]) == (
        "RESTORAN WAN SHENG", "2018-06-27", "2.30")
    # receipts of shops outside the party master, without an order: routed to review
    assert {r["status"] for r in rows.values()} == {"needs_review"}


def test_a_page_the_second_engine_reads_nothing_on_gives_no_words() -> None:
    """PP-OCR answers ('', 1.0, None) for its lines on a page where it reads nothing; before,
    `words_of` failed on it ("not enough values to unpack") and the whole file failed."""
    blank = np.full((400, 300), 255, dtype=np.uint8)
    assert rapid.words_of(rapid._recognise(blank), scale=0.24, page=1) == []

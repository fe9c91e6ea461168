"""Receipt rules (SROIE-style till receipts read by OCR): totals, dates, the shop's name and
the contrast stretch of faint prints. Every rule is tested on a few synthetic OCR words."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import numpy as np

from extractors.dates import repair_ocr_date
from extractors.fields import extract_fields
from extractors.labels import find_labels
from extractors.layout import build_lines
from extractors.name_repair import repair_name
from extractors.ocr.preprocess import PreprocessOptions, preprocess, stretch_contrast
from extractors.values import read_amounts, read_ocr_date
from models.domain import WordBox

SIZE = 9.0


def ocr_row(x: float, y: float, text: str, conf: float = 0.9) -> list[WordBox]:
    """OCR words of ``text`` laid out from (x, y), one space between words."""
    out: list[WordBox] = []
    for token in text.split():
        width = len(token) * SIZE * 0.5
        out.append(WordBox(token, x, y, x + width, y + SIZE, 0, conf))
        x += width + SIZE * 0.28
    return out


def ocr_page(rows: Sequence[tuple[float, float, str]]) -> list[WordBox]:
    return [w for x, y, text in rows for w in ocr_row(x, y, text)]


def till(*body: str, head: Sequence[str] = ("KEDAI MAJU ENTERPRISE",)) -> list[WordBox]:
    """A narrow till receipt: the shop's lines, then ``body`` one line each."""
    rows = [(20.0, 10.0 + 12 * i, text) for i, text in enumerate(head)]
    top = 10.0 + 12 * len(head) + 6
    rows += [(20.0, top + 12 * i, text) for i, text in enumerate(body)]
    return ocr_page(rows)


# --- totals -----------------------------------------------------------------------------


def test_final_total_rounded_to_five_cents_wins_over_the_unrounded_total() -> None:
    words = till("Total Sales Inclusive GST @6% 10.89", "Total 10.89", "Final Total 10.90")
    assert extract_fields([words]).invoice.total == Decimal("10.90")


def test_a_rounded_total_stays_when_a_later_total_is_not_rounded() -> None:
    words = till("Total 10.90", "Grand Total 10.89")
    assert extract_fields([words]).invoice.total == Decimal("10.89")


def test_total_amt_payable_is_a_total_label_and_tender_is_cash() -> None:
    words = till("Total Amt Payable 7.95", "Tender 10.00", "Change 2.05")
    inv = extract_fields([words]).invoice
    assert inv.total == Decimal("7.95")


def test_ocr_amount_without_cents_loses_to_one_with_cents() -> None:
    words = till("Total 13.40", "Total: 1340")
    assert extract_fields([words]).invoice.total == Decimal("13.40")


def test_total_from_cash_minus_change_when_subtotal_and_tax_add_up_to_it() -> None:
    words = till("Total Sales (Excluding GST) : 21.00", "Total GST : 1.26",
                 "Tuial © les (Inclusive of GST) : 22.26", "CASH 22.26", "Change : 0.00")
    assert extract_fields([words]).invoice.total == Decimal("22.26")


def test_total_printed_twice_is_not_corrected_by_a_misread_change() -> None:
    words = till("SR 1 X 26.90 26.90", "Total 26.90", "Cash 27.00", "Change 6.10")
    assert extract_fields([words]).invoice.total == Decimal("26.90")


def test_label_after_an_ocr_speck_is_found() -> None:
    line = build_lines([ocr_row(20, 10, "1 TOTAL INCL. GST@6% RM 7.00")])[0]
    assert [h.field for h in find_labels(line)] == ["total"]
    digital = build_lines([ocr_row(20, 10, "1 TOTAL 7.00", conf=1.0)])[0]
    assert find_labels(digital) == []  # a printed "1" before a word is no speck


def test_amount_glued_to_ringgit_sign_is_an_amount() -> None:
    assert [a.value for a in read_amounts(ocr_row(0, 0, "Total Rm1.00"), ".")] == [
        Decimal("1.00")]


# --- dates ------------------------------------------------------------------------------


def test_repair_ocr_date() -> None:
    assert repair_ocr_date("05-05- 2018 13 10: 46").startswith("05-05-2018")
    assert repair_ocr_date("01 “06- 2018").strip() == "01-06-2018"
    assert repair_ocr_date("28/0717 9:48:42 AM").startswith("28/07/17")
    assert repair_ocr_date("-01/05/2016-13:19:16").strip().startswith("01/05/2016")
    assert repair_ocr_date("Qty 12 Price 3.40") == "Qty 12 Price 3.40"


def test_read_ocr_date_only_reads_ocr_words() -> None:
    found = read_ocr_date(ocr_row(0, 0, "28/0717 9:48:42 AM"), True)
    assert found is not None and found.value == date(2017, 7, 28)
    assert read_ocr_date(ocr_row(0, 0, "28/0717", conf=1.0), True) is None


def test_garbled_date_after_a_lone_mark_behind_the_label() -> None:
    date_line = [*ocr_row(20, 40, "Date"), *ocr_row(60, 40, ">"),
                 *ocr_row(80, 40, "05-05- 2018 13 10: 46")]
    words = [*till(), *date_line, *ocr_row(20, 60, "Total 5.00")]
    assert extract_fields([words]).invoice.issue_date == date(2018, 5, 5)


def test_ringgit_amounts_make_dates_day_first() -> None:
    words = till("06-05-16 17:11 SH01 ZJ08", "9015039 1X $5.50 5.50",
                 "TOTAL INCL. GST@6% RM 5.50")
    assert extract_fields([words]).invoice.issue_date == date(2016, 5, 6)


def test_unlabelled_date_with_a_time_wins_over_an_earlier_date() -> None:
    words = till("Card Expiry 3 Sept 2027", "20/08/17 12:48 Slip No. 9020374693",
                 "TOTAL RM 5.05")
    assert extract_fields([words]).invoice.issue_date == date(2017, 8, 20)


# --- the shop's name --------------------------------------------------------------------


def test_document_title_is_not_the_shop() -> None:
    words = till("TOTAL 4.00", head=("SIMPLIFIED TAX INVOICE", "AA PHARMACY", "1188094-W"))
    assert extract_fields([words]).invoice.seller.name == "AA PHARMACY"


def test_address_line_is_not_the_shop() -> None:
    words = till("TOTAL 4.00", head=("Yam Fresh", "No.145G, Jalan Rimbunan Raya 1,",
                                     "52100 Kuala Lumpur"))
    assert extract_fields([words]).invoice.seller.name == "Yam Fresh"


def test_registration_line_is_not_a_legal_form() -> None:
    words = till("TOTAL 4.00", head=("BIRU PETROLEUM", "Co.No:001684044-P",
                                     "KELANA JAYA. 47301 PETALING"))
    assert extract_fields([words]).invoice.seller.name == "BIRU PETROLEUM"


def test_business_word_alone_on_the_next_line_ends_the_name() -> None:
    words = till("TOTAL 4.00", head=("TSH POWER HARDWARE", "TRADING", "002458685-T"))
    assert extract_fields([words]).invoice.seller.name == "TSH POWER HARDWARE TRADING"


def test_name_over_two_lines_with_a_bracketed_qualifier() -> None:
    words = till("TOTAL 4.00", head=("POPULAR BOOK", "CO. (M) SDN BHD", "(Co. No. 113825-W)"))
    assert extract_fields([words]).invoice.seller.name == "POPULAR BOOK CO. (M) SDN BHD"


def test_whole_line_wins_over_its_last_segment() -> None:
    left = ocr_row(20, 10, "GARDENIA BAKERIES (KL")
    right = ocr_row(left[-1].x1 + 2 * SIZE, 10, ") SDN BHD (139386 X)")
    rest = ocr_page([(20, 28, "Lot 3, Jalan Pelabur 23/1,"), (20, 46, "Total Payable: 35.58")])
    name = extract_fields([[*left, *right, *rest]]).invoice.seller.name
    assert name is not None and name.startswith("GARDENIA BAKERIES")


def test_sdn_bhd_with_both_halves_misread() -> None:
    assert repair_name(ocr_row(0, 0, "SIN LIANHAP SON GHD")) == [
        "SIN", "LIANHAP", "SDN", "BHD"]
    assert repair_name(ocr_row(0, 0, "SON GHD", conf=1.0)) == ["SON", "GHD"]  # printed


# --- faint prints -----------------------------------------------------------------------


def faint_page() -> np.ndarray:
    page = np.full((200, 300), 235, np.uint8)
    page[80:90, 40:260] = 170  # grey "ink" on grey paper
    return page


def test_stretch_contrast_makes_faint_ink_black_and_paper_white() -> None:
    out = stretch_contrast(faint_page())
    assert out[85, 100] == 0 and out[10, 10] == 255


def test_stretch_leaves_full_range_and_blank_pages_alone() -> None:
    full = np.zeros((100, 100), np.uint8)
    full[:, 50:] = 255
    flat = np.full((50, 50), 200, np.uint8)
    assert stretch_contrast(full) is full and stretch_contrast(flat) is flat


def test_preprocess_stretches_only_images_without_a_dpi() -> None:
    opts = dataclasses.replace(PreprocessOptions(), orientation="off", deskew=False,
                               remove_rules=False)
    assert preprocess(faint_page(), opts, dpi=None)[85, 100] == 0
    assert preprocess(faint_page(), opts, dpi=300.0)[85, 100] == 170


def test_unlabelled_garbled_date_is_read_only_beside_a_time() -> None:
    stamped = till("-01/05/2016-13:19:16-29-NORBAIZURA BT-101", "TOTAL RM 5.05")
    assert extract_fields([stamped]).invoice.issue_date == date(2016, 5, 1)
    bare = till("Vks id 156/99 201?", "TOTAL RM 5.05")
    assert extract_fields([bare]).invoice.issue_date is None


def test_net_total_agreeing_with_cash_minus_change_is_the_total() -> None:
    words = till("Sub Total: 0.50", "NET TOTAL : 24.50", "Cash Received : 50.00",
                 "Change : 25.50")
    assert extract_fields([words]).invoice.total == Decimal("24.50")


def test_space_lost_after_a_bracketed_qualifier() -> None:
    assert " ".join(repair_name(ocr_row(0, 0, "GARDENIA (KL)SDN BHD"))) == "GARDENIA (KL) SDN BHD"
    assert repair_name(ocr_row(0, 0, "(KL)SDN", conf=1.0)) == ["(KL)SDN"]  # as printed

"""Template-free field extraction on positioned words (no PDF needed)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iban as std_iban
from stdnum.es import cif

from extractors.fields import extract_fields
from models.domain import WordBox

SELLER_CIF = "B1234567" + cif.calc_check_digits("B1234567")[0]
BUYER_CIF = "A5881850" + cif.calc_check_digits("A5881850")[0]
IBAN = "ES" + std_iban.calc_check_digits("ES00" + "21000418450200051332") + "21000418450200051332"


def place(x: float, y: float, text: str, page: int = 0, size: float = 9.0) -> list[WordBox]:
    """Words of ``text`` laid out from (x, y) like a PDF text layer would give them."""
    out: list[WordBox] = []
    for token in text.split():
        width = len(token) * size * 0.5
        out.append(WordBox(token, x, y, x + width, y + size, page))
        x += width + size * 0.28
    return out


def page_of(rows: Sequence[tuple[float, float, str]], page: int = 0) -> list[WordBox]:
    return [w for x, y, text in rows for w in place(x, y, text, page)]


def spanish_invoice() -> list[WordBox]:
    return page_of([
        (40, 40, "Construcciones Ebro S.L."), (400, 40, "FACTURA"),
        (40, 52, "Calle Mayor 12, 50001 Zaragoza"),
        (40, 64, f"CIF: {SELLER_CIF}"), (330, 64, "Nº Factura: FV-2026-0042"),
        (330, 76, "Fecha: 13/02/2026"),
        (330, 88, "Vencimiento: 15 de marzo de 2026"),
        (330, 100, "Su pedido: PED-7781"),
        (40, 130, "Facturar a:"),
        (40, 142, "Talleres Norte S.A."),
        (40, 154, "Avenida del Puerto 3, Bilbao"),
        (40, 166, f"NIF: {BUYER_CIF}"),
        (40, 200, "Concepto"), (300, 200, "Cantidad"), (370, 200, "Precio"),
        (430, 200, "IVA %"), (490, 200, "Importe"),
        (40, 214, "Tornillos M8"), (320, 214, "100"), (370, 214, "0,50"), (440, 214, "21"),
        (490, 214, "50,00"),
        (40, 228, "Transporte urgente"), (325, 228, "2"), (370, 228, "600,00"),
        (440, 228, "21"), (490, 228, "1.200,00"),
        (350, 260, "Base imponible"), (490, 260, "1.250,00 €"),
        (350, 272, "IVA 21%"), (490, 272, "262,50 €"),
        (350, 284, "Total factura"), (490, 284, "1.512,50 €"),
        (40, 320, "IBAN: " + " ".join(IBAN[i : i + 4] for i in range(0, len(IBAN), 4))),
        (40, 332, "Condiciones de pago: 30 días"),
    ])


def test_spanish_labels_right_of_value() -> None:
    result = extract_fields([spanish_invoice()], page_width=595)
    inv = result.invoice
    assert inv.invoice_number == "FV-2026-0042"
    assert inv.issue_date == date(2026, 2, 13)
    assert inv.due_date == date(2026, 3, 15)
    assert inv.order_number == "PED-7781"
    assert inv.currency == "EUR"
    assert (inv.subtotal, inv.tax_total, inv.total) == (
        Decimal("1250.00"), Decimal("262.50"), Decimal("1512.50"))
    assert inv.iban == IBAN
    assert inv.seller.name == "Construcciones Ebro S.L."
    assert inv.seller.tax_id == SELLER_CIF
    assert inv.buyer.name == "Talleres Norte S.A."
    assert inv.buyer.tax_id == BUYER_CIF
    assert inv.payment_terms == "30 días"


def test_spanish_line_items_and_arithmetic_confidence() -> None:
    result = extract_fields([spanish_invoice()], page_width=595)
    lines = result.invoice.lines
    got = [(ln.description, ln.quantity, ln.unit_price, ln.amount, ln.tax_rate) for ln in lines]
    assert got == [
        ("Tornillos M8", Decimal(100), Decimal("0.50"), Decimal("50.00"), Decimal(21)),
        ("Transporte urgente", Decimal(2), Decimal("600.00"), Decimal("1200.00"), Decimal(21)),
    ]
    assert result.confidence["total"] >= 0.95  # subtotal + tax = total
    assert result.evidence["total"][0].text == "1.512,50"


def english_invoice_values_below() -> list[WordBox]:
    return page_of([
        (40, 40, "Acme Widgets Inc."), (450, 40, "INVOICE"),
        (40, 52, "500 Market Street, San Francisco CA"),
        (40, 64, "EIN 12-3456789"),
        (40, 100, "Invoice No."), (150, 100, "Invoice Date"), (260, 100, "Due Date"),
        (370, 100, "P.O. Number"),
        (40, 112, "INV-10077"), (150, 112, "02/14/2026"), (260, 112, "March 16, 2026"),
        (370, 112, "PO-5521"),
        (40, 150, "Bill To"),
        (40, 162, "Globex Corporation"),
        (40, 174, "12 Elm Road, Springfield"),
        (40, 210, "Description"), (330, 210, "Qty"), (390, 210, "Unit Price"),
        (480, 210, "Amount"),
        (40, 224, "Consulting hours"), (335, 224, "10"), (390, 224, "$150.00"),
        (480, 224, "$1,500.00"),
        (390, 260, "Subtotal"), (480, 260, "$1,500.00"),
        (390, 272, "Tax (8%)"), (480, 272, "$120.00"),
        (390, 284, "Total due"), (480, 284, "$1,620.00"),
    ])


def test_english_values_below_labels() -> None:
    result = extract_fields([english_invoice_values_below()], page_width=612)
    inv = result.invoice
    assert inv.invoice_number == "INV-10077"
    assert inv.issue_date == date(2026, 2, 14)
    assert inv.due_date == date(2026, 3, 16)
    assert inv.order_number == "PO-5521"
    assert inv.currency == "USD"
    assert (inv.subtotal, inv.tax_total, inv.total) == (
        Decimal("1500.00"), Decimal("120.00"), Decimal("1620.00"))
    assert inv.seller.name == "Acme Widgets Inc."
    assert inv.seller.tax_id == "12-3456789"
    assert inv.buyer.name == "Globex Corporation"
    assert inv.buyer.tax_id is None
    assert inv.iban is None
    assert len(inv.lines) == 1 and inv.lines[0].amount == Decimal("1500.00")


def _multi_page(repeat_header: bool) -> list[list[WordBox]]:
    header = [(40, 200, "Description"), (330, 200, "Qty"), (390, 200, "Unit Price"),
              (480, 200, "Amount")]
    top = [(40, 40, "Acme Widgets Inc."), (330, 64, "Invoice #: A-77"),
           (330, 76, "Date: 2026-01-05")]
    first = top + header
    rows1 = [(x, 214 + 14 * i, t) for i in range(3)
             for x, t in ((40, f"Part {i}"), (335, "1"), (390, "10.00"), (480, "10.00"))]
    page1 = page_of(first + rows1 + [(40, 800, "Page 1 of 2")], 0)
    start = 214 if repeat_header else 60
    rows2 = [(x, start + 14 * i, t) for i in range(2)
             for x, t in ((40, f"Part {i + 3}"), (335, "2"), (390, "5.00"), (480, "10.00"))]
    extra = header if repeat_header else []
    totals = [(390, start + 60, "Subtotal"), (480, start + 60, "50.00"),
              (390, start + 72, "Total"), (480, start + 72, "50.00")]
    page2 = page_of([(40, 30, "Acme Widgets Inc. - continued"), *extra, *rows2, *totals], 1)
    return [page1, page2]


def test_table_continues_on_second_page_without_header() -> None:
    result = extract_fields(_multi_page(repeat_header=False), page_width=595)
    lines = result.invoice.lines
    assert [ln.description for ln in lines] == [f"Part {i}" for i in range(5)]
    assert sum(ln.amount or 0 for ln in lines) == result.invoice.subtotal == Decimal("50.00")


def test_table_continues_on_second_page_with_repeated_header() -> None:
    result = extract_fields(_multi_page(repeat_header=True), page_width=595)
    assert [ln.quantity for ln in result.invoice.lines] == [Decimal(1)] * 3 + [Decimal(2)] * 2
    assert result.invoice.total == Decimal("50.00")


def test_no_words_gives_empty_invoice() -> None:
    result = extract_fields([[]])
    assert result.invoice.invoice_number is None and result.confidence == {}


def test_ocr_confidence_lowers_field_confidence() -> None:
    words = [WordBox(w.text, w.x0, w.top, w.x1, w.bottom, w.page, conf=0.5)
             for w in spanish_invoice()]
    result = extract_fields([words], page_width=595)
    assert result.invoice.invoice_number == "FV-2026-0042"
    assert result.confidence["invoice_number"] <= 0.5


def test_number_mark_inside_a_title_line() -> None:
    words = page_of([
        (40, 40, "Lieferant GmbH"),
        (40, 60, "Handelsrechnung (380) Nr. R18-31 vom 03.10.2018"),
        (40, 90, "Zahlbetrag: 529,87 EUR"),
    ])
    inv = extract_fields([words]).invoice
    assert inv.invoice_number == "R18-31"
    assert inv.issue_date == date(2018, 10, 3)  # no date label: the date on the number line
    assert inv.total == Decimal("529.87") and inv.currency == "EUR"


def test_wrong_checksum_tax_id_is_kept_with_low_confidence() -> None:
    wrong = SELLER_CIF[:-1] + ("0" if SELLER_CIF[-1] != "0" else "1")
    words = [w for w in spanish_invoice() if w.text != SELLER_CIF] + place(70, 64, wrong)
    result = extract_fields([words], page_width=595)
    assert result.invoice.seller.tax_id == wrong
    assert result.confidence["seller.tax_id"] <= 0.5
    assert result.invoice.buyer.tax_id == BUYER_CIF


def test_us_dates_flip_when_due_date_would_precede_issue_date() -> None:
    words = page_of([
        (40, 40, "Acme Widgets Inc."),
        (330, 64, "Invoice #: 5521"), (330, 76, "Invoice Date: 03/04/2026"),
        (330, 88, "Due Date: 02/05/2026"), (330, 120, "Total: $10.00"),
    ])
    inv = extract_fields([words]).invoice
    assert (inv.issue_date, inv.due_date) == (date(2026, 4, 3), date(2026, 5, 2))


def test_us_dates_are_month_first_when_ambiguous() -> None:
    words = page_of([
        (40, 40, "Acme Widgets Inc."), (330, 64, "Invoice #: 5521"),
        (330, 76, "Invoice Date: 03/04/2026"), (330, 120, "Total: $10.00"),
    ])
    assert extract_fields([words]).invoice.issue_date == date(2026, 3, 4)


def test_total_label_is_not_a_spanish_hint_but_fecha_is() -> None:
    rows = [(40, 40, "Acme Widgets Inc."), (330, 64, "Invoice #: 5521"),
            (330, 76, "Invoice Date: 03/04/2026"), (330, 120, "Total $10.00")]
    assert extract_fields([page_of(rows)]).invoice.issue_date == date(2026, 3, 4)
    rows[2] = (330, 76, "Fecha: 03/04/2026")
    assert extract_fields([page_of(rows)]).invoice.issue_date == date(2026, 4, 3)


def test_several_vat_rates_add_up_to_the_tax_total() -> None:
    words = page_of([
        (40, 40, "Papelería Levante S.L."), (330, 64, "Factura nº: F2026-0007"),
        (330, 76, "Fecha: 02/03/2026"),
        (350, 200, "Base imponible"), (490, 200, "300,00 €"),
        (350, 212, "IVA 21%"), (490, 212, "42,00 €"),
        (350, 224, "IVA 10%"), (490, 224, "10,00 €"),
        (350, 236, "Total"), (490, 236, "352,00 €"),
    ])
    result = extract_fields([words])
    assert result.invoice.tax_total == Decimal("52.00")
    assert result.invoice.total == Decimal("352.00")
    assert result.confidence["total"] >= 0.95


def test_label_with_unknown_qualifier_loses_to_plain_label() -> None:
    words = page_of([
        (40, 40, "Le Fournisseur SARL"), (330, 40, "Facture N° : F20260023"),
        (330, 52, "Date : 31/01/2026"),
        (40, 120, "Date de facture associée : 01/01/2026"),
        (330, 200, "Net à payer : 104,90 €"),
    ])
    assert extract_fields([words]).invoice.issue_date == date(2026, 1, 31)


def test_amount_in_the_invoice_currency_column() -> None:
    words = page_of([
        (40, 40, "Semrush Inc."), (40, 60, "INVOICE: #XZZ5672"), (40, 72, "Date: 2023-04-23"),
        (40, 84, "PAYMENT CURRENCY: USD"),
        (330, 120, "USD"), (420, 120, "EUR"),
        (40, 132, "PRO 1 month"), (330, 132, "119.95"), (420, 132, "109.15"),
        (40, 144, "TOTAL AT CHECKOUT"), (330, 144, "119.95"), (420, 144, "109.15"),
    ])
    inv = extract_fields([words]).invoice
    assert inv.currency == "USD" and inv.total == Decimal("119.95")


TOKENS = st.sampled_from([
    "Total", "IVA", "21%", "Fecha:", "13/02/2026", "1.234,56", "€", "$1,000.00", "Invoice",
    "#", "Nº", "Factura", "Cliente", "Bill", "To", "Qty", "Amount", "Description", "(12.50)",
    "IBAN", "ES91", "2100", "B12345674", "Subtotal", "Tax", "2026-02-30", "-", ":", "x",
])
WORD = st.builds(
    lambda text, x, y, page: WordBox(text, x, y, x + 6 * len(text), y + 9, page),
    TOKENS, st.floats(0, 560), st.floats(0, 800), st.integers(0, 2),
)


@given(words=st.lists(WORD, max_size=120))
@settings(max_examples=150, deadline=None)
def test_extract_fields_never_raises(words: list[WordBox]) -> None:
    pages = [[w for w in words if w.page == p] for p in range(3)]
    result = extract_fields(pages, page_width=595)
    assert set(result.evidence) <= set(result.confidence)
    assert all(0.0 <= c <= 1.0 for c in result.confidence.values())


# --- OCR-read words (conf < 1): tolerant labels, repairs, receipts --------------------------

def ocr_words(rows: Sequence[tuple[float, float, str]], size: float = 9.0) -> list[WordBox]:
    """Words as OCR gives them: like `page_of`, with a confidence below 1."""
    return [dataclasses.replace(w, conf=0.9) for x, y, text in rows
            for w in place(x, y, text, 0, size)]


def receipt(total_line: str = "TOFAL INCL. GST@6% RM 30.90") -> list[WordBox]:
    return ocr_words([
        (20, 10, "SANYU STATIONERY SHOP"), (20, 22, "NO. 31G, JALAN SETIA INDAH"),
        (20, 28, "40170 SETIA ALAM"), (20, 34, "GST ID No: 001531760640"),
        (20, 46, "TAX INVOICE"), (20, 58, "Owned By"),
        (20, 70, "SANYU SUPPLY SDN BHD (1135772-K)"),
        (20, 82, "Date: 01/09/2017 10:42"), (20, 100, "Total Qty: 4"),
        (20, 112, total_line), (20, 124, "CASH RM 50.00"), (20, 136, "CHANGE RM 19.10"),
        (20, 148, "GST 6% S $ 1.75"),
    ])


def test_receipt_seller_total_and_day_first_date() -> None:
    inv = extract_fields([receipt()]).invoice
    assert inv.seller.name == "SANYU STATIONERY SHOP"  # the shop, not "Owned by ... SDN BHD"
    assert inv.total == Decimal("30.90")  # "TOFAL" one letter off; "Total Qty: 4" is a count
    assert inv.issue_date == date(2017, 9, 1)  # an OCR "$" before a space is no US dollar


def test_receipt_total_prefers_the_amount_with_cents() -> None:
    inv = extract_fields([receipt("Total After Rounding 5.50 4")]).invoice
    assert inv.total == Decimal("5.50")


def test_ocr_tolerance_stays_off_for_a_text_layer() -> None:
    # without the cash and change lines, whose difference would name 30.90 by arithmetic
    words = [dataclasses.replace(w, conf=1.0) for w in receipt()
             if w.text not in ("CASH", "CHANGE", "RM", "50.00", "19.10")]
    assert extract_fields([words]).invoice.total != Decimal("30.90")


def test_receipt_total_from_tender_printed_elsewhere() -> None:
    # the total's label is garbled beyond recognition; cash - change names an amount that is
    # printed once more: two independent readings agree
    inv = extract_fields([receipt("WTO, RM 30.90")]).invoice
    assert inv.total == Decimal("30.90")
    # cash - change printed nowhere else: no total is made up from it
    inv = extract_fields([receipt("WTO, RM 30.80")]).invoice
    assert inv.total != Decimal("30.90")


def test_receipt_card_payment_is_the_total_when_printed_again() -> None:
    words = ocr_words([(20, 10, "OJC MARKETING SDN BHD"), (20, 22, "Date 02/01/2019 2:47 PM"),
                       (20, 40, "KINGS SAFETY SHOES 1 170.00 170.00"), (20, 52, "TOTAL:"),
                       (20, 64, "VISA CARD 170.00")])
    assert extract_fields([words]).invoice.total == Decimal("170.00")


def test_receipt_total_followed_by_its_rounding_adjustment() -> None:
    words = ocr_words([(20, 10, "ALI BABA SDN BHD"), (20, 22, "Date: 19-02-2018 14:19"),
                       (20, 40, "Total (Inclusive of GST): 23.79"), (20, 52, "Rounding Adj: 0.01"),
                       (20, 64, "0 -. A.: 23.80")])
    assert extract_fields([words]).invoice.total == Decimal("23.80")
    # a nearby rounded amount without its adjustment printed is not taken
    words = [w for w in words if w.text != "0.01"]
    assert extract_fields([words]).invoice.total == Decimal("23.79")


def test_receipt_legal_name_on_two_lines_and_ocr_confusions() -> None:
    words = ocr_words([(20, 10, "KEDAI UBAT € RUNCIT HONG"), (40, 20, "NING SON. BHD."),
                       (20, 32, "(717853-F)"), (20, 44, "Lot 5, Jalan Besar")])
    assert extract_fields([words]).invoice.seller.name == "KEDAI UBAT & RUNCIT HONG NING SDN. BHD."
    words = ocr_words([(20, 10, "MR. D.1.Y. (M) SDN BHD (860671-D)"), (20, 22, "LOT 1851-A")])
    assert extract_fields([words]).invoice.seller.name == "MR. D.I.Y. (M) SDN BHD"


def test_ocr_line_items_are_repaired_by_arithmetic() -> None:
    from extractors.line_repair import repair_line
    from models.domain import InvoiceLine

    def fix(qty: str | None, price: str | None, amount: str) -> tuple[object, ...]:
        line = InvoiceLine("x", *(Decimal(v) if v else None for v in (qty, price, amount)))
        out = repair_line(line)
        return out.quantity, out.unit_price, out.amount

    assert fix("25", "55135", "1383.75") == (Decimal(25), Decimal("55.35"), Decimal("1383.75"))
    assert fix("9", "175.22", "876.10") == (Decimal(5), Decimal("175.22"), Decimal("876.10"))
    assert fix(None, "56.45", "1439.48") == (Decimal("25.5"), Decimal("56.45"), Decimal("1439.48"))
    assert fix("50", None, "5758.50") == (Decimal(50), Decimal("115.17"), Decimal("5758.50"))
    # a discount (far from any one-figure misreading) is left as printed
    assert fix("10", "20.00", "150.00") == (Decimal(10), Decimal("20.00"), Decimal("150.00"))


def test_date_running_into_a_time() -> None:
    from extractors.dates import search_date

    assert search_date("01/05/2016-13:19:16-29-NORBAIZURA")[0] == date(2016, 5, 1)  # type: ignore[index]
    assert search_date("12-05-2026-001") is None


def test_receipt_total_misread_by_one_digit_follows_cash_minus_change() -> None:
    words = receipt("TOTAL RM 185.00")
    words = [w for w in words if w.text not in ("CASH", "CHANGE")]  # replaced below
    words += ocr_words([(20, 160, "CASH RM 200.00"), (20, 172, "CHANGE RM 35.00")])
    assert extract_fields([words]).invoice.total == Decimal("165.00")
    words = ocr_words([(20, 10, "SHOP"), (20, 30, "TOTAL RM 185.00"), (20, 42, "CASH 200.00"),
                       (20, 54, "CHANGE 120.00")])
    assert extract_fields([words]).invoice.total == Decimal("185.00")  # far off: as printed


def _boxes_footer(sub: str, tax: str, total: str) -> list[WordBox]:
    """The generator's "boxes" footer: labels in a row, the OCR'd values under them."""
    words = spanish_invoice()
    words = [w for w in words if w.top < 250]
    return words + page_of([
        (300, 260, "Base imponible"), (400, 260, "IVA 21%"), (480, 260, "Total factura"),
        (300, 274, sub), (400, 274, tax), (480, 274, total),
    ])


def test_a_subtotal_with_a_lost_decimal_comma_is_reread_from_the_arithmetic() -> None:
    """OCR read "1.250,00" as "1.25000": the line items and subtotal + tax = total ask for
    1250.00, and those digits are printed as one number."""
    result = extract_fields([_boxes_footer("1.25000€", "262,50€", "1.512,50 €")])
    assert result.invoice.subtotal == Decimal("1250.00")
    assert result.invoice.tax_total == Decimal("262.50")


def test_a_space_thousands_separator_split_by_ocr_is_reread() -> None:
    result = extract_fields([_boxes_footer("1 250,00€", "262,50€", "1 512,50 €")])
    assert (result.invoice.subtotal, result.invoice.total) == (Decimal("1250.00"),
                                                                 Decimal("1512.50"))


def test_the_arithmetic_never_invents_an_amount_that_is_not_printed() -> None:
    result = extract_fields([_boxes_footer("1.250,00€", "(illegible)", "1.512,50 €")])
    assert result.invoice.tax_total is None  # 262.50 would add up, but it is not printed


def test_a_letter_o_read_for_a_zero_in_a_tax_id_is_mended_by_the_checksum() -> None:
    from extractors.ids import normalize_tax_id

    assert normalize_tax_id("BO3143229") == "B03143229"
    assert normalize_tax_id("FRO4659736250") == "FR04659736250"
    assert normalize_tax_id("BO3143228") is None  # the checksum still decides


def test_ocr_slips_around_a_bracketed_qualifier_in_a_name() -> None:
    from extractors.parties import tidy_brackets

    assert tidy_brackets("GARDENIA BAKERIES (KL ) SDN BHD") == "GARDENIA BAKERIES (KL) SDN BHD"
    assert tidy_brackets("GARDENIA BAKERIES (KL|SDN BHD") == "GARDENIA BAKERIES (KL) SDN BHD"
    assert tidy_brackets("MONSIEUR ( M ) SDN. BHD.") == "MONSIEUR ( M ) SDN. BHD."  # as printed
    words = ocr_words([(20, 10, "GARDENIA BAKERIES (KL ) SDN BHD"), (20, 22, "LOT 3, JALAN 7")])
    assert extract_fields([words]).invoice.seller.name == "GARDENIA BAKERIES (KL) SDN BHD"
    text_layer = [dataclasses.replace(w, conf=1.0) for w in words]  # a text layer: as printed
    assert extract_fields([text_layer]).invoice.seller.name == "GARDENIA BAKERIES (KL ) SDN BHD"

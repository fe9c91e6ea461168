"""QR codes: OpenCV decoding of a Swiss QR-bill (PNG and PDF page), a generated EPC/GiroCode
round trip, Spanish VERI*FACTU / TicketBAI URLs, and QR_MISMATCH problems."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pytest

from arflow.reasons import Reason
from extractors.qr import (
    EpcQr,
    InvalidQrPayloadError,
    SpanishTaxQr,
    SwissQrBill,
    compare_qr,
    decode_file,
    decode_image,
    parse_payload,
    qr_to_fields,
    read_qr_payloads,
    swico_s1,
)
from models.domain import Invoice, Party

DATA = Path(__file__).parent / "data" / "qr"
EPC_TEXT = (
    "BCD\n002\n1\nSCT\nCOBADEFFXXX\nMüller & Söhne GmbH\nDE89 3704 0044 0532 0130 00\n"
    "EUR1234.56\nGDDS\nRF18539007547034\n"
)
VERIFACTU_URL = (
    "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR"
    "?nif=89890001K&numserie=12345678%26G33&fecha=01-09-2026&importe=241.40"
)
TICKETBAI_URL = (
    "https://batuz.eus/QRTBAI/?id=TBAI-00000006Y-251019-btFpwP8dcLGAF-237"
    "&s=T&nf=27174&i=4.70&cr=007"
)


def _encode(text: str, scale: int = 8) -> np.ndarray:
    image = cv2.QRCodeEncoder.create().encode(text)
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)


def test_swiss_qr_bill_png_decodes_to_the_ground_truth() -> None:
    truth = (DATA / "qr-full-set.qr.txt").read_text(encoding="utf-8")
    codes = decode_file(DATA / "qr-full-set.png")
    assert [c.text for c in codes] == [truth]
    bill = parse_payload(codes[0].text)
    assert isinstance(bill, SwissQrBill)
    assert (bill.iban, bill.amount, bill.currency) == (
        "CH4431999123000889012", Decimal("25.90"), "CHF",
    )
    assert (bill.reference_type, bill.reference) == ("QRR", "123456789012345678901234567")
    assert bill.creditor_name == "Thomas LeClaire"
    assert bill.message == "Invoice 1234568 Gardening work"


@pytest.mark.slow
def test_swiss_qr_bill_pdf_page_decodes_to_the_ground_truth() -> None:
    truth = (DATA / "qr-payment-reference-scor.qr.txt").read_text(encoding="utf-8")
    codes = decode_file(DATA / "qr-payment-reference-scor.pdf")
    assert [(c.text, c.page) for c in codes] == [(truth, 0)]
    bill = parse_payload(codes[0].text)
    assert isinstance(bill, SwissQrBill)
    assert (bill.iban, bill.amount, bill.reference_type) == (
        "CH9300762011623852957", Decimal("25.90"), "SCOR",
    )


def test_generated_epc_qr_round_trips() -> None:
    assert decode_image(_encode(EPC_TEXT)) == [EPC_TEXT]
    epc = parse_payload(decode_image(_encode(EPC_TEXT))[0])
    assert epc == EpcQr(
        version="002", bic="COBADEFFXXX", name="Müller & Söhne GmbH",
        iban="DE89370400440532013000", amount=Decimal("1234.56"), currency="EUR",
        purpose="GDDS", reference="RF18539007547034", remittance_text=None,
    )
    fields = qr_to_fields(epc)
    assert (fields.iban, fields.total, fields.currency, fields.seller.name) == (
        "DE89370400440532013000", Decimal("1234.56"), "EUR", "Müller & Söhne GmbH",
    )
    assert fields.invoice_number is None and fields.issue_date is None


def test_one_pixel_per_module_still_decodes() -> None:
    assert decode_image(_encode(EPC_TEXT, scale=1)) == [EPC_TEXT]


def test_page_without_qr_code_gives_nothing() -> None:
    assert decode_image(np.full((400, 300), 255, dtype=np.uint8)) == []


def test_verifactu_url() -> None:
    qr = parse_payload(VERIFACTU_URL)
    assert qr == SpanishTaxQr(
        scheme="verifactu", issuer_nif="89890001K", invoice_number="12345678&G33",
        series=None, issue_date=date(2026, 9, 1), total=Decimal("241.40"), url=VERIFACTU_URL,
    )
    fields = qr_to_fields(qr)
    assert (fields.seller.tax_id, fields.invoice_number, fields.total) == (
        "89890001K", "12345678&G33", Decimal("241.40"),
    )


def test_ticketbai_url() -> None:
    qr = parse_payload(TICKETBAI_URL)
    assert isinstance(qr, SpanishTaxQr)
    assert (qr.scheme, qr.issuer_nif, qr.series, qr.invoice_number) == (
        "ticketbai", "00000006Y", "T", "27174",
    )
    assert (qr.issue_date, qr.total) == (date(2019, 10, 25), Decimal("4.70"))
    assert qr_to_fields(qr).invoice_number == "T27174"


@pytest.mark.parametrize("text", ["hello", "https://example.org/?a=1", "WIFI:S:x;;", ""])
def test_other_payloads_are_not_recognised(text: str) -> None:
    assert parse_payload(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "SPC\n0200\n1\nCH44",  # truncated
        (DATA / "qr-full-set.qr.txt").read_text(encoding="utf-8").replace("25.90", "25,9x"),
        "BCD\n002\n1\nSCT\n\nName\nDE89370400440532013000\n12.30 EUR",
        "https://batuz.eus/QRTBAI/?id=TBAI-00000006Y-251019-x-1&i=4.70",  # no nf
    ],
)
def test_broken_known_payloads_raise_a_typed_error(text: str) -> None:
    with pytest.raises(InvalidQrPayloadError):
        parse_payload(text)


def test_swico_s1_bill_information_adds_number_date_and_uid() -> None:
    info = "//S1/10/10201409/11/190512/20/1400.000-53/30/106017086/31/180508/32/7.7"
    assert swico_s1(info)["10"] == "10201409"
    bill = parse_payload((DATA / "qr-full-set.qr.txt").read_text(encoding="utf-8"))
    assert isinstance(bill, SwissQrBill)
    fields = qr_to_fields(SwissQrBill(**{**bill.__dict__, "bill_information": info}))
    assert (fields.invoice_number, fields.issue_date, fields.seller.tax_id) == (
        "10201409", date(2019, 5, 12), "CHE-106.017.086",
    )


def test_compare_qr_agreeing_invoice_has_no_problem() -> None:
    bill = parse_payload((DATA / "qr-full-set.qr.txt").read_text(encoding="utf-8"))
    assert bill is not None
    invoice = Invoice(
        currency="CHF", total=Decimal("25.9"), iban="CH44 3199 9123 0008 8901 2",
        invoice_number="whatever the text says",
    )
    assert compare_qr(bill, invoice) == []


def test_compare_qr_reports_each_disagreement() -> None:
    bill = parse_payload((DATA / "qr-full-set.qr.txt").read_text(encoding="utf-8"))
    assert bill is not None
    invoice = Invoice(currency="EUR", total=Decimal("29.50"), iban="CH9300762011623852957")
    problems = compare_qr(bill, invoice)
    assert [(p.code, p.field, p.expected, p.found) for p in problems] == [
        (Reason.QR_MISMATCH, "currency", "CHF", "EUR"),
        (Reason.QR_MISMATCH, "total", "25.90", "29.50"),
        (Reason.QR_MISMATCH, "iban", "CH4431999123000889012", "CH9300762011623852957"),
    ]


def test_compare_qr_spanish_number_and_nif() -> None:
    qr = parse_payload(TICKETBAI_URL)
    assert qr is not None
    same = Invoice(
        invoice_number="T-27174", issue_date=date(2019, 10, 25), total=Decimal("4.70"),
        seller=Party(tax_id="ES00000006Y"),
    )
    assert compare_qr(qr, same) == []
    other = Invoice(invoice_number="27175", seller=Party(tax_id="B12345678"))
    assert [p.field for p in compare_qr(qr, other)] == ["invoice_number", "seller.tax_id"]


def test_colour_and_alpha_images_decode() -> None:
    grey = _encode(EPC_TEXT)
    bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    bgra = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGRA)
    assert decode_image(bgr) == decode_image(bgra) == [EPC_TEXT]


def test_read_qr_payloads_of_an_image_file(tmp_path: Path) -> None:
    code = _encode(EPC_TEXT)
    page = np.full((900, 700), 255, dtype=np.uint8)
    page[100 : 100 + code.shape[0], 100 : 100 + code.shape[1]] = code
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), page)
    found = read_qr_payloads(path)
    assert [(type(f.payload), f.page) for f in found] == [(EpcQr, 0)]
    assert isinstance(found[0].payload, EpcQr) and found[0].payload.amount == Decimal("1234.56")


def test_read_qr_payloads_skips_foreign_codes(tmp_path: Path) -> None:
    path = tmp_path / "wifi.png"
    cv2.imwrite(str(path), _encode("WIFI:S:guest;T:WPA;P:secret;;"))
    assert decode_file(path)[0].text.startswith("WIFI:")
    assert read_qr_payloads(path) == []


def test_a_scan_with_a_disagreeing_payment_qr_gets_qr_mismatch(tmp_path: Path) -> None:
    from extractors.api import extract_file
    from generator import generate_documents, load_ground_truth, render_scanned

    pdfs = [p for p in generate_documents(tmp_path, 6, 4242, layouts=["classic"])
            if p.suffix == ".pdf"]
    pdf = next(p for p in pdfs if load_ground_truth(p).iban)  # a seller paid by IBAN
    truth = load_ground_truth(pdf)
    scan = render_scanned(pdf, tmp_path / "scan.png", seed=1, skew_deg=0.0, noise=2.0)
    page = cv2.imread(str(scan), cv2.IMREAD_GRAYSCALE)
    code = _encode(EPC_TEXT, scale=6)  # pays DE89 3704 ..., not the invoice's IBAN
    height, width = code.shape
    page[-height - 80:-80, -width - 80:-80] = code
    cv2.imwrite(str(scan), page)
    result = extract_file(scan)
    assert result.kind == "scanned" and truth.iban != "DE89370400440532013000"
    mismatched = {p.field for p in result.errors if p.code == Reason.QR_MISMATCH}
    assert "iban" in mismatched
    assert result.invoice.iban == truth.iban  # the printed value stays; the QR is evidence


def test_a_qr_bill_slip_alone_fills_payment_fields() -> None:
    from extractors.api import extract_file

    result = extract_file(DATA / "qr-full-set.png")
    assert (result.invoice.iban, result.invoice.total, result.invoice.currency) == (
        "CH4431999123000889012", Decimal("25.90"), "CHF")
    assert result.invoice.seller.name == "Thomas LeClaire"
    assert result.status == "partial"  # no invoice number or date on a bare slip

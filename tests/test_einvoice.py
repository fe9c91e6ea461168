"""Structured e-invoices: every syntax against exact values from copied samples, hostile XML
refused, embedded XML out of a Factur-X PDF, and the printed-vs-XML cross-check."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arflow.errors import DocumentError, UnsupportedFormat
from arflow.reasons import Reason
from extractors.einvoice import (
    EInvoiceFormat,
    MalformedXmlError,
    UnsafeXmlError,
    check_against_text,
    compare_with_printed,
    extract_embedded_xml,
    is_einvoice_xml,
    parse_einvoice,
    read_einvoice,
)
from extractors.einvoice.xmlsafe import to_date, to_decimal
from models.domain import Invoice

DATA = Path(__file__).parent / "data" / "einvoice"

# file -> (format, header fields, first line (description, qty, unit price, amount, rate))
EXPECTED: dict[str, tuple[EInvoiceFormat, dict[str, Any], tuple[Any, ...]]] = {
    "peppol-base-example.xml": (
        EInvoiceFormat.UBL_INVOICE,
        {
            "invoice_number": "Snippet1", "issue_date": date(2017, 11, 13),
            "due_date": date(2017, 12, 1), "currency": "EUR",
            "seller.name": "SupplierOfficialName Ltd", "seller.tax_id": "GB1232434",
            "buyer.name": "Buyer Official Name", "buyer.tax_id": "SE4598375937",
            "subtotal": Decimal("1325"), "tax_total": Decimal("331.25"),
            "total": Decimal("1656.25"), "iban": None,
            "payment_terms": "Payment within 10 days, 2% discount",
        },
        ("item name", Decimal(7), Decimal(400), Decimal(2800), Decimal("25.0")),
    ),
    "peppol-base-creditnote-correction.xml": (
        EInvoiceFormat.UBL_CREDIT_NOTE,
        {
            "invoice_number": "Snippet1", "issue_date": date(2017, 11, 13), "currency": "EUR",
            "seller.tax_id": "GB1232434", "total": Decimal("1656.25"),
            "tax_total": Decimal("331.25"),
        },
        ("item name", Decimal(7), Decimal(400), Decimal(2800), Decimal("25.0")),
    ),
    "en16931-CII_example9.xml": (
        EInvoiceFormat.CII,
        {
            "invoice_number": "20150483", "issue_date": date(2015, 4, 1),
            "due_date": date(2015, 4, 15), "currency": "EUR", "seller.name": "Bluem BV",
            "seller.tax_id": "NL809163160B01",
            "seller.address": "Lindeboomseweg 41, 3825 AL Amersfoort, NL",
            "buyer.name": "Provide Verzekeringen", "subtotal": Decimal(147),
            "tax_total": Decimal("30.87"), "total": Decimal("177.87"),
            "iban": "NL13RABO0377815500",
        },
        ("IExpress licentiekosten", Decimal(3), Decimal(49), Decimal(147), Decimal(21)),
    ),
    "xrechnung-01.01a-INVOICE_uncefact.xml": (
        EInvoiceFormat.CII,
        {
            "invoice_number": "123456XX", "issue_date": date(2016, 4, 4), "currency": "EUR",
            "seller.tax_id": "DE 123456789", "subtotal": Decimal("314.86"),
            "tax_total": Decimal("22.04"), "total": Decimal("336.9"),
            "iban": "DE79000000001234567890", "payment_terms": "Zahlbar sofort ohne Abzug.",
        },
        ("Zeitschrift [...]", Decimal(1), Decimal("288.79"), Decimal("288.79"), Decimal(7)),
    ),
    "zugferd1-comfort.xml": (
        EInvoiceFormat.ZUGFERD1,
        {
            "invoice_number": "471102", "issue_date": date(2013, 3, 5),
            "due_date": date(2013, 4, 4), "currency": "EUR", "seller.name": "Lieferant GmbH",
            "seller.tax_id": "DE123456789", "buyer.name": "Kunden AG Mitte",
            "subtotal": Decimal("473.00"), "tax_total": Decimal("56.87"),
            "total": Decimal("529.87"), "iban": "DE08700901001234567890",
        },
        ("Trennblätter A4", Decimal(20), Decimal("9.9"), Decimal(198), Decimal(19)),
    ),
    "facturae-invoice-vat.facturae.xml": (
        EInvoiceFormat.FACTURAE,
        {
            "invoice_number": "TEST01001F", "issue_date": date(2021, 12, 8),
            "due_date": date(2021, 12, 30), "currency": "EUR", "seller.name": "Hypeprop Sl",
            "seller.tax_id": "B23103039", "buyer.tax_id": "B77436020",
            "subtotal": Decimal("4202.00"), "tax_total": Decimal("882.42"),
            "total": Decimal("5084.42"), "iban": "ES2501882570718544704761",
        },
        (
            "Operations and development - day rate",
            Decimal(20), Decimal(200), Decimal(4000), Decimal(21),
        ),
    ),
    "fatturapa-IT01234567890_FPA01.xml": (
        EInvoiceFormat.FATTURAPA,
        {
            "invoice_number": "123", "issue_date": date(2017, 1, 18),
            "due_date": date(2017, 2, 18), "currency": "EUR", "seller.name": "ALPHA SRL",
            "seller.tax_id": "IT01234567890", "order_number": "66685",
            "subtotal": Decimal("5.00"), "tax_total": Decimal("1.10"), "total": Decimal("6.10"),
        },
        ("DESCRIZIONE DELLA FORNITURA", Decimal(5), Decimal(1), Decimal(5), Decimal(22)),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_format_reads_exact_values(name: str) -> None:
    fmt, header, first_line = EXPECTED[name]
    data = (DATA / name).read_bytes()
    assert is_einvoice_xml(data)
    got_fmt, invoice = read_einvoice(data)
    assert got_fmt is fmt
    assert {field: invoice.get(field) for field in header} == header
    line = invoice.lines[0]
    assert (line.description, line.quantity, line.unit_price, line.amount, line.tax_rate) == (
        first_line
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_money_is_decimal_never_float(name: str) -> None:
    invoice = parse_einvoice((DATA / name).read_bytes())
    values = [invoice.subtotal, invoice.tax_total, invoice.total]
    values += [v for line in invoice.lines for v in (line.quantity, line.unit_price, line.amount)]
    assert all(v is None or isinstance(v, Decimal) for v in values)
    assert any(isinstance(v, Decimal) for v in values)


def test_facturae_agrees_with_its_gobl_source() -> None:
    gobl = json.loads((DATA / "facturae-invoice-vat.gobl.json").read_text())["doc"]
    invoice = parse_einvoice((DATA / "facturae-invoice-vat.facturae.xml").read_bytes())
    assert invoice.invoice_number == gobl["code"]
    assert invoice.issue_date == date.fromisoformat(gobl["issue_date"])
    assert invoice.currency == gobl["currency"]
    assert invoice.total == Decimal(gobl["totals"]["total_with_tax"])
    assert invoice.seller.tax_id == gobl["supplier"]["tax_id"]["code"]
    assert invoice.iban == gobl["payment"]["instructions"]["credit_transfer"][0]["iban"].replace(
        " ", ""
    )
    assert len(invoice.lines) == len(gobl["lines"])


def test_embedded_xml_of_a_factur_x_pdf() -> None:
    found = extract_embedded_xml(DATA / "mustang-EN16931_Einfach.pdf")
    assert found is not None
    name, xml = found
    assert name == "factur-x.xml"
    invoice = parse_einvoice(xml)
    assert (invoice.invoice_number, invoice.issue_date, invoice.total) == (
        "471102", date(2024, 11, 15), Decimal("529.87")
    )
    assert invoice.seller.tax_id == "DE123456789"


def test_pdf_without_attachment_has_no_embedded_xml() -> None:
    assert extract_embedded_xml(DATA.parent / "qr" / "qr-payment-reference-scor.pdf") is None


def test_unreadable_pdf_is_a_document_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\nnot really a pdf")
    with pytest.raises(DocumentError):
        extract_embedded_xml(bad)


@pytest.mark.parametrize("name", ["hostile-xxe.xml", "hostile-billion-laughs.xml"])
def test_hostile_xml_is_refused_not_expanded(name: str) -> None:
    data = (DATA / name).read_bytes()
    assert is_einvoice_xml(data)  # it sniffs as an invoice, so it reaches the real parser ...
    start = time.perf_counter()
    with pytest.raises(UnsafeXmlError) as caught:
        parse_einvoice(data)  # ... which refuses it
    assert time.perf_counter() - start < 1.0
    assert isinstance(caught.value, DocumentError)
    assert caught.value.code == Reason.UNREADABLE_DOCUMENT
    assert "root:" not in str(caught.value) and "lollol" not in str(caught.value)


def test_malformed_and_foreign_xml_are_typed_errors() -> None:
    with pytest.raises(MalformedXmlError):
        parse_einvoice(b"<Invoice><unclosed></Invoice>")
    with pytest.raises(UnsupportedFormat):
        parse_einvoice(b'<?xml version="1.0"?><order xmlns="urn:example:order"/>')
    with pytest.raises(UnsupportedFormat):
        parse_einvoice(b"<Invoice>no namespace is not UBL</Invoice>")


def test_bad_amount_is_a_typed_error_not_a_crash() -> None:
    data = (DATA / "en16931-CII_example9.xml").read_bytes()
    broken = data.replace(b">177.87<", b">177,87 EUR<", 1)
    assert broken != data
    with pytest.raises(MalformedXmlError, match="GrandTotalAmount"):
        parse_einvoice(broken)


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-1.4", b"{}", b"<html><body>Invoice</body></html>", b"<root/>",
     b'<Invoice xmlns="urn:example:other"/>'],
)
def test_is_einvoice_xml_rejects_other_content(data: bytes) -> None:
    assert not is_einvoice_xml(data)


def test_is_einvoice_xml_skips_prolog_and_comments() -> None:
    data = (
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- <Invoice> in a comment -->\n'
        b'<ubl:CreditNote xmlns:ubl="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>'
    )
    assert is_einvoice_xml(data)


@given(st.text(max_size=20))
def test_value_readers_return_a_value_or_a_typed_error(raw: str) -> None:
    for reader in (to_decimal, to_date):
        with contextlib.suppress(MalformedXmlError):
            value = reader(raw)
            assert value is None or isinstance(value, Decimal | date)


def _printed(xml: Invoice, **changes: Any) -> Invoice:
    data = xml.to_json() | changes
    return Invoice.from_json(data)


def test_compare_with_printed_agreeing_documents() -> None:
    xml = parse_einvoice((DATA / "zugferd1-comfort.xml").read_bytes())
    printed = _printed(xml, invoice_number=" 471 102 ", total="529.870")
    assert compare_with_printed(xml, printed) == []


def test_compare_with_printed_reports_each_mismatch() -> None:
    xml = parse_einvoice((DATA / "zugferd1-comfort.xml").read_bytes())
    printed = _printed(xml, invoice_number="471103", issue_date="2013-03-06", total="592.87")
    problems = compare_with_printed(xml, printed)
    assert [(p.code, p.field, p.expected, p.found) for p in problems] == [
        (Reason.EINVOICE_MISMATCH, "invoice_number", "471102", "471103"),
        (Reason.EINVOICE_MISMATCH, "issue_date", "2013-03-05", "2013-03-06"),
        (Reason.EINVOICE_MISMATCH, "total", "529.87", "592.87"),
    ]


def test_compare_with_printed_ignores_fields_the_text_extractor_missed() -> None:
    xml = parse_einvoice((DATA / "zugferd1-comfort.xml").read_bytes())
    assert compare_with_printed(xml, Invoice(total=Decimal("529.87"))) == []
    problems = compare_with_printed(xml, Invoice(total=Decimal("529.88")))
    assert [p.field for p in problems] == ["total"]
    near = Invoice(total=Decimal("529.88"))
    assert compare_with_printed(xml, near, tolerance=Decimal("0.01")) == []


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def test_printed_text_of_a_hybrid_pdf_shows_its_xml_values() -> None:
    pdf = DATA / "mustang-EN16931_Einfach.pdf"
    found = extract_embedded_xml(pdf)
    assert found is not None
    xml = parse_einvoice(found[1])
    text = _pdf_text(pdf)
    assert check_against_text(xml, text) == []
    forged = _printed(xml, total="592.87", invoice_number="471103")
    problems = check_against_text(forged, text)
    assert [(p.code, p.field, p.expected, p.found) for p in problems] == [
        (Reason.EINVOICE_MISMATCH, "total", "592.87", None),
        (Reason.EINVOICE_MISMATCH, "invoice_number", "471103", None),
    ]


@pytest.mark.parametrize(
    "printed",
    [
        "Rechnung Nr. RE-2014/03 vom 11. Juli 2014, Gesamtbetrag 1.021,91 EUR",
        "Invoice re 2014 03 dated July 11, 2014 total due: 1,021.91",
        "Facture RE 201403 du 11/07/2014 - Total TTC 1 021,91 €",
        "Avoir RE-2014-03 2014-07-11 total -1021.91",
        "Factura RE-2014-03 de 11 de julio de 2014 total 1021,91",
    ],
)
def test_text_check_accepts_the_usual_spellings(printed: str) -> None:
    xml = Invoice(
        invoice_number="RE-2014/03", issue_date=date(2014, 7, 11), total=Decimal("1021.91")
    )
    assert check_against_text(xml, printed) == []


def test_text_check_flags_a_different_date_and_amount() -> None:
    xml = Invoice(invoice_number="7", issue_date=date(2014, 7, 11), total=Decimal("1021.91"))
    problems = check_against_text(xml, "Invoice 7 of 12.07.2014, total 1.021,90")
    assert [p.field for p in problems] == ["total", "issue_date"]


def test_compare_with_printed_credit_note_printed_negative_is_no_mismatch() -> None:
    xml = Invoice(invoice_number="AV-2017-0005", total=Decimal("233.47"))
    printed = Invoice(invoice_number="AV 2017 0005", total=Decimal("-233.47"))
    assert compare_with_printed(xml, printed) == []


def test_utf16_encoded_invoice_is_sniffed_and_parsed() -> None:
    text = (DATA / "peppol-base-example.xml").read_text(encoding="utf-8")
    data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert is_einvoice_xml(data)
    assert parse_einvoice(data).total == Decimal("1656.25")

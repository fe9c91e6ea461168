"""Inputs arflow turned away although it can read them, and a number it did not refuse as
promised (a QA pass on input gaps):

* a Factur-X / ZUGFeRD PDF whose embedded XML is junk (not XML, cut short, an unknown
  schema, a DTD, an amount no column holds) failed as a whole although its printed pages
  are readable: it is now read from its print, exactly as the same PDF without the
  attachment, and waits for review with EINVOICE_UNREADABLE saying what is wrong;
* BMP, WebP and GIF images were quarantined as UNSUPPORTED_FORMAT: their bytes were not
  recognised. They are now read like PNG and JPEG (real Tesseract on pages rendered from a
  generated invoice), and hostile ones fail with a reason, small and fast;
* `models.types.quantize(Decimal("1e400"))` raised `decimal.InvalidOperation` instead of
  the ValueError its docstring promises.

Every file here is made by the test itself, from the generator's invoices and the Mustang
Factur-X sample of `tests/data/einvoice` (provenance in its SOURCE.md).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from childrun import extract_measured
from PIL import Image
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from arflow.db import session_scope, upgrade
from arflow.engines import engine_for
from arflow.reasons import Reason
from arflow.runner import run_batch
from arflow.settings import Settings, load_settings
from extractors.api import extract_file, image_format
from extractors.einvoice import extract_embedded_xml
from extractors.ocr import tesseract
from extractors.ocr.images import load_pages
from extractors.render_limits import MAX_PAGE_PIXELS
from generator.invoices import generate_documents, load_ground_truth
from models import db
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice
from models.types import MAX_ABS, Amount, Quantity, quantize

EINVOICE = Path(__file__).parent / "data" / "einvoice"
MUSTANG = EINVOICE / "mustang-EN16931_Einfach.pdf"  # a valid Factur-X (EN 16931 profile)
SEED = 91000  # generator seed of the invoices rendered here (checked to OCR cleanly)

needs_tesseract = pytest.mark.skipif(not tesseract.available(), reason="tesseract not installed")


def _codes(result: ExtractionResult) -> list[str]:
    return [str(problem.code) for problem in result.errors]


def _key_fields(invoice: Invoice) -> tuple[object, ...]:
    return (invoice.invoice_number, invoice.issue_date, invoice.total, invoice.currency,
            invoice.seller.tax_id)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two generated invoice PDFs (a classic and a boxes layout), their truth beside them."""
    return generate_documents(tmp_path_factory.mktemp("generated"), 2, seed=SEED)


# --- 1. Factur-X whose embedded XML is junk ---------------------------------------------

def _with_attachment(source: Path, target: Path, data: bytes | None,
                     name: str = "factur-x.xml") -> Path:
    """A copy of `source` whose attachment `name` holds `data` instead (added if it had
    none; with None, removed), written by pdfium as any PDF library would."""
    pdf = pdfium.PdfDocument(source)
    try:
        names = [pdf.get_attachment(i).get_name() for i in range(pdf.count_attachments())]
        if name in names:
            pdf.del_attachment(names.index(name))
        if data is not None:
            pdf.new_attachment(name).set_data(data)
        pdf.save(target)
    finally:
        pdf.close()
    return target


def _mustang_xml() -> bytes:
    found = extract_embedded_xml(MUSTANG)
    assert found is not None and found[0] == "factur-x.xml"
    return found[1]


XML = _mustang_xml()
JUNK = {  # the attachment's bytes, and what the finding says about them
    "not-xml": (b"\x00\xffthis is not XML at all, just bytes\n", "not well-formed XML"),
    "truncated": (XML[: len(XML) // 2], "not well-formed XML"),
    "empty": (b"", "not well-formed XML"),
    "unknown-schema": (b'<?xml version="1.0" encoding="UTF-8"?>'
                       b'<Order xmlns="urn:example:order"><ID>471102</ID></Order>',
                       "not a supported e-invoice"),
    "dtd": (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
            b'CrossIndustryInvoice:100">&x;</rsm:CrossIndustryInvoice>', "XML refused"),
    "unknown-encoding": (XML.replace(b"encoding='UTF-8'", b"encoding='x-nonexistent'", 1),
                         "encoding"),
    "total-1e400": (XML.replace(b"<ram:GrandTotalAmount>529.87",
                                b"<ram:GrandTotalAmount>1e400", 1), "out of range"),
    "number-100-chars": (XML.replace(b"<ram:ID>471102</ram:ID>",
                                     b"<ram:ID>" + b"N" * 100 + b"</ram:ID>", 1),
                         "invoice_number is 100 characters long"),
}


def test_the_junk_variants_differ_from_the_valid_xml() -> None:
    assert all(data != XML for data, _ in JUNK.values())


@pytest.mark.parametrize("variant", list(JUNK))
def test_a_factur_x_with_junk_xml_is_read_from_its_print(tmp_path: Path, variant: str) -> None:
    """Before: failed whole (UNREADABLE_DOCUMENT or UNSUPPORTED_FORMAT), no fields."""
    data, why = JUNK[variant]
    junk = extract_file(_with_attachment(MUSTANG, tmp_path / "junk.pdf", data))
    plain = extract_file(_with_attachment(MUSTANG, tmp_path / "plain.pdf", None))
    assert plain.kind == DocumentKind.DIGITAL and plain.status != ExtractionStatus.FAILED
    # read exactly as the same PDF without its attachment: nothing taken from the XML
    assert junk.status == plain.status and junk.kind == DocumentKind.DIGITAL
    assert junk.invoice == plain.invoice and junk.confidence == plain.confidence
    assert (junk.invoice.invoice_number, str(junk.invoice.issue_date), junk.invoice.total,
            junk.invoice.currency) == ("471102", "2024-11-15", Decimal("529.87"), "EUR")
    # ... and flagged for review, saying why
    assert junk.errors[:-1] == plain.errors
    finding = junk.errors[-1]
    assert finding.code == Reason.EINVOICE_UNREADABLE
    assert "factur-x.xml" in finding.message and why in finding.message
    assert "read from the printed pages" in finding.message


def test_a_valid_factur_x_still_takes_the_xml_path(tmp_path: Path) -> None:
    """The same rewriting with the XML it had: read from the XML, no finding."""
    result = extract_file(_with_attachment(MUSTANG, tmp_path / "valid.pdf", XML))
    assert result.kind == DocumentKind.EINVOICE and result.status == ExtractionStatus.OK
    assert Reason.EINVOICE_UNREADABLE not in _codes(result)
    assert result.invoice.seller.name == "Lieferant GmbH"  # from the XML only
    assert result.invoice.seller.tax_id == "DE123456789"


@needs_tesseract
def test_a_factur_x_whose_print_and_xml_are_both_unreadable_names_both(
    tmp_path: Path,
) -> None:
    """A PDF whose print is an empty page (no text layer, nothing for OCR to read): it
    fails with the print's reason (OCR_FAILED), the unreadable XML named beside it."""
    blank = pdfium.PdfDocument.new()
    blank.new_page(595, 842)
    blank.save(tmp_path / "blank.pdf")
    blank.close()
    path = _with_attachment(tmp_path / "blank.pdf", tmp_path / "blank-fx.pdf", b"junk")
    result = extract_file(path)
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.OCR_FAILED, Reason.EINVOICE_UNREADABLE]
    assert "not well-formed XML" in result.errors[-1].message


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    url = f"sqlite:///{tmp_path / 'arflow.db'}"
    upgrade(url)
    base = load_settings({"ARFLOW_HOME": str(tmp_path / "home"),
                          "ARFLOW_OCR_SECOND_ENGINE": "off"})
    yield replace(base, database_url=url, workers=1)


@needs_tesseract
def test_a_batch_reviews_the_junk_factur_x_and_reads_the_new_image_formats(
    settings: Settings, tmp_path: Path, generated: list[Path],
) -> None:
    """`arflow run`'s steps over a generated invoice carrying a junk factur-x.xml, the valid
    Mustang Factur-X and a GIF scan: none is failed or quarantined; the first waits for
    review with EINVOICE_UNREADABLE and its printed fields stored."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _with_attachment(generated[0], inbox / "junk-fx.pdf", b"<rsm:CrossIndustryInvoice")
    _with_attachment(MUSTANG, inbox / "valid-fx.pdf", XML)
    _render(generated[1]).save(inbox / "scan.gif")
    summary = run_batch(settings, inbox)
    assert summary.processed == 3
    truth = load_ground_truth(generated[0])
    with session_scope(engine_for(settings.database_url)) as session:
        rows = {row.source_name: row for row in session.scalars(select(db.Document))}
        reasons = {name: [r["code"] for r in row.reasons or []] for name, row in rows.items()}
        assert rows["junk-fx.pdf"].status == "needs_review"
        assert rows["junk-fx.pdf"].kind == DocumentKind.DIGITAL
        assert Reason.EINVOICE_UNREADABLE in reasons["junk-fx.pdf"]
        stored = rows["junk-fx.pdf"].invoice
        assert stored is not None
        assert (stored.invoice_number, stored.total) == (truth.invoice_number, truth.total)
        assert rows["valid-fx.pdf"].kind == DocumentKind.EINVOICE
        assert Reason.EINVOICE_UNREADABLE not in reasons["valid-fx.pdf"]
        assert rows["scan.gif"].kind == DocumentKind.SCANNED
        assert rows["scan.gif"].status != "failed", reasons["scan.gif"]


# --- 2. BMP, WebP and GIF ----------------------------------------------------------------

def _render(pdf: Path, dpi: int = 300) -> Image.Image:
    """The first page in grey at `dpi`, as a scanner delivers it."""
    document = pdfium.PdfDocument(pdf)
    try:
        return document[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()


SAVE = {"bmp": {"format": "BMP", "dpi": (300, 300)},   # BMP states its resolution
        "webp": {"format": "WEBP", "lossless": True},  # WebP and GIF do not
        "gif": {"format": "GIF"}}


@pytest.fixture(scope="module")
def page(generated: list[Path]) -> Image.Image:
    return _render(generated[0])


@needs_tesseract
@pytest.mark.parametrize("fmt", list(SAVE))
def test_bmp_webp_and_gif_scans_are_read_by_ocr(
    tmp_path: Path, generated: list[Path], page: Image.Image, fmt: str,
) -> None:
    """Before: UNSUPPORTED_FORMAT. Named without a suffix, so only the bytes tell."""
    path = tmp_path / "scan"
    page.save(path, **SAVE[fmt])
    settings = Settings(home=tmp_path, database_url="sqlite://", workers=1,
                        ocr_second_engine="off")
    result = extract_file(path, settings)
    assert result.status == ExtractionStatus.OK, result.errors
    assert result.kind == DocumentKind.SCANNED and result.pages == 1
    assert _key_fields(result.invoice) == _key_fields(load_ground_truth(generated[0]))


def test_the_probe_knows_each_format_by_its_bytes(page: Image.Image) -> None:
    small = page.resize((400, 566))
    for fmt in ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF"):
        buffer = io.BytesIO()
        small.save(buffer, fmt)
        assert image_format(buffer.getvalue()[:2048]) == fmt
    assert image_format(b"BMW invoice 2026, total 5.00 EUR") is None  # "BM" is not enough
    assert image_format(b"RIFF\x10\x00\x00\x00WAVEfmt ") is None  # RIFF, but audio


def test_a_gif_named_png_and_a_bmp_named_pdf_are_read_as_what_they_are(
    tmp_path: Path, page: Image.Image,
) -> None:
    small = page.resize((620, 877))
    small.save(tmp_path / "gif.png", "GIF")
    small.save(tmp_path / "bmp.pdf", "BMP")
    for name in ("gif.png", "bmp.pdf"):
        pages = list(load_pages(tmp_path / name))
        assert [p.image.shape for p in pages] == [(877, 620)], name


@needs_tesseract
def test_each_frame_of_a_multi_frame_gif_is_a_page(
    tmp_path: Path, generated: list[Path],
) -> None:
    """Two invoices as two frames: two pages, found to be two invoices (the file keeps
    the first one's fields and waits for review: a GIF is not split)."""
    first, second = (_render(pdf, dpi=200) for pdf in generated)
    path = tmp_path / "fax.gif"
    first.save(path, save_all=True, append_images=[second])
    settings = Settings(home=tmp_path, database_url="sqlite://", workers=1,
                        ocr_second_engine="off", ocr_reread=False)
    result = extract_file(path, settings)
    assert result.pages == 2
    assert result.invoice_pages == [(0, 0), (1, 1)]
    assert Reason.MULTIPLE_INVOICES in _codes(result)
    assert result.invoice.invoice_number == load_ground_truth(generated[0]).invoice_number


def _riff_webp(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _vp8l_header(width: int, height: int) -> bytes:
    """A lossless WebP bitstream's header claiming `width` x `height`, and no pixels."""
    body = b"\x2f" + struct.pack("<I", (width - 1) | ((height - 1) << 14))
    return b"VP8L" + struct.pack("<I", len(body)) + body + b"\0"


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                              0, 0, 0)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("name", "data"), [
    ("claims.webp", _riff_webp(_vp8l_header(16383, 10000))),  # 164 Mpx: Pillow only warns
    ("bomb.webp", _riff_webp(_vp8l_header(16383, 16383))),    # 268 Mpx: Pillow refuses
    ("claims.png", _png_header(16383, 10000)),
], ids=["webp-164M", "webp-268M", "png-164M"])
def test_an_image_claiming_enormous_dimensions_is_too_large_small_and_fast(
    tmp_path: Path, name: str, data: bytes,
) -> None:
    """Before (once recognised): a 26-byte WebP claiming 16,383 x 10,000 pixels made Pillow
    allocate them (660 MB) before failing as truncated."""
    path = tmp_path / name
    path.write_bytes(data)
    found = extract_measured(path, timeout=60)
    assert found["status"] == "failed"
    assert [e["code"] for e in found["errors"]] == [Reason.FILE_TOO_LARGE]
    assert found["peak_kb"] < 300_000, f"peak RSS {found['peak_kb']} KB"


@pytest.mark.parametrize("fmt", ["BMP", "WEBP", "GIF"])
def test_a_truncated_image_fails_with_a_reason(tmp_path: Path, page: Image.Image,
                                               fmt: str) -> None:
    buffer = io.BytesIO()
    page.save(buffer, fmt)
    data = buffer.getvalue()
    for name, cut in (("third", data[: len(data) // 3]), ("header", data[:60])):
        path = tmp_path / f"{name}.{fmt.lower()}"
        path.write_bytes(cut)
        result = extract_file(path)
        assert result.status == ExtractionStatus.FAILED, (fmt, name)
        assert _codes(result) == [Reason.UNREADABLE_DOCUMENT], (fmt, name, result.errors)
        assert result.kind == DocumentKind.SCANNED


def test_a_jpeg_over_the_pixel_limit_is_decoded_reduced(tmp_path: Path) -> None:
    """A 72-megapixel JPEG at 600 dpi: decoded at half size (libjpeg's scaling), 300 dpi."""
    path = tmp_path / "huge.jpg"
    Image.new("L", (9000, 8000), 255).save(path, dpi=(600, 600), quality=50)
    assert MAX_PAGE_PIXELS < 9000 * 8000
    (only,) = list(load_pages(path))
    assert only.image.shape == (4000, 4500)
    assert only.dpi == pytest.approx(300)


# --- 3. quantize at the limits of NUMERIC(18, 4) -------------------------------------------

@pytest.mark.parametrize("text", ["1e400", "-1e400", "1E+1000000", "1e14", "-1e14",
                                  "99999999999999.99995", "NaN", "-NaN", "sNaN", "Infinity",
                                  "-Infinity", pytest.param("9" * 5000, id="5000-digits")])
def test_quantize_refuses_what_the_column_cannot_hold_with_a_value_error(text: str) -> None:
    """Before: 1e400 raised decimal.InvalidOperation (quantize overflowed the precision)."""
    with pytest.raises(ValueError, match=r"exceeds NUMERIC|not a finite number") as caught:
        quantize(Decimal(text))
    assert len(str(caught.value)) < 100  # a number of 5,000 digits is not repeated whole


@pytest.mark.parametrize(("text", "stored"), [
    ("99999999999999.9999", "99999999999999.9999"),
    ("-99999999999999.9999", "-99999999999999.9999"),
    ("99999999999999.99994", "99999999999999.9999"),
    ("12.345650", "12.3456"),  # half-even
    ("1e-400", "0.0000"),
])
def test_quantize_keeps_what_the_column_can_hold(text: str, stored: str) -> None:
    assert str(quantize(Decimal(text))) == stored
    assert abs(quantize(Decimal(text))) < MAX_ABS


@pytest.mark.parametrize("column", [Amount(), Quantity()])
def test_binding_1e400_to_a_column_is_a_value_error(column: Amount | Quantity) -> None:
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        with pytest.raises(ValueError, match="exceeds NUMERIC"):
            column.process_bind_param(Decimal("1e400"), dialect)

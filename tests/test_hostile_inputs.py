"""Hostile and odd input files from an adversarial QA pass (2026-12-07): each one ends
processed, flagged or failed with a reason; none stops a batch, hangs or blows up memory, and
the bytes of a failed one are kept in quarantine as they were read.

Before the fixes, one such file stopped a whole `arflow run` (exit 70 or 5, nothing of the
batch stored, and the next run stopped on it again): an XML declaring an encoding Python does
not know, an amount of 1e400 in an e-invoice or QR code, a digital PDF printing a 24-digit
total, an invoice number longer than the database column (PostgreSQL). A PDF whose
embedded-files name tree points back at itself hung the extraction; thirty 19 MB XML
attachments held 700 MB at once; a PNG stating 100,000,000 dpi hung the OCR clean-up.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import cv2
import pytest
from childrun import extract_measured
from pdfbytes import pdf_bytes
from PIL import Image
from sqlalchemy import select

from arflow.db import session_scope, upgrade
from arflow.engines import engine_for
from arflow.errors import DocumentTooLarge
from arflow.reasons import Reason
from arflow.runner import run_batch
from arflow.settings import Settings, load_settings
from extractors.api import (
    MAX_NUMBER,
    TEXT_LIMITS,
    FileProbe,
    extract_file,
    register_extractor,
    unregister_extractor,
)
from extractors.digital import MAX_PAGE_CHARS, MAX_PAGE_OBJECTS, read_pdf
from extractors.einvoice import extract_embedded_xml
from extractors.ocr.images import load_pages
from extractors.qr.payloads import InvalidQrPayloadError, parse_payload
from ingest.documents import open_context
from ingest.dropfolder import DropFolder, poll_once
from ingest.eml import parse_message
from ingest.mailbox import no_invoice_reason
from models import db
from models.domain import ExtractionResult, ExtractionStatus
from models.types import MAX_ABS

DATA = Path(__file__).parent / "data" / "einvoice"
UBL = (DATA / "peppol-base-example.xml").read_bytes()
CII = (DATA / "en16931-CII_example9.xml").read_bytes()
TOTAL = b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25</cbc:TaxInclusiveAmount>'


def _ubl(old: bytes, new: bytes) -> bytes:
    assert old in UBL
    return UBL.replace(old, new, 1)


def _with_total(value: bytes) -> bytes:
    return _ubl(TOTAL, b'<cbc:TaxInclusiveAmount currencyID="EUR">' + value
                + b"</cbc:TaxInclusiveAmount>")


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _codes(result: ExtractionResult) -> list[str]:
    return [str(problem.code) for problem in result.errors]


# --- PDFs written object by object -------------------------------------------------------

def _stream(head: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n" % (head, len(data)) + data + b"\nendstream"


INVOICE_TEXT = [b"INVOICE", b"Invoice number: INV-2026-0001", b"Invoice date: 2026-11-02",
                b"Seller: Granite Print Ltd", b"VAT: ESB12345674",
                b"Description  Qty  Unit price  Amount", b"Paper A4  10  5.00  50.00",
                b"Subtotal 50.00", b"VAT 21% 10.50", b"Total EUR 60.50"]


def _page_objects(lines: list[bytes], catalog_extra: bytes = b"") -> list[bytes]:
    text = b"BT /F1 11 Tf 50 800 Td 14 TL " + b" ".join(
        b"(" + line + b") Tj T*" for line in lines) + b" ET"
    return [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            _stream(b"", text), b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]


def _textpdf(lines: list[bytes]) -> bytes:
    return pdf_bytes(_page_objects(lines))


def _pdf_with_files(files: list[tuple[bytes, bytes]], cyclic: bool = False) -> bytes:
    """A one-page digital invoice embedding `files` (name, Flate-compressed bytes); with
    `cyclic`, the embedded-files name tree also lists itself six times as its own kid."""
    tree_number = 6 + 2 * len(files)
    objects = _page_objects(INVOICE_TEXT, b"/Names << /EmbeddedFiles %d 0 R >> " % tree_number)
    pairs = []
    for name, data in files:
        objects.append(_stream(b"/Type /EmbeddedFile /Filter /FlateDecode", data))
        objects.append(b"<< /Type /Filespec /F (%s) /UF (%s) /EF << /F %d 0 R >> >>"
                       % (name, name, len(objects)))
        pairs.append(b"(%s) %d 0 R" % (name, len(objects)))
    kids = b" /Kids [" + b" ".join([b"%d 0 R" % tree_number] * 6) + b"]" if cyclic else b""
    objects.append(b"<< /Names [" + b" ".join(pairs) + b"]" + kids + b" >>")
    assert len(objects) == tree_number
    return pdf_bytes(objects)


# --- images ------------------------------------------------------------------------------

def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def _png(width: int, height: int, pixels: bool = True) -> bytes:
    """A grey PNG, white; without `pixels`, its header alone (a bomb's 80 bytes)."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    data = _chunk(b"IDAT", zlib.compress((b"\0" + b"\xff" * width) * height)) if pixels else b""
    return b"\x89PNG\r\n\x1a\n" + header + data + _chunk(b"IEND", b"")


# --- settings and batches ----------------------------------------------------------------

@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Iterator[Settings]:
    upgrade(db_url)
    base = load_settings({"ARFLOW_HOME": str(tmp_path / "home")})
    yield replace(base, database_url=db_url, workers=1)


def _documents(settings: Settings) -> dict[str, tuple[str, list[str]]]:
    """source name -> (status, reason codes) of every stored document."""
    with session_scope(engine_for(settings.database_url)) as session:
        rows = session.scalars(select(db.Document)).all()
        return {row.source_name: (row.status, [r["code"] for r in row.reasons or []])
                for row in rows}


# --- XML encodings -----------------------------------------------------------------------

@pytest.mark.parametrize("encoding", [b"x-nonexistent", b"UTF-7"])
def test_xml_declaring_an_encoding_python_cannot_read_fails_with_a_reason(
    tmp_path: Path, encoding: bytes,
) -> None:
    """Before: LookupError / ValueError out of `extract_file`, `arflow run` exit 70."""
    path = _write(tmp_path / "enc.xml", _ubl(b'encoding="UTF-8"', b'encoding="%s"' % encoding))
    result = extract_file(path)
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.UNREADABLE_DOCUMENT]
    assert "encoding" in result.errors[0].message


def test_a_factur_x_pdf_embedding_such_xml_is_read_from_its_print(tmp_path: Path) -> None:
    """Before 2026-12-07 the whole PDF failed; its print is readable, so it is read from the
    print and flagged EINVOICE_UNREADABLE with the XML's own reason."""
    xml = _ubl(b'encoding="UTF-8"', b'encoding="x-nonexistent"')
    path = _write(tmp_path / "fx.pdf", _pdf_with_files([(b"factur-x.xml", zlib.compress(xml))]))
    result = extract_file(path)
    assert result.status != ExtractionStatus.FAILED and result.kind == "digital"
    assert _codes(result) == [Reason.EINVOICE_UNREADABLE]
    assert "encoding" in result.errors[-1].message
    assert result.invoice.invoice_number == "INV-2026-0001"


def test_utf16_xml_with_a_byte_order_mark_is_read_as_an_einvoice(tmp_path: Path) -> None:
    """Before: UNSUPPORTED_FORMAT, 'not a PDF, image or e-invoice' (the probe looked for '<'
    in the first bytes; the parser itself reads UTF-16)."""
    text = UBL.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    for data in (text.encode("utf-16"), b"\xfe\xff" + text.encode("utf-16-be")):
        result = extract_file(_write(tmp_path / "utf16.xml", data))
        assert result.status == ExtractionStatus.OK, result.errors
        assert result.invoice.total == Decimal("1656.25")


# --- values the database cannot hold -----------------------------------------------------

@pytest.mark.parametrize("data", [
    _with_total(b"1e400"),
    _with_total(b"1E+999999"),
    _with_total(b"100000000000000"),  # 10**14: NUMERIC(18, 4) holds 14 integer digits
    _ubl(b'<cbc:InvoicedQuantity unitCode="DAY">7</cbc:InvoicedQuantity>',
         b'<cbc:InvoicedQuantity unitCode="DAY">1e400</cbc:InvoicedQuantity>'),
], ids=["1e400", "1e999999", "1e14", "quantity"])
def test_einvoice_numbers_beyond_what_is_stored_fail_with_a_reason(
    tmp_path: Path, data: bytes,
) -> None:
    result = extract_file(_write(tmp_path / "big.xml", data))
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.UNREADABLE_DOCUMENT]
    assert "out of range" in result.errors[0].message


def test_the_largest_storable_amount_is_still_read(tmp_path: Path) -> None:
    result = extract_file(_write(tmp_path / "max.xml", _with_total(b"99999999999999.99")))
    assert result.status == ExtractionStatus.OK
    assert result.invoice.total == Decimal("99999999999999.99")


@pytest.mark.parametrize(("data", "field"), [
    (_ubl(b"<cbc:ID>Snippet1</cbc:ID>", b"<cbc:ID>" + b"N" * 100 + b"</cbc:ID>"),
     "invoice_number"),
    (_ubl(b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>",
          b"<cbc:DocumentCurrencyCode>&lt;script&gt;alert(1)&lt;/script&gt;"
          b"</cbc:DocumentCurrencyCode>"), "currency"),
], ids=["number", "currency"])
def test_text_longer_than_its_column_fails_with_a_reason(
    tmp_path: Path, data: bytes, field: str,
) -> None:
    """Before: status ok, then `value too long for type character varying(64)` on
    PostgreSQL stopped the batch."""
    result = extract_file(_write(tmp_path / "long.xml", data))
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.UNREADABLE_DOCUMENT]
    assert field in result.errors[0].message


def test_the_limits_checked_are_those_of_the_database() -> None:
    columns = db.Invoice.__table__.columns
    lengths = {name: columns[name.replace(".", "_")].type.length for name in TEXT_LIMITS}
    assert lengths == TEXT_LIMITS
    assert MAX_NUMBER == MAX_ABS


def test_a_digital_pdf_printing_an_absurd_total_fails_with_a_reason(tmp_path: Path) -> None:
    lines = [*INVOICE_TEXT[:-1], b"Total EUR 999999999999999999999999.00"]
    result = extract_file(_write(tmp_path / "absurd.pdf", _textpdf(lines)))
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.UNREADABLE_DOCUMENT]
    assert "total" in result.errors[0].message


@pytest.mark.parametrize("error", [
    ValueError("not enough values to unpack (expected 3, got 0)"),  # rapidocr, seen
    cv2.error("(-215:Assertion failed) !dsize.empty() in function 'resize'"),  # OpenCV, seen
    RecursionError("maximum recursion depth exceeded"),
], ids=["ValueError", "cv2.error", "RecursionError"])
def test_a_parser_failing_on_a_files_data_fails_that_file_not_the_caller(
    tmp_path: Path, error: Exception,
) -> None:
    """Third-party parsers raise outside arflow's error tree on hostile data (seen: OpenCV's
    assertion on a 1 x 1 image, rapidocr's unpacking error on a plain JPEG, spaCy's
    ValueError on a text of 3 million characters): that file fails, with the error named."""
    def explode(probe: FileProbe, settings: Settings | None) -> ExtractionResult:
        raise error

    register_extractor(lambda probe: probe.path.name == "crash.xml", explode, first=True)
    try:
        result = extract_file(_write(tmp_path / "crash.xml", UBL))
    finally:
        unregister_extractor(explode)
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.UNREADABLE_DOCUMENT]
    assert type(error).__name__ in result.errors[0].message


def test_a_batch_stores_good_files_beside_hostile_ones_and_keeps_their_bytes(
    settings: Settings, tmp_path: Path,
) -> None:
    """One `arflow run` over a good e-invoice and four files that each stopped the batch
    before: the good one is decided, the others fail with a reason and a byte-exact
    quarantine copy; a second run takes nothing again."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hostile = {
        "encoding.xml": _ubl(b'encoding="UTF-8"', b'encoding="x-nonexistent"'),
        "huge.xml": _with_total(b"1e400"),
        "long.xml": _ubl(b"<cbc:ID>Snippet1</cbc:ID>", b"<cbc:ID>" + b"N" * 100 + b"</cbc:ID>"),
        "absurd.pdf": _textpdf([*INVOICE_TEXT[:-1], b"Total EUR 999999999999999999999999.00"]),
    }
    for name, data in {"good.xml": UBL, **hostile}.items():
        _write(inbox / name, data)
    summary = run_batch(settings, inbox)
    assert summary.processed == 5
    stored = _documents(settings)
    assert stored["good.xml"][0] != "failed"
    for name in hostile:
        assert stored[name] == ("failed", [Reason.UNREADABLE_DOCUMENT]), name
    for name, data in hostile.items():
        digest = hashlib.sha256(data).hexdigest()
        copy = settings.quarantine_dir / f"{digest[:12]}-{name}"
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest
        reason = json.loads(copy.with_name(copy.name + ".reason.json").read_text())
        assert reason["reasons"][0]["code"] == Reason.UNREADABLE_DOCUMENT
    again = run_batch(settings, inbox)
    assert (again.processed, again.skipped) == (0, 5)


def test_the_drop_folder_quarantines_a_file_the_parser_choked_on(
    settings: Settings, tmp_path: Path,
) -> None:
    """Before: the exception was logged and the file left in the drop folder, to fail again
    on every pass."""
    inbox = tmp_path / "drop"
    inbox.mkdir()
    _write(inbox / "enc.xml", _ubl(b'encoding="UTF-8"', b'encoding="x-nonexistent"'))
    folder = DropFolder.from_settings(settings, inbox, stable_delay=0.05)
    summary = poll_once(open_context(settings, "drop:test"), folder)
    assert summary.outcomes == {"quarantined": 1} and not summary.errors
    assert not (inbox / "enc.xml").exists()
    reason = json.loads((folder.quarantine / "enc.xml.reason.json").read_text())
    assert reason["reasons"][0]["code"] == Reason.UNREADABLE_DOCUMENT


# --- embedded files ----------------------------------------------------------------------

def test_a_cyclic_name_tree_of_embedded_files_is_read_once(tmp_path: Path) -> None:
    """Before: a 3 KB PDF whose name tree lists itself as its kids never finished (6**16
    nodes walked)."""
    path = _write(tmp_path / "loop.pdf",
                  _pdf_with_files([(b"factur-x.xml", zlib.compress(CII))], cyclic=True))
    found = extract_measured(path, timeout=60)
    assert found["status"] in ("ok", "partial"), found["errors"]


def test_many_large_xml_attachments_are_not_held_at_once(tmp_path: Path) -> None:
    """Thirty 19 MB `.xml` attachments (none an e-invoice) in a 0.6 MB PDF: before, all were
    inflated and kept together (709 MB peak)."""
    big = zlib.compress(b"<?xml version='1.0'?><notes>" + b" " * (19 << 20) + b"</notes>", 1)
    files = [(b"notes-%d.xml" % i, big) for i in range(30)]
    path = _write(tmp_path / "many.pdf", _pdf_with_files(files))
    found = extract_measured(path, timeout=120)
    assert found["status"] == "ok", found["errors"]
    assert found["peak_kb"] < 300_000, f"peak RSS {found['peak_kb']} KB"


def test_an_e_invoice_under_another_xml_name_is_still_found(tmp_path: Path) -> None:
    """Non-standard names are sniffed from their first bytes; the one that is an e-invoice
    is then read whole."""
    notes = zlib.compress(b"<?xml version='1.0'?><notes>" + b" " * 200_000 + b"</notes>")
    files = [(b"notes.xml", notes), (b"order-4711.xml", zlib.compress(UBL))]
    path = _write(tmp_path / "hybrid.pdf", _pdf_with_files(files))
    assert extract_embedded_xml(path) == ("order-4711.xml", UBL)


def _densepdf(path: Path) -> Path:
    """A digital invoice whose page also draws more characters than `MAX_PAGE_CHARS`."""
    return _write(path, _textpdf([*INVOICE_TEXT, *[b"x" * 5000] * (MAX_PAGE_CHARS // 5000 + 1)]))


def test_a_text_layer_larger_than_an_invoices_fails_as_too_large(tmp_path: Path) -> None:
    """Before: 1.5 million characters on a page (21 MB) took 39 s and 1.6 GB, then spaCy's
    ValueError escaped `extract_file`."""
    result = extract_file(_densepdf(tmp_path / "dense.pdf"))
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.FILE_TOO_LARGE]
    assert "characters of text" in result.errors[0].message


def test_a_page_of_more_drawing_objects_than_an_invoices_fails_as_too_large(
    tmp_path: Path,
) -> None:
    """Before: 1.5 million objects on a page took 490 MB to load and 620 MB more for its text
    page before anything was refused."""
    objects = _page_objects(INVOICE_TEXT)
    objects[3] = _stream(b"", b"0 0 1 1 re f\n" * (MAX_PAGE_OBJECTS + 1))
    result = extract_file(_write(tmp_path / "busy.pdf", pdf_bytes(objects)))
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.FILE_TOO_LARGE]
    assert "drawing objects" in result.errors[0].message


@pytest.mark.parametrize("engine", ["pdfium", pytest.param("pdfplumber", marks=pytest.mark.slow)])
def test_each_word_engine_refuses_such_a_page(tmp_path: Path, engine: str) -> None:
    with pytest.raises(DocumentTooLarge, match=r"page 1: [\d,]+ characters of text"):
        read_pdf(_densepdf(tmp_path / "dense.pdf"), engine=engine)


# --- images ------------------------------------------------------------------------------

def test_an_image_stating_an_absurd_resolution_has_an_unknown_one(tmp_path: Path) -> None:
    """Before: 100,000,000 dpi was trusted and the rule remover built a 20-million-pixel
    kernel: the extraction never finished."""
    buffer = io.BytesIO()
    Image.new("L", (600, 800), 255).save(buffer, "PNG", dpi=(100_000_000, 100_000_000))
    page = next(load_pages(_write(tmp_path / "dpi.png", buffer.getvalue())))
    assert page.dpi is None


@pytest.mark.parametrize(("width", "height"), [(1, 1), (1, 100_000), (100_000, 2)])
def test_an_image_too_small_to_be_a_page_fails_with_a_reason(
    tmp_path: Path, width: int, height: int,
) -> None:
    """Before: OpenCV's `resize` assertion escaped `extract_file` (exit 70)."""
    result = extract_file(_write(tmp_path / "tiny.png", _png(width, height)))
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.UNREADABLE_DOCUMENT]
    assert "too small" in result.errors[0].message


def test_a_decompression_bomb_image_is_too_large(tmp_path: Path) -> None:
    """50,000 x 50,000 pixels declared in 80 bytes: refused as too large, not as corrupt."""
    result = extract_file(_write(tmp_path / "bomb.png", _png(50_000, 50_000, pixels=False)))
    assert result.status == ExtractionStatus.FAILED
    assert _codes(result) == [Reason.FILE_TOO_LARGE]


# --- payment QR codes --------------------------------------------------------------------

def _epc(name: str = "Granite Print Ltd", iban: str = "ES9121000418450200051332",
         amount: str = "EUR60.50") -> str:
    return f"BCD\n002\n1\nSCT\n\n{name}\n{iban}\n{amount}\n\n\nInvoice QR-0001"


def _swiss(amount: str) -> str:
    return "\n".join(["SPC", "0200", "1", "CH4431999123000889012", "S", "Granite Print",
                      "Street", "1", "8000", "Zurich", "CH", "", "", "", "", "", "", "",
                      amount, "CHF", "S", "Buyer", "", "", "", "", "", "NON", "", "msg", "EPD"])


VERIFACTU = ("https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR?nif=B12345674"
             "&numserie=QR-0001&fecha=02-11-2026&importe=")


@pytest.mark.parametrize("text", [
    _epc(amount="EUR99999999999999999999"),
    _epc(iban="DE" + "9" * 60),
    _epc(name="Granite\x00Print"),
    _swiss("1e400"),
    _swiss("1000000000.00"),
    VERIFACTU + "1e400",
    VERIFACTU + "9" * 30,
], ids=["epc-amount", "epc-iban", "epc-nul", "swiss-1e400", "swiss-max", "verifactu-1e400",
        "verifactu-30-digits"])
def test_qr_payloads_beyond_their_scheme_are_refused(text: str) -> None:
    """Before: accepted, and the amount filled a total the database cannot hold."""
    with pytest.raises(InvalidQrPayloadError):
        parse_payload(text)


def test_qr_amounts_up_to_the_schemes_maximum_are_read() -> None:
    assert parse_payload(_epc(amount="EUR999999999.99")).amount == Decimal("999999999.99")
    assert parse_payload(_swiss("999999999.99")).amount == Decimal("999999999.99")


# --- e-mail ------------------------------------------------------------------------------

def _message(parts: list[bytes], boundary: bytes) -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return (b"From: a@example.com\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
            + body + b"--" + boundary + b"--\r\n")


def test_a_message_nested_beyond_the_limit_says_what_was_not_read() -> None:
    """Before: the PDF ten forwards deep vanished and the message was recorded as having
    'no attachment'."""
    pdf = b"Content-Type: application/pdf; name=deep.pdf\r\n\r\n%PDF-1.7 deep"
    raw = _message([pdf], b"B")
    for depth in range(10):
        raw = _message([b"Content-Type: message/rfc822\r\n\r\n" + raw], b"B%d" % depth)
    parsed = parse_message(raw)
    assert parsed.attachments == []
    assert any("nested" in note and "not read" in note for note in parsed.skipped)
    assert "no attachment" not in no_invoice_reason(parsed)


def test_a_very_long_list_of_ignored_parts_is_summed_up() -> None:
    """Before: 1,000 ignored text parts made one 30 KB warning line and ledger entry."""
    notes = [b"Content-Type: text/plain; name=note%d.txt\r\n"
             b"Content-Disposition: attachment\r\n\r\nhello" % i for i in range(1000)]
    reason = no_invoice_reason(parse_message(_message(notes, b"N")))
    assert len(reason) < 2000
    assert re.search(r"and 9\d\d more", reason)

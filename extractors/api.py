"""`extract_file`: classify a file, run the matching extractor, and turn every failure into
an `ExtractionResult` (never an exception).

Kinds are dispatched through a small registry: the OCR and e-invoice extractors plug in with
``register_extractor(predicate, fn)``; a predicate sees the `FileProbe` (path, head bytes,
whether a PDF has a text layer) and the first registered predicate that accepts wins. The
digital-PDF extractor is the built-in fallback for PDFs with a text layer. An extractor that
took a file and then finds it cannot read it after all hands it on with `extract_without`
(a Factur-X PDF whose embedded XML is junk is read from its print).

Whatever a file holds, its extraction ends in a result: the errors parsers raise on data
they choke on (`PARSER_ERRORS`: OpenCV's assertion on a 1 x 1 image, rapidocr's unpacking
error, spaCy's refusal of a text over its limit) fail that file with UNREADABLE_DOCUMENT,
and values the database cannot hold (an amount of 1e400, an invoice number of 100
characters) fail it with their reason, instead of stopping a whole batch when it is stored.
Anything else (a RuntimeError: a bug, not the file's fault) is raised: the drop folder then
leaves that file in place for the next pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import cv2

from arflow.errors import (
    ArflowError,
    ConfigError,
    DocumentError,
    DocumentTooLarge,
    EmptyDocument,
    InternalError,
    UnsupportedFormat,
)
from arflow.names import printable
from arflow.reasons import Reason
from arflow.settings import Settings
from extractors.bundles import first_invoice
from extractors.digital import PdfWords, read_pdf
from extractors.fields import extract_fields
from extractors.layout import on_shown_pages
from extractors.qr.apply import apply_qr_codes
from models.domain import (
    REQUIRED_FIELDS,
    DocumentKind,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
    Problem,
)

log = logging.getLogger(__name__)
PARSER_ERRORS = (ValueError, LookupError, ArithmeticError, IndexError, TypeError,
                 RecursionError, cv2.error)

_MIN_TEXT_CHARS = 20  # fewer characters than this on every page: no usable text layer
# An image is told by its first bytes, never by its name (`image_format`).
_IMAGE_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"II*\x00": "TIFF",
                b"MM\x00*": "TIFF", b"GIF87a": "GIF", b"GIF89a": "GIF"}
# A BMP's "BM" is followed by its size, 4 reserved bytes, the pixel offset and the size of
# its DIB header, one of these (OS/2 1.x and 2.x, Windows 3.x, V2-V5): "BM" alone is too
# little to tell a bitmap from a text beginning "BMW ...".
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_DEFAULT_MAX_PAGES = 200
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# What the database holds (models/db.py, models/types.py; kept equal by
# tests/test_hostile_inputs.py): NUMERIC(18, 4) numbers, and these text columns' lengths.
MAX_NUMBER = Decimal(10) ** 14
TEXT_LIMITS = {"invoice_number": 64, "currency": 3, "order_number": 64, "seller.name": 512,
               "seller.tax_id": 32, "buyer.name": 512, "buyer.tax_id": 32, "iban": 34,
               "preceding_invoice": 64}
_NUMBERS = ("subtotal", "tax_total", "total", "withholding", "allowances", "charges")
_LINE_NUMBERS = ("quantity", "unit_price", "amount", "tax_rate", "adjustment")


@dataclass(frozen=True)
class FileProbe:
    path: Path
    head: bytes  # first bytes of the file
    is_pdf: bool
    is_image: bool
    is_xml: bool
    has_text: bool  # PDF with a usable text layer (False for non-PDFs)
    words: PdfWords | None = None  # a PDF's reading (words, text layer, QR codes)


Extractor = Callable[[FileProbe, "Settings | None"], ExtractionResult]
Predicate = Callable[[FileProbe], bool]
_REGISTRY: list[tuple[Predicate, Extractor]] = []


def register_extractor(predicate: Predicate, fn: Extractor, *, first: bool = False) -> None:
    """Add an extractor for files ``predicate`` accepts (checked in registration order;
    ``first=True`` puts it before every extractor registered so far)."""
    _REGISTRY.insert(0 if first else len(_REGISTRY), (predicate, fn))


def unregister_extractor(fn: Extractor) -> None:
    _REGISTRY[:] = [(p, f) for p, f in _REGISTRY if f is not fn]


def extract_file(path: Path, settings: Settings | None = None) -> ExtractionResult:
    """Extract one document; every bad input becomes a failed result with a reason code
    (a `ConfigError`, such as an unknown ``settings.pdf_engine``, is raised). Its source and
    messages name the file as text (`arflow.names`), whatever bytes its name holds."""
    result = _extract(Path(path), settings)
    result.source = printable(result.source)
    result.errors = [replace(p, message=printable(p.message)) for p in result.errors]
    return result


def _extract(path: Path, settings: Settings | None) -> ExtractionResult:
    try:
        return extract_without(_probe(path, settings), settings)
    except ConfigError:
        raise  # a misconfiguration (e.g. an unknown PDF engine) is not a document's fault
    except ArflowError as exc:
        return failed(path, exc.code, exc.message, _kind_of(path))
    except (OSError, MemoryError) as exc:
        return failed(path, Reason.UNREADABLE_DOCUMENT, f"{path.name}: {exc}", _kind_of(path))
    except PARSER_ERRORS as exc:  # a parser's own failure on this file's data
        log.warning("%s: a parser failed on its data", path.name, exc_info=True)
        said = " ".join(str(exc).split())[:200]
        return failed(path, Reason.UNREADABLE_DOCUMENT,
                      f"{path.name}: cannot be read ({type(exc).__name__}: {said})",
                      _kind_of(path))


def extract_without(probe: FileProbe, settings: Settings | None,
                    skip: Extractor | None = None) -> ExtractionResult:
    """The result the registry gives `probe`'s file, with `skip` left out: for an
    extractor that took the file and then finds it cannot read it after all (a Factur-X PDF
    whose embedded XML is junk is read from its print, as any other PDF)."""
    for predicate, fn in _REGISTRY:
        if fn is not skip and predicate(probe):
            return fn(probe, settings)
    if probe.words is not None and probe.has_text:
        return digital_result(probe.path, probe.words)
    return _no_extractor(probe)


def failed_unexpectedly(path: Path, exc: Exception) -> ExtractionResult:
    """The result of a file arflow failed on unexpectedly (`InternalError`): a bug, kept
    as the file's failure so that one file does not stop a batch."""
    said = " ".join(str(exc).split())[:200]
    message = printable(f"{Path(path).name}: arflow failed on this file "
                        f"({type(exc).__name__}: {said}); `arflow retry --reason "
                        f"{InternalError.code}` reads it again once fixed")
    return failed(Path(path), InternalError.code, message, _kind_of(Path(path)))


def digital_result(path: Path, words: PdfWords) -> ExtractionResult:
    """Fields from a digital PDF's words, with status and MISSING_FIELD problems; QR codes
    found on its pages fill gaps and raise QR_MISMATCH, as on scans."""
    width = words.widths[0] if words.widths else None
    reading = first_invoice(words.pages, width)
    fields = extract_fields([words.pages[i] for i in reading.pages], page_width=width)
    result = ExtractionResult(
        source=str(path), status=ExtractionStatus.OK, kind=DocumentKind.DIGITAL,
        invoice=fields.invoice, confidence=fields.confidence, pages=words.page_count,
        evidence={name: on_shown_pages(boxes, words.turns)  # drawn on the pages as shown
                  for name, boxes in fields.evidence.items()},
        errors=[reading.problem] if reading.problem else [],
        invoice_pages=list(reading.invoices),
    )
    qr_codes = [code for code in words.qr_codes if code.page in reading.pages]
    if qr_codes:
        apply_qr_codes(result, qr_codes, path.name)
    return finish(result)


def finish(result: ExtractionResult) -> ExtractionResult:
    """Set ok/partial from the required fields and add a MISSING_FIELD problem per gap; a
    result with values the database cannot hold is failed instead (`unstorable`)."""
    wrong = unstorable(result.invoice)
    if wrong:
        return failed(Path(result.source), Reason.UNREADABLE_DOCUMENT,
                      f"{Path(result.source).name}: values arflow cannot store: "
                      + "; ".join(wrong), result.kind)
    missing = [name for name in REQUIRED_FIELDS if result.invoice.get(name) in (None, "")]
    for name in missing:
        result.errors.append(
            Problem(Reason.MISSING_FIELD, f"required field {name} not found", field=name)
        )
    if result.status != ExtractionStatus.FAILED:
        result.status = ExtractionStatus.PARTIAL if missing else ExtractionStatus.OK
    return result


def failed(path: Path, code: str, message: str, kind: DocumentKind) -> ExtractionResult:
    return ExtractionResult(
        source=str(path), status=ExtractionStatus.FAILED, kind=kind,
        errors=[Problem(str(code), message)],
    )


def unstorable(invoice: Invoice) -> list[str]:
    """What of `invoice` the database cannot hold, one phrase each: a number that is not
    finite or has more than 14 digits before the decimal point, text longer than its
    column, text holding a NUL character (PostgreSQL refuses it)."""
    problems = [f"{name} {_shown(value)} is out of range (at most 14 digits before the "
                f"decimal point)" for name, value in _numbers(invoice)
                if not value.is_finite() or abs(value) >= MAX_NUMBER]
    problems += [f"{name} is {len(value)} characters long (at most {TEXT_LIMITS[name]})"
                 for name, value in _texts(invoice)
                 if name in TEXT_LIMITS and len(value) > TEXT_LIMITS[name]]
    problems += [f"{name} holds a NUL character" for name, value in _texts(invoice)
                 if "\x00" in value]
    return problems


def _numbers(invoice: Invoice) -> Iterator[tuple[str, Decimal]]:
    for name in _NUMBERS:
        value = invoice.get(name)
        if value is not None:
            yield name, value
    for index, line in enumerate(invoice.lines, 1):
        for name in _LINE_NUMBERS:
            value = getattr(line, name)
            if value is not None:
                yield f"line {index} {name}", value
    for index, row in enumerate(invoice.tax_breakdown, 1):
        for name, value in (("rate", row.rate), ("base", row.base), ("amount", row.amount)):
            if value is not None:
                yield f"tax row {index} {name}", value


def _texts(invoice: Invoice) -> Iterator[tuple[str, str]]:
    names = (*TEXT_LIMITS, "seller.address", "buyer.address", "payment_terms")
    for name in names:
        value = invoice.get(name)
        if isinstance(value, str):
            yield name, value
    for index, line in enumerate(invoice.lines, 1):
        if line.description is not None:
            yield f"line {index} description", line.description


def _shown(value: Decimal, most: int = 40) -> str:
    """The number as written, cut to `most` characters (1E+999999 has a million digits)."""
    text = str(value)
    return text if len(text) <= most else text[:most] + "..."


def image_format(head: bytes) -> str | None:
    """The image format (Pillow's name: PNG, JPEG, TIFF, GIF, BMP, WEBP) that a file's first
    bytes announce, or None. Whether the rest of the file can be read is the reader's
    matter (`extractors.ocr.images`)."""
    for magic, name in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if (head[:2] == b"BM" and len(head) >= 18
            and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES):
        return "BMP"
    return None


def _looks_like_xml(head: bytes) -> bool:
    """Markup first, after a UTF-8 byte order mark and white space, or in UTF-16 (with or
    without its byte order mark; the parser reads that encoding too)."""
    if head[:2] in _UTF16_BOMS:
        head = head[2:]
    if head[:2] in (b"<\x00", b"\x00<"):
        return True
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _probe(path: Path, settings: Settings | None) -> FileProbe:
    size = path.stat().st_size
    max_bytes = settings.max_file_bytes if settings else _DEFAULT_MAX_BYTES
    if size == 0:
        raise EmptyDocument(f"{path.name}: the file is empty")
    if size > max_bytes:
        raise DocumentTooLarge(f"{path.name}: {size} bytes exceeds the limit of {max_bytes}")
    with path.open("rb") as handle:
        head = handle.read(2048)
    is_pdf = b"%PDF-" in head[:1024]
    is_xml = _looks_like_xml(head)
    is_image = image_format(head) is not None
    words = _pdf_words(path, settings) if is_pdf else None
    has_text = words is not None and words.char_count >= _MIN_TEXT_CHARS
    return FileProbe(path, head, is_pdf, is_image, is_xml, has_text, words)


def _pdf_words(path: Path, settings: Settings | None) -> PdfWords:
    if settings is None:
        return read_pdf(path, _DEFAULT_MAX_PAGES, qr=True)
    return read_pdf(path, settings.max_pages, settings.pdf_engine, qr=True)


def _no_extractor(probe: FileProbe) -> ExtractionResult:
    if probe.is_pdf or probe.is_image:
        raise DocumentError(
            f"{probe.path.name}: no text layer and no OCR extractor is registered",
            code=Reason.OCR_FAILED,
        )
    if probe.is_xml:
        raise UnsupportedFormat(f"{probe.path.name}: XML but no e-invoice extractor is registered")
    raise UnsupportedFormat(f"{probe.path.name}: not a PDF, image or e-invoice")


def _kind_of(path: Path) -> DocumentKind:
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return DocumentKind.EINVOICE
    if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"):
        return DocumentKind.SCANNED
    return DocumentKind.DIGITAL

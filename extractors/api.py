"""`extract_file`: classify a file, run the matching extractor, and turn every failure into
an `ExtractionResult` (never an exception).

Kinds are dispatched through a small registry: the OCR and e-invoice extractors plug in with
``register_extractor(predicate, fn)``; a predicate sees the `FileProbe` (path, head bytes,
whether a PDF has a text layer) and the first registered predicate that accepts wins. The
digital-PDF extractor is the built-in fallback for PDFs with a text layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from arflow.errors import (
    ArflowError,
    ConfigError,
    DocumentError,
    DocumentTooLarge,
    EmptyDocument,
    UnsupportedFormat,
)
from arflow.reasons import Reason
from arflow.settings import Settings
from extractors.bundles import first_invoice
from extractors.digital import PdfWords, read_pdf
from extractors.fields import extract_fields
from extractors.qr.apply import apply_qr_codes
from models.domain import (
    REQUIRED_FIELDS,
    DocumentKind,
    ExtractionResult,
    ExtractionStatus,
    Problem,
)

_MIN_TEXT_CHARS = 20  # fewer characters than this on every page: no usable text layer
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
_DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_DEFAULT_MAX_PAGES = 200


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
    (a `ConfigError`, such as an unknown ``settings.pdf_engine``, is raised)."""
    path = Path(path)
    try:
        probe, words = _probe(path, settings)
        for predicate, fn in _REGISTRY:
            if predicate(probe):
                return fn(probe, settings)
        if words is not None and probe.has_text:
            return digital_result(path, words)
        return _no_extractor(probe)
    except ConfigError:
        raise  # a misconfiguration (e.g. an unknown PDF engine) is not a document's fault
    except ArflowError as exc:
        return failed(path, exc.code, exc.message, _kind_of(path))
    except (OSError, MemoryError) as exc:
        return failed(path, Reason.UNREADABLE_DOCUMENT, f"{path.name}: {exc}", _kind_of(path))


def digital_result(path: Path, words: PdfWords) -> ExtractionResult:
    """Fields from a digital PDF's words, with status and MISSING_FIELD problems; QR codes
    found on its pages fill gaps and raise QR_MISMATCH, as on scans."""
    width = words.widths[0] if words.widths else None
    reading = first_invoice(words.pages, width)
    fields = extract_fields([words.pages[i] for i in reading.pages], page_width=width)
    result = ExtractionResult(
        source=str(path), status=ExtractionStatus.OK, kind=DocumentKind.DIGITAL,
        invoice=fields.invoice, confidence=fields.confidence, pages=words.page_count,
        evidence=fields.evidence, errors=[reading.problem] if reading.problem else [],
        invoice_pages=list(reading.invoices),
    )
    qr_codes = [code for code in words.qr_codes if code.page in reading.pages]
    if qr_codes:
        apply_qr_codes(result, qr_codes, path.name)
    return finish(result)


def finish(result: ExtractionResult) -> ExtractionResult:
    """Set ok/partial from the required fields and add a MISSING_FIELD problem per gap."""
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


def _probe(path: Path, settings: Settings | None) -> tuple[FileProbe, PdfWords | None]:
    size = path.stat().st_size
    max_bytes = settings.max_file_bytes if settings else _DEFAULT_MAX_BYTES
    if size == 0:
        raise EmptyDocument(f"{path.name}: the file is empty")
    if size > max_bytes:
        raise DocumentTooLarge(f"{path.name}: {size} bytes exceeds the limit of {max_bytes}")
    with path.open("rb") as handle:
        head = handle.read(2048)
    is_pdf = b"%PDF-" in head[:1024]
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    is_xml = stripped.startswith(b"<")
    is_image = head.startswith(_IMAGE_MAGIC)
    words = _pdf_words(path, settings) if is_pdf else None
    has_text = words is not None and words.char_count >= _MIN_TEXT_CHARS
    return FileProbe(path, head, is_pdf, is_image, is_xml, has_text, words), words


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
    if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        return DocumentKind.SCANNED
    return DocumentKind.DIGITAL

"""Scans, photos and image-only PDFs as an extractor of the registry: OCR words go through
the same field extractor as a digital text layer, and payment QR codes on the pages (found
by the OCR workers on the page images they hold) fill gaps and raise QR_MISMATCH. A PDF
whose text layer is missing, partial or garbage falls back to OCR automatically.

The fields are read from the words of the cleaned page (turned upright and level, where a
line's words share a top); their evidence boxes are then carried back onto the page as
received, which is what the approver sees (``OcrReading.as_received``)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from arflow.errors import DocumentError, ToolError
from arflow.reasons import Reason
from arflow.settings import Settings, load_settings
from extractors.api import FileProbe, finish, register_extractor
from extractors.bundles import first_invoice
from extractors.fields import FieldResult, extract_fields
from extractors.ocr.accents import restore_accents
from extractors.ocr.consensus import REREADS, settle
from extractors.ocr.engines import combine, wants_second_engine
from extractors.ocr.pages import RAPIDOCR, TESSERACT, ocr_document, ocr_with_qr
from extractors.ocr.textlayer import layers_need_ocr, pdf_needs_ocr
from extractors.qr.apply import apply_qr_codes
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice, WordBox

log = logging.getLogger(__name__)


def needs_ocr(probe: FileProbe) -> bool:
    """Images, PDFs without a text layer, and PDFs whose text layer is partial or garbage
    (judged from the probe's pdfium reading; the file is opened again only for another
    engine's words)."""
    if probe.is_image:
        return True
    if not probe.is_pdf:
        return False
    if not probe.has_text:
        return True
    if probe.words is not None and probe.words.layers:
        return layers_need_ocr(probe.words.layers)
    return pdf_needs_ocr(probe.path)


def extract_scanned(probe: FileProbe, settings: Settings | None) -> ExtractionResult:
    settings = settings or load_settings()
    try:
        reading = ocr_with_qr(probe.path, settings)
    except ToolError as exc:
        raise DocumentError(f"{probe.path.name}: {exc.message}", code=Reason.OCR_FAILED) from exc
    invoices = first_invoice(reading.pages)
    several = invoices.problem
    pages = [reading.pages[i] for i in invoices.pages]
    fields, rereads = _fields(pages, settings), 0
    if several is None and settings.ocr_reread and any(pages):
        # the readings side by side, one tesseract each, rather than each spreading its pages
        parallel = min(len(REREADS), max(1, settings.workers))
        each = dataclasses.replace(settings, workers=1) if parallel > 1 else settings
        fields, rereads = settle(
            fields, pages, lambda options: _read_again(probe.path, each, options) or FieldResult(),
            parallel=parallel)
        if rereads:
            log.info("%s: read %d more times for a missing or implausible field",
                     probe.path.name, rereads)
    engines: tuple[str, ...] = (TESSERACT,)
    if several is None and any(pages) and wants_second_engine(settings.ocr_second_engine,
                                                              reading.dpis, pages):
        second = _read_again(probe.path, settings, {"engine": RAPIDOCR})
        if second is not None:
            fields, engines = combine(second, fields), (*engines, RAPIDOCR)
    result = ExtractionResult(
        source=str(probe.path), status=ExtractionStatus.OK, kind=DocumentKind.SCANNED,
        invoice=fields.invoice, confidence=fields.confidence, pages=len(reading.pages),
        evidence={name: reading.as_received(words) for name, words in fields.evidence.items()},
        readings=len(engines) + rereads, engines=engines,
        errors=[several] if several else [], invoice_pages=list(invoices.invoices),
    )
    apply_qr_codes(result, [code for code in reading.qr_codes if code.page in invoices.pages],
                   probe.path.name)
    if not any(pages) and result.invoice == Invoice():
        raise DocumentError(f"{probe.path.name}: OCR recognised no text on any page",
                            code=Reason.OCR_FAILED)
    return finish(result)


def _fields(pages: list[list[WordBox]], settings: Settings) -> FieldResult:
    if "spa" in settings.ocr_lang.split("+"):
        pages = restore_accents(pages)
    return extract_fields(pages) if any(pages) else FieldResult()


def _read_again(path: Path, settings: Settings, options: dict[str, Any]) -> FieldResult | None:
    """Fields of another OCR reading, with other Tesseract options or the second engine
    (``{"engine": RAPIDOCR}``); None when it fails or the engine is not installed: the
    first reading then stands."""
    try:
        return _fields(ocr_document(path, settings, **options), settings)
    except ToolError as exc:
        log.warning("%s: another reading (%s) failed: %s", path.name, options, exc.message)
        return None


def register() -> None:
    register_extractor(needs_ocr, extract_scanned)

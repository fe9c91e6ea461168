"""Scans, photos and image-only PDFs as an extractor of the registry: OCR words go through
the same field extractor as a digital text layer, and payment QR codes on the pages fill
gaps and raise QR_MISMATCH. A PDF whose text layer is missing, partial or garbage falls
back to OCR automatically."""

from __future__ import annotations

import logging

from arflow.errors import DocumentError, ToolError
from arflow.reasons import Reason
from arflow.settings import Settings, load_settings
from extractors.api import FileProbe, finish, register_extractor
from extractors.fields import FieldResult, extract_fields
from extractors.ocr.pages import ocr_document
from extractors.ocr.textlayer import pdf_needs_ocr
from extractors.qr.apply import apply_qr
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice

log = logging.getLogger(__name__)


def needs_ocr(probe: FileProbe) -> bool:
    if probe.is_image:
        return True
    return probe.is_pdf and (not probe.has_text or pdf_needs_ocr(probe.path))


def extract_scanned(probe: FileProbe, settings: Settings | None) -> ExtractionResult:
    settings = settings or load_settings()
    try:
        pages = ocr_document(probe.path, settings)
    except ToolError as exc:
        raise DocumentError(f"{probe.path.name}: {exc.message}", code=Reason.OCR_FAILED) from exc
    fields = extract_fields(pages) if any(pages) else FieldResult()
    result = ExtractionResult(
        source=str(probe.path), status=ExtractionStatus.OK, kind=DocumentKind.SCANNED,
        invoice=fields.invoice, confidence=fields.confidence, pages=len(pages),
        evidence=fields.evidence,
    )
    _cross_check_qr(result, probe, settings)
    if not any(pages) and result.invoice == Invoice():
        raise DocumentError(f"{probe.path.name}: OCR recognised no text on any page",
                            code=Reason.OCR_FAILED)
    return finish(result)


def _cross_check_qr(result: ExtractionResult, probe: FileProbe, settings: Settings) -> None:
    """Payment QR codes on the scan: a supplementary check, so its own failure is logged and
    the document goes on with what OCR read."""
    try:
        apply_qr(result, probe.path, max_pages=settings.max_pages)
    except Exception:  # an optional cross-check must never lose the document
        log.warning("QR check failed on %s", probe.path.name, exc_info=True)


def register() -> None:
    register_extractor(needs_ocr, extract_scanned)

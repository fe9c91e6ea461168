"""Scans, photos and image-only PDFs as an extractor of the registry: OCR words go through
the same field extractor as a digital text layer. A PDF whose text layer is missing,
partial or garbage falls back to OCR automatically."""

from __future__ import annotations

from arflow.errors import DocumentError, ToolError
from arflow.reasons import Reason
from arflow.settings import Settings, load_settings
from extractors.api import FileProbe, finish, register_extractor
from extractors.fields import extract_fields
from extractors.ocr.pages import ocr_document
from extractors.ocr.textlayer import pdf_needs_ocr
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus


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
    if not any(pages):
        raise DocumentError(f"{probe.path.name}: OCR recognised no text on any page",
                            code=Reason.OCR_FAILED)
    fields = extract_fields(pages)
    result = ExtractionResult(
        source=str(probe.path), status=ExtractionStatus.OK, kind=DocumentKind.SCANNED,
        invoice=fields.invoice, confidence=fields.confidence, pages=len(pages),
        evidence=fields.evidence,
    )
    return finish(result)


def register() -> None:
    register_extractor(needs_ocr, extract_scanned)

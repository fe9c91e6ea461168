"""E-invoices as an extractor of the registry: XML files dropped as-is, and hybrid PDFs
(Factur-X / ZUGFeRD) whose embedded XML wins over the printed text. Where the printed
text does not show the XML's total, number or date, the result carries EINVOICE_MISMATCH.

A hybrid PDF whose embedded XML cannot be read (not XML, cut short, an unknown root, a DTD
refused, values arflow cannot store) is not failed for it: its printed pages are read like
any other PDF's (`extractors.api.extract_without`: words, or OCR for a scan), nothing is
taken from the XML, and the result carries EINVOICE_UNREADABLE saying why, so that it waits
for review. A compression bomb as the attachment still fails the file (FILE_TOO_LARGE): it
is refused before anything is parsed."""

from __future__ import annotations

from arflow.errors import DocumentError
from arflow.reasons import Reason
from arflow.settings import Settings
from extractors.api import (
    FileProbe,
    extract_without,
    failed,
    finish,
    register_extractor,
    unstorable,
)
from extractors.digital import read_pdf
from extractors.einvoice.parse import parse_einvoice
from extractors.einvoice.pdf import extract_embedded_xml
from extractors.einvoice.textcheck import check_against_text
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice, Problem

_CONFIDENT = 1.0  # a value read from a structured field is as sure as it gets


def is_xml_file(probe: FileProbe) -> bool:
    return probe.is_xml and not probe.is_pdf


def is_hybrid_pdf(probe: FileProbe) -> bool:
    return probe.is_pdf and extract_embedded_xml(probe.path) is not None


def extract_xml(probe: FileProbe, settings: Settings | None) -> ExtractionResult:
    invoice = parse_einvoice(probe.path.read_bytes())
    return finish(_result(probe, invoice, pages=0))


def extract_hybrid(probe: FileProbe, settings: Settings | None) -> ExtractionResult:
    embedded = extract_embedded_xml(probe.path)
    assert embedded is not None  # guaranteed by is_hybrid_pdf
    name, data = embedded
    try:
        invoice = parse_einvoice(data)
    except DocumentError as exc:
        return _printed_instead(probe, settings, f"{name}: {exc.message}")
    wrong = unstorable(invoice)
    if wrong:
        return _printed_instead(probe, settings, f"{name} holds values arflow cannot store: "
                                + "; ".join(wrong))
    words = read_pdf(probe.path, settings.max_pages if settings else None)
    result = _result(probe, invoice, pages=words.page_count)
    if probe.has_text:
        text = "\n".join(" ".join(w.text for w in page) for page in words.pages)
        result.errors.extend(check_against_text(invoice, text))
    return finish(result)


def _printed_instead(probe: FileProbe, settings: Settings | None, why: str) -> ExtractionResult:
    """The PDF read from its print, with the EINVOICE_UNREADABLE finding (`why`: what is
    wrong with the embedded XML); when the print cannot be read either, the file fails
    with the print's reason and the finding beside it."""
    try:
        result = extract_without(probe, settings, skip=extract_hybrid)
    except DocumentError as exc:
        result = failed(probe.path, exc.code, exc.message, DocumentKind.DIGITAL)
    message = f"the embedded e-invoice could not be read ({why})"
    if result.status != ExtractionStatus.FAILED:
        message += "; the fields were read from the printed pages"
    result.errors.append(Problem(Reason.EINVOICE_UNREADABLE, message))
    return result


def _result(probe: FileProbe, invoice: Invoice, pages: int) -> ExtractionResult:
    present = [name for name in _FIELDS if invoice.get(name) not in (None, "")]
    return ExtractionResult(
        source=str(probe.path), status=ExtractionStatus.OK, kind=DocumentKind.EINVOICE,
        invoice=invoice, confidence=dict.fromkeys(present, _CONFIDENT), pages=pages,
    )


_FIELDS = (
    "invoice_number", "issue_date", "due_date", "currency", "order_number", "subtotal",
    "tax_total", "total", "iban", "payment_terms", "seller.name", "seller.tax_id",
    "buyer.name", "buyer.tax_id",
)


def register() -> None:
    register_extractor(is_xml_file, extract_xml)
    register_extractor(is_hybrid_pdf, extract_hybrid)

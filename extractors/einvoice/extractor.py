"""E-invoices as an extractor of the registry: XML files dropped as-is, and hybrid PDFs
(Factur-X / ZUGFeRD) whose embedded XML wins over the printed text. Where the printed
text does not show the XML's total, number or date, the result carries EINVOICE_MISMATCH."""

from __future__ import annotations

from arflow.settings import Settings
from extractors.api import FileProbe, finish, register_extractor
from extractors.digital import read_pdf
from extractors.einvoice.parse import parse_einvoice
from extractors.einvoice.pdf import extract_embedded_xml
from extractors.einvoice.textcheck import check_against_text
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice

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
    invoice = parse_einvoice(embedded[1])
    words = read_pdf(probe.path, settings.max_pages if settings else None)
    result = _result(probe, invoice, pages=words.page_count)
    if probe.has_text:
        text = "\n".join(" ".join(w.text for w in page) for page in words.pages)
        result.errors.extend(check_against_text(invoice, text))
    return finish(result)


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

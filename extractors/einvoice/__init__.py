"""Structured e-invoices: UBL 2.1 (Invoice, CreditNote; Peppol BIS 3, XRechnung UBL), UN/CEFACT
CII (Factur-X, ZUGFeRD 2.x, XRechnung CII), ZUGFeRD 1.0, Facturae 3.2.x and FatturaPA 1.2,
read with a hardened XML parser into `models.domain.Invoice`."""

from extractors.einvoice.compare import compare_with_printed
from extractors.einvoice.detect import EInvoiceFormat
from extractors.einvoice.parse import is_einvoice_xml, parse_einvoice, read_einvoice
from extractors.einvoice.pdf import EINVOICE_ATTACHMENTS, extract_embedded_xml
from extractors.einvoice.textcheck import check_against_text
from extractors.einvoice.xmlsafe import MalformedXmlError, UnsafeXmlError

__all__ = [
    "EINVOICE_ATTACHMENTS",
    "EInvoiceFormat",
    "MalformedXmlError",
    "UnsafeXmlError",
    "check_against_text",
    "compare_with_printed",
    "extract_embedded_xml",
    "is_einvoice_xml",
    "parse_einvoice",
    "read_einvoice",
]

"""Entry points: structured e-invoice bytes to the `Invoice` contract."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element

from arflow.errors import UnsupportedFormat
from extractors.einvoice.cii import parse_cii
from extractors.einvoice.detect import EInvoiceFormat, detect_root, sniff
from extractors.einvoice.facturae import parse_facturae
from extractors.einvoice.fatturapa import parse_fatturapa
from extractors.einvoice.ubl import parse_ubl
from extractors.einvoice.xmlsafe import local_name, namespace, parse_xml
from models.domain import Invoice

_PARSERS: dict[EInvoiceFormat, Callable[[Element], Invoice]] = {
    EInvoiceFormat.UBL_INVOICE: parse_ubl,
    EInvoiceFormat.UBL_CREDIT_NOTE: parse_ubl,
    EInvoiceFormat.CII: parse_cii,
    EInvoiceFormat.ZUGFERD1: parse_cii,
    EInvoiceFormat.FACTURAE: parse_facturae,
    EInvoiceFormat.FATTURAPA: parse_fatturapa,
}


def is_einvoice_xml(data: bytes) -> bool:
    """True if the bytes look like a supported e-invoice (root element + namespace).

    A cheap sniff that expands nothing; `parse_einvoice` may still refuse the file."""
    return sniff(data) is not None


def read_einvoice(data: bytes) -> tuple[EInvoiceFormat, Invoice]:
    """Parse with the hardened parser; raise `UnsafeXmlError`, `MalformedXmlError` or
    `UnsupportedFormat` (all `DocumentError`s)."""
    root = parse_xml(data)
    fmt = detect_root(root)
    if fmt is None:
        raise UnsupportedFormat(
            f"not a supported e-invoice: root {local_name(root.tag)!r} in {namespace(root.tag)!r}"
        )
    return fmt, _PARSERS[fmt](root)


def parse_einvoice(data: bytes) -> Invoice:
    """The `Invoice` carried by UBL, CII, ZUGFeRD 1.0, Facturae or FatturaPA XML bytes."""
    return read_einvoice(data)[1]

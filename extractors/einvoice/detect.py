"""Which e-invoice syntax a document is, from its root element and namespace."""

from __future__ import annotations

import re
from enum import StrEnum
from xml.etree.ElementTree import Element

from extractors.einvoice.xmlsafe import local_name, namespace


class EInvoiceFormat(StrEnum):
    UBL_INVOICE = "ubl-invoice"
    UBL_CREDIT_NOTE = "ubl-creditnote"
    CII = "cii"  # CII D16B: Factur-X, ZUGFeRD 2.x, XRechnung CII
    ZUGFERD1 = "zugferd1"  # ZUGFeRD 1.0 CrossIndustryDocument
    FACTURAE = "facturae"
    FATTURAPA = "fatturapa"


_ROOTS: tuple[tuple[str, str, EInvoiceFormat], ...] = (
    (
        "Invoice",
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        EInvoiceFormat.UBL_INVOICE,
    ),
    (
        "CreditNote",
        "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
        EInvoiceFormat.UBL_CREDIT_NOTE,
    ),
    (
        "CrossIndustryInvoice",
        "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:",
        EInvoiceFormat.CII,
    ),
    ("CrossIndustryDocument", "urn:ferd:CrossIndustryDocument:invoice:", EInvoiceFormat.ZUGFERD1),
    ("Facturae", "facturae", EInvoiceFormat.FACTURAE),
    (
        "FatturaElettronica",
        "ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/",
        EInvoiceFormat.FATTURAPA,
    ),
)


def format_of(name: str, ns: str) -> EInvoiceFormat | None:
    """Format for a root local name and namespace URI (namespace matched by prefix/substring)."""
    for root_name, ns_part, fmt in _ROOTS:
        if name == root_name and ns_part.lower() in ns.lower():
            return fmt
    return None


def detect_root(root: Element) -> EInvoiceFormat | None:
    return format_of(local_name(root.tag), namespace(root.tag))


_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_START_TAG = re.compile(rb"<(?:([A-Za-z_][\w.\-]*):)?([A-Za-z_][\w.\-]*)(\s[^>]*)?/?>")
SNIFF_BYTES = 65536  # what `sniff` looks at


def sniff(data: bytes) -> EInvoiceFormat | None:
    """Guess the format from the first start tag without parsing (nothing is expanded).

    Cheap routing only: `parse_einvoice` still does the hardened parse and may refuse it."""
    head = data[:SNIFF_BYTES]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with BOM
        head = head.decode("utf-16", "ignore").encode("utf-8")
    head = _COMMENT.sub(b"", head.lstrip(b"\xef\xbb\xbf"))
    match = _START_TAG.search(head)
    if match is None:
        return None
    prefix, name, attrs = match.group(1), match.group(2), match.group(3) or b""
    xmlns = b"xmlns:" + prefix if prefix else b"xmlns"
    ns = re.search(re.escape(xmlns) + rb"\s*=\s*[\"']([^\"']*)[\"']", attrs)
    if ns is None:
        return None
    return format_of(name.decode("ascii"), ns.group(1).decode("utf-8", "replace"))

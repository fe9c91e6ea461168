"""Embedded XML of hybrid PDF invoices (Factur-X, ZUGFeRD 1.0/2.x, XRechnung-in-PDF)."""

from __future__ import annotations

from pathlib import Path

from extractors.digital import PDFIUM_LOCK, open_pdf
from extractors.einvoice.attachments import read_attachments
from extractors.einvoice.detect import SNIFF_BYTES, sniff
from extractors.einvoice.xmlsafe import MAX_XML_BYTES

# Attachment names fixed by the standards, in the order they are preferred.
EINVOICE_ATTACHMENTS = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")


def extract_embedded_xml(pdf_path: str | Path) -> tuple[str, bytes] | None:
    """(attachment name, XML bytes) of the e-invoice embedded in a PDF, or None.

    Standard names win (case-insensitive); otherwise the first ``.xml`` attachment whose root
    is a known e-invoice syntax. Raises `DocumentError` (`EncryptedDocument`, `EmptyDocument`)
    if the PDF cannot be opened.

    pdfium opens the PDF (typed errors for encrypted/empty files) and counts its attachments
    without decoding them; only when there are any are they read, bounded, by pdfminer
    (outside the pdfium lock: it needs none): the standard ones whole, the other ``.xml`` ones
    only as far as `sniff` looks, and the one that sniffs as an e-invoice whole (thirty 19 MB
    attachments were all held at once before: 700 MB)."""
    path = Path(pdf_path)
    with PDFIUM_LOCK:  # pdfium is not thread-safe
        count = _count_attachments(path)
    if not count:
        return None
    standard = read_attachments(path, MAX_XML_BYTES, wanted=_is_standard)
    by_name = {name.lower(): (name, data) for name, data in standard}
    for wanted in EINVOICE_ATTACHMENTS:
        if wanted in by_name:
            return by_name[wanted]
    heads = read_attachments(path, SNIFF_BYTES, wanted=_is_xml, head=True)
    found = next((name for name, head in heads if sniff(head) is not None), None)
    if found is None:
        return None
    return read_attachments(path, MAX_XML_BYTES, wanted=lambda name: name == found)[0]


def _is_standard(name: str) -> bool:
    return name.lower() in EINVOICE_ATTACHMENTS


def _is_xml(name: str) -> bool:
    return name.lower().endswith(".xml")


def _count_attachments(path: Path) -> int:
    pdf = open_pdf(path)
    try:
        return int(pdf.count_attachments())
    finally:
        pdf.close()

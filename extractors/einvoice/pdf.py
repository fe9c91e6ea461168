"""Embedded XML of hybrid PDF invoices (Factur-X, ZUGFeRD 1.0/2.x, XRechnung-in-PDF)."""

from __future__ import annotations

from pathlib import Path

from extractors.digital import PDFIUM_LOCK, open_pdf
from extractors.einvoice.detect import sniff

# Attachment names fixed by the standards, in the order they are preferred.
EINVOICE_ATTACHMENTS = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")


def extract_embedded_xml(pdf_path: str | Path) -> tuple[str, bytes] | None:
    """(attachment name, XML bytes) of the e-invoice embedded in a PDF, or None.

    Standard names win (case-insensitive); otherwise any ``.xml`` attachment whose root is
    a known e-invoice syntax. Raises `DocumentError` (`EncryptedDocument`, `EmptyDocument`)
    if the PDF cannot be opened."""
    attachments = _attachments(Path(pdf_path))
    by_name = {name.lower(): (name, data) for name, data in attachments}
    for wanted in EINVOICE_ATTACHMENTS:
        if wanted in by_name:
            return by_name[wanted]
    for name, data in attachments:
        if name.lower().endswith(".xml") and sniff(data) is not None:
            return name, data
    return None


def _attachments(path: Path) -> list[tuple[str, bytes]]:
    with PDFIUM_LOCK:  # pdfium is not thread-safe
        return _read_attachments(path)


def _read_attachments(path: Path) -> list[tuple[str, bytes]]:
    pdf = open_pdf(path)
    try:
        out = []
        for index in range(pdf.count_attachments()):
            attachment = pdf.get_attachment(index)
            out.append((attachment.get_name(), bytes(attachment.get_data())))
        return out
    finally:
        pdf.close()

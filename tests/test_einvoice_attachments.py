"""Embedded files are read with a size limit: a compression bomb inside a PDF fails the
document with FILE_TOO_LARGE in well under a second and a few hundred MB, and a large
attachment that is not XML is never decoded at all."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from childrun import extract_measured
from pdfbytes import pdf_bytes

from extractors.einvoice import extract_embedded_xml
from extractors.einvoice.attachments import AttachmentTooLarge, read_attachments

ROOT = Path(__file__).resolve().parent.parent
BOMB_BYTES = 256 * 1024 * 1024  # inflates to 256 MB; 20 MB is the limit for e-invoice XML


def pdf_with_attachment(path: Path, name: str, inflated: bytes | int) -> Path:
    """A one-page PDF embedding `name` as a Flate stream of `inflated` (bytes, or that many
    zero bytes compressed chunk by chunk, so a bomb is cheap to build)."""
    packer = zlib.compressobj(9)
    if isinstance(inflated, bytes):
        data = packer.compress(inflated)
    else:
        chunk = b"\0" * (1 << 22)
        data = b"".join(packer.compress(chunk) for _ in range(inflated // len(chunk)))
    data += packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(%s) 5 0 R] >> >> >>"
        % name.encode(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n" % len(data)
        + data + b"\nendstream",
        b"<< /Type /Filespec /F (%s) /UF (%s) /EF << /F 4 0 R >> >>" % (name.encode(),
                                                                        name.encode()),
    ]
    path.write_bytes(pdf_bytes(objects))
    return path


def test_an_embedded_xml_is_read_within_the_limit(tmp_path: Path) -> None:
    xml = b"<?xml version='1.0'?><Invoice>" + b" " * 1000 + b"</Invoice>"
    pdf = pdf_with_attachment(tmp_path / "a.pdf", "notes.xml", xml)
    assert read_attachments(pdf, 10_000) == [("notes.xml", xml)]
    with pytest.raises(AttachmentTooLarge, match="larger than 100 bytes"):
        read_attachments(pdf, 100)


def test_a_large_attachment_that_is_not_xml_is_never_decoded(tmp_path: Path) -> None:
    pdf = pdf_with_attachment(tmp_path / "b.pdf", "scan.bin", BOMB_BYTES)
    assert extract_embedded_xml(pdf) is None  # skipped by name: the PDF reads as usual


def test_a_compression_bomb_fails_the_document_small(tmp_path: Path) -> None:
    """Before the limit, a 2 MB PDF inflating to 2 GB peaked at 4.3 GB of memory."""
    pdf = pdf_with_attachment(tmp_path / "bomb.pdf", "factur-x.xml", BOMB_BYTES)
    assert pdf.stat().st_size < 1_000_000
    found = extract_measured(pdf, timeout=120)
    codes = [e["code"] for e in found["errors"]]
    assert found["status"] == "failed" and codes == ["FILE_TOO_LARGE"]
    assert found["peak_kb"] < 400_000, f"peak RSS {found['peak_kb']} KB"

"""The page-size limit on every rendering: a tiny PDF declaring a huge page must not ask for
gigabytes of pixels; ordinary and large-format pages still render."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from childrun import extract_measured

from arflow.errors import DocumentTooLarge
from extractors.render_limits import MAX_PAGE_PIXELS, fitted_dpi, render_dpi

A4 = (595.0, 842.0)
A0 = (2384.0, 3370.0)
MAX_PDF_PAGE = (14400.0, 14400.0)  # 200 × 200 inches, the largest page PDF allows
ROOT = Path(__file__).resolve().parent.parent


def test_ordinary_pages_keep_their_resolution_and_large_ones_are_fitted() -> None:
    assert render_dpi(A4, 300, where="a4.pdf page 1") == 300
    fitted = render_dpi(A0, 300, where="poster.pdf page 1")
    assert 150 < fitted < 300
    width, height = (A0[0] / 72 * fitted, A0[1] / 72 * fitted)
    assert width * height <= MAX_PAGE_PIXELS * 1.0001


def test_a_page_too_large_to_read_is_refused_with_its_size() -> None:
    with pytest.raises(DocumentTooLarge, match=r"huge.pdf page 1: a page of 5,080 × 5,080 mm"):
        render_dpi(MAX_PDF_PAGE, 300, where="huge.pdf page 1")
    assert fitted_dpi(*MAX_PDF_PAGE, 300) < 100
    assert render_dpi(MAX_PDF_PAGE, 108, where="preview", min_dpi=1) <= 40  # previews shrink


def _huge_page_pdf(path: Path) -> Path:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(*MAX_PDF_PAGE)
    pdf.save(str(path))
    return path


def test_a_tiny_pdf_with_a_huge_page_fails_fast_and_small(tmp_path: Path) -> None:
    """Before the limit, this 553-byte file took 74 s and 12 GB of memory."""
    pdf = _huge_page_pdf(tmp_path / "huge.pdf")
    assert pdf.stat().st_size < 1000
    found = extract_measured(pdf)
    assert found["status"] == "failed"
    assert [e["code"] for e in found["errors"]] == ["FILE_TOO_LARGE"]
    assert "too large to render" in found["errors"][0]["message"]
    assert found["peak_kb"] < 1_500_000, f"peak RSS {found['peak_kb']} KB"

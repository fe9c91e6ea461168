"""A page scanned large: an A3 invoice at 600 dpi is 70 million pixels, over the 64 million
a page is read within. A JPEG that large is decoded reduced (tests/test_input_gaps.py); a
PNG or TIFF was refused as FILE_TOO_LARGE since 2026-12-07 (before, decoded whole). Now
one of at most 100 million pixels is decoded and halved, its resolution with it; the few
bytes of a PNG claiming 164 million are still refused before any pixel is allocated."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

from arflow.errors import DocumentTooLarge
from extractors.api import extract_file
from extractors.ocr.images import MAX_DECODED_PIXELS, load_pages
from extractors.render_limits import MAX_PAGE_PIXELS
from tests.test_input_gaps import _png_header

INVOICE = Path(__file__).resolve().parents[1] / "data" / "invoices" / "001_ferreteria_hermanos.pdf"
DPI = 850  # A4 at 850 dpi: 7,029 x 9,938 pixels, as many as A3 at 600 dpi


@pytest.fixture(scope="module")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = pdfium.PdfDocument(str(INVOICE))
    try:
        picture = document[0].render(scale=DPI / 72, grayscale=True).to_pil()
    finally:
        document.close()
    target = tmp_path_factory.mktemp("large") / "a3-600dpi.png"
    picture.save(target, dpi=(DPI, DPI))
    return target


def test_a_png_over_the_page_limit_is_read_halved(big_png: Path) -> None:
    (page,) = list(load_pages(big_png))
    height, width = page.image.shape
    assert MAX_PAGE_PIXELS < (2 * width) * (2 * height) <= MAX_DECODED_PIXELS
    assert width * height <= MAX_PAGE_PIXELS and page.dpi == pytest.approx(DPI / 2, abs=0.1)


@pytest.mark.slow
def test_its_invoice_is_read(big_png: Path) -> None:
    truth = extract_file(INVOICE).invoice
    invoice = extract_file(big_png).invoice
    assert (invoice.invoice_number, invoice.total) == (truth.invoice_number, truth.total)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_claim_beyond_the_decoded_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "claims.png"
    path.write_bytes(_png_header(16383, 10000))
    with pytest.raises(DocumentTooLarge, match="100 million pixels"):
        list(load_pages(path))

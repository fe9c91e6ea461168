"""How large a page may be rendered: one limit for every pdfium rendering (OCR, QR search,
the review UI's page images), so that a few hundred bytes of PDF declaring a 200-inch page
cannot ask for gigabytes of pixels (measured before this limit: 74 s and 12 GB of memory
for one such page, ending in a Tesseract error).

A page is rendered at the requested resolution when it fits in `MAX_PAGE_PIXELS`, else at
the lower resolution that fits; when that is below `MIN_DPI`, where nothing printed can be
read, the page is refused as too large (`DocumentTooLarge`, reason FILE_TOO_LARGE).
"""

from __future__ import annotations

import math

from arflow.errors import DocumentTooLarge

MAX_PAGE_PIXELS = 64_000_000  # A1 at ~280 dpi; an A4 invoice at 300 dpi is 8.7 million
MIN_DPI = 100.0
_POINTS_PER_INCH = 72.0
_MM_PER_POINT = 25.4 / 72


def fitted_dpi(width_pt: float, height_pt: float, dpi: float) -> float:
    """`dpi`, or the highest resolution at which the page fits in `MAX_PAGE_PIXELS`."""
    area = (width_pt / _POINTS_PER_INCH) * (height_pt / _POINTS_PER_INCH)
    if area <= 0:
        return dpi
    return min(dpi, math.sqrt(MAX_PAGE_PIXELS / area))


def render_dpi(size_pt: tuple[float, float], dpi: float, *, where: str,
               min_dpi: float = MIN_DPI) -> float:
    """The resolution to render a page of `size_pt` (width, height in points) at.

    Raises `DocumentTooLarge` naming `where` (file and page) when the page cannot be rendered
    at `min_dpi` (or at `dpi`, if that is lower) within the pixel limit."""
    width, height = size_pt
    fitted = fitted_dpi(width, height, dpi)
    if fitted < min(min_dpi, dpi):
        raise DocumentTooLarge(
            f"{where}: a page of {width * _MM_PER_POINT:,.0f} × {height * _MM_PER_POINT:,.0f} mm"
            f" is too large to render: {MAX_PAGE_PIXELS / 1e6:.0f} million pixels would allow"
            f" only {fitted:.0f} dpi")
    return fitted

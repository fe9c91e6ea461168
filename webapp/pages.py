"""Document pages as PNG (pypdfium2), and where a stored document's file is now."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from arflow.settings import Settings
from extractors.render_limits import render_dpi
from models.db import Document

SCALE = 1.5  # 108 dpi: readable beside the fields, small enough to load fast


def document_path(document: Document, settings: Settings) -> Path | None:
    """The file as received, or its archived copy; None when neither exists."""
    suffix = Path(document.source_name).suffix
    candidates = [Path(document.original_path)] if document.original_path else []
    candidates.append(settings.archive_dir / f"{document.sha256}{suffix}")
    candidates.append(settings.archive_dir / document.source_name)
    return next((p for p in candidates if p.is_file()), None)


def is_pdf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"%PDF-"


@lru_cache(maxsize=64)
def page_sizes(path: Path, mtime: float) -> tuple[tuple[float, float], ...]:
    """(width, height) in PDF points per page; `mtime` keys the cache."""
    import pypdfium2 as pdfium  # noqa: PLC0415 (only the web pages need it)

    pdf = pdfium.PdfDocument(str(path))
    try:
        return tuple(tuple(pdf[i].get_size()) for i in range(len(pdf)))
    finally:
        pdf.close()


@lru_cache(maxsize=32)
def page_png(path: Path, mtime: float, index: int) -> bytes:
    import pypdfium2 as pdfium  # noqa: PLC0415

    pdf = pdfium.PdfDocument(str(path))
    try:
        if not 0 <= index < len(pdf):
            raise IndexError(f"page {index} of {len(pdf)}")
        page = pdf[index]
        dpi = render_dpi(page.get_size(), SCALE * 72, where=f"{path.name} page {index + 1}",
                         min_dpi=1)  # a preview: smaller is fine, unbounded is not
        image = page.render(scale=dpi / 72).to_pil()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()

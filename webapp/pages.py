"""Document pages as PNG, and where a stored document's file is now.

PDFs are rendered with pypdfium2. Scans and photos (PNG, JPEG, TIFF incl. multi-page, BMP,
WebP, GIF: whatever `extractors.ocr.images` reads) are shown page by page (each TIFF frame a
page) as the OCR read them: turned upright by their EXIF orientation. Their page sizes are
given in PDF points as the OCR's word boxes are: pixels x 72 / dpi, the dpi being the one the
file states (100 or more), else the settings' OCR resolution (`extractors.ocr.pages`), so
that the evidence boxes of both kinds are drawn the same way.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from arflow.errors import DocumentTooLarge
from arflow.settings import Settings
from extractors.render_limits import MAX_PAGE_PIXELS, render_dpi
from models.db import Document

SCALE = 1.5  # 108 dpi: readable beside the fields, small enough to load fast
PREVIEW_DPI = SCALE * 72
# an image of unknown scale (a photo, a receipt) is not shrunk below this width for its preview
PREVIEW_MIN_WIDTH = 900
DEFAULT_IMAGE_DPI = 300.0  # `Settings.ocr_dpi`'s default: an image that does not state its own
MIN_TRUSTED_DPI = 100  # as `extractors.ocr.images`: 72/96 dpi in a photo is a default
_TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height
_LOAD_ERRORS = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)


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


def is_image(path: Path) -> bool:
    """An image Pillow can read (judged by its content, not its name: a part split out of
    a scanned TIFF is named after the file and its pages)."""
    try:
        with Image.open(path):
            return True
    except _LOAD_ERRORS:
        return False


def has_pages(path: Path) -> bool:
    """A file whose pages can be shown: a PDF or an image."""
    return is_pdf(path) or is_image(path)


@lru_cache(maxsize=64)
def page_sizes(path: Path, mtime: float,
               image_dpi: float = DEFAULT_IMAGE_DPI) -> tuple[tuple[float, float], ...]:
    """(width, height) in PDF points per page; `mtime` keys the cache; `image_dpi` is the
    resolution assumed for an image that does not state one (the OCR's)."""
    if not is_pdf(path):
        return _image_sizes(path, image_dpi)
    import pypdfium2 as pdfium  # noqa: PLC0415 (only the web pages need it)

    pdf = pdfium.PdfDocument(str(path))
    try:
        return tuple(tuple(pdf[i].get_size()) for i in range(len(pdf)))
    finally:
        pdf.close()


@lru_cache(maxsize=32)
def page_png(path: Path, mtime: float, index: int,
             image_dpi: float = DEFAULT_IMAGE_DPI) -> bytes:
    """Page `index` (from 0) as PNG; IndexError beyond the last page, `DocumentTooLarge` for
    an image page of more than `MAX_PAGE_PIXELS` pixels."""
    image = _pdf_page(path, index) if is_pdf(path) else _image_page(path, index, image_dpi)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _pdf_page(path: Path, index: int) -> Image.Image:
    import pypdfium2 as pdfium  # noqa: PLC0415

    pdf = pdfium.PdfDocument(str(path))
    try:
        if not 0 <= index < len(pdf):
            raise IndexError(f"page {index} of {len(pdf)}")
        page = pdf[index]
        dpi = render_dpi(page.get_size(), PREVIEW_DPI, where=f"{path.name} page {index + 1}",
                         min_dpi=1)  # a preview: smaller is fine, unbounded is not
        image: Image.Image = page.render(scale=dpi / 72).to_pil()
        return image
    finally:
        pdf.close()


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise DocumentTooLarge(f"{path.name}: {exc}") from exc


def _image_sizes(path: Path, image_dpi: float) -> tuple[tuple[float, float], ...]:
    """Each frame's upright size in points; only the frames' headers are read."""
    with _open(path) as image:
        sizes = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            width, height = _upright_size(image)
            scale = 72.0 / _dpi(image, image_dpi)
            sizes.append((width * scale, height * scale))
        return tuple(sizes)


def _image_page(path: Path, index: int, image_dpi: float) -> Image.Image:
    with _open(path) as image:
        count = getattr(image, "n_frames", 1)
        if not 0 <= index < count:
            raise IndexError(f"page {index} of {count}")
        image.seek(index)
        if image.width * image.height > MAX_PAGE_PIXELS:
            raise DocumentTooLarge(
                f"{path.name} page {index + 1}: {image.width} × {image.height} pixels, more than"
                f" the {MAX_PAGE_PIXELS / 1e6:.0f} million a page may have to be shown")
        width, height = _upright_size(image)
        scale = min(1.0, max(PREVIEW_DPI / _dpi(image, image_dpi), PREVIEW_MIN_WIDTH / width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if image.format == "JPEG":  # decode at a fraction of the size where that is enough
            image.draft("RGB", size if _upright(image) else size[::-1])
        upright = _flatten(ImageOps.exif_transpose(image) or image)
    return upright if upright.size == size else upright.resize(
        size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation `ImageOps.exif_transpose` (the OCR's loading) turns the page by."""
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except (TypeError, ValueError, OSError):
        return 1


def _upright(image: Image.Image) -> bool:
    return _orientation(image) not in _TURNED


def _upright_size(image: Image.Image) -> tuple[int, int]:
    return image.size if _upright(image) else (image.height, image.width)


def _dpi(frame: Image.Image, image_dpi: float) -> float:
    """The resolution the OCR read the frame at (`extractors.ocr.images`: the file's own from
    `MIN_TRUSTED_DPI` up, else the settings')."""
    dpi = frame.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    return value if value >= MIN_TRUSTED_DPI else image_dpi


def _flatten(image: Image.Image) -> Image.Image:
    """RGB or grey pixels; transparency on white paper (as the OCR sees it)."""
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    if image.mode in ("L", "RGB"):
        return image
    return image.convert("L" if image.mode.startswith(("1", "I", "F")) else "RGB")

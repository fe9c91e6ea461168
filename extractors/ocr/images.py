"""Page images from scans and photos (PNG, JPEG, TIFF incl. multi-page, BMP, WebP) and from
image-only PDFs (rendered with pypdfium2), one page at a time so a long document never sits
in memory as a whole. Pillow (a dependency of pdfplumber) reads the images: it gives the DPI
from the file's metadata, multi-page TIFFs and the EXIF orientation of phone photos.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from arflow.errors import DocumentError, DocumentTooLarge, EmptyDocument, UnsupportedFormat
from extractors.digital import PDFIUM_LOCK
from extractors.ocr.textlayer import open_pdf
from extractors.render_limits import render_dpi

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"})
MIN_TRUSTED_DPI = 100   # 72/96 dpi in a photo's metadata is a default, not a measurement
# More than a document scanner takes is not a measurement either: 100,000,000 dpi, trusted,
# made the rule remover build a kernel of 20 million pixels and never finish.
MAX_TRUSTED_DPI = 1200
MIN_SIDE_PX = 32  # a page narrower or lower than this holds nothing readable


@dataclass(frozen=True)
class PageImage:
    """One page as a grey image; ``dpi`` is None when the file does not say (or says 72/96)."""

    index: int
    image: npt.NDArray[np.uint8]
    dpi: float | None


def load_pages(path: Path, *, dpi: int = 300, max_pages: int | None = None) -> Iterator[PageImage]:
    """Yield the pages of an image file or a PDF (rendered at ``dpi``) as grey images."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        yield from _pdf_pages(path, dpi, max_pages)
    elif suffix in IMAGE_SUFFIXES:
        yield from _image_pages(path, max_pages)
    else:
        raise UnsupportedFormat(f"{path.name}: not an image or PDF ({suffix or 'no suffix'})")


def _pdf_pages(path: Path, dpi: int, max_pages: int | None) -> Iterator[PageImage]:
    with PDFIUM_LOCK:  # pdfium is not thread-safe; never hold the lock across a yield
        doc = open_pdf(path)
        count = len(doc)
    try:
        _check_count(path, count, max_pages)
        for index in range(count):
            with PDFIUM_LOCK:
                arr, used = _render(doc, index, dpi, f"{path.name} page {index + 1}")
            yield PageImage(index, arr.reshape(arr.shape[0], arr.shape[1]), used)
    finally:
        with PDFIUM_LOCK:
            doc.close()


def _render(doc: pdfium.PdfDocument, index: int, dpi: int,
            where: str) -> tuple[npt.NDArray[np.uint8], float]:
    """The page in grey and the resolution used: ``dpi``, or less for a page too large for
    `extractors.render_limits` (which refuses one it cannot render at a readable dpi)."""
    page = doc[index]
    try:
        used = render_dpi(page.get_size(), dpi, where=where)
        bitmap = page.render(scale=used / 72, grayscale=True)
        image = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)
    finally:
        page.close()
    _check_size(where, image.shape[1], image.shape[0])
    return image, used


def _check_count(path: Path, count: int, max_pages: int | None) -> None:
    if count == 0:
        raise EmptyDocument(f"{path.name}: no pages")
    if max_pages is not None and count > max_pages:
        raise DocumentTooLarge(f"{path.name}: {count} pages, more than the limit of {max_pages}")


def _check_size(where: str, width: int, height: int) -> None:
    """OpenCV's clean-up asserts on a page a few pixels wide or high: refused here."""
    if min(width, height) < MIN_SIDE_PX:
        raise DocumentError(f"{where}: a page of {width} x {height} pixels is too small to "
                            f"read (at least {MIN_SIDE_PX} on each side)")


def _image_pages(path: Path, max_pages: int | None) -> Iterator[PageImage]:
    try:
        img = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise DocumentTooLarge(f"{path.name}: {exc}") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise DocumentError(f"{path.name}: not a readable image ({exc})") from exc
    with img:
        _check_count(path, getattr(img, "n_frames", 1), max_pages)
        try:
            for index, frame in enumerate(ImageSequence.Iterator(img)):
                _check_size(f"{path.name} page {index + 1}", *frame.size)
                yield PageImage(index, _to_gray(frame), _file_dpi(frame))
        except OSError as exc:
            raise DocumentError(f"{path.name}: damaged image data ({exc})") from exc


def _to_gray(frame: Image.Image) -> npt.NDArray[np.uint8]:
    """Grey pixels of a frame, turned upright by its EXIF orientation (phone photos)."""
    upright = ImageOps.exif_transpose(frame) or frame
    if upright.mode in ("RGBA", "LA", "P"):
        upright = upright.convert("RGBA")
        white = Image.new("RGBA", upright.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(white, upright)
    return np.asarray(upright.convert("L"), dtype=np.uint8).copy()


def _file_dpi(frame: Image.Image) -> float | None:
    """The resolution the file states, when it is one a scanner takes (None otherwise)."""
    dpi = frame.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        return None
    return value if MIN_TRUSTED_DPI <= value <= MAX_TRUSTED_DPI else None


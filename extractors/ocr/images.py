"""Page images from scans and photos (PNG, JPEG, TIFF, BMP, WebP and GIF) and from image-only
PDFs (rendered with pypdfium2), one page at a time so a long document never sits in memory
as a whole. Pillow (a dependency of pdfplumber) reads the images: it gives the DPI from the
file's metadata, the frames of multi-page files and the EXIF orientation of phone photos.

What a file is comes from its first bytes (`extractors.api.image_format`, as the probe
judges it), not from its name: a GIF named ``scan.png`` or a PNG without a suffix is read.

Every frame of a multi-frame GIF or WebP is a page, as in a multi-page TIFF: pages saved
into one such file are its frames, and a file holding several invoices that way is found
as such (`extractors.bundles`; it cannot be split as a PDF or TIFF is, so it keeps the first
invoice's fields and waits for review). Taking the first frame alone would silently drop
the others. The frames of an animated GIF are read as Pillow composes them, each a whole
picture. The page limit (`Settings.max_pages`) counts the frames before any is decoded.

A page is read within `extractors.render_limits.MAX_PAGE_PIXELS` (64 million). A JPEG
larger than that (a 108-megapixel phone photo) is decoded at half, a quarter or an eighth of
its size, which libjpeg does without decoding it whole; another frame of at most
`MAX_DECODED_PIXELS` (100 million: an A3 page scanned at 600 dpi is 70) is decoded whole
and halved; either way its resolution is scaled with it. A larger frame fails as too large
(FILE_TOO_LARGE) before its pixels are allocated: a few dozen bytes of WebP or PNG may
claim 16,383 x 10,000 pixels (Pillow's own decompression-bomb error only starts at 179
million; that header alone took 0.6 s and 660 MB before failing). Beyond Pillow's own limit
any file is refused when opened.
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
from extractors.api import image_format
from extractors.digital import PDFIUM_LOCK
from extractors.ocr.textlayer import open_pdf
from extractors.render_limits import MAX_PAGE_PIXELS, render_dpi

MAX_DECODED_PIXELS = 100_000_000  # a frame other than a JPEG is decoded whole up to this
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
    """Yield the pages of an image file or a PDF (rendered at ``dpi``) as grey images; the
    file's first bytes say which it is, its suffix only when they say neither."""
    path = Path(path)
    kind = _kind_of(path)
    if kind == _PDF:
        yield from _pdf_pages(path, dpi, max_pages)
    elif kind == _IMAGE:
        yield from _image_pages(path, max_pages)
    else:
        suffix = path.suffix.lower()
        raise UnsupportedFormat(f"{path.name}: not an image or PDF ({suffix or 'no suffix'})")


_PDF, _IMAGE = "pdf", "image"


def _kind_of(path: Path) -> str | None:
    """PDF or image by the first bytes (as `extractors.api` probes them), else by suffix."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
    except OSError:
        head = b""  # the reader below names the problem
    if image_format(head) is not None:
        return _IMAGE
    if b"%PDF-" in head:
        return _PDF
    suffix = path.suffix.lower()
    return _PDF if suffix == ".pdf" else _IMAGE if suffix in IMAGE_SUFFIXES else None


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
                where = f"{path.name} page {index + 1}"
                reduced, after = _reduction(frame, where)
                _check_size(where, *frame.size)
                dpi = _file_dpi(frame)
                yield PageImage(index, _to_gray(frame, after), dpi / reduced if dpi else None)
        except OSError as exc:
            raise DocumentError(f"{path.name}: damaged image data ({exc})") from exc


def _reduction(frame: Image.Image, where: str) -> tuple[int, int]:
    """By how much a frame over `MAX_PAGE_PIXELS` is reduced: (overall factor, the part
    left to do once decoded). A JPEG is reduced while decoded (2, 4 or 8, libjpeg's own
    scaling); another frame of at most `MAX_DECODED_PIXELS` (an A3 page scanned at 600 dpi
    is 70 million) is decoded whole and halved; (1, 1) for one within the limit. Any other
    frame that large is refused before it is decoded (`DocumentTooLarge`)."""
    width, height = frame.size
    if width * height <= MAX_PAGE_PIXELS:
        return 1, 1
    if frame.format == "JPEG":
        factor = next((f for f in (2, 4, 8) if (width / f) * (height / f) <= MAX_PAGE_PIXELS), 0)
        if factor:
            frame.draft(frame.mode, (width // factor, height // factor))
            if frame.size[0] * frame.size[1] <= MAX_PAGE_PIXELS:
                return round(width / frame.size[0]), 1
    elif width * height <= MAX_DECODED_PIXELS:
        return 2, 2
    limit = MAX_PAGE_PIXELS if frame.format == "JPEG" else MAX_DECODED_PIXELS
    raise DocumentTooLarge(f"{where}: {width:,} x {height:,} pixels is more than the "
                           f"{limit / 1e6:.0f} million pixels a page may have")


def _to_gray(frame: Image.Image, shrink: int = 1) -> npt.NDArray[np.uint8]:
    """Grey pixels of a frame, turned upright by its EXIF orientation (phone photos), and
    reduced `shrink` times in each direction (box average)."""
    upright = ImageOps.exif_transpose(frame) or frame
    if upright.mode in ("RGBA", "LA", "P"):
        upright = upright.convert("RGBA")
        white = Image.new("RGBA", upright.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(white, upright)
    gray = upright.convert("L")
    if shrink > 1:
        gray = gray.reduce(shrink)
    return np.asarray(gray, dtype=np.uint8).copy()


def _file_dpi(frame: Image.Image) -> float | None:
    """The resolution the file states, when it is one a scanner takes (None otherwise)."""
    dpi = frame.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        return None
    return value if MIN_TRUSTED_DPI <= value <= MAX_TRUSTED_DPI else None


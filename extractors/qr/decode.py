"""Find and decode QR codes on page images with OpenCV (no external decoder).

Each image goes through a short cascade until something decodes: the page as given (with a
white quiet zone added: QR images cropped to the code have none, and OpenCV then finds
nothing), then a 2x upscale (small or low-dpi codes), then an Otsu-thresholded copy (grey or
noisy scans). Each variant is tried with the ArUco-based detector (several codes per page),
then the classic detector, which between them decoded every corpus sample."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from arflow.errors import DocumentError
from extractors.digital import PDFIUM_LOCK, open_pdf
from extractors.render_limits import render_dpi

log = logging.getLogger(__name__)
Image = npt.NDArray[Any]
QUIET_ZONE_PX = 32
PDF_DPI = (200, 300)
CRISP_DPI = 300
_GATE_SIDES = (1800, 1250)
_HALVE_FROM = 1700  # halve first when half the long side is still about the first copy's


@dataclass(frozen=True)
class QrCode:
    text: str
    page: int = 0  # 0-based page index (0 for an image file)


def decode_image(image: Image, *, gate: bool = False) -> list[str]:
    """Decoded texts of the QR codes on one image (grey, BGR or BGRA), in detection order.

    ``gate=True`` first asks the detectors alone, on small copies, whether the page shows a
    QR code at all (~0.05 s) and skips the decoding cascade (~1.5 s on a 300 dpi page)
    when it does not; a code too small to be seen on those copies is then missed."""
    grey = _grey(image)
    if gate and not likely_has_qr(grey):
        return []
    for variant in _variants(grey):
        for attempt in _ATTEMPTS:
            texts = [t for t in attempt(variant) if t]
            if texts:
                return list(dict.fromkeys(texts))
    return []


def decode_page(image: Image, dpi: float | None, *, gate: bool = True) -> list[str]:
    """QR codes on one page image (or a rendered page region) of ``dpi`` dots per inch
    (None: unknown), as the OCR path and the digital path search them: the gate of
    `decode_image`, the decoding cascade, then, for an image of more than 250 dpi where
    nothing decoded, the cascade again on a 200 dpi copy (`decode_file` tries PDF pages at
    200 dpi first, and a code with coarse modules can decode there and not at 300)."""
    grey = _grey(image)
    if gate and not likely_has_qr(grey):
        return []
    texts = decode_image(grey)
    if texts or dpi is None or dpi <= 250:
        return texts
    scale = PDF_DPI[0] / dpi
    return decode_image(cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))


def decode_region(image: Image, dpi: float) -> list[str]:
    """QR codes on a page region rendered from a digital PDF's objects (a logo, a picture, a
    cluster of vector squares), with a cheaper gate than a scan's: a crisp render of at least
    `CRISP_DPI` needs only the ArUco-based detector (~0.1-2 ms; the classic detector costs
    4-11 ms on a small region, as it enlarges it to 512 px). Measured on EPC codes of 1.5-5 cm
    drawn as an image and as vector squares, a QR-bill slip image and 9 Swiss QR-bill PDFs:
    at 300 dpi the ArUco detector saw every code (at 150 dpi it missed the 1.5 and 2 cm
    vector ones). A larger region, rendered with fewer dots, gets the scan gate."""
    grey = _grey(image)
    if dpi >= CRISP_DPI:
        if not _sees(cv2.QRCodeDetectorAruco(), _pad(grey)):
            return []
    elif not likely_has_qr(grey):
        return []
    return decode_page(grey, dpi, gate=False)


def decode_file(path: str | Path, *, max_pages: int = 20, gate: bool = False) -> list[QrCode]:
    """QR codes of an image file or of every page of a PDF (rendered with pypdfium2)."""
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return list(_decode_pdf(path, max_pages, gate))
    if gate:  # a half-size decode of the file is enough to look for a code (JPEG: 4x faster)
        small = cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_2)
        if small is not None and not likely_has_qr(small):
            return []
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DocumentError(f"cannot read image {path.name}")
    return [QrCode(text) for text in decode_image(image)]


def likely_has_qr(grey: Image) -> bool:
    """Do the detectors (no decoding) find a QR code on a small copy of the page?

    A page of at least twice `_GATE_SIDES[0]` (A4 at 300 dpi) is first halved with an exact
    2x box filter (~1 ms; a resize to an arbitrary size costs ~15 ms): the copies are then
    those ``decode_file`` looks at on a half-size read of an image file."""
    if max(grey.shape[:2]) >= 2 * _HALVE_FROM:
        grey = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    longest = max(grey.shape[:2])
    looked: set[tuple[int, ...]] = set()
    for side in _GATE_SIDES:  # long side of the copies looked at (A4 at ~150 and ~105 dpi)
        scale = min(1.0, side / longest)
        small = grey if scale == 1.0 else cv2.resize(
            grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        padded = _pad(small)
        if small.shape not in looked and _sees(cv2.QRCodeDetectorAruco(), padded):
            return True
        looked.add(small.shape)
        if side == _GATE_SIDES[-1] and _sees(cv2.QRCodeDetector(), padded):
            return True
    return False


def _decode_pdf(path: Path, max_pages: int, gate: bool) -> Iterator[QrCode]:
    with PDFIUM_LOCK:
        pdf = open_pdf(path)
        count = min(len(pdf), max_pages)
    try:
        for index in range(count):
            for text in _decode_page(pdf, index, gate, f"{path.name} page {index + 1}"):
                yield QrCode(text, index)
    finally:
        with PDFIUM_LOCK:
            pdf.close()


def _decode_page(pdf: Any, index: int, gate: bool, where: str) -> list[str]:
    for dpi in PDF_DPI:
        with PDFIUM_LOCK:  # pdfium is not thread-safe
            page = pdf[index]
            try:
                scale = render_dpi(page.get_size(), dpi, where=where) / 72
                bitmap = page.render(scale=scale, grayscale=True)
                grey = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)
            finally:
                page.close()
        if gate and dpi == PDF_DPI[0] and not likely_has_qr(grey):
            return []  # nothing QR-like at the first resolution: no second rendering
        texts = decode_image(grey)
        if texts:
            return texts
    return []


def _grey(image: Image) -> Image:
    if image.ndim == 2:
        return image
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    grey: Image = cv2.cvtColor(image, code)
    return grey


def _pad(grey: Image) -> Image:
    """The image with a white quiet zone of `QUIET_ZONE_PX` around it."""
    padded: Image = cv2.copyMakeBorder(grey, QUIET_ZONE_PX, QUIET_ZONE_PX, QUIET_ZONE_PX,
                                       QUIET_ZONE_PX, cv2.BORDER_CONSTANT, value=255)
    return padded


def _variants(grey: Image) -> Iterator[Image]:
    padded = _pad(grey)
    yield padded
    yield cv2.resize(padded, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    _, binary = cv2.threshold(padded, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    yield binary


def _sees(detector: Any, image: Image) -> bool:
    """Does `detector` find a QR code? OpenCV's detectors assert on some degenerate contours
    (seen on a noisy generated scan: convexHull, -215): that image shows no code to them."""
    try:
        return bool(detector.detect(image)[0])
    except cv2.error:
        log.debug("QR detector failed on a %s image", image.shape, exc_info=True)
        return False


def _guarded(attempt: Callable[[Image], list[str]]) -> Callable[[Image], list[str]]:
    """A decoding attempt whose OpenCV assertion means "nothing decoded", not a lost page."""
    def run(image: Image) -> list[str]:
        try:
            return attempt(image)
        except cv2.error:
            log.debug("QR decoding %s failed", attempt.__name__, exc_info=True)
            return []
    return run


def _aruco_multi(image: Image) -> list[str]:
    ok, texts, _points, _straight = cv2.QRCodeDetectorAruco().detectAndDecodeMulti(image)
    return [str(t) for t in texts] if ok else []


def _classic_single(image: Image) -> list[str]:
    text, _points, _straight = cv2.QRCodeDetector().detectAndDecode(image)
    return [str(text)] if text else []


def _aruco_single(image: Image) -> list[str]:
    text, _points, _straight = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    return [str(text)] if text else []


_ATTEMPTS: tuple[Callable[[Image], list[str]], ...] = tuple(
    _guarded(attempt) for attempt in (_aruco_multi, _classic_single, _aruco_single))

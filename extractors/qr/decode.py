"""Find and decode QR codes on page images with OpenCV (no external decoder).

Each image goes through a short cascade until something decodes: the page as given (with a
white quiet zone added: QR images cropped to the code have none, and OpenCV then finds
nothing), then a 2x upscale (small or low-dpi codes), then an Otsu-thresholded copy (grey or
noisy scans). Each variant is tried with the ArUco-based detector (several codes per page),
then the classic detector, which between them decoded every corpus sample."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from arflow.errors import DocumentError
from extractors.digital import PDFIUM_LOCK, open_pdf

Image = npt.NDArray[Any]
QUIET_ZONE_PX = 32
PDF_DPI = (200, 300)


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
    """Do the detectors (no decoding) find a QR code on a small copy of the page?"""
    longest = max(grey.shape[:2])
    for side in (1800, 1250):  # long side of the copies looked at (A4 at ~150 and ~105 dpi)
        scale = min(1.0, side / longest)
        small = grey if scale == 1.0 else cv2.resize(
            grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        padded = cv2.copyMakeBorder(small, QUIET_ZONE_PX, QUIET_ZONE_PX, QUIET_ZONE_PX,
                                    QUIET_ZONE_PX, cv2.BORDER_CONSTANT, value=255)
        if cv2.QRCodeDetectorAruco().detect(padded)[0]:
            return True
        if side == 1250 and cv2.QRCodeDetector().detect(padded)[0]:
            return True
    return False


def _decode_pdf(path: Path, max_pages: int, gate: bool) -> Iterator[QrCode]:
    with PDFIUM_LOCK:
        pdf = open_pdf(path)
        count = min(len(pdf), max_pages)
    try:
        for index in range(count):
            for text in _decode_page(pdf, index, gate):
                yield QrCode(text, index)
    finally:
        with PDFIUM_LOCK:
            pdf.close()


def _decode_page(pdf: Any, index: int, gate: bool) -> list[str]:
    for dpi in PDF_DPI:
        with PDFIUM_LOCK:  # pdfium is not thread-safe
            page = pdf[index]
            try:
                bitmap = page.render(scale=dpi / 72, grayscale=True)
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


def _variants(grey: Image) -> Iterator[Image]:
    padded: Image = cv2.copyMakeBorder(
        grey,
        QUIET_ZONE_PX,
        QUIET_ZONE_PX,
        QUIET_ZONE_PX,
        QUIET_ZONE_PX,
        cv2.BORDER_CONSTANT,
        value=255,
    )
    yield padded
    yield cv2.resize(padded, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    _, binary = cv2.threshold(padded, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    yield binary


def _aruco_multi(image: Image) -> list[str]:
    ok, texts, _points, _straight = cv2.QRCodeDetectorAruco().detectAndDecodeMulti(image)
    return [str(t) for t in texts] if ok else []


def _classic_single(image: Image) -> list[str]:
    text, _points, _straight = cv2.QRCodeDetector().detectAndDecode(image)
    return [str(text)] if text else []


def _aruco_single(image: Image) -> list[str]:
    text, _points, _straight = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    return [str(text)] if text else []


_ATTEMPTS: tuple[Callable[[Image], list[str]], ...] = (
    _aruco_multi,
    _classic_single,
    _aruco_single,
)

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
from extractors.digital import open_pdf

Image = npt.NDArray[Any]
QUIET_ZONE_PX = 32
PDF_DPI = (200, 300)


@dataclass(frozen=True)
class QrCode:
    text: str
    page: int = 0  # 0-based page index (0 for an image file)


def decode_image(image: Image) -> list[str]:
    """Decoded texts of the QR codes on one image (grey, BGR or BGRA), in detection order."""
    grey = _grey(image)
    for variant in _variants(grey):
        for attempt in _ATTEMPTS:
            texts = [t for t in attempt(variant) if t]
            if texts:
                return list(dict.fromkeys(texts))
    return []


def decode_file(path: str | Path, *, max_pages: int = 20) -> list[QrCode]:
    """QR codes of an image file or of every page of a PDF (rendered with pypdfium2)."""
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return list(_decode_pdf(path, max_pages))
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DocumentError(f"cannot read image {path.name}")
    return [QrCode(text) for text in decode_image(image)]


def _decode_pdf(path: Path, max_pages: int) -> Iterator[QrCode]:
    pdf = open_pdf(path)
    try:
        for index in range(min(len(pdf), max_pages)):
            for text in _decode_page(pdf[index]):
                yield QrCode(text, index)
    finally:
        pdf.close()


def _decode_page(page: Any) -> list[str]:
    for dpi in PDF_DPI:
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        texts = decode_image(np.ascontiguousarray(bitmap.to_numpy(), dtype=np.uint8))
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

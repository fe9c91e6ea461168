"""Make a scanned-looking copy of a PDF: raster, tilt, noise, blur and JPEG artefacts.

Output by suffix: ``.png``/``.jpg``/``.jpeg`` (one file per page: page 2 onwards get
``_p2``, ``_p3``... before the suffix), ``.tif``/``.tiff`` (multi-page), or ``.pdf`` (an
image-only PDF). The resolution is written into the file's metadata in every case.
"""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
from numpy.typing import NDArray
from PIL import Image

Gray = NDArray[np.uint8]


def _rasterise(pdf_path: Path, dpi: int) -> list[Gray]:
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        pages = []
        for page in pdf:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            pages.append(np.array(bitmap.to_pil().convert("L"), dtype=np.uint8))
        return pages
    finally:
        pdf.close()


def _rotate(image: Gray, degrees: float) -> Gray:
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    out = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    return np.asarray(out, dtype=np.uint8)


def _jpeg_roundtrip(image: Gray, quality: int) -> Gray:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode the page as JPEG")
    decoded = cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE)
    if decoded is None:
        raise RuntimeError("OpenCV could not decode its own JPEG")
    return np.asarray(decoded, dtype=np.uint8)


def degrade(image: Gray, rng: np.random.Generator, *, skew_deg: float, noise: float,
            blur: float, jpeg_quality: int) -> Gray:
    """Tilt by `skew_deg`, blur (sigma px), add gaussian noise (sigma grey levels), JPEG."""
    out = _rotate(image, skew_deg) if skew_deg else image
    if blur > 0:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), blur), dtype=np.uint8)
    if noise > 0:
        noisy = out.astype(np.float32) + rng.normal(0.0, noise, out.shape).astype(np.float32)
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    return _jpeg_roundtrip(out, jpeg_quality) if jpeg_quality < 100 else out


def _save(pages: list[Image.Image], out_path: Path, dpi: int) -> None:
    suffix = out_path.suffix.lower()
    if suffix in (".pdf", ".tif", ".tiff"):
        extra = {"resolution": float(dpi)} if suffix == ".pdf" else {"dpi": (dpi, dpi)}
        pages[0].save(out_path, save_all=True, append_images=pages[1:], **extra)
        return
    if suffix not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"unsupported scan format: {out_path.suffix}")
    for number, page in enumerate(pages, start=1):
        target = out_path if number == 1 else out_path.with_name(
            f"{out_path.stem}_p{number}{out_path.suffix}")
        if suffix == ".png":
            page.save(target, dpi=(dpi, dpi), compress_level=1)
        else:
            page.save(target, dpi=(dpi, dpi), quality=92)


def render_scanned(pdf_path: Path, out_path: Path, *, seed: int, dpi: int = 300,
                   skew_deg: float | None = None, noise: float = 8.0, blur: float = 0.6,
                   jpeg_quality: int = 70) -> Path:
    """Write a scanned-looking copy of `pdf_path`; `skew_deg` None draws one in ±2.5°."""
    rng = np.random.default_rng(seed)
    angle = random.Random(seed).uniform(-2.5, 2.5) if skew_deg is None else skew_deg
    images = [degrade(page, rng, skew_deg=angle, noise=noise, blur=blur,
                      jpeg_quality=jpeg_quality) for page in _rasterise(pdf_path, dpi)]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    _save([Image.fromarray(image, mode="L") for image in images], out_path, dpi)
    return out_path

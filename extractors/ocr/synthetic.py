"""Synthetic scanned invoices with known words, for tests, measurements and the OCR benchmark.

A text PDF is drawn with reportlab, rendered with pypdfium2 and degraded with OpenCV the way a
cheap scanner or a phone photo degrades a page: a small rotation, a dark scanner border, an
uneven light, blur, noise and JPEG artefacts. Everything is seeded, so a page is reproducible.
If the generator package's ``render_scanned`` exists it can be used instead; this module only
exists so the OCR path can be tested without it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

Gray = npt.NDArray[np.uint8]

_ITEMS = (
    "Servicio de mantenimiento", "Consulting hours", "Licencia anual software",
    "Transporte urgente", "Office supplies", "Tornillos acero inoxidable",
    "Cable de red categoria", "Printer toner black", "Soporte tecnico remoto",
    "Hosting plan premium", "Papel reciclado paquete", "Installation fee",
)
_SELLERS = ("Ferreteria Iberica SL", "Northwind Traders Ltd", "Suministros Garcia SA",
            "Acme Supplies Inc")


@dataclass(frozen=True)
class Degradation:
    """How a clean page is spoiled; zero/False everywhere means a clean render."""

    angle_deg: float = 0.0
    border_px: int = 0
    shading: float = 0.0       # 0..1, strength of a left-to-right light gradient
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0   # gaussian noise, grey levels
    jpeg_quality: int = 0      # 0 = no JPEG round trip


SCANNER = Degradation(angle_deg=2.5, border_px=40, shading=0.35, blur_sigma=0.8,
                      noise_sigma=18.0, jpeg_quality=35)


def invoice_lines(seed: int, items: int = 8) -> list[str]:
    """The text lines of one synthetic invoice (Spanish and English words, numbers, dates)."""
    rng = random.Random(seed)
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    lines = [f"FACTURA / INVOICE {rng.randint(1000, 9999)}-{rng.randint(10, 99)}",
             rng.choice(_SELLERS), f"NIF B{rng.randint(10000000, 99999999)}",
             f"Fecha {day:02d}/{month:02d}/2026  Pedido PO-{rng.randint(10000, 99999)}",
             "Descripcion  Cantidad  Precio  Importe"]
    total = 0
    for _ in range(items):
        qty, cents = rng.randint(1, 40), rng.randint(150, 99999)
        total += qty * cents
        lines.append(f"{rng.choice(_ITEMS)}  {qty}  {_money(cents)}  {_money(qty * cents)}")
    lines += [f"Base imponible {_money(total)} EUR", f"IVA 21% {_money(total * 21 // 100)} EUR",
              f"IBAN ES{rng.randint(10, 99)} 2100 {rng.randint(1000, 9999)} "
              f"{rng.randint(1000, 9999)}"]
    return lines


def _money(cents: int) -> str:
    whole = f"{cents // 100:,}".replace(",", ".")
    return f"{whole},{cents % 100:02d}"


def write_text_pdf(path: Path, pages: list[list[str]], *, font_size: float = 11) -> Path:
    """Draw each page's lines top-down in Helvetica on A4."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for lines in pages:
        pdf.setFont("Helvetica", font_size)
        y = A4[1] - 72
        for line in lines:
            pdf.drawString(60, y, line)
            y -= font_size * 2.0
        pdf.showPage()
    pdf.save()
    return path


def render_pdf_page(path: Path, index: int = 0, dpi: int = 300) -> Gray:
    """Render one PDF page to a grey image at ``dpi``."""
    doc = pdfium.PdfDocument(path)
    try:
        bitmap = doc[index].render(scale=dpi / 72, grayscale=True)
        pixels = np.array(bitmap.to_numpy(), dtype=np.uint8)
        return pixels.reshape(bitmap.height, bitmap.width).copy()
    finally:
        doc.close()


def rotate_exact(gray: Gray, angle_deg: float, fill: int = 255) -> Gray:
    """Rotate counter-clockwise by ``angle_deg`` (as seen on screen), expanding the canvas."""
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(gray, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=fill)
    return np.asarray(out, dtype=np.uint8)


def degrade(gray: Gray, spec: Degradation, seed: int = 0) -> Gray:
    """Apply ``spec`` to a clean grey page."""
    rng = np.random.default_rng(seed)
    img = rotate_exact(gray, spec.angle_deg) if spec.angle_deg else gray.copy()
    if spec.shading:
        ramp = np.linspace(1.0, 1.0 - spec.shading, img.shape[1], dtype=np.float32)
        img = np.asarray(img.astype(np.float32) * ramp[None, :], dtype=np.uint8)
    if spec.border_px:
        img = np.asarray(cv2.copyMakeBorder(img, *(spec.border_px,) * 4, cv2.BORDER_CONSTANT,
                                            value=30), dtype=np.uint8)
    if spec.blur_sigma:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), spec.blur_sigma), dtype=np.uint8)
    if spec.noise_sigma:
        noise = rng.normal(0, spec.noise_sigma, img.shape)
        img = np.asarray(np.clip(img.astype(np.float32) + noise, 0, 255), dtype=np.uint8)
    if spec.jpeg_quality:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg_quality])
        img = np.asarray(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE), dtype=np.uint8) if ok else img
    return np.asarray(img, dtype=np.uint8)


def scanned_page(tmp_dir: Path, seed: int, spec: Degradation = SCANNER, dpi: int = 300,
                 items: int = 8) -> tuple[Gray, list[str]]:
    """One degraded invoice page and the words printed on it."""
    lines = invoice_lines(seed, items)
    pdf = write_text_pdf(tmp_dir / f"synthetic-{seed}.pdf", [lines])
    words = [w for line in lines for w in line.split()]
    return degrade(render_pdf_page(pdf, 0, dpi), spec, seed), words


def word_recall(expected: list[str], found: list[str]) -> float:
    """Share of expected words (as a multiset, exact text) that OCR found."""
    pool: dict[str, int] = {}
    for word in found:
        pool[word] = pool.get(word, 0) + 1
    hits = 0
    for word in expected:
        if pool.get(word, 0) > 0:
            pool[word] -= 1
            hits += 1
    return hits / len(expected) if expected else 1.0

"""Regenerate the committed OCR fixtures of this folder (deterministic; see README.md).

    .venv/bin/python tests/data/scans/make_fixtures.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from extractors.ocr import synthetic as syn  # noqa: E402

SEED = 7
SPEC = syn.Degradation(angle_deg=2.5, shading=0.3, blur_sigma=0.7, noise_sigma=10.0, jpeg_quality=0)


def main() -> None:
    lines = syn.invoice_lines(SEED, items=4)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = syn.write_text_pdf(Path(tmp) / "fixture.pdf", [lines])
        clean = syn.render_pdf_page(pdf, 0, dpi=300)
    crop = clean[150:1350, 150:1700]  # the text block of the A4 page, at 300 dpi
    page = syn.degrade(crop, SPEC, SEED)
    cv2.imwrite(str(HERE / "skewed_invoice.jpg"), page, [cv2.IMWRITE_JPEG_QUALITY, 40])
    (HERE / "skewed_invoice.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

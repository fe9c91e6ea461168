"""Removing ruling lines (table rules, cell boxes, underlines) before Tesseract.

Tesseract's page layout analysis treats a boxed table as graphics: on the generator's
"boxes" and shaded-header layouts it dropped whole number columns and read the vertical
rules as ``|`` words. A rule is a *thin* and *long* run of ink: an opening with a 1-pixel
line kernel keeps strokes at least ``long`` pixels long, and the part that an opening with
a thick kernel also keeps (a bold title's stems, a filled bar) is given back. Only what is
left - thin, long ink - is painted paper-coloured.

Ink is found by a local (mean) threshold, as the rules of the generator's scans are light
grey and a global Otsu threshold left them out. The morphology runs on a half-size copy.
"""

from __future__ import annotations

import cv2
import numpy as np

from extractors.ocr.geometry import Image

_TALL_INCH = 0.2    # a vertical rule is at least this long (stems of fonts to ~20 pt are shorter)
_WIDE_INCH = 0.4    # a horizontal rule at least this (0.2 took the tops off a word's letters)
_THICK_INCH = 1 / 30  # ... and thinner than this (10 px at 300 dpi; a bold 24 pt stem is ~12)
_SCALE = 0.5


def rule_mask(gray: Image, dpi: float) -> Image:
    """Full-size mask (255 = rule) of the thin, long horizontal and vertical lines."""
    small = cv2.resize(gray, None, fx=_SCALE, fy=_SCALE, interpolation=cv2.INTER_AREA)
    ink = np.asarray(cv2.adaptiveThreshold(small, 255, cv2.ADAPTIVE_THRESH_MEAN_C,
                                           cv2.THRESH_BINARY_INV, 25, 12), dtype=np.uint8)
    tall, wide = (max(round(dpi * _SCALE * inch), 8) for inch in (_TALL_INCH, _WIDE_INCH))
    thick = max(round(dpi * _SCALE * _THICK_INCH), 2) + 1
    mask = cv2.bitwise_or(_thin_lines(ink, (wide, 1), (wide, thick)),
                          _thin_lines(ink, (1, tall), (thick, tall)))
    mask = cv2.resize(mask, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
    return np.asarray(cv2.dilate(mask, np.ones((3, 3), np.uint8)), dtype=np.uint8)


def _thin_lines(ink: Image, line: tuple[int, int], bar: tuple[int, int]) -> Image:
    """Ink kept by an opening with the ``line`` kernel but not with the thicker ``bar``."""
    lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, line))
    bars = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, bar))
    bars = cv2.dilate(bars, np.ones((3, 3), np.uint8))
    return np.asarray(cv2.bitwise_and(lines, cv2.bitwise_not(bars)), dtype=np.uint8)


def remove_rules(gray: Image, dpi: float) -> Image:
    """``gray`` with its ruling lines painted in the paper colour (the median grey)."""
    mask = rule_mask(gray, dpi)
    if not mask.any():
        return gray
    out = gray.copy()
    out[mask > 0] = int(np.median(gray[::8, ::8]))
    return out

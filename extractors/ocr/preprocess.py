"""OpenCV clean-up of a page image before Tesseract; every step can be switched off.

Steps, in order: grayscale, border removal, orientation (0/90/180/270) + deskew in a single
rotation (angles from ``extractors.ocr.geometry``), denoise, adaptive binarisation, and the
choice of Tesseract's thresholding (Sauvola on unevenly lit pages, else its default Otsu).
Tesseract's own OSD (``--psm 0``; osd.traineddata is installed) is ``orientation="osd"``; it
cost 0.57-1.0 s per page here, as much as the OCR itself, so the default is the heuristic.

Measured word recall (``bench/ocr_throughput.py steps --pages 4 --sroie 12``; 4 synthetic
A4 invoices per degradation at 300 dpi, spa+eng; 12 real SROIE receipt scans against their
transcripts; recall = share of expected words found verbatim):

    config            scanner  heavy  upside-down  sroie     scanner: +2.5 deg, dark border,
    none/otsu           1.000  0.097    0.024      0.495       35 % light gradient, noise 18,
    none/sauvola        0.989  0.779    0.021      0.501       blur 0.8, JPEG q35
    border/sauvola      0.990  0.759    0.025      0.502     heavy: -3 deg, 60 % gradient,
    deskew/sauvola      1.000  0.989    0.021      0.512       noise 30, blur 1.2, JPEG q25
    orient/sauvola      1.000  0.989    1.000      0.512     upside-down: 181.5 deg, 30 %
    denoise/sauvola     0.983  0.978    0.024      0.365       gradient, noise 12, JPEG q40
    default/otsu        1.000  0.718    0.994      0.503
    default/sauvola     1.000  0.989    1.000      0.512     default = orientation + deskew
    default/auto        1.000  0.989    1.000      0.503     (auto: Sauvola if uneven light)
    default+border      1.000  0.901    1.000      0.503
    default+denoise     1.000  1.000    1.000      0.401

OpenCV adaptive binarisation (block 41, C 15) made Tesseract run > 30 s on every noisy page
(timeouts) and read 0.000-0.013 of the words. Kept on by default: orientation, deskew,
Sauvola-if-uneven, and on images without a DPI a contrast stretch (faint till receipts, see
``stretch_contrast``). Off by default: border removal (hurts with Sauvola: 0.989 -> 0.901 on
heavy), denoise (median 3: helps synthetic noise, costs 20 % of the words on real receipts),
binarisation. Sauvola on every page costs ~0.1-0.2 s of Tesseract CPU, hence only when the
paper brightness is uneven.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from arflow.errors import ToolError
from extractors.ocr import tesseract
from extractors.ocr.geometry import (
    SMALL_WIDTH,
    Image,
    Turn,
    page_correction,
    rotate,
    shrink,
    upside_down,
)
from extractors.ocr.rules import remove_rules

_MIN_ROTATION_DEG = 0.2   # a smaller skew is not worth a resampling of the page
_UNEVEN_LEVELS = 55       # paper brightness range (grey levels) that calls for Sauvola
_DEFAULT_DPI = 300.0      # an image that does not say its resolution
_BAND = (0.35, 0.6)       # rows (share of the height) OCRed to confirm an upside-down page
_INK_PAPER_PERCENTILES = (0.5, 90.0)  # grey levels taken as ink and as paper by the stretch
_MIN_STRETCH_RANGE = 32   # grey levels: a flatter page (blank, one tone) is left alone


@dataclass(frozen=True)
class PreprocessOptions:
    """Which clean-up steps run. Defaults keep only the steps measured to help."""

    remove_border: bool = False
    orientation: str = "heuristic"   # "heuristic" | "osd" | "off"
    deskew: bool = True
    denoise: bool = False
    binarize: bool = False
    sauvola_if_uneven: bool = True   # ask Tesseract for Sauvola thresholding on shaded pages
    remove_rules: bool = True        # paint out table rules and cell boxes (see ``rules``)
    upscale_below: int = 1300        # an image without a DPI narrower than this is enlarged 2x
    stretch_contrast: bool = True    # images without a DPI: darkest ink to black, paper to white


@dataclass(frozen=True)
class Cleaned:
    """A page after the clean-up, and the turns that made it upright and level (in order):
    what is read on it is carried back through them onto the page as received."""

    image: Image
    turns: tuple[Turn, ...] = ()


def to_gray(img: Image) -> Image:
    if img.ndim == 2:
        return img
    code = cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return np.asarray(cv2.cvtColor(img, code), dtype=np.uint8)


def remove_border(gray: Image) -> Image:
    """Paint paper-coloured every large dark region touching the edge (scanner lid, shadow).

    Paper-coloured, not white: a white frame around a shaded page moved Tesseract's global
    Otsu threshold into the paper and cost 90 % of the words (measured, 4 pages).
    Found on a quarter-size copy (a full-size connected-components pass cost ~110 ms). The
    threshold is half the paper brightness (the median), so a shaded page is not taken for
    a border.
    """
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    _, dark = cv2.threshold(small, float(np.median(small)) * 0.5, 255, cv2.THRESH_BINARY_INV)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    h, w = small.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    touches = (x == 0) | (y == 0) | (x + stats[:, cv2.CC_STAT_WIDTH] == w) \
        | (y + stats[:, cv2.CC_STAT_HEIGHT] == h)
    kill = touches & (stats[:, cv2.CC_STAT_AREA] > 0.002 * h * w)
    kill[0] = False
    if not kill.any():
        return gray
    mask = cv2.dilate(kill[labels].astype(np.uint8), np.ones((3, 3), np.uint8))
    paper = int(np.median(small[mask == 0])) if (mask == 0).any() else 255
    full = cv2.resize(mask, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
    out = gray.copy()
    out[full > 0] = paper
    return out


def osd_rotation(gray: Image, workdir: Path, timeout_s: float = 60.0) -> int:
    """Degrees (clockwise) Tesseract's OSD says the page must be turned to be upright."""
    path = workdir / "osd.pgm"
    cv2.imwrite(str(path), gray)
    proc = tesseract.run([str(path), "stdout", "--dpi", "300", "--psm", "0"], timeout_s)
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("Rotate:"):
            return int(line.split(":")[1])
    return 0


def straighten(gray: Image, opts: PreprocessOptions, workdir: Path) -> Image:
    """``straightened``'s page, without its turns."""
    return straightened(gray, opts, workdir).image


def straightened(gray: Image, opts: PreprocessOptions, workdir: Path) -> Cleaned:
    """Turn the page upright and level. The upside-down test needs level lines, so the
    heuristic orientation always deskews (without, a -3 degree page was turned over and lost
    99 % of its words)."""
    page = Cleaned(gray)
    if opts.orientation == "osd":
        page = _turned(page, -float(osd_rotation(gray, workdir)))
    heuristic = opts.orientation == "heuristic"
    if heuristic or opts.deskew:
        angle = page_correction(page.image, quarter=heuristic)
        residual = angle - round(angle / 90) * 90
        if abs(residual) < _MIN_ROTATION_DEG:
            angle -= residual
        page = _turned(page, angle)
    if heuristic and upside_down(page.image) and read_better_turned(page.image, workdir):
        page = _turned(page, 180.0)
    return page


def _turned(page: Cleaned, angle_deg: float) -> Cleaned:
    """``page`` rotated by ``angle_deg``, the turn noted; as it was for a whole turn."""
    if not angle_deg % 360:
        return page
    height, width = page.image.shape[:2]
    return Cleaned(rotate(page.image, angle_deg), (*page.turns, Turn(angle_deg, width, height)))


def read_better_turned(gray: Image, workdir: Path) -> bool:
    """Confirm the upside-down heuristic, which all-capital receipts fool (9 of 101 SROIE
    receipts, all upright, scored upside down): OCR the middle band of the page both ways
    round; the way with more confidently read word characters wins (~0.3 s, only on pages
    the heuristic flags)."""
    height = gray.shape[0]
    band = gray[int(height * _BAND[0]) : int(height * _BAND[1])]
    return _band_score(rotate(band, 180.0), workdir) > _band_score(band, workdir)


def _band_score(band: Image, workdir: Path) -> float:
    path = workdir / "band.pgm"
    cv2.imwrite(str(path), band)
    opts = tesseract.TesseractOptions(lang="eng", psm=6, timeout_s=30.0)
    try:
        words = tesseract.words_with_options(path, opts)
    except ToolError:
        return 0.0
    finally:
        path.unlink(missing_ok=True)
    return sum(w.conf * sum(c.isalnum() for c in w.text) for w in words if len(w.text) >= 3)


def uneven_lighting(gray: Image) -> bool:
    """True if the paper brightness varies by more than ``_UNEVEN_LEVELS`` grey levels.

    Paper brightness = a local maximum over text strokes, smoothed, on a small copy (~10 ms).
    Measured p95 - p5: 0 on the generator's scans, 0-49 on SROIE receipts, 62-77 on pages
    with a 30-35 % light gradient, 137 with 60 %.
    """
    small = shrink(gray, min(1.0, SMALL_WIDTH / gray.shape[1]))
    paper = cv2.blur(cv2.dilate(small, np.ones((15, 15), np.uint8)), (31, 31))
    low, high = np.percentile(paper, [5, 95])
    return bool(high - low > _UNEVEN_LEVELS)


def stretch_contrast(gray: Image) -> Image:
    """Map the ink level (0.5th percentile) to black and the paper level (90th) to white.

    Faint thermal till receipts (grey print on grey paper) came out of Tesseract as one
    line of garbage: 3 SROIE receipts read 0 % of their words, 59-67 % after the stretch;
    over all 101 receipts word recall went from 0.707 to 0.728 (case-folded words of the
    official transcripts). Percentiles on every 4th pixel and a lookup table: ~4.5 ms on
    a 300 dpi A4 page. ``preprocess`` runs it only on images that do not say their
    resolution (phone photos, till-receipt scans - the same test as the 2x upscale): on
    the generator's 200-300 dpi scans it changed the Otsu threshold enough to lose
    accents ("Papelería" read "Papeleria"; header fields unchanged at 368/390 on 30
    scans, seed 60100), so scanned PDFs and images with a DPI are left as they were.
    """
    low, high = np.percentile(gray[::4, ::4], _INK_PAPER_PERCENTILES)
    if high - low < _MIN_STRETCH_RANGE or (low <= 0 and high >= 255):
        return gray
    levels = (np.arange(256, dtype=np.float32) - float(low)) * (255.0 / float(high - low))
    table = np.clip(levels, 0, 255).astype(np.uint8)
    return np.asarray(cv2.LUT(gray, table), dtype=np.uint8)


def denoise(gray: Image) -> Image:
    return np.asarray(cv2.medianBlur(gray, 3), dtype=np.uint8)


def binarize(gray: Image) -> Image:
    out = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY,
                                41, 15)
    return np.asarray(out, dtype=np.uint8)


def preprocess(img: Image, opts: PreprocessOptions | None = None,
               workdir: Path | None = None, dpi: float | None = None) -> Image:
    """``clean_page``'s image, without its turns."""
    return clean_page(img, opts, workdir, dpi).image


def clean_page(img: Image, opts: PreprocessOptions | None = None,
               workdir: Path | None = None, dpi: float | None = None) -> Cleaned:
    """Run the switched-on clean-up steps; returns a grey (or, with ``binarize``, binary) page
    and the turns that made it upright and level (the only steps that move the words).
    ``dpi`` (default 300) sizes the rule removal; ``None`` (the image does not say its
    resolution) also switches on the contrast stretch."""
    opts = opts or PreprocessOptions()
    gray = to_gray(img)
    if opts.remove_border:
        gray = remove_border(gray)
    page = straightened(gray, opts, workdir or Path("/tmp"))
    gray = page.image
    if opts.remove_rules:
        gray = remove_rules(gray, dpi or _DEFAULT_DPI)
    if opts.stretch_contrast and dpi is None:
        gray = stretch_contrast(gray)
    if opts.denoise:
        gray = denoise(gray)
    if opts.binarize:
        gray = binarize(gray)
    return Cleaned(gray, page.turns)

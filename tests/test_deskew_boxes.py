"""Evidence boxes of a skewed or sideways scan lie on the words of the page the approver sees.

The OCR reads a page after turning it upright and level (``extractors.ocr.preprocess``), on
a canvas enlarged to keep the corners; the web app shows the file as received
(``webapp.pages``). A known invoice (its words' true boxes from its text layer) is scanned
tilted by a few degrees, or turned a quarter, read by the real OCR path, and each field's
evidence box is compared with where that field's words really are on the shown page.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arflow.settings import Settings
from extractors.api import extract_file
from extractors.ocr import geometry, tesseract
from extractors.ocr.pagecache import CachedPage, PageCache
from generator import render_scanned
from models.domain import ExtractionResult, WordBox
from webapp.evidence import hot_boxes
from webapp.pages import page_png, page_sizes

ROOT = Path(__file__).resolve().parent.parent
INVOICE = ROOT / "data" / "invoices" / "001_ferreteria_hermanos.pdf"
DPI = 300
FIELDS = ("invoice_number", "issue_date", "seller.tax_id", "total")
MAX_CENTRE_OFF = 2.0  # points between the evidence box's centre and the word's
MIN_IOU = 0.5

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points of the shown page
PointMap = Callable[[np.ndarray], np.ndarray]  # (n, 2) points -> where the scan put them

needs_tesseract = pytest.mark.skipif(not tesseract.available(), reason="tesseract not installed")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("deskew"), database_url="sqlite://",
                    workers=2, ocr_timeout_s=60.0, ocr_second_engine="off")


@pytest.fixture(scope="module")
def printed(settings: Settings) -> ExtractionResult:
    """The invoice read from its text layer: the true boxes of its words."""
    result = extract_file(INVOICE, settings)
    assert all(result.evidence.get(name) for name in FIELDS)
    return result


def _union(words: Sequence[WordBox]) -> Box:
    return (min(w.x0 for w in words), min(w.top for w in words),
            max(w.x1 for w in words), max(w.bottom for w in words))


def _mapped(box: Box, where: PointMap) -> Box:
    """The axis-aligned box around ``box``'s corners carried by ``where``."""
    x0, top, x1, bottom = box
    corners = where(np.array([[x0, top], [x1, top], [x0, bottom], [x1, bottom]], dtype=float))
    return (float(corners[:, 0].min()), float(corners[:, 1].min()),
            float(corners[:, 0].max()), float(corners[:, 1].max()))


def _centre_off(a: Box, b: Box) -> float:
    return float(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2))


def _iou(a: Box, b: Box) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def _tilt(size: tuple[float, float], degrees: float) -> PointMap:
    """Where ``generator.scanned`` puts a point (in points) when it tilts a page of ``size``
    counter-clockwise by ``degrees`` about its centre on a canvas of the same size."""
    rad = np.deg2rad(degrees)
    cos, sin = np.cos(rad), np.sin(rad)
    centre = np.array(size) / 2

    def where(points: np.ndarray) -> np.ndarray:
        dx, dy = (points - centre).T
        return np.stack([cos * dx + sin * dy, -sin * dx + cos * dy], axis=1) + centre
    return where


def _quarter(width: float) -> PointMap:
    """Where a point goes when a page ``width`` wide is turned 90 degrees counter-clockwise
    (``Image.Transpose.ROTATE_90``): its left edge becomes the bottom."""
    def where(points: np.ndarray) -> np.ndarray:
        return np.stack([points[:, 1], width - points[:, 0]], axis=1)
    return where


@dataclass(frozen=True)
class Scanning:
    """How ``INVOICE`` is scanned: tilted by ``skew_deg``, then turned a quarter (``quarter``,
    as if laid on the scanner sideways), into the file ``name``."""

    name: str
    skew_deg: float
    quarter: bool = False


def _scan(tmp_path: Path, how: Scanning) -> tuple[Path, PointMap]:
    """The scan, and where it put each point of the printed page."""
    path = render_scanned(INVOICE, tmp_path / how.name, seed=11, dpi=DPI, skew_deg=how.skew_deg,
                          noise=3.0, blur=0.4, jpeg_quality=100)
    with Image.open(path) as image:
        size = (image.width * 72 / DPI, image.height * 72 / DPI)
        turned = image.transpose(Image.Transpose.ROTATE_90) if how.quarter else None
    tilt = _tilt(size, how.skew_deg)
    if turned is None:
        return path, tilt
    turned.save(path, dpi=(DPI, DPI))
    turn = _quarter(size[0])
    return path, lambda points: turn(tilt(points))


def _shown_page(path: Path) -> tuple[float, float]:
    """The page size (points) the web app lays the boxes on, checked against the page image
    it serves: the file as received, in its proportions, at the scan's resolution."""
    stamp = path.stat().st_mtime
    width, height = page_sizes(path, stamp, float(DPI))[0]
    with Image.open(path) as scan:
        assert (width, height) == pytest.approx((scan.width * 72 / DPI, scan.height * 72 / DPI),
                                                rel=1e-4)  # a PNG keeps dots per metre
    with Image.open(io.BytesIO(page_png(path, stamp, 0, float(DPI)))) as png:
        assert png.width / png.height == pytest.approx(width / height, rel=0.01)
    return width, height


@needs_tesseract
@pytest.mark.parametrize("how", [
    Scanning("level.png", 0.0),  # the control: no turn, nothing to carry back
    Scanning("tilted.png", 3.0),
    Scanning("tilted-back.tif", -2.0),
    Scanning("sideways.png", 0.0, quarter=True),
    Scanning("sideways-tilted.png", 2.0, quarter=True),
], ids=lambda how: how.name)
def test_evidence_boxes_lie_on_the_words_of_the_page_as_shown(
        tmp_path: Path, settings: Settings, printed: ExtractionResult, how: Scanning) -> None:
    path, where = _scan(tmp_path, how)
    width, height = _shown_page(path)
    read = extract_file(path, settings)
    for field in FIELDS:
        assert read.evidence.get(field), f"{field} not read from {how.name}"
        truth = _mapped(_union(printed.evidence[field]), where)
        found = _union(read.evidence[field])
        assert 0 <= found[0] < found[2] <= width and 0 <= found[1] < found[3] <= height
        off, iou = _centre_off(found, truth), _iou(found, truth)
        assert off <= MAX_CENTRE_OFF, f"{field}: box {found} is {off:.1f} pt off {truth}"
        assert iou >= MIN_IOU, f"{field}: box {found} overlaps {truth} by IoU {iou:.2f}"


@pytest.mark.parametrize("angle", [3.0, -2.5, 90.0, 180.0, 270.0, 92.0])
def test_a_point_of_a_rotated_page_is_found_on_the_page_before(angle: float) -> None:
    """``geometry.unturn`` undoes ``geometry.rotate``: a dot drawn on a page is found after
    the turn where mapping back puts it on the page before."""
    page = np.full((700, 500), 255, dtype=np.uint8)
    page[200:206, 100:106] = 0  # a dot centred on (103, 203)
    turned = geometry.rotate(page, angle)
    ys, xs = np.nonzero(turned < 128)
    centre = np.array([[xs.mean() + 0.5, ys.mean() + 0.5]])
    turns = (geometry.Turn(angle, page.shape[1], page.shape[0]),)
    back = geometry.unturn(centre, turns, scale=1.0)
    assert back[0] == pytest.approx((103.0, 203.0), abs=1.0)


def test_two_turns_are_undone_in_reverse_order() -> None:
    page = np.full((600, 400), 255, dtype=np.uint8)
    page[100:104, 300:304] = 0  # centred on (302, 102)
    first = geometry.rotate(page, 90.0)
    second = geometry.rotate(first, -3.0)
    ys, xs = np.nonzero(second < 128)
    centre = np.array([[xs.mean() + 0.5, ys.mean() + 0.5]]) * 0.24  # in points at 300 dpi
    turns = (geometry.Turn(90.0, 400, 600), geometry.Turn(-3.0, first.shape[1], first.shape[0]))
    assert geometry.unturn(centre, turns, scale=0.24)[0] == pytest.approx(
        (302 * 0.24, 102 * 0.24), abs=0.3)


def test_the_page_cache_keeps_each_page_frame(tmp_path: Path) -> None:
    """The parts split out of a scanned bundle take their pages' words from the page cache;
    their evidence is carried back onto the page through the frame kept with them."""
    cache = PageCache(tmp_path, "options")
    frame = geometry.PageFrame((geometry.Turn(90.0, 2480, 3508), geometry.Turn(-2.5, 3508, 2480)),
                               72 / 200)
    words = [WordBox("Total", 100.0, 200.0, 130.0, 210.0, page=0, conf=0.9)]
    cache.put("page", CachedPage(words, ["qr"], frame))
    assert cache.get("page") == CachedPage(words, ["qr"], frame)


@needs_tesseract
@pytest.mark.parametrize("how", [
    Scanning("rows-tilted.png", 3.0),
    Scanning("rows-sideways.png", -2.0, quarter=True),
], ids=lambda how: how.name)
def test_line_fields_point_at_their_row_on_a_turned_scan(
        tmp_path: Path, settings: Settings, printed: ExtractionResult, how: Scanning) -> None:
    """A reason on a line field highlights the same words on a tilted or sideways scan as on
    the printed page, though the scan's row no longer shares one top."""
    path, _ = _scan(tmp_path, how)
    read = extract_file(path, settings)
    assert read.invoice.lines == printed.invoice.lines
    for field in ("lines[0].amount", "lines[0].quantity", "lines[1].description",
                  "lines[1].unit_price"):
        texts = []
        for result in (printed, read):
            boxes = {"lines": [asdict(word) for word in result.evidence["lines"]]}
            hot = hot_boxes(boxes, [field], result.invoice)
            texts.append(sorted(str(boxes["lines"][i]["text"]) for _, i in hot))
        assert texts[1] == texts[0], field
        assert texts[0], f"{field} highlights nothing"

"""Digital PDFs whose pages carry ``/Rotate``: fields are read and evidence lies on the words
of the page the web app shows.

The web app shows a PDF page as pdfium renders it, turned by its ``/Rotate``
(``webapp.pages``), and draws each field's evidence boxes over it as stored. Two kinds of
rotated page, each with ``/Rotate`` 90, 180 and 270, made from a generated invoice:

- *shown turned*: the invoice drawn upright in the page's own coordinates, given ``/Rotate``
  (a page turned in a viewer by mistake): the approver sees it sideways or upside down;
- *turned upright*: the invoice drawn turned the other way, so that ``/Rotate`` shows it
  upright (a page that came out sideways, turned in a viewer and saved).

The true place of a field on the page as shown is its evidence on the unrotated invoice (the
same engine's reading), turned as the page is shown; `_shown_png` checks against the page
images the web app serves that the page is shown so. Fields must be those of the unrotated
invoice, and each field's box within `MAX_CENTRE_OFF` points and IoU `MIN_IOU` of its true
place, as ``tests/test_deskew_boxes.py`` asks of scans.

Both engines read each page with its text upright (``extractors.digital``, pdfium's character
angles; ``extractors.digital_plumber``), and the evidence is carried onto the page as shown
(``extractors.api.digital_result``, ``layout.on_shown_pages``). Before 2026-12-07 the
default engine's boxes on every rotated page, and its fields on a page turned upright by
``/Rotate``, were wrong, as were pdfplumber's fields on a page shown turned.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from arflow.settings import Settings
from extractors.api import extract_file
from extractors.digital_plumber import read_pdf_plumber_turned
from extractors.layout import (
    PageTurn,
    on_shown_pages,
    quarters_of,
    reading_quarters,
    turn_box,
    turned_size,
)
from models.domain import ExtractionResult, WordBox
from tests.test_deskew_boxes import _centre_off, _iou
from webapp.evidence import hot_boxes
from webapp.pages import page_png, page_sizes

ROOT = Path(__file__).resolve().parent.parent
INVOICE = ROOT / "data" / "invoices" / "001_ferreteria_hermanos.pdf"
FIELDS = ("invoice_number", "issue_date", "currency", "order_number", "seller.name",
          "seller.tax_id", "buyer.tax_id", "subtotal", "tax_total", "total", "iban")
LINE_FIELDS = ("lines[0].amount", "lines[0].quantity", "lines[1].description",
               "lines[1].unit_price")
MAX_CENTRE_OFF = 2.0  # points between the evidence box's centre and the word's
MIN_IOU = 0.5
ENGINES = ("pdfium", "pdfplumber")

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points


@dataclass(frozen=True)
class Rotated:
    """``INVOICE`` with ``/Rotate`` `degrees`: drawn as it is (`upright=False`: shown turned)
    or drawn turned back so that it is shown upright."""

    degrees: int
    upright: bool

    @property
    def name(self) -> str:
        return f"{'turned-upright' if self.upright else 'shown-turned'}-{self.degrees}"

    @property
    def quarters(self) -> int:
        """How far the invoice is turned (clockwise) on the page as shown."""
        return 0 if self.upright else self.degrees // 90


CASES = [Rotated(d, upright) for upright in (False, True) for d in (90, 180, 270)]
CONTROL = Rotated(0, False)


def _counter_clockwise(quarters: int, width: float, height: float) -> pdfium.PdfMatrix:
    """Draws a `width` x `height` page turned `quarters` counter-clockwise on a page of the
    turned size (PDF coordinates, y upwards), so that ``/Rotate`` = quarters x 90 shows it
    upright again."""
    return {1: pdfium.PdfMatrix(0, 1, -1, 0, height, 0),
            2: pdfium.PdfMatrix(-1, 0, 0, -1, width, height),
            3: pdfium.PdfMatrix(0, -1, 1, 0, 0, width)}[quarters]


def write_rotated(how: Rotated, target: Path) -> Path:
    source = pdfium.PdfDocument(INVOICE)
    if how.upright and how.degrees:
        out = pdfium.PdfDocument.new()
        for index in range(len(source)):
            width, height = source[index].get_size()
            page = out.new_page(*turned_size(width, height, how.degrees // 90))
            drawn = source.page_as_xobject(index, out).as_pageobject()
            drawn.transform(_counter_clockwise(how.degrees // 90, width, height))
            page.insert_obj(drawn)
            page.gen_content()
    else:
        out = source
    for index in range(len(out)):
        out[index].set_rotation(how.degrees)
    out.save(target)
    out.close()
    if out is not source:
        source.close()
    return target


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rotated")


@cache
def _settings(engine: str, home: Path) -> Settings:
    return Settings(home=home, database_url="sqlite://", pdf_engine=engine)


def _extract(folder: Path, how: Rotated, engine: str) -> tuple[Path, ExtractionResult]:
    path = folder / f"{how.name}-{engine}.pdf"
    if not path.exists():
        write_rotated(how, path)
    return path, extract_file(path, _settings(engine, folder / "home"))


@pytest.fixture(scope="module", params=ENGINES)
def printed(request: pytest.FixtureRequest, folder: Path) -> tuple[str, ExtractionResult]:
    """The engine's reading of the unrotated invoice: its fields, and its words' true boxes."""
    engine = str(request.param)
    result = extract_file(INVOICE, _settings(engine, folder / "home"))
    assert all(result.evidence.get(name) for name in FIELDS), engine
    return engine, result


def _union(words: Sequence[WordBox]) -> Box:
    return (min(w.x0 for w in words), min(w.top for w in words),
            max(w.x1 for w in words), max(w.bottom for w in words))




def _grey(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"), dtype=np.int16)


def _shown_png(path: Path, how: Rotated) -> tuple[float, float]:
    """The size (points) of page 1 as the web app shows it, checked against the page image
    it serves: the unrotated invoice's image turned as `how` says the page is shown."""
    width, height = page_sizes(path, path.stat().st_mtime)[0]
    original = page_sizes(INVOICE, INVOICE.stat().st_mtime)[0]
    assert (width, height) == pytest.approx(turned_size(*original, how.quarters), abs=0.01)
    shown = _grey(page_png(path, path.stat().st_mtime, 0))
    expected = np.rot90(_grey(page_png(INVOICE, INVOICE.stat().st_mtime, 0)), k=-how.quarters)
    assert shown.shape == expected.shape
    assert np.abs(shown - expected).mean() < 2.0  # the same picture, turned (a few grey levels)
    return width, height


# (a) the fields ------------------------------------------------------------------------------

@pytest.mark.parametrize("how", [CONTROL, *CASES], ids=lambda how: how.name)
def test_fields_are_read_from_a_rotated_page(
        folder: Path, printed: tuple[str, ExtractionResult], how: Rotated) -> None:
    engine, truth = printed
    _, read = _extract(folder, how, engine)
    assert read.status == truth.status
    assert read.invoice == truth.invoice


# (b) the evidence boxes ----------------------------------------------------------------------

@pytest.mark.parametrize("how", [CONTROL, *CASES], ids=lambda how: how.name)
def test_evidence_lies_on_the_words_of_the_page_as_shown(
        folder: Path, printed: tuple[str, ExtractionResult], how: Rotated) -> None:
    engine, truth = printed
    path, read = _extract(folder, how, engine)
    width, height = _shown_png(path, how)
    original = turned_size(width, height, how.quarters)  # the unrotated page's size
    for field in FIELDS:
        assert read.evidence.get(field), f"{field} has no evidence"
        expected = turn_box(_union(truth.evidence[field]), how.quarters, *original)
        found = _union(read.evidence[field])
        assert 0 <= found[0] < found[2] <= width and 0 <= found[1] < found[3] <= height, \
            f"{field}: box {found} is off the {width:.0f} x {height:.0f} page"
        off, iou = _centre_off(found, expected), _iou(found, expected)
        assert off <= MAX_CENTRE_OFF, f"{field}: box {found} is {off:.1f} pt off {expected}"
        assert iou >= MIN_IOU, f"{field}: box {found} overlaps {expected} by IoU {iou:.2f}"
    for field in LINE_FIELDS:  # a reason on a line field highlights the same words
        texts = []
        for result in (truth, read):
            boxes = {"lines": [asdict(word) for word in result.evidence["lines"]]}
            texts.append(sorted(str(boxes["lines"][i]["text"])
                                for _, i in hot_boxes(boxes, [field], result.invoice)))
        assert texts[1] == texts[0] and texts[0], field


# the plumber engine's words and turns, and the turning itself ---------------------------------

@pytest.mark.parametrize("how", CASES, ids=lambda how: how.name)
def test_pdfplumber_reads_each_page_upright_and_says_how_it_is_shown(
        folder: Path, how: Rotated) -> None:
    """pdfplumber's words of a rotated page are the unrotated page's words; carried by the
    page's turn they lie on the page as shown. Before, a page shown turned came out one
    word per character (its invoice number read as "0")."""
    upright, upright_turns = read_pdf_plumber_turned(INVOICE)
    assert upright_turns == (PageTurn(0, upright.widths[0], upright.heights[0]),)
    path = write_rotated(how, folder / f"plumber-{how.name}.pdf")
    words, turns = read_pdf_plumber_turned(path)
    assert [w.text for w in words.pages[0]] == [w.text for w in upright.pages[0]]
    assert (words.widths, words.heights) == (upright.widths, upright.heights)
    assert turns == (PageTurn(how.quarters, upright.widths[0], upright.heights[0]),)
    shown = on_shown_pages(words.pages[0], turns)
    size = (upright.widths[0], upright.heights[0])
    for word, before in zip(shown, upright.pages[0], strict=True):
        expected = turn_box((before.x0, before.top, before.x1, before.bottom), how.quarters,
                            *size)
        assert (word.x0, word.top, word.x1, word.bottom) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(("direction", "quarters"), [
    ((1.0, 0.0), 0), ((0.0, -1.0), 1), ((-1.0, 0.0), 2), ((0.0, 1.0), 3), ((0.99, 0.1), 0),
    ((0.1, 0.99), 3)])
def test_the_quarters_that_make_a_baseline_run_left_to_right(
        direction: tuple[float, float], quarters: int) -> None:
    assert quarters_of(*direction) == quarters
    x, y = direction
    for _ in range(quarters):  # a clockwise quarter (y downwards) takes (x, y) to (-y, x)
        x, y = -y, x
    assert quarters_of(x, y) == 0


def test_a_page_is_read_the_way_most_of_its_characters_run() -> None:
    assert reading_quarters([]) == 0
    assert reading_quarters([(0.0, 1.0)] * 30 + [(1.0, 0.0)] * 5) == 3  # a side label alone
    assert reading_quarters([(1.0, 0.0)] * 30 + [(0.0, 1.0)] * 5) == 0  # does not turn it
    assert reading_quarters([(0.0, 1.0)] * 5 + [(1.0, 0.0)] * 5) == 0  # a tie stays as it is


@pytest.mark.parametrize("quarters", [0, 1, 2, 3])
def test_turning_a_box_and_back(quarters: int) -> None:
    box, size = (40.0, 150.0, 95.0, 164.0), (595.0, 842.0)
    turned = turn_box(box, quarters, *size)
    back = turn_box(turned, (4 - quarters) % 4, *turned_size(*size, quarters))
    assert back == pytest.approx(box)
    assert turn_box(box, 1, *size) == pytest.approx((842 - 164, 40, 842 - 150, 95))
    word = WordBox("INV-1", *box, page=1)
    assert on_shown_pages([word], [PageTurn(0, *size)]) == [word]  # a page it has no turn for
    assert on_shown_pages([word], [PageTurn(0, *size), PageTurn(quarters, *size)])[0] == \
        WordBox("INV-1", *turned, page=1)

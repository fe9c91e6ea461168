"""The OCR path on real images with the real tesseract binary (no mocks).

Faults (a crash, a hang, "exit 0 but no output") are injected with a stand-in ``tesseract``
script put first on PATH, the way a broken installation would look to arflow.
"""

from __future__ import annotations

import dataclasses
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from arflow.errors import DocumentError, ToolError, ToolMissing, ToolTimeout, UnsupportedFormat
from arflow.settings import Settings
from extractors.ocr import geometry, synthetic, tesseract
from extractors.ocr.pages import load_pages, ocr_document, pdf_needs_ocr
from extractors.ocr.preprocess import PreprocessOptions, preprocess, uneven_lighting
from extractors.ocr.textlayer import text_quality
from models.domain import WordBox

SCANS = Path(__file__).parent / "data" / "scans"
FIXTURE = SCANS / "skewed_invoice.jpg"
PARSEE = Path("/work/shared/corpus/parsee-invoices")
NUMBERS = ["6305-29", "B97366946", "02/02/2026", "PO-80239", "3.365,67", "8.887,14", "1.866,29"]

needs_tesseract = pytest.mark.skipif(not tesseract.available(), reason="tesseract not installed")


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, database_url="sqlite://", workers=2, ocr_timeout_s=60.0)


@pytest.fixture(scope="module")
def expected_words() -> list[str]:
    return (SCANS / "skewed_invoice.txt").read_text(encoding="utf-8").split()


@pytest.fixture(scope="module")
def fixture_gray() -> np.ndarray:
    return np.asarray(cv2.imread(str(FIXTURE), cv2.IMREAD_GRAYSCALE), dtype=np.uint8)


def _texts(pages: list[list[WordBox]]) -> list[str]:
    return [w.text for page in pages for w in page]


def _save(tmp_path: Path, name: str, gray: np.ndarray) -> Path:
    path = tmp_path / name
    assert cv2.imwrite(str(path), gray)
    return path


# --- the wrapper ---------------------------------------------------------------------------

@needs_tesseract
def test_probe_reports_version_and_languages() -> None:
    assert tesseract.version().startswith("5.")
    assert {"eng", "spa"} <= tesseract.languages()


def test_parse_tsv_converts_pixels_to_points_and_skips_non_words() -> None:
    tsv = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\t"
           "left\ttop\twidth\theight\tconf\ttext\n"
           "4\t1\t1\t1\t1\t0\t300\t600\t900\t60\t-1\t\n"
           "5\t1\t1\t1\t1\t1\t300\t600\t150\t60\t91.5\tTotal\n"
           "5\t1\t1\t1\t1\t2\t500\t600\t100\t60\t-1\t \n")
    words = tesseract.parse_tsv(tsv, dpi=300, page=2)
    assert len(words) == 1
    word = words[0]
    assert (word.text, word.page) == ("Total", 2)
    assert (word.x0, word.top, word.x1, word.bottom) == pytest.approx((72.0, 144.0, 108.0, 158.4))
    assert word.conf == pytest.approx(0.915)


# --- geometry ------------------------------------------------------------------------------

@pytest.mark.parametrize("angle", [2.5, -1.5, 0.8, -3.0])
def test_deskew_measures_angle_and_sign(tmp_path: Path, angle: float) -> None:
    pdf = synthetic.write_text_pdf(tmp_path / "t.pdf", [synthetic.invoice_lines(3, items=4)])
    clean = synthetic.render_pdf_page(pdf, 0, dpi=300)[150:1400, 150:1700]
    rotated = synthetic.rotate_exact(clean, angle)  # counter-clockwise, as seen on screen
    assert geometry.measure_skew(rotated) == pytest.approx(angle, abs=0.5)
    level = preprocess(rotated, PreprocessOptions(orientation="off"))
    assert abs(geometry.measure_skew(level)) < 0.3


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_orientation_is_restored(fixture_gray: np.ndarray, turn: int) -> None:
    turned = geometry.rotate(fixture_gray, turn)
    upright = preprocess(turned)
    assert upright.shape[1] > upright.shape[0]  # the fixture is landscape
    assert not geometry.upside_down(upright)
    assert abs(geometry.measure_skew(upright)) < 0.3


# --- OCR of images and PDFs ----------------------------------------------------------------

@needs_tesseract
def test_words_and_numbers_from_skewed_scan(settings: Settings, expected_words: list[str]) -> None:
    pages = ocr_document(FIXTURE, settings)
    found = _texts(pages)
    assert synthetic.word_recall(expected_words, found) >= 0.9
    for number in NUMBERS:
        assert number in found
    words = pages[0]
    assert all(w.page == 0 and 0.0 <= w.conf <= 1.0 for w in words)
    width_pt, height_pt = 1700 * 72 / 300, 1400 * 72 / 300  # image size (+rotation) in points
    assert all(0 <= w.x0 < w.x1 <= width_pt and 0 <= w.top < w.bottom <= height_pt for w in words)
    first = next(w for w in words if w.text == "FACTURA")
    assert 25 < first.x0 < 60 and first.bottom - first.top < 20  # ~11 pt text, in points


@needs_tesseract
def test_upside_down_scan_is_read(tmp_path: Path, settings: Settings, fixture_gray: np.ndarray,
                                  expected_words: list[str]) -> None:
    path = _save(tmp_path, "flipped.png", geometry.rotate(fixture_gray, 180))
    found = _texts(ocr_document(path, settings))
    assert synthetic.word_recall(expected_words, found) >= 0.9


@needs_tesseract
@pytest.mark.slow
def test_multipage_tiff(tmp_path: Path, settings: Settings, fixture_gray: np.ndarray) -> None:
    lines = ["Segunda pagina 4711", "Total 99,50 EUR"]
    pdf = synthetic.write_text_pdf(tmp_path / "p2.pdf", [lines])
    second = synthetic.render_pdf_page(pdf, 0, 300)[100:600, 100:1500]
    tiff = tmp_path / "two.tiff"
    frames = [Image.fromarray(fixture_gray), Image.fromarray(second)]
    frames[0].save(tiff, save_all=True, append_images=frames[1:], compression="tiff_lzw",
                   dpi=(300, 300))
    loaded = list(load_pages(tiff))
    assert [(p.index, p.dpi) for p in loaded] == [(0, 300.0), (1, 300.0)]
    pages = ocr_document(tiff, settings)
    assert len(pages) == 2
    assert "6305-29" in [w.text for w in pages[0]]
    assert {"4711", "99,50"} <= {w.text for w in pages[1]}
    assert all(w.page == 1 for w in pages[1])


def _image_pdf(tmp_path: Path, image: Path) -> Path:
    pdf = tmp_path / "scan.pdf"
    page = canvas.Canvas(str(pdf), pagesize=(1600 * 72 / 300, 1266 * 72 / 300))
    page.drawImage(ImageReader(str(image)), 0, 0, width=1600 * 72 / 300, height=1266 * 72 / 300)
    page.showPage()
    page.save()
    return pdf


@needs_tesseract
def test_image_only_pdf(tmp_path: Path, settings: Settings, expected_words: list[str]) -> None:
    pdf = _image_pdf(tmp_path, FIXTURE)
    assert pdf_needs_ocr(pdf)
    pages = ocr_document(pdf, settings)
    assert len(pages) == 1
    assert synthetic.word_recall(expected_words, _texts(pages)) >= 0.9


def test_pdf_needs_ocr_on_text_layer_pdfs(tmp_path: Path) -> None:
    digital = synthetic.write_text_pdf(tmp_path / "digital.pdf", [synthetic.invoice_lines(1)])
    assert not pdf_needs_ocr(digital)
    if PARSEE.exists():  # the shared corpus: one PDF with a garbage (Type 3, no Unicode) layer
        assert pdf_needs_ocr(PARSEE / "Invoice _ TeamGantt-May.pdf")
        assert not pdf_needs_ocr(PARSEE / "Rechnung Indeed.com.pdf")
        assert not pdf_needs_ocr(PARSEE / "Atlassian_PaymentConfirmation_AT-215508940.pdf")


def test_text_quality_flags_garbage() -> None:
    assert text_quality("Invoice number 76253815 total 99,00 EUR")[1] == 1.0
    chars, quality, _ = text_quality("\x01\x04\x01\x05\x06\x07 \ue000\ue001\ufffd")
    assert chars == 9 and quality == 0.0
    assert text_quality("Xkcd Brrt Qwzx Pfft")[2] < 0.6


# --- errors --------------------------------------------------------------------------------

@needs_tesseract
@pytest.mark.slow
def test_tiny_timeout_on_a_big_page(tmp_path: Path, settings: Settings) -> None:
    page, _ = synthetic.scanned_page(tmp_path, 5)
    path = _save(tmp_path, "big.png", page)
    with pytest.raises(ToolTimeout):
        tesseract.image_to_words(path, timeout_s=0.05)
    with pytest.raises(ToolTimeout, match="page 1"):
        ocr_document(path, dataclasses.replace(settings, ocr_timeout_s=0.05))


@needs_tesseract
def test_missing_language(settings: Settings) -> None:
    with pytest.raises(ToolMissing, match="klingon"):
        tesseract.image_to_words(FIXTURE, lang="eng+klingon")
    with pytest.raises(ToolMissing):
        ocr_document(FIXTURE, dataclasses.replace(settings, ocr_lang="deu"))


@needs_tesseract
def test_unreadable_image_is_a_tool_error_or_document_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    with pytest.raises(ToolError) as info:
        tesseract.image_to_words(bad, lang="eng")
    assert not isinstance(info.value, ToolTimeout | ToolMissing)
    with pytest.raises(DocumentError):
        list(load_pages(bad))
    with pytest.raises(UnsupportedFormat):
        list(load_pages(tmp_path / "invoice.docx"))


@pytest.fixture()
def fake_tesseract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A stand-in ``tesseract`` first on PATH; the test writes what it does on OCR."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "tesseract"
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    tesseract.languages.cache_clear()
    yield script
    tesseract.languages.cache_clear()


def _script(path: Path, body: str) -> None:
    langs = 'if [ "$1" = "--list-langs" ]; then echo "List of languages:"; echo eng; exit 0; fi\n'
    path.write_text("#!/bin/sh\n" + langs + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(("body", "error", "text"), [
    ("exit 0", ToolError, "no output"),
    ("echo boom >&2; exit 3", ToolError, "exit 3"),
    ("kill -SEGV $$", ToolError, "signal 11"),
    ("sleep 5", ToolTimeout, "timed out"),
])
def test_faulty_tesseract(fake_tesseract: Path, body: str, error: type[ToolError],
                          text: str) -> None:
    _script(fake_tesseract, body)
    with pytest.raises(error, match=text):
        tesseract.image_to_words(FIXTURE, lang="eng", timeout_s=0.5)


def test_no_tesseract_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not tesseract.available()
    with pytest.raises(ToolMissing):
        tesseract.image_to_words(FIXTURE)


def test_uneven_lighting_is_detected(tmp_path: Path) -> None:
    pdf = synthetic.write_text_pdf(tmp_path / "l.pdf", [synthetic.invoice_lines(2, items=3)])
    clean = synthetic.render_pdf_page(pdf, 0, dpi=150)
    shaded = synthetic.degrade(clean, synthetic.Degradation(shading=0.4))
    assert not uneven_lighting(clean)
    assert uneven_lighting(shaded)


@needs_tesseract
def test_ocr_without_cleanup_still_returns_words(tmp_path: Path, settings: Settings) -> None:
    pdf = synthetic.write_text_pdf(tmp_path / "c.pdf", [["Importe total 1.234,56 EUR"]])
    path = _save(tmp_path, "clean.png", synthetic.render_pdf_page(pdf, 0, 300)[100:400, 100:1400])
    pages = ocr_document(path, settings, clean=None)
    assert [w.text for w in pages[0]] == ["Importe", "total", "1.234,56", "EUR"]


def test_pages_run_in_parallel_and_come_back_in_order(
        fake_tesseract: Path, tmp_path: Path, settings: Settings) -> None:
    """Each stand-in OCR sleeps 0.4 s (no CPU), so the wall time shows the concurrency even
    on a busy machine; the word it prints is its page's folder name (page-0, page-1 ...)."""
    header = "\\t".join(["level", "page_num", "block_num", "par_num", "line_num", "word_num",
                        "left", "top", "width", "height", "conf", "text"])
    _script(fake_tesseract, 'sleep 0.4; d=$(basename "$(dirname "$1")")\n'
            f'printf "{header}\\n5\\t1\\t1\\t1\\t1\\t1\\t30\\t30\\t60\\t20\\t90\\t%s\\n" "$d"')
    tiff = tmp_path / "four.tiff"
    frames = [Image.new("L", (200, 100), 255) for _ in range(4)]
    frames[0].save(tiff, save_all=True, append_images=frames[1:], dpi=(300, 300))
    plain = dataclasses.replace(settings, ocr_lang="eng")
    timings = {}
    for workers in (1, 2):
        start = time.perf_counter()
        pages = ocr_document(tiff, dataclasses.replace(plain, workers=workers), clean=None)
        timings[workers] = time.perf_counter() - start
        assert [[w.text for w in page] for page in pages] == [[f"page-{i}"] for i in range(4)]
    assert timings[1] >= 1.6
    assert timings[2] < 0.75 * timings[1]


# --- OCR accuracy helpers (rules, levelled boxes, specks, receipts) -----------------------

SROIE_IMG = Path("/work/shared/corpus/sroie2019/img")


def test_parse_tsv_levels_words_to_their_line_height() -> None:
    head = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\t"
            "left\ttop\twidth\theight\tconf\ttext\n")
    tsv = (head + "4\t1\t1\t1\t1\t0\t100\t100\t400\t40\t-1\t\n"
           "5\t1\t1\t1\t1\t1\t100\t100\t100\t40\t95\tTotal\n"
           "5\t1\t1\t1\t1\t2\t210\t112\t20\t22\t95\ta\n"
           "5\t1\t1\t1\t1\t3\t240\t118\t4\t4\t30\t.\n")
    total, small, dot = tesseract.parse_tsv(tsv, dpi=72)
    assert (small.top, small.bottom) == (total.top, total.bottom) == (100, 140)
    assert (dot.top, dot.bottom) == (118, 122)  # far smaller than its line: left alone


def test_drop_specks_removes_a_fragment_inside_a_big_word() -> None:
    from extractors.ocr.wordfix import drop_specks

    big = WordBox("Ironbridge", 50, 40, 130, 60, conf=0.9)
    speck = WordBox("-", 96, 48, 99, 50, conf=0.7)
    beside = WordBox("GmbH", 140, 48, 170, 52, conf=0.9)
    assert drop_specks([big, speck, beside]) == [big, beside]


def test_rule_mask_takes_thin_long_lines_not_text_or_bars() -> None:
    from extractors.ocr.rules import remove_rules, rule_mask

    page = np.full((900, 1200), 235, np.uint8)
    cv2.line(page, (100, 300), (1100, 300), 150, 3)   # a light table rule
    cv2.line(page, (600, 100), (600, 290), 150, 3)    # a cell separator
    cv2.rectangle(page, (100, 500), (400, 540), 20, -1)  # a filled bar (shaded header)
    cv2.putText(page, "INVOICE 2026", (100, 700), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 20, 5)
    mask = rule_mask(page, 300.0)
    assert mask[300, 300] and mask[200, 600]
    assert not mask[520, 250] and not mask[680:720, 100:600].any()
    cleaned = remove_rules(page, 300.0)
    assert cleaned[300, 300] > 200 and cleaned[520, 250] == 20


def test_small_images_without_dpi_are_enlarged() -> None:
    from extractors.ocr.pages import PageImage, upscale_factor

    options = PreprocessOptions()
    receipt = PageImage(0, np.zeros((1800, 880), np.uint8), None)
    assert upscale_factor(receipt, options) == 2
    assert upscale_factor(dataclasses.replace(receipt, dpi=200.0), options) == 1
    assert upscale_factor(receipt, None) == 1
    assert upscale_factor(PageImage(0, np.zeros((3500, 2480), np.uint8), None), options) == 1


@needs_tesseract
@pytest.mark.skipif(not (SROIE_IMG / "X51007339109.jpg").exists(), reason="no SROIE corpus")
def test_all_capitals_receipt_is_not_turned_over(tmp_path: Path) -> None:
    """The baseline heuristic scores this upright receipt upside down; OCR settles it."""
    from extractors.ocr.preprocess import read_better_turned, straighten, to_gray

    page = next(iter(load_pages(SROIE_IMG / "X51007339109.jpg")))
    level = straighten(to_gray(page.image), PreprocessOptions(orientation="off"), tmp_path)
    assert geometry.upside_down(level)  # what the heuristic alone would do
    assert not read_better_turned(level, tmp_path)
    assert read_better_turned(geometry.rotate(level, 180.0), tmp_path)


def test_shrink_matches_one_area_resize_closely() -> None:
    import cv2
    import numpy as np

    from extractors.ocr.geometry import shrink

    rng = np.random.default_rng(3)
    page = cv2.GaussianBlur((rng.random((1754, 1240)) * 255).astype(np.uint8), (9, 9), 3)
    fast = shrink(page, 900 / 1240)
    direct = cv2.resize(page, None, fx=900 / 1240, fy=900 / 1240, interpolation=cv2.INTER_AREA)
    assert fast.shape == direct.shape and fast.dtype == np.uint8
    assert np.abs(fast.astype(int) - direct.astype(int)).mean() < 2.0
    assert shrink(page, 0.25).shape == (438, 310)  # two exact halvings
    assert shrink(page, 1.0) is page

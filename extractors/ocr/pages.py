"""OCR of a whole document: pages in parallel, one single-threaded Tesseract process per worker.

Pages are rendered/decoded one at a time in the calling thread (pdfium is not thread-safe) and
handed to a pool of ``settings.workers`` threads; each thread cleans its page with OpenCV
(which releases the GIL), writes it as an uncompressed PGM (PERF-NOTES trap 3: no re-encoding
inside pytesseract) and drives one ``tesseract`` process. At most two pages per worker are in
flight, so a 200-page scan never sits decoded in memory. Word boxes come back in PDF points of
the cleaned (upright, level) page: pixels x 72 / dpi, which is what the layout analysis needs.
Each page's ``PageFrame`` (the clean-up's turns) carries boxes back onto the page as received,
which is what the web app shows (``OcrReading.as_received``).

``ocr_with_qr`` also searches each page for QR codes in the same worker thread, on the page
image already in memory (``extractors.qr.decode.decode_page``: a detector gate on small
copies, the decoding cascade only where it fires), so the file is never read a second time.
Measured (``bench/ocr_throughput.py throughput --pages 6``, quiet 2-core machine): extract_file
1.28-1.29x bare tesseract per page, wall and CPU (before: a second reading of the file for
the QR search, 1.48-1.51x wall, 1.56-1.60x CPU).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from arflow.errors import ToolError
from arflow.settings import Settings
from extractors.ocr import rapid, tesseract
from extractors.ocr.geometry import PageFrame
from extractors.ocr.images import IMAGE_SUFFIXES, PageImage, load_pages
from extractors.ocr.pagecache import CachedPage, PageCache
from extractors.ocr.preprocess import Cleaned, PreprocessOptions, clean_page, uneven_lighting
from extractors.ocr.tesseract import SAUVOLA, TesseractOptions
from extractors.ocr.textlayer import pdf_needs_ocr
from extractors.ocr.wordfix import drop_specks
from extractors.qr.decode import QrCode, decode_page
from models.domain import WordBox

log = logging.getLogger(__name__)
DEFAULT_CLEANUP = PreprocessOptions()
# OpenCV's own threads per process while OCR runs. Like Tesseract's OpenMP threads (PERF-NOTES
# trap 1), they only add CPU when every core already runs a page (OCR threads here, extraction
# processes in arflow.pipeline): OpenCV's pthreads pool spins while it waits. 1 = off.
OPENCV_THREADS = 1

__all__ = ["IMAGE_SUFFIXES", "OcrReading", "PageImage", "PageWords", "load_pages", "ocr_document",
           "ocr_page", "ocr_with_qr", "pdf_needs_ocr", "rapid_page"]


@dataclass(frozen=True)
class OcrReading:
    """A document's OCR words, page by page, and the QR codes found on its pages."""

    pages: list[list[WordBox]]
    qr_codes: list[QrCode]
    # each page's resolution as its file states it; None for a photo or a receipt of
    # unknown scale (see ``images.PageImage``)
    dpis: list[float | None] = dataclasses.field(default_factory=list)
    # how each page as read lies on the page as received (see ``as_received``)
    frames: list[PageFrame] = dataclasses.field(default_factory=list)

    def as_received(self, words: Sequence[WordBox]) -> list[WordBox]:
        """``words`` of this reading (or of another reading of the same file with the same
        clean-up) with their boxes on the page as received instead of the page as cleaned."""
        return [_on_page(word, self.frames[word.page]) if word.page < len(self.frames)
                else word for word in words]


def _on_page(word: WordBox, frame: PageFrame) -> WordBox:
    x0, top, x1, bottom = frame.as_received((word.x0, word.top, word.x1, word.bottom))
    return dataclasses.replace(word, x0=x0, top=top, x1=x1, bottom=bottom)


@dataclass(frozen=True)
class PageWords:
    """One page's words, on the page as cleaned (upright, level), and that page's frame."""

    words: list[WordBox]
    frame: PageFrame


@dataclass(frozen=True)
class _PageReading:
    words: list[WordBox]
    qr_texts: list[str]
    dpi: float | None
    frame: PageFrame
    key: str | None = None  # under which the page cache knows it
    cached: bool = False    # read from the page cache


TESSERACT, RAPIDOCR = "tesseract", "rapidocr"  # the OCR engines a reading can use
PageReader = Callable[..., PageWords]  # (page, workdir=...) -> words


def ocr_page(page: PageImage, opts: TesseractOptions, clean: PreprocessOptions | None,
             workdir: Path) -> PageWords:
    """Clean one page image, OCR it and return its words (``page`` numbered from 0)."""
    pagedir, cleaned = _cleaned(page, clean, workdir)
    image = cleaned.image
    if clean is not None and clean.sauvola_if_uneven and uneven_lighting(image):
        opts = dataclasses.replace(opts, thresholding=SAUVOLA)
    zoom = upscale_factor(page, clean)
    if zoom > 1:
        image = np.asarray(cv2.resize(image, None, fx=zoom, fy=zoom,
                                      interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
    path = pagedir / "page.pgm"
    if not cv2.imwrite(str(path), image):
        raise ToolError(f"page {page.index + 1}: could not write the page image for tesseract")
    if page.dpi is not None:
        opts = dataclasses.replace(opts, dpi=round(page.dpi))
    try:
        tsv = tesseract.image_to_tsv(path, opts)
        words = drop_specks(tesseract.parse_tsv(tsv, dpi=opts.dpi * zoom, page=page.index))
        return PageWords(words, PageFrame(cleaned.turns, 72.0 / opts.dpi))
    except ToolError as exc:
        raise type(exc)(f"page {page.index + 1}: {exc.message}") from exc
    finally:
        path.unlink(missing_ok=True)


def rapid_page(page: PageImage, *, clean: PreprocessOptions | None, workdir: Path,
               settings: Settings) -> PageWords:
    """One page read by the second engine (``extractors.ocr.rapid``), after the same
    clean-up, so that its word boxes are on the same page coordinates as Tesseract's."""
    _, cleaned = _cleaned(page, clean, workdir)
    dpi = page.dpi or settings.ocr_dpi
    try:
        words = rapid.read_words(cleaned.image, dpi=dpi, page=page.index,
                                 timeout_s=settings.ocr_timeout_s)
    except ToolError as exc:
        raise type(exc)(f"page {page.index + 1}: {exc.message}") from exc
    return PageWords(drop_specks(words), PageFrame(cleaned.turns, 72.0 / dpi))


def _cleaned(page: PageImage, clean: PreprocessOptions | None,
             workdir: Path) -> tuple[Path, Cleaned]:
    """The page's own working folder, and the page after the clean-up (as loaded without)."""
    pagedir = workdir / f"page-{page.index}"
    pagedir.mkdir()
    if clean is None:
        return pagedir, Cleaned(page.image)
    return pagedir, clean_page(page.image, clean, pagedir, page.dpi)


def upscale_factor(page: PageImage, clean: PreprocessOptions | None) -> int:
    """2 for a small image that does not say its resolution (a phone or till-receipt scan of
    under ``clean.upscale_below`` pixels across), else 1. Tesseract reads small print better
    enlarged: on SROIE receipts one page went from 8 words to 283 (see ``preprocess``)."""
    if clean is None or page.dpi is not None or page.image.shape[1] >= clean.upscale_below:
        return 1
    return 2


def tesseract_options(settings: Settings, **overrides: Any) -> TesseractOptions:
    """Tesseract options from the settings; ``overrides`` (psm, thresholding ...) win."""
    base = TesseractOptions(lang=settings.ocr_lang, dpi=settings.ocr_dpi,
                            timeout_s=settings.ocr_timeout_s)
    return dataclasses.replace(base, **overrides)


def ocr_document(path: Path, settings: Settings, *,
                 clean: PreprocessOptions | None = DEFAULT_CLEANUP, engine: str = TESSERACT,
                 **tesseract_overrides: Any) -> list[list[WordBox]]:
    """Words of every page of a scan/photo/image-only PDF, page by page, in page order.

    ``clean=None`` skips the OpenCV clean-up; keyword overrides (``psm``, ``thresholding``)
    go to ``TesseractOptions``; ``engine=RAPIDOCR`` reads with the second engine instead.
    Raises ``ToolMissing`` before any work if tesseract or a language is missing, and the
    first failed page's ``ToolTimeout``/``ToolError`` (with its page number); pages not yet
    started are then cancelled.
    """
    return _read(path, settings, clean, False, tesseract_overrides, engine=engine).pages


def ocr_with_qr(path: Path, settings: Settings, *,
                clean: PreprocessOptions | None = DEFAULT_CLEANUP,
                **tesseract_overrides: Any) -> OcrReading:
    """``ocr_document`` plus the QR codes of every page; a failed QR search is logged and
    gives no codes for that page (the QR is a cross-check, the words are the document)."""
    return _read(path, settings, clean, True, tesseract_overrides)


def _read(path: Path, settings: Settings, clean: PreprocessOptions | None, qr: bool,
          overrides: dict[str, Any], *, engine: str = TESSERACT) -> OcrReading:
    if engine == TESSERACT:
        tesseract.binary()
        tesseract.check_languages(settings.ocr_lang)
    if cv2.getNumThreads() != OPENCV_THREADS:
        cv2.setNumThreads(OPENCV_THREADS)
    opts = tesseract_options(settings, **overrides)
    reader: PageReader = (
        partial(rapid_page, clean=clean, settings=settings) if engine == RAPIDOCR
        else partial(ocr_page, opts=opts, clean=clean))
    workers = max(1, settings.workers)
    cache = _page_cache(settings, f"{engine}|{opts!r}|{clean!r}|qr={qr}")
    with tempfile.TemporaryDirectory(prefix="arflow-ocr-") as tmp:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr")
        futures: list[Future[_PageReading]] = []
        try:
            for page in load_pages(Path(path), dpi=settings.ocr_dpi, max_pages=settings.max_pages):
                _wait_for_room(futures, 2 * workers)
                futures.append(pool.submit(_read_page, page, reader, Path(tmp), qr, cache))
            done = [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    if cache is not None and len(done) > 1:  # only a multi-page file can be split
        for reading in done:
            if reading.key is not None and not reading.cached:
                cache.put(reading.key, CachedPage(reading.words, reading.qr_texts, reading.frame))
    codes = [QrCode(text, index) for index, page in enumerate(done) for text in page.qr_texts]
    return OcrReading([page.words for page in done], codes, [page.dpi for page in done],
                      [page.frame for page in done])


def _page_cache(settings: Settings, reading: str) -> PageCache | None:
    """The step's page cache, for readings made as `reading` says, at the settings' dpi."""
    if settings.ocr_cache_dir is None:
        return None
    return PageCache(settings.ocr_cache_dir, f"{reading}|dpi={settings.ocr_dpi}")


def _read_page(page: PageImage, reader: PageReader, workdir: Path, qr: bool,
               cache: PageCache | None = None) -> _PageReading:
    key = hit = None
    if cache is not None:
        key = cache.key(page)
        hit = cache.get(key)
    if hit is not None:  # the same page of another file: its words, on this page's index
        words = [dataclasses.replace(w, page=page.index) for w in hit.words]
        return _PageReading(words, hit.qr_texts, page.dpi, hit.frame, key, cached=True)
    read = reader(page, workdir=workdir)
    return _PageReading(read.words, _qr_texts(page) if qr else [], page.dpi, read.frame, key)


def _qr_texts(page: PageImage) -> list[str]:
    """QR codes on the page image as loaded (before the clean-up: the decoders binarise
    themselves, and the page was never enlarged or thresholded for them before either)."""
    try:
        return decode_page(page.image, page.dpi)
    except Exception:  # an optional cross-check must never lose the page
        log.warning("QR search failed on page %d", page.index + 1, exc_info=True)
        return []


def _wait_for_room(futures: list[Future[_PageReading]], limit: int) -> None:
    """Block until fewer than ``limit`` pages are in flight; re-raise a failed page's error."""
    while True:
        running = [f for f in futures if not f.done()]
        for done in (f for f in futures if f.done() and f.exception() is not None):
            done.result()
        if len(running) < limit:
            return
        wait(running, return_when=FIRST_COMPLETED)

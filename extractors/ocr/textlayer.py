"""Does a PDF need OCR? A text layer can be missing, partial (a scan with a stamped line of
text) or garbage (fonts without a Unicode map, e.g. Ghostscript Type 3 fonts).

Measured with pypdfium2 on shared/corpus/parsee-invoices: the 9 good PDFs give 490-950
characters per page with >= 0.97 of them letters/digits/punctuation and >= 0.9 of their
alphabetic words containing a vowel; ``Invoice _ TeamGantt-May.pdf`` gives 98 characters,
all control codes (pdfplumber shows ``(cid:0)(cid:1)...``), quality 0.0.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from arflow.errors import DocumentError, EmptyDocument, EncryptedDocument
from extractors.digital import PDFIUM_LOCK, PageLayer

_ERR_PASSWORD = 4
MIN_CHARS = 30           # fewer readable characters than this on a page: no usable text layer
MIN_QUALITY = 0.8        # share of readable characters among the non-space ones
MIN_VOWEL_WORDS = 0.6    # share of alphabetic words with a vowel (garbage maps give consonant soup)
SCAN_COVERAGE = 0.5      # an image covering this share of the page makes it a scan
SCAN_MAX_CHARS = 200     # ... unless the text layer has at least this many characters
_GOOD = {"L", "N", "P", "S"}
_VOWELS = set("aeiouyáéíóúàèìòùäëïöüâêîôûãõåæø")
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class PageText:
    """What a page's text layer looks like."""

    index: int
    chars: int            # non-space characters
    quality: float        # share of them that are readable (letters, digits, punctuation, symbols)
    vowel_words: float    # share of alphabetic words with a vowel
    image_coverage: float  # largest image's share of the page area

    @property
    def needs_ocr(self) -> bool:
        readable = self.chars * self.quality
        if readable < MIN_CHARS:
            return True
        if self.image_coverage >= SCAN_COVERAGE and readable < SCAN_MAX_CHARS:
            return True
        return self.quality < MIN_QUALITY or self.vowel_words < MIN_VOWEL_WORDS


def text_quality(text: str) -> tuple[int, float, float]:
    """(non-space characters, readable share, share of alphabetic words with a vowel)."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0, 0.0, 0.0
    good = sum(1 for c in chars if _readable(c))
    words = _WORD.findall(text)
    vowel = sum(1 for w in words if _VOWELS & set(w.lower()))
    return len(chars), good / len(chars), (vowel / len(words)) if words else 1.0


def _readable(char: str) -> bool:
    if char == "\ufffd":
        return False
    return unicodedata.category(char)[0] in _GOOD and unicodedata.category(char) != "Co"


def page_text(page: pdfium.PdfPage, index: int) -> PageText:
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
    finally:
        textpage.close()
    return _page_text(index, text, _image_coverage(page))


def _page_text(index: int, text: str, image_coverage: float) -> PageText:
    text = re.sub(r"\(cid:\d+\)", "\ufffd", text)
    chars, quality, vowel_words = text_quality(text)
    return PageText(index, chars, quality, vowel_words, image_coverage)


def layers_need_ocr(layers: tuple[PageLayer, ...], max_pages: int = 50) -> bool:
    """`pdf_needs_ocr` from the text and image share ``extractors.digital.read_pdf`` already
    read (no second opening of the file)."""
    return any(_page_text(i, layer.text, layer.image_share).needs_ocr
               for i, layer in enumerate(layers[:max_pages]))


def _image_coverage(page: pdfium.PdfPage) -> float:
    width, height = page.get_size()
    best = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        best = max(best, (right - left) * (top - bottom) / (width * height))
    return min(best, 1.0)


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """Open a PDF with pdfium, raising the arflow error matching the failure."""
    try:
        with PDFIUM_LOCK:
            return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _ERR_PASSWORD:
            raise EncryptedDocument(f"{path.name}: the PDF is password-protected") from exc
        raise DocumentError(f"{path.name}: not a readable PDF ({exc})") from exc


def pdf_text_report(path: Path, max_pages: int = 50) -> list[PageText]:
    """Text-layer statistics of the first ``max_pages`` pages."""
    with PDFIUM_LOCK:  # pdfium is not thread-safe
        return _text_report(Path(path), max_pages)


def _text_report(path: Path, max_pages: int) -> list[PageText]:
    doc = open_pdf(path)
    try:
        if len(doc) == 0:
            raise EmptyDocument(f"{Path(path).name}: the PDF has no pages")
        report = []
        for index in range(min(len(doc), max_pages)):
            page = doc[index]
            try:
                report.append(page_text(page, index))
            finally:
                page.close()
        return report
    finally:
        doc.close()


def pdf_needs_ocr(path: Path, max_pages: int = 50) -> bool:
    """True if any page's text layer is missing, partial or garbage."""
    return any(p.needs_ocr for p in pdf_text_report(path, max_pages))

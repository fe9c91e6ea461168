"""The pdfplumber word engine: `read_pdf(path, engine="pdfplumber")` lands here.

Words come from pdfplumber's ``extract_words`` (pdfminer's characters grouped at spaces and at
gaps wider than a fraction of the character size, the same fraction the pdfium engine uses), so
both engines hand the field extractor comparable `WordBox` lists in points, top-left origin.
Characters are taken in content-stream order (``use_text_flow``), as pdfium does: sorted by x
instead, a space drawn over a line's first letter split "F actuurnummer:" in a corpus invoice
and lost its invoice number. Glyphs without a Unicode mapping (``(cid:N)``) are dropped, so
such a text layer counts as empty and goes to OCR, as with pdfium.
Each page is closed as soon as its words are read (pdfplumber keeps ~2 MiB of objects per open
page otherwise). pdfminer's failures become the typed errors of ``arflow.errors``.

pdfminer is pure Python: no lock is needed, unlike pdfium. `extractors.digital` imports this
module only when the engine is chosen (pdfplumber's import costs ~100 ms).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.psexceptions import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from arflow.errors import DocumentError, DocumentTooLarge, EmptyDocument, EncryptedDocument
from extractors.digital import (
    GAP_FACTOR,
    MAX_PAGE_CHARS,
    MAX_TEXT_CHARS,
    PdfWords,
    check_text_size,
)
from models.domain import WordBox

if TYPE_CHECKING:
    from pdfplumber.page import Page

_CID = re.compile(r"\(cid:\d+\)")  # a glyph without a Unicode mapping
# What pdfplumber/pdfminer raise on broken files: their own errors, and (seen when fuzzing
# generated PDFs) plain Python errors from objects of the wrong type, e.g. a name as /Rotate.
_PARSE_ERRORS = (PdfminerException, MalformedPDFException, PSException, TypeError, ValueError,
                 KeyError, IndexError)


def read_pdf_plumber(path: Path, max_pages: int | None = None) -> PdfWords:
    """Every page's words via pdfplumber; more than ``max_pages`` raises `DocumentTooLarge`."""
    try:
        with path.open("rb") as stream, pdfplumber.open(stream) as pdf:
            return _read_pages(path, pdf.pages, max_pages)
    except _PARSE_ERRORS as exc:
        raise _load_error(path, exc) from exc


def _read_pages(path: Path, pages: list[Page], max_pages: int | None) -> PdfWords:
    count = len(pages)
    if count == 0:
        raise EmptyDocument(f"{path.name}: the PDF has no pages")
    if max_pages is not None and count > max_pages:
        raise DocumentTooLarge(f"{path.name}: {count} pages exceeds the limit of {max_pages}")
    words: list[list[WordBox]] = []
    widths: list[float] = []
    heights: list[float] = []
    chars = 0
    for index, page in enumerate(pages):
        try:
            chars += len(page.chars)  # the limits of `extractors.digital`, before the words
            check_text_size(f"{path.name} page {index + 1}", len(page.chars), MAX_PAGE_CHARS)
            check_text_size(path.name, chars, MAX_TEXT_CHARS)
            words.append(_page_words(page, index))
            widths.append(float(page.width))
            heights.append(float(page.height))
        finally:
            page.close()
    return PdfWords(words, widths, heights)


def _page_words(page: Page, index: int) -> list[WordBox]:
    raw = page.extract_words(x_tolerance_ratio=GAP_FACTOR, use_text_flow=True)
    return [box for word in raw if (box := _word_box(word, index)) is not None]


def _word_box(word: dict[str, Any], index: int) -> WordBox | None:
    text = _CID.sub("", str(word["text"]))
    if not text.strip():
        return None
    return WordBox(text, float(word["x0"]), float(word["top"]), float(word["x1"]),
                   float(word["bottom"]), index)


def _load_error(path: Path, exc: Exception) -> DocumentError:
    """pdfplumber wraps pdfminer's errors in `PdfminerException`: classify the cause."""
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    if isinstance(cause, PDFEncryptionError):
        return EncryptedDocument(f"{path.name}: the PDF is password-protected")
    return DocumentError(f"{path.name}: not a readable PDF ({type(cause).__name__}: {cause})")

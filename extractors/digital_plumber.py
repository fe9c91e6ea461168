"""The pdfplumber word engine: `read_pdf(path, engine="pdfplumber")` lands here.

Words come from pdfplumber's ``extract_words`` (pdfminer's characters grouped at spaces and at
gaps wider than a fraction of the character size, the same fraction the pdfium engine uses), so
both engines hand the field extractor comparable `WordBox` lists in points, top-left origin.
Characters are taken in content-stream order (``use_text_flow``), as pdfium does: sorted by x
instead, a space drawn over a line's first letter split "F actuurnummer:" in a corpus invoice
and lost its invoice number. Glyphs without a Unicode mapping (``(cid:N)``) are dropped, so
such a text layer counts as empty and goes to OCR, as with pdfium.

pdfplumber places characters on the page as shown, turned by its ``/Rotate``. Each page is
read in its reading frame (`extractors.layout`): turned so that most characters' baselines
run left to right. Before, a page shown sideways (an upright invoice given ``/Rotate 90``)
came out as one word per character, and its invoice number was read as "0"; a page turned
upright by ``/Rotate`` (its text drawn sideways) reads as it did. Boxes and the page's size are
those of the reading frame, as pdfium's; `page_turns` tells how it lies on the page as shown.
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
from pdfplumber.utils.text import extract_words

from arflow.errors import DocumentError, DocumentTooLarge, EmptyDocument, EncryptedDocument
from extractors.digital import (
    GAP_FACTOR,
    MAX_PAGE_CHARS,
    MAX_TEXT_CHARS,
    PdfWords,
    check_text_size,
)
from extractors.layout import PageTurn, quarters_of, reading_quarters, turn_box, turned_size
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
    return read_pdf_plumber_turned(path, max_pages)[0]


def read_pdf_plumber_turned(path: Path, max_pages: int | None = None,
                            ) -> tuple[PdfWords, tuple[PageTurn, ...]]:
    """`read_pdf_plumber`, and how each page's words lie on the page as shown."""
    try:
        with path.open("rb") as stream, pdfplumber.open(stream) as pdf:
            return _read_pages(path, pdf.pages, max_pages)
    except _PARSE_ERRORS as exc:
        raise _load_error(path, exc) from exc


def _read_pages(path: Path, pages: list[Page], max_pages: int | None,
                ) -> tuple[PdfWords, tuple[PageTurn, ...]]:
    count = len(pages)
    if count == 0:
        raise EmptyDocument(f"{path.name}: the PDF has no pages")
    if max_pages is not None and count > max_pages:
        raise DocumentTooLarge(f"{path.name}: {count} pages exceeds the limit of {max_pages}")
    words: list[list[WordBox]] = []
    widths: list[float] = []
    heights: list[float] = []
    turns: list[PageTurn] = []
    chars = 0
    for index, page in enumerate(pages):
        try:
            chars += len(page.chars)  # the limits of `extractors.digital`, before the words
            check_text_size(f"{path.name} page {index + 1}", len(page.chars), MAX_PAGE_CHARS)
            check_text_size(path.name, chars, MAX_TEXT_CHARS)
            page_words, turn = _page_words(page, index)
            words.append(page_words)
            widths.append(turn.width)
            heights.append(turn.height)
            turns.append(turn)
        finally:
            page.close()
    return PdfWords(words, widths, heights), tuple(turns)


def _direction(char: dict[str, Any]) -> tuple[float, float]:
    """The character's baseline on the page as shown, y downwards (its matrix is y upwards)."""
    a, b = char["matrix"][:2]
    return float(a), -float(b)


def _page_words(page: Page, index: int) -> tuple[list[WordBox], PageTurn]:
    """The page's words in its reading frame, and how that frame lies on the page as shown."""
    width, height = float(page.width), float(page.height)
    chars = page.chars
    quarters = reading_quarters(_direction(c) for c in chars)
    if quarters:
        chars = [_turned(c, quarters, width, height) for c in chars]
    raw = extract_words(chars, x_tolerance_ratio=GAP_FACTOR, use_text_flow=True)
    read_width, read_height = turned_size(width, height, quarters)
    return ([box for word in raw if (box := _word_box(word, index)) is not None],
            PageTurn((4 - quarters) % 4, read_width, read_height))


def _turned(char: dict[str, Any], quarters: int, width: float, height: float,
            ) -> dict[str, Any]:
    """`char` on the page turned `quarters` clockwise; upright there if it reads left to
    right (characters running another way are kept apart, as pdfplumber keeps them)."""
    x0, top, x1, bottom = turn_box((char["x0"], char["top"], char["x1"], char["bottom"]),
                                   quarters, width, height)
    upright = quarters_of(*_direction(char)) == quarters
    return {**char, "x0": x0, "top": top, "x1": x1, "bottom": bottom, "doctop": top,
            "upright": upright}


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

"""The issuer's name when no label announces it: the most company-like name near the top of
the first page.

Invoices: a legal form (S.L., GmbH, Ltd, Sdn Bhd ...) scores most, then height on the page,
a larger font and closeness to the seller's tax ID. Receipts (text much taller than wide, or
narrower than a till roll) print the shop first: the rank of the line from the top weighs
more and a legal form counts only in the first lines ("Owned by ... Sdn Bhd" further down
is not the shop).
OCR can split one name into several segments, so runs of close segments are tried whole,
and a name whose line holds little more than the legal form takes the line above it
("KEDAI UBAT & RUNCIT HONG" / "NING SDN. BHD.").
A company number printed under a receipt's line or after it ("(0005583085-K)",
"Co.No:001684044-P") marks the registered company as a legal form does: the brand logo above
it ("CALTEX") and handwriting on the paper are not the issuer. A run of segments ends with a
legal form ("HUGO TRADING SDN BHD" | "Tota" of a "Total" printed beside it), and a line that
holds a totals label anywhere ("INCL. TOTAL") is no name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractors.labels import find_labels
from extractors.layout import Line, norm
from extractors.name_repair import repair_name
from extractors.parties import (
    PartyRead,
    as_line,
    clean_name,
    company_score,
    ends_with_legal_form,
    name_text,
)
from extractors.values import text_of
from models.domain import WordBox

_RECEIPT_ASPECT = 1.6   # text block height / width above which a page reads as a receipt
_RECEIPT_WIDTH = 320.0  # points (4.4 in): text narrower than this is a till roll (80 mm)
_RECEIPT_TOP_LINES = 4  # a legal form counts on a receipt only within this many lines
_RUN_GAP = 3.0          # line heights: segments closer than this may be one OCR-split name
_MIN_OCR_CONF = 0.6     # an OCR name read with less mean confidence is noise
_MIN_LETTER_SHARE = 0.6  # of the characters of a name (spaces aside)
_MIN_OCR_CONF_LEGAL = 0.4  # ... unless it carries a legal form (bold shop names read poorly)
_AMOUNT = re.compile(r"\d[.,]\d{2}(?!\d)")
# A receipt's address line: "No.2, Jalan ...", "LOT 13, ...", "15, JALAN ...", a street word
# (MY/EN/ES) or a five-digit postcode. The shop's name is never one.
_ADDRESS = re.compile(
    r"^(?:no\.?\s?\d|lot\b|\d+[a-z]?\s?,)|\b(?:jalan|jln|lorong|taman|persiaran|street|road|"
    r"avenue|calle|avda|avenida)\b|(?<![\d-])\d{5}(?![\d-])",
    re.IGNORECASE,
)
# A document title is not the issuer ("SIMPLIFIED TAX INVOICE", "OFFICIAL RECEIPT").
_TITLE_WORDS = frozenset((
    "tax", "invoice", "simplified", "receipt", "official", "cash", "bill", "sales", "copy",
    "duplicate", "duplicated", "customer", "reprint", "factura", "simplificada", "ticket",
    "recibo", "original",
))
# A company registration line ("Co.No:001684044-P", "(CO.REG :860671-D)", "Co-REG:...").
_REGISTRATION_LINE = re.compile(r"^\W*(?:co|company|reg)\b\W*(?:no|reg|regn)\b", re.IGNORECASE)
# A line that is only a company number ("(0005583085-K)", "1188096-W", "Co.No:001684044-P",
# "Co-REG:860671-D"), or a name line ending with one in brackets.
_COMPANY_NUMBER = re.compile(
    r"^\W*(?:(?:co|company|reg)\b\W*(?:no|reg|regn)?\b\W*)?\d{5,}[\dO]?\s?-\s?[A-Z]\W*$",
    re.IGNORECASE)
_NUMBER_AFTER_NAME = re.compile(r"\s\(\d{5,}[\dO]?\s?-\s?[A-Z]\)$", re.IGNORECASE)
# Amount labels of a totals block: a line holding one anywhere is a row, not a name.
_TOTALS_FIELDS = frozenset(("subtotal", "tax_total", "total", "line_total"))
# Words naming the kind of business; alone on a line they end the name above ("TRADING").
_TRADE_WORDS = frozenset((
    "trading", "enterprise", "enterprises", "traders", "hardware", "restaurant", "store",
    "stores", "mart", "supermarket", "pharmacy", "bakery", "cafe", "marketing", "stationery",
))


@dataclass(frozen=True)
class _Page:
    lines: list[Line]
    bottom: float
    median: float
    receipt: bool
    tax_line: Line | None


def guess_seller(
    lines: Sequence[Line], skip: set[WordBox], skip_lines: set[int], tax_line: Line | None
) -> PartyRead:
    """The issuer's name on the first page when no seller label exists (``skip``: words of
    labels and of the buyer block; ``skip_lines``: table lines)."""
    page = _first_page(lines, tax_line)
    if page is None:
        return PartyRead()
    best: tuple[float, list[WordBox], int] | None = None
    for rank, line in enumerate(page.lines):
        if line.index in skip_lines:
            continue
        for words in _candidates(line, skip):
            score = _name_score(words, line, rank, page)
            if score > 0 and (best is None or _better(score, words, best)):
                best = (score, words, rank)
    out = PartyRead()
    if best is not None:
        words = _with_line_below(_with_line_above(best[1], best[2], page), best[2], page)
        out.party.name = name_text(words)
        out.name_words, out.name_score = words, min(best[0] / 3.0, 0.9)
    return out


def _better(score: float, words: list[WordBox], best: tuple[float, list[WordBox], int]) -> bool:
    """A higher score, or the same score with more words: of an OCR-split line
    "GARDENIA BAKERIES (KL" | ") SDN BHD", the whole line rather than its last segment."""
    return score > best[0] or (score == best[0] and len(words) > len(best[1]))


def _first_page(lines: Sequence[Line], tax_line: Line | None) -> _Page | None:
    first = [ln for ln in lines if ln.page == lines[0].page] if lines else []
    if not first:
        return None
    heights = sorted(ln.height for ln in first)
    width = max(w.x1 for ln in first for w in ln.words) - min(ln.x0 for ln in first)
    bottom = max(ln.bottom for ln in first)
    receipt = width < _RECEIPT_WIDTH or bottom - first[0].top > _RECEIPT_ASPECT * max(width, 1.0)
    return _Page(first, bottom, heights[len(heights) // 2], receipt, tax_line)


def _candidates(line: Line, skip: set[WordBox]) -> list[list[WordBox]]:
    """Each segment, then runs of close segments taken whole (an OCR-split name); a run
    ends with a segment that ends with a legal form: what stands right of "SDN BHD" is
    another text on the line, not the name's end."""
    out = [[w for w in seg.words if w not in skip] for seg in line.segments]
    run: list[WordBox] = []
    for seg in line.segments:
        if run and (seg.x0 - run[-1].x1 > _RUN_GAP * line.height or _ends_legal(run)):
            out.append(run)
            run = []
        run = run + [w for w in seg.words if w not in skip]
    if len(line.segments) > 1:
        out.append(run)
    return [words for words in out if words]


def _ends_legal(words: list[WordBox]) -> bool:
    """The words end with a legal form ("... SDN BHD", "... S/B", "... GmbH")."""
    return ends_with_legal_form(name_text(words))


def _name_score(words: list[WordBox], line: Line, rank: int, page: _Page) -> float:
    alpha = sum(any(c.isalpha() for c in w.text) for w in words)
    if clean_name(words) is None or alpha > 8 or not _readable(words):
        return 0.0
    company = company_score(name_text(words))
    if not company and _holds_label(words):
        return 0.0
    if _not_a_name(name_text(words), page.receipt):
        return 0.0
    tall = 0.6 if line.height > page.median * 1.15 else 0.0
    if page.receipt:
        company = max(company, _registered(words, rank, page))
        legal = 1.5 * company if rank < _RECEIPT_TOP_LINES else 0.3 * company
        return legal + 2.0 * (1.0 - min(rank, 10) / 10) + tall
    score = 2.0 * company + 1.0 - min(line.top / max(page.bottom, 1.0), 1.0) + tall
    tax_line = page.tax_line
    if tax_line is not None and tax_line.page == line.page:
        distance = tax_line.index - line.index
        score += 1.2 if 0 < distance <= 6 and abs(tax_line.x0 - words[0].x0) < 40 else 0.0
    return score


def _holds_label(words: list[WordBox]) -> bool:
    """A label starts the words, or a totals label stands anywhere in them ("INCL. TOTAL",
    "Sales TOTAL"): the row of a totals block."""
    if find_labels(as_line(words)):
        return True
    return any(h.field in _TOTALS_FIELDS
               for i in range(1, len(words)) for h in find_labels(as_line(words[i:])))


def _registered(words: list[WordBox], rank: int, page: _Page) -> float:
    """1.0 when a company number follows the name: in brackets at the end of its line, or
    alone on the line under it (a receipt prints the registered company so)."""
    if _NUMBER_AFTER_NAME.search(text_of(words)):
        return 1.0
    if rank + 1 >= len(page.lines):
        return 0.0
    line, below = page.lines[rank], page.lines[rank + 1]
    close = below.top - line.bottom < 1.5 * max(line.height, below.height)
    return 1.0 if close and _COMPANY_NUMBER.match(below.text.strip()) else 0.0


def _not_a_name(text: str, receipt: bool) -> bool:
    """A document title, a registration line, or (receipts) an address line."""
    alpha = [norm(t) for t in text.split() if any(c.isalpha() for c in t)]
    if alpha and all(a in _TITLE_WORDS for a in alpha):
        return True
    return _REGISTRATION_LINE.search(text) is not None or (
        receipt and _ADDRESS.search(text) is not None)


def _trade_only(words: list[WordBox]) -> bool:
    alpha = [norm(w.text) for w in words if any(c.isalpha() for c in w.text)]
    return bool(alpha) and all(a in _TRADE_WORDS for a in alpha)


def _legal_or_qualifier(token: str) -> bool:
    """A legal form ("SDN", "BHD", "CO."), a business-kind word or a bracketed place
    ("(M)", "(KL)"): the part of a name line that does not name the business itself."""
    bracketed = token.startswith("(") and token.endswith(")") and len(token) <= 8
    return bool(company_score(token)) or norm(token) in _TRADE_WORDS or bracketed or not norm(token)


def _readable(words: list[WordBox]) -> bool:
    """A word of three letters or more, mostly letters, no amount ("supplies (excl. GST):
    3,60"), and (OCR) read with some confidence: not a smudge read as "ae" or "1 i 1 | 1"."""
    name = name_text(words)
    text = name.replace(" ", "")
    letters = sum(c.isalpha() for c in text)
    longest = max(sum(c.isalpha() for c in w.text) for w in words)
    if longest < 3 or letters < _MIN_LETTER_SHARE * len(text) or _AMOUNT.search(text):
        return False
    named = [w for w in words if any(c.isalpha() for c in w.text) and w.text in name] or words
    conf = sum(w.conf for w in named) / len(named)
    floor = _MIN_OCR_CONF_LEGAL if company_score(name) else _MIN_OCR_CONF
    return conf >= floor or conf >= 1.0


def _with_line_above(words: list[WordBox], rank: int, page: _Page) -> list[WordBox]:
    """A name line that is little more than its legal form continues the line above."""
    if rank == 0 or not (company_score(text_of(words)) or _trade_only(words)):
        return words
    head = [t for t in repair_name(words) if not _legal_or_qualifier(t)]
    above, line = page.lines[rank - 1], page.lines[rank]
    close = line.top - above.bottom < 0.8 * line.height
    if len(head) > 1 or not close or clean_name(above.words) is None:
        return words
    if find_labels(as_line(above.words)) or not _readable(above.words):
        return words
    return [*above.words, *words]


def _with_line_below(words: list[WordBox], rank: int, page: _Page) -> list[WordBox]:
    """A name without a legal form goes on with the line under it when that line holds
    only a legal form or a business-kind word ("TSH POWER HARDWARE" / "TRADING")."""
    if rank + 1 >= len(page.lines) or company_score(name_text(words)):
        return words
    line, below = page.lines[rank], page.lines[rank + 1]
    kept = [w for w in below.words if norm(w.text)]
    if not kept or below.top - line.bottom >= 0.8 * below.height:
        return words
    if _not_a_name(text_of(kept), page.receipt):  # "Co.No:001684044-P" is no "Co."
        return words
    if not all(_legal_or_qualifier(t) for t in repair_name(kept)):
        return words
    if not (company_score(text_of(kept)) or _trade_only(kept)) or not _readable(kept):
        return words
    return [*words, *kept]

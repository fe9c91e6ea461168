"""More readings of a short scan whose first OCR reading lacks a required field, and a vote.

Tesseract's errors depend on how it is asked: the same receipt read as one column of text
(``--psm 4``, the default here), as a uniform block (``--psm 6``) or with Sauvola
thresholding misreads different characters. When the first reading of a document of at most
``MAX_PAGES`` pages lacks its issue date, total or seller name (or read an implausible issue
date), it is read twice more with those settings, each reading goes through the same field
extractor, and each field group is settled by vote:

- a value that two readings agree on wins over a different (or missing) first value;
- else the first reading's value stands;
- else (the first has none) the most confident value another reading has is taken.

Nothing is invented: every value was read from the page, and its evidence words (same page
coordinates: every reading cleans the page the same way) come with it. The total travels
with its subtotal, tax, withholding, allowances, charges and VAT breakdown, so the
arithmetic of one reading is never mixed with another's.

Measured on the 101 SROIE receipts (first readings cached, ``bench/extract_scanned.py``):
20 receipts were read again; date 81 -> 85, total 80 -> 81, company 68 -> 69. On 100 of the
generator's scans (``--generated 100 --seed 64000``, with ``ARFLOW_OCR_REREAD=0`` and
without): issue date 95 -> 97 of 100, header fields 1274 -> 1276 of 1300, for 11-16 % more
time (125 pages with 2 processes: 88.5-88.8 s without, 98.7-102.9 s with, separate runs).

Measured and left off (same cached SROIE readings): also reading again receipts whose seller
name has a word read with confidence < 0.75 (44 of 101 receipts instead of 19 at the time)
gave company 69 -> 72 (the name taken as the medoid of the three readings), date and total +1
each, for twice the OCR time on those receipts; adding two readings with tessdata_best's int
model (4 more readings) reached company 74 but not the date or total targets either.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from extractors.fields import FieldResult
from extractors.ocr.tesseract import SAUVOLA
from models.domain import WordBox

MAX_PAGES = 3  # longer documents are not read again (two more readings of each page)
REREADS: tuple[dict[str, Any], ...] = ({"psm": 6}, {"thresholding": SAUVOLA})
_REQUIRED = ("issue_date", "total", "seller.name")
# the validation's window for plausible dates (matching.checks: INVALID_DATES outside it)
_EARLIEST, _AHEAD = date(2000, 1, 1), timedelta(days=365)
# "Page 1 of 3", "Página 2 de 3", "Seite 1 von 2", "Pag. 1/2"
_PAGE_OF = re.compile(
    r"(?i)\b(?:page|p[aá]gina|seite|pag\.?)\s*(\d{1,3})\s*(?:of|de|von|/)\s*(\d{1,3})\b")
# the first name of each group decides; the others travel with it
_GROUPS = (("issue_date",), ("total", "subtotal", "tax_total", "withholding",
           "allowances", "charges", "tax_breakdown"),
           ("seller.name",),
           ("invoice_number",), ("currency",), ("invoice_type",), ("preceding_invoice",))
# fields with a default that is not a reading: read only when the extractor set them
_DEFAULTED = frozenset(("invoice_type",))


def needs_another_reading(first: FieldResult, pages: int, *, incomplete: bool = False,
                          today: date | None = None) -> bool:
    """True when a short document's first reading lacks a required field, or read an issue
    date no invoice has (before 2000, or over a year ahead: "29/08/2081" for 2017). The total
    is not looked for again on a document whose last page says more pages follow
    (``incomplete``): its total is on a page that is not there."""
    if not 0 < pages <= MAX_PAGES:
        return False
    wanted = [n for n in _REQUIRED if not (incomplete and n == "total")]
    return any(field_value(first, name) is None for name in wanted) or not _plausible(
        first.invoice.issue_date, today or date.today())


def _plausible(day: date | None, today: date) -> bool:
    return day is None or _EARLIEST <= day <= today + _AHEAD


def declared_incomplete(pages: Sequence[Sequence[WordBox]]) -> bool:
    """The last page prints "Page N of M" with N < M: later pages are missing."""
    if not pages:
        return False
    text = " ".join(w.text for w in pages[-1])
    return any(int(m[1]) < int(m[2]) for m in _PAGE_OF.finditer(text))


def vote(first: FieldResult, others: Sequence[FieldResult]) -> FieldResult:
    """``first`` with each field group settled by vote over all readings (see the module)."""
    for group in _GROUPS:
        source = _winner(group[0], first, others)
        if source is not first:
            for name in group:
                copy_field(name, source, first)
    return first


def _winner(name: str, first: FieldResult, others: Sequence[FieldResult]) -> FieldResult:
    readings = [first, *others]
    counts = Counter(v for r in readings if (v := field_value(r, name)) is not None)
    if counts:
        value, votes = counts.most_common(1)[0]
        if votes >= 2 and value != field_value(first, name):
            return next(r for r in readings if field_value(r, name) == value)
    if field_value(first, name) is not None:
        return first
    having = [r for r in others if field_value(r, name) is not None]
    return max(having, key=lambda r: r.confidence.get(name, 0.0)) if having else first


def field_value(result: FieldResult, name: str) -> Any:
    """What a reading found for ``name``; None when it found nothing (an invoice's type is
    found only when a title named it: INVOICE by default is not a reading)."""
    if name in _DEFAULTED and name not in result.confidence:
        return None
    return result.invoice.get(name)


def copy_field(name: str, source: FieldResult, target: FieldResult) -> None:
    value = source.invoice.get(name)
    head, _, rest = name.partition(".")
    setattr(getattr(target.invoice, head) if rest else target.invoice, rest or head, value)
    for table in ("confidence", "evidence"):
        found: dict[str, Any] = getattr(source, table)
        kept: dict[str, Any] = getattr(target, table)
        if name in found:
            kept[name] = found[name]
        else:
            kept.pop(name, None)


Reader = Callable[[dict[str, Any]], FieldResult]


def settle(first: FieldResult, pages: Sequence[Sequence[WordBox]], read_again: Reader,
           *, parallel: int = 1) -> tuple[FieldResult, int]:
    """``first`` (read from ``pages``), or the vote of it and the ``REREADS`` readings when
    it needs them, made ``parallel`` at a time (each drives its own tesseract processes);
    also how many more readings were made."""
    if not needs_another_reading(first, len(pages), incomplete=declared_incomplete(pages)):
        return first, 0
    if parallel > 1:
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="reread") as pool:
            others = list(pool.map(read_again, REREADS))
    else:
        others = [read_again(options) for options in REREADS]
    return vote(first, others), len(others)

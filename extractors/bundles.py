"""Files that hold several invoices: a scanner's batch, or invoices merged into one PDF.

Read as one document, such a file would mix the first invoice's header with every invoice's
lines and the last one's totals. Each page's key fields are read on their own instead, and,
once the pages before it stated a total, a new invoice starts at a page that states another
invoice number with an issue date or a total of its own; or, its number unread (OCR misses
one now and then), at a page stating both an issue date and a total right after the page
with the previous total. A continuation page repeats its invoice's number or states none,
and an invoice's first pages seldom state a total before its last, so a multi-page invoice
stays whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from arflow.reasons import Reason
from extractors.fields import extract_fields
from models.domain import Invoice, Problem, WordBox, pages_label

_NON_ALNUM = re.compile(r"[^0-9A-Z]+")


@dataclass(frozen=True)
class Segment:
    """Pages `first`..`last` (0-based, inclusive) of one invoice, and the number it states."""

    first: int
    last: int
    number: str | None

    def label(self) -> str:
        return f"{pages_label(self.first, self.last)} ({self.number or 'no number'})"


def segments(pages: Sequence[Sequence[WordBox]], page_width: float | None = None) -> list[Segment]:
    """The invoices in a file, in page order; one segment for a file of one invoice."""
    if len(pages) < 2:
        return [Segment(0, max(len(pages) - 1, 0), None)]
    def key_fields(index: int) -> Invoice:
        return extract_fields([pages[index]], page_width=page_width,
                              key_fields_only=True).invoice

    previous, last = key_fields(0), len(pages) - 1
    out: list[Segment] = []
    start, number, total_seen = 0, previous.invoice_number, previous.total is not None
    for index in range(1, len(pages)):
        if index == last and not total_seen:
            break  # no invoice can start there, and no page follows: not worth reading
        read = key_fields(index)
        if total_seen and _starts_invoice(read, number, previous.total):
            out.append(Segment(start, index - 1, number))
            start, number, total_seen = index, read.invoice_number, False
        number = number or read.invoice_number
        total_seen = total_seen or read.total is not None
        previous = read
    out.append(Segment(start, len(pages) - 1, number))
    return out


@dataclass(frozen=True)
class Reading:
    """Which pages to read the fields from, and what a file of several invoices holds."""

    pages: range
    problem: Problem | None = None             # MULTIPLE_INVOICES, naming every invoice
    invoices: tuple[tuple[int, int], ...] = ()  # each invoice's first and last page


def first_invoice(
    pages: Sequence[Sequence[WordBox]], page_width: float | None = None,
) -> Reading:
    """All pages for a file of one invoice; the first invoice's pages, a MULTIPLE_INVOICES
    problem and every invoice's pages for a file of several."""
    parts = segments(pages, page_width)
    if len(parts) < 2:
        return Reading(range(len(pages)))
    found = "; ".join(part.label() for part in parts)
    return Reading(
        range(parts[0].first, parts[0].last + 1),
        Problem(Reason.MULTIPLE_INVOICES,
                f"the file holds {len(parts)} invoices",
                expected="one invoice per file", found=found),
        tuple((part.first, part.last) for part in parts))


def _starts_invoice(read: Invoice, number: str | None, total_before: Decimal | None) -> bool:
    """A page stating an invoice number other than the one being read (or than none, when
    its number was missed), with an issue date or a total of its own; or, its own number
    missed (by OCR, say), a page stating both an issue date and another total right after
    the page that stated the previous invoice's total (the same total again is the same
    invoice: a summary page, then its details)."""
    if read.invoice_number:
        return (not _same(read.invoice_number, number)
                and (read.issue_date is not None or read.total is not None))
    return (total_before is not None and read.issue_date is not None
            and read.total is not None and read.total != total_before)


def _same(a: str | None, b: str | None) -> bool:
    return _key(a) == _key(b)


def _key(number: str | None) -> str:
    text = unicodedata.normalize("NFKD", number or "").encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("", text.upper()).lstrip("0")

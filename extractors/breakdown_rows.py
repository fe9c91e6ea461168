"""A totals block's tax rows, one per rate: a tax word, the rate with its "%", maybe the base,
then the tax ("IVA 21%  210,00", "IVA 10% s/ 150,00  15,00", "VAT 20% on 1,000.00  200.00",
"TVA collectée (vente) 20,0%  81,90 €  16,38 €", "zzgl. Umsatzsteuer 7% von 129,37  9,06",
a boxed "IVA 21%" over its amount), within the twelve lines that end at the total's.

A row is read from a tax-total candidate (``candidates``: its label starts a segment, its
value is beside or under it) whose label a rate follows; or, on a line without one, from a
tax word inside a segment ("Steuerbasisbetrag USt. 7%  275,00  19,25"). After the rate, one
amount is the tax, two are the base and the tax, and three the base, the tax and their sum.
``extractors.breakdown`` decides whether the rows are the invoice's breakdown.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from decimal import Decimal

from extractors.breakdown_table import PrintedRow, parse_rate, rate_in
from extractors.candidates import Candidate
from extractors.layout import Line, norm
from extractors.parse import ISO_CURRENCIES
from extractors.values import Read, read_amounts
from models.domain import WordBox

BLOCK = 12  # lines of a totals block above its total (as ``adjustments``)
_BEFORE_RATE = 3  # words between a tax word and its rate ("TVA collectée (vente) 20,0%")
_GLUED = re.compile(r"^[^\W\d_]{2,}(\d{1,2}(?:[.,]\d{1,2})?)%$")  # OCR: "IVA21%"
_TAX_WORDS = frozenset(("iva", "vat", "tax", "tva", "btw", "ust", "mwst", "umsatzsteuer",
                        "igic", "gst", "impuestos"))
_CURRENCY_MARKS = frozenset(("€", "$", "£", "¥", "₹"))


def totals_rows(found: Sequence[Candidate], lines: Sequence[Line], last: int,
                mark: str | None, skip: Collection[int] = ()) -> list[PrintedRow]:
    """The tax rows with a rate of the totals block ending at line `last` (the total's);
    `skip` are the line-item table's lines."""
    rows: dict[int, list[PrintedRow]] = {}
    for cand in found:
        if last - BLOCK <= cand.hit.line.index <= last:
            row = _candidate_row(cand, mark)
            if row is not None and row not in rows.get(cand.hit.line.index, []):
                rows.setdefault(cand.hit.line.index, []).append(row)
    for line in lines[max(last - BLOCK, 0) : last + 1]:
        if line.index not in rows and line.index not in skip:
            rows[line.index] = _scanned_rows(line, mark)
    return [row for index in sorted(rows) for row in rows[index]]


def _candidate_row(cand: Candidate, mark: str | None) -> PrintedRow | None:
    """The rate after the label, and any amounts between it and the tax read: the base (or,
    when the amount read is their sum, the base and the tax)."""
    line, hit = cand.hit.line, cand.hit
    rate = _rate_after(hit.words, line.words[hit.end : hit.end + _BEFORE_RATE])
    if rate is None:
        return None
    after, stop = _index_of(line.words, rate[1][-1]), _index_of(line.words, cand.words[0])
    span = line.words[after + 1 : stop] if after is not None and stop is not None else []
    return _row(rate, [*read_amounts(span, mark), Read(cand.value, list(cand.words))],
                hit.words)


def _scanned_rows(line: Line, mark: str | None) -> list[PrintedRow]:
    """Rows led by a tax word inside a segment, with their amounts after the rate."""
    out: list[PrintedRow] = []
    for index, word in enumerate(line.words):
        if norm(word.text) not in _TAX_WORDS:
            continue
        rate = _rate_after((), line.words[index + 1 : index + 1 + _BEFORE_RATE])
        at = _index_of(line.words, rate[1][-1]) if rate is not None else None
        if rate is None or at is None:
            continue
        row = _row(rate, read_amounts(_amount_run(line.words[at + 1 :]), mark), [word])
        if row is not None:
            out.append(row)
    return out


def _row(rate: tuple[Decimal, list[WordBox]], amounts: list[Read[Decimal]],
         label: Sequence[WordBox]) -> PrintedRow | None:
    """The tax (one amount), base and tax (two), or base, tax and their sum (three)."""
    if not amounts or len(amounts) > 3:
        return None
    if len(amounts) == 3 and amounts[0].value + amounts[1].value != amounts[2].value:
        return None
    base = amounts[0] if len(amounts) > 1 else None
    tax = amounts[1] if len(amounts) > 1 else amounts[0]
    words = (*label, *rate[1], *(base.words if base else ()), *tax.words)
    return PrintedRow(rate[0], base.value if base else None, tax.value, words, tuple(rate[1]))


def _amount_run(words: Sequence[WordBox]) -> list[WordBox]:
    """The words after a rate up to the first word after its amounts that is no figure or
    currency ("von 129,37 9,06", "on 1,000.00 200.00 Subtotal ..." stops at "Subtotal")."""
    run: list[WordBox] = []
    for word in words:
        figure = any(ch.isdigit() for ch in word.text)
        if not figure and not _currency(word.text) and any(
                any(ch.isdigit() for ch in w.text) for w in run):
            break
        run.append(word)
    return run


def _currency(text: str) -> bool:
    return text in _CURRENCY_MARKS or text.upper() in ISO_CURRENCIES


def _rate_after(label: Sequence[WordBox],
                words: Sequence[WordBox]) -> tuple[Decimal, list[WordBox]] | None:
    """A rate with its "%" among the first words after a label, before any other figure
    ("IVA 21%", "VAT 20 %", "Tax (20%)", "VAT @ 0%", "TVA collectée (vente) 20,0%"), or
    glued to the label by OCR ("IVA21%")."""
    glued = _GLUED.match(label[-1].text) if label else None
    if glued is not None:
        value = parse_rate(glued.group(1))
        return None if value is None else (value, [label[-1]])
    for index, word in enumerate(words):
        found = rate_in(words[index : index + 2])
        if found is not None and found[1][0] is word and "%" in "".join(
                w.text for w in found[1]):
            return found
        if any(ch.isdigit() for ch in word.text):
            return None
    return None


def _index_of(words: Sequence[WordBox], word: WordBox) -> int | None:
    return next((i for i, w in enumerate(words) if w is word), None)

"""Candidate values for header fields, read next to every label hit."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from extractors.dates import parse_date, search_date
from extractors.labels import LabelHit
from extractors.layout import Line, norm
from extractors.parse import ISO_CURRENCIES
from extractors.regions import below, rest_of_line, right_of
from extractors.values import (
    Read,
    read_amounts,
    read_currency,
    read_date,
    read_iban,
    read_identifier,
    read_ocr_date,
    read_text,
)
from models.domain import WordBox

AMOUNT_FIELDS = ("subtotal", "tax_total", "total", "withholding", "line_total", "allowance",
                 "charge")
_BELOW_FACTOR = 0.85  # a value under its label is a little less sure than one beside it
_QUALIFIED = 0.7  # a label followed by unknown words before its value
_CENTS = re.compile(r"\d[.,]\d{2}(?!\d)")
_DATE_SHAPED = re.compile(r"[/.\-]|[A-Za-z]{3}")  # separators or a month name: not 20260214


@dataclass(frozen=True)
class Candidate:
    field: str
    value: Any
    score: float
    words: list[WordBox]
    hit: LabelHit


@dataclass(frozen=True)
class DocContext:
    lines: Sequence[Line]
    mark: str | None  # decimal mark of the document, "," or "."
    day_first: bool


Reader = Callable[[list[WordBox], DocContext], Read[Any] | None]


def _date_reader(words: list[WordBox], ctx: DocContext) -> Read[Any] | None:
    return read_date(words, ctx.day_first) or read_ocr_date(words, ctx.day_first)


def _id_reader(words: list[WordBox], ctx: DocContext) -> Read[Any] | None:
    """An identifier, but not a date nor part of one: under a bare "INVOICE" title the next
    line may be "Date 21-Mar-2026" or "Fecha 13 de mayo de 2026", and a date (or its year)
    is never the document's number."""
    found = read_identifier(words)
    if found is None or _inside_a_date(found.words[0], _line_of(found.words[0], ctx, words)):
        return None
    if _DATE_SHAPED.search(str(found.value)) is None:
        return found
    return None if parse_date(str(found.value)) is not None else found


def _line_of(word: WordBox, ctx: DocContext, fallback: list[WordBox]) -> list[WordBox]:
    """The whole text line ``word`` stands on (a value below a label is read from a region
    that may cut a date in two: "FACTURA" above "... 16 de marzo de 2026")."""
    for line in ctx.lines:
        if any(w is word for w in line.words):
            return list(line.words)
    return fallback


def _inside_a_date(word: WordBox, words: list[WordBox]) -> bool:
    """True when ``word`` is part of a date written in words ("13 de mayo de 2026")."""
    text = " ".join(w.text for w in words)
    found = search_date(text)
    index = next((i for i, w in enumerate(words) if w is word), None)
    if found is None or index is None:
        return False
    start = sum(len(w.text) + 1 for w in words[:index])
    return found[1] <= start < found[2]


def _currency_reader(words: list[WordBox], ctx: DocContext) -> Read[Any] | None:
    return read_currency(words)


def _iban_reader(words: list[WordBox], ctx: DocContext) -> Read[Any] | None:
    return read_iban(words)


def _text_reader(words: list[WordBox], ctx: DocContext) -> Read[Any] | None:
    return read_text(words)


def _amount_reader(words: list[WordBox], ctx: DocContext) -> Read[Any] | None:
    """The last amount after the label; the last one with cents if there is one ("Total
    5.50 4": an OCR speck after the amount, "Total Qty 4 ... 91.16"); with none, an OCR
    word read with a colon for its decimal point ("Total Payable: 26:58")."""
    amounts = read_amounts(words, ctx.mark)
    with_cents = [a for a in amounts if any(_CENTS.search(w.text) for w in a.words)]
    chosen = with_cents or amounts or _colon_for_point(words, ctx.mark)
    return chosen[-1] if chosen else None


_COLON_CENTS = re.compile(r"^\d{1,7}:\d{2}$")


def _colon_for_point(words: list[WordBox], mark: str | None) -> list[Read[Any]]:
    """OCR words after an amount label shaped "26:58", read with the document's decimal
    mark for the colon (a time of day never stands after an amount label)."""
    out: list[Read[Any]] = []
    for word in words:
        if word.conf < 1.0 and _COLON_CENTS.match(word.text):
            text = word.text.replace(":", mark or ".")
            out += [Read(a.value, [word]) for a in read_amounts([replace(word, text=text)], mark)]
    return out


READERS: dict[str, Reader] = {
    "invoice_number": _id_reader,
    "order_number": _id_reader,
    "preceding_invoice": _id_reader,
    "issue_date": _date_reader,
    "due_date": _date_reader,
    "currency": _currency_reader,
    "iban": _iban_reader,
    "payment_terms": _text_reader,
    "subtotal": _amount_reader,
    "tax_total": _amount_reader,
    "total": _amount_reader,
    "withholding": _amount_reader,  # printed "-150,00" or "150,00": ``totals`` takes |x|
    "line_total": _amount_reader,
    "allowance": _amount_reader,  # "-20,00" or "20,00": ``adjustments`` takes |x|
    "charge": _amount_reader,
    "cash": _amount_reader,
    "change": _amount_reader,
    "card": _amount_reader,
}


def _qualified(beside: list[WordBox], value: list[WordBox]) -> bool:
    """Words between the label and its value ("Date de facture *associée*: ...") mean the
    label is part of a longer phrase this vocabulary does not know."""
    if not value or value[0] not in beside:
        return False
    between = beside[: beside.index(value[0])]
    return any(_is_word(w.text) for w in between)


def _is_word(text: str) -> bool:
    token = norm(text)
    return len(token) > 1 and token.isalpha() and token.upper() not in ISO_CURRENCIES


def collect(hits: Sequence[LabelHit], ctx: DocContext) -> dict[str, list[Candidate]]:
    """Every readable candidate per field, right of and below each label."""
    by_line: dict[int, list[LabelHit]] = {}
    for hit in hits:
        by_line.setdefault(hit.line.index, []).append(hit)
    out: dict[str, list[Candidate]] = {}
    for hit in hits:
        reader = READERS.get(hit.field)
        if reader is None:
            continue
        found = _read_hit(hit, reader, by_line[hit.line.index], ctx)
        if found is not None:
            out.setdefault(hit.field, []).append(found)
    return out


def _read_hit(
    hit: LabelHit, reader: Reader, same_line: list[LabelHit], ctx: DocContext
) -> Candidate | None:
    others = [h for h in same_line if h is not hit]
    read_beside = rest_of_line if hit.field in AMOUNT_FIELDS else right_of
    beside = read_beside(hit, others)
    if beside and not any(norm(w.text) for w in beside):  # "Date > 05-05-2018": a lone mark
        beside = rest_of_line(hit, others)
    found = reader(beside, ctx) if beside else None
    if found is not None:
        score = hit.strength * (_QUALIFIED if _qualified(beside, found.words) else 1.0)
        return Candidate(hit.field, found.value, score, found.words, hit)
    under = below(hit, ctx.lines, others)
    found = reader(under, ctx) if under else None
    if found is not None:
        return Candidate(hit.field, found.value, hit.strength * _BELOW_FACTOR, found.words, hit)
    return None

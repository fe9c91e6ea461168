"""Reading typed values out of word runs: amounts, dates, identifiers, free text.

Each reader takes a list of words (the region right of or below a label) and returns the
value with the words it came from, or ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from extractors.dates import repair_ocr_date, search_date
from extractors.ids import find_iban, find_tax_ids, plausible_iban, plausible_tax_id
from extractors.layout import norm
from extractors.parse import detect_currency, parse_amount
from models.domain import WordBox

T = TypeVar("T")

_CURRENCY_WORD = re.compile(r"^(?:[€$£¥₹]|[A-Z]{3}|US\$|RM)$")
# A currency glued to its number ("RM1.00", OCR "Rm1.00"): not an identifier like "AB12".
_CURRENCY_PREFIX = re.compile(r"^(?:RM|Rm|US\$|S\$)(?=\d)")
_ID_PREFIX = re.compile(r"^(?:n[º°o]\.?|#|no\.|nr\.?|:)+", re.IGNORECASE)
_ID_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-/.]*[A-Za-z0-9]$|^\d$")
_PERCENT = re.compile(r"^\(?-?\d+(?:[.,]\d+)?\s?%\)?$")


@dataclass(frozen=True)
class Read(Generic[T]):
    value: T
    words: list[WordBox]


def text_of(words: Sequence[WordBox]) -> str:
    return " ".join(w.text for w in words)


def read_amounts(words: Sequence[WordBox], mark: str | None) -> list[Read[Decimal]]:
    """Every amount in the words, a currency symbol word joined to its number."""
    out: list[Read[Decimal]] = []
    i = 0
    while i < len(words):
        used, value = _amount_at(words, i, mark)
        if value is not None:
            out.append(Read(value, list(words[i : i + used])))
            i += used
        else:
            i += 1
    return out


def _amount_at(words: Sequence[WordBox], i: int, mark: str | None) -> tuple[int, Decimal | None]:
    text = words[i].text
    if _PERCENT.match(text) or not any(c.isdigit() for c in text + _next_text(words, i)):
        return 1, None
    if _CURRENCY_WORD.match(text) and i + 2 < len(words) and _is_thousands_tail(
            words[i + 1], words[i + 2]):  # "€ 6 284,25", not "€ 6" then "284,25"
        grouped = parse_amount(" ".join(w.text for w in words[i : i + 3]), mark)
        if grouped is not None:
            return 3, grouped
    pair = _two_word_amount(words, i, mark)
    if pair is not None:
        return 2, pair
    if _looks_like_date_or_id(_CURRENCY_PREFIX.sub("", text)) or _next_text(words, i) == "%":
        return 1, None
    value = parse_amount(text.rstrip(":"), mark)
    if value is not None and _CURRENCY_WORD.match(_next_text(words, i)):
        return 2, value
    return 1, value


def _two_word_amount(words: Sequence[WordBox], i: int, mark: str | None) -> Decimal | None:
    """An amount written over two words: a currency word and its number, ``1 234,56`` with
    a narrow gap, or (OCR) ``1. 40`` with a space after the decimal mark."""
    if i + 1 >= len(words):
        return None
    word, following = words[i], words[i + 1]
    if _CURRENCY_WORD.match(word.text) or _is_thousands_tail(word, following):
        return parse_amount(word.text + " " + following.text, mark)
    if _is_split_cents(word, following):
        return parse_amount(word.text + following.text, mark)
    return None


def _next_text(words: Sequence[WordBox], i: int) -> str:
    return words[i + 1].text if i + 1 < len(words) else ""


def _is_thousands_tail(word: WordBox, following: WordBox) -> bool:
    """``1 234,56`` (or ``-15 801,85``) printed as two words with a narrow gap."""
    gap = following.x0 - word.x1
    height = word.bottom - word.top
    head = word.text.removeprefix("-")
    return (
        head.isdigit() and len(head) <= 3 and gap < height * 0.6
        and re.match(r"^\d{3}(?:[.,]\d+)?$", following.text) is not None
    )


def _is_split_cents(word: WordBox, following: WordBox) -> bool:
    """``1. 40``: OCR put a space after the decimal mark (OCR words only)."""
    gap = following.x0 - word.x1
    return (
        word.conf < 1.0 and _OPEN_DECIMAL.match(word.text) is not None
        and _CENTS_ONLY.match(following.text) is not None and gap < (word.bottom - word.top)
    )


_OPEN_DECIMAL = re.compile(r"^-?(?:RM)?\d{1,3}(?:,\d{3})*[.,]$")
_CENTS_ONLY = re.compile(r"^\d{2}$")
_DATE_OR_ID = re.compile(r"\d[/-]\d{1,2}[/-]\d|[A-Za-z]{2,}\d|\d[A-Za-z]{2,}")


def _looks_like_date_or_id(text: str) -> bool:
    return _DATE_OR_ID.search(text) is not None


def read_date(words: Sequence[WordBox], day_first: bool) -> Read[date] | None:
    text = text_of(words)
    found = search_date(text, day_first)
    if found is None:
        return None
    return Read(found[0], _words_in_span(words, found[1], found[2]))


def read_ocr_date(words: Sequence[WordBox], day_first: bool) -> Read[date] | None:
    """A date in OCR words that ``read_date`` could not read, after ``repair_ocr_date``
    (a digital text layer is taken as printed)."""
    if not words or any(w.conf >= 1.0 for w in words):
        return None
    found = search_date(repair_ocr_date(text_of(words)), day_first)
    if found is None:
        return None
    return Read(found[0], [w for w in words[:_OCR_DATE_WORDS] if any(c.isdigit() for c in w.text)])


_OCR_DATE_WORDS = 4  # a repaired date spans at most this many OCR words


def read_identifier(words: Sequence[WordBox]) -> Read[str] | None:
    """The first identifier-like token (has a digit, not a date, not an amount with symbol)."""
    for word in words[:4]:
        token = _ID_PREFIX.sub("", word.text).strip(".,;:()")
        if not token or not any(c.isdigit() for c in token) or not _ID_TOKEN.match(token):
            continue
        if search_date(token) is not None and len(token) <= 10:
            continue
        return Read(token, [word])
    return None


def read_currency(words: Sequence[WordBox]) -> Read[str] | None:
    for word in words[:6]:
        code = detect_currency(word.text)
        if code:
            return Read(code, [word])
    return None


def read_iban(words: Sequence[WordBox]) -> Read[str] | None:
    text = text_of(words)
    found = find_iban(text)
    if found:
        return Read(found[0], _words_in_span(words, found[1], found[2]))
    for end in range(min(len(words), 9), 0, -1):
        value = plausible_iban("".join(w.text for w in words[:end]))
        if value:
            return Read(value, list(words[:end]))
    return None


def read_tax_id(words: Sequence[WordBox]) -> tuple[Read[str], bool] | None:
    """A tax ID and whether it passed its checksum: a valid one anywhere in the first words,
    else a well-shaped one starting at one of the first four words."""
    valid = find_valid_tax_id(words[:30])
    if valid is not None:
        return valid, True
    for start in range(min(len(words), 4)):
        for end in range(min(len(words), start + 4), start, -1):
            value = plausible_tax_id("".join(w.text for w in words[start:end]))
            if value:
                return Read(value, list(words[start:end])), False
    return None


def find_valid_tax_id(words: Sequence[WordBox]) -> Read[str] | None:
    """The first checksum-valid tax ID in the words."""
    found = find_tax_ids(text_of(words))
    if not found:
        return None
    return Read(found[0][0], _words_in_span(words, found[0][1], found[0][2]))


def read_text(words: Sequence[WordBox]) -> Read[str] | None:
    kept = [w for w in words if norm(w.text)]
    if not kept:
        return None
    return Read(text_of(kept), kept)


def _words_in_span(words: Sequence[WordBox], start: int, end: int) -> list[WordBox]:
    out: list[WordBox] = []
    position = 0
    for word in words:
        w_start, w_end = position, position + len(word.text)
        if w_end > start and w_start < end:
            out.append(word)
        position = w_end + 1
    return out

"""Noisy-text parsers for amounts and currencies (dates in `dates`, tax IDs/IBANs in `ids`).

Every parser returns a value or ``None``; none of them raises on arbitrary text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from extractors.dates import parse_date, search_date
from extractors.ids import normalize_iban, normalize_tax_id, tax_id_country

__all__ = [
    "detect_currency",
    "find_amounts",
    "normalize_iban",
    "normalize_tax_id",
    "parse_amount",
    "parse_date",
    "search_date",
    "tax_id_country",
]

ISO_CURRENCIES = frozenset((
    "EUR", "USD", "GBP", "CHF", "JPY", "CNY", "INR", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK",
    "PLN", "CZK", "HUF", "RON", "BGN", "HRK", "ISK", "TRY", "RUB", "BRL", "MXN", "ARS", "CLP",
    "COP", "PEN", "ZAR", "SGD", "HKD", "KRW", "TWD", "THB", "MYR", "IDR", "PHP", "VND", "AED",
    "SAR", "ILS", "EGP", "MAD",
))
_SYMBOLS = (
    ("US$", "USD"), ("CA$", "CAD"), ("C$", "CAD"), ("AU$", "AUD"), ("A$", "AUD"),
    ("NZ$", "NZD"), ("HK$", "HKD"), ("S$", "SGD"), ("R$", "BRL"),
    ("€", "EUR"), ("£", "GBP"), ("$", "USD"), ("¥", "JPY"), ("₹", "INR"), ("₩", "KRW"),
    ("zł", "PLN"), ("Kč", "CZK"), ("₺", "TRY"),
)
_WORDS = {"euro": "EUR", "euros": "EUR", "dollar": "USD", "dollars": "USD", "dólares": "USD",
          "pound": "GBP", "pounds": "GBP", "libras": "GBP", "rs": "INR", "rs.": "INR",
          "rm": "MYR"}
_CODE_RE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_WORD_RE = re.compile(r"[a-záéíóú]+\.?", re.IGNORECASE)

_SPACES = "\u00a0\u202f\u2009 '’"
_MINUS = "-−–"
_AMOUNT_RE = re.compile(
    r"(?<![\w.,])[(\-−–]?\s?(?:[A-Z]{3}\s?|[€£$¥₹]\s?)?[(\-−–]?\d[\d.,\u00a0\u202f\u2009' ’]*"
    r"(?:\s?(?:[€£$¥₹]|[A-Z]{3}))?\)?"
)
_SPACE_SPLIT = re.compile(r"[\u00a0\u202f\u2009 '’]+")
_GROUP_START = re.compile(r"\d{3}(?!\d)")
_NUMBER_CORE = re.compile(r"\d[\d.,\u00a0\u202f\u2009' ’]*\d|\d")


def currency_code(text: str) -> str | None:
    """The ISO 4217 code a person typed: three letters ("eur"), or one currency symbol
    alone ("€", "US$"); None for anything else ("€€€", "EURO")."""
    typed = text.strip()
    code = typed.upper()
    if len(code) == 3 and code.isascii() and code.isalpha():
        return code
    return next((iso for symbol, iso in _SYMBOLS if typed == symbol), None)


def detect_currency(text: str) -> str | None:
    """ISO 4217 code for the first currency symbol, ISO code or currency word in ``text``."""
    if not text:
        return None
    for match in _CODE_RE.finditer(text):
        if match.group(1) in ISO_CURRENCIES:
            return match.group(1)
    for symbol, code in _SYMBOLS:
        if symbol in text:
            return code
    for match in _WORD_RE.finditer(text):
        word = _WORDS.get(match.group(0).lower())
        if word:
            return word
    return None


def parse_amount(text: str, decimal_mark: str | None = None) -> Decimal | None:
    """Parse one amount (``1.234,56``, ``$1,234.56``, ``(12.50)``, ``1 234,56 €``...).

    ``decimal_mark`` ("," or ".") settles ambiguous cases such as ``1.234``; without it a
    single separator followed by exactly three digits is read as a thousands separator.
    """
    if not text or len(text) > 64:
        return None
    stripped = text.strip()
    negative = _is_negative(stripped)
    core = _NUMBER_CORE.search(stripped)
    if core is None or not _only_noise_around(stripped, core.start(), core.end()):
        return None
    value = _number(core.group(0), decimal_mark)
    if value is None:
        return None
    return -value if negative else value


def find_amounts(text: str, decimal_mark: str | None = None) -> list[Decimal]:
    """Every amount-looking token in a line of text, in order."""
    out: list[Decimal] = []
    for match in _AMOUNT_RE.finditer(text[:2000]):
        value = parse_amount(match.group(0), decimal_mark)
        if value is not None:
            out.append(value)
    return out


def _is_negative(text: str) -> bool:
    if text.startswith("(") and text.endswith(")"):
        return True
    body = text.lstrip("(").strip()
    for prefix in ("US$", "€", "$", "£"):
        body = body.removeprefix(prefix).strip()
    body = body[3:].strip() if body[:3].isalpha() and body[:3].isupper() else body
    return bool(body) and (body[0] in _MINUS or text.rstrip()[-1:] in _MINUS)


def _only_noise_around(text: str, start: int, end: int) -> bool:
    """Around the digits only signs, brackets, spaces, a currency symbol or a 3-letter code."""
    rest = (text[:start] + " " + text[end:]).replace("(", " ").replace(")", " ")
    for char in _MINUS + "+:":
        rest = rest.replace(char, " ")
    for symbol, _ in _SYMBOLS:
        rest = rest.replace(symbol, " ")
    return all(tok.upper() in ISO_CURRENCIES or tok.lower() in _WORDS for tok in rest.split())


def _number(core: str, decimal_mark: str | None) -> Decimal | None:
    if not all(_GROUP_START.match(part) for part in _SPACE_SPLIT.split(core)[1:]):
        return None
    for space in _SPACES:
        core = core.replace(space, "")
    if "," in core and "." in core:
        mark = "," if core.rfind(",") > core.rfind(".") else "."
    elif core.count(",") + core.count(".") == 0:
        return _decimal(core)
    else:
        sep = "," if "," in core else "."
        mark = _single_separator_mark(core, sep, decimal_mark)
    thousands = "." if mark == "," else ","
    whole, frac = core.rsplit(mark, 1) if mark in core else [core, ""]
    if mark in whole or not _valid_groups(whole, thousands):
        return None
    digits = whole.replace(thousands, "")
    return _decimal(f"{digits}.{frac}" if frac else digits)


def _single_separator_mark(core: str, sep: str, hint: str | None) -> str:
    other = "." if sep == "," else ","
    if core.count(sep) > 1:
        return other
    frac = core.rpartition(sep)[2]
    if len(frac) != 3:
        return sep
    return hint if hint in (",", ".") else other


def _valid_groups(whole: str, thousands: str) -> bool:
    if thousands not in whole:
        return whole.isdigit() or whole == ""
    groups = whole.split(thousands)
    head_ok = 1 <= len(groups[0]) <= 3 and groups[0].isdigit()
    return head_ok and all(len(g) == 3 and g.isdigit() for g in groups[1:])


def _decimal(text: str) -> Decimal | None:
    if not text or len(text) > 30:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None

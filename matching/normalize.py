"""Normalisation of the keys used to compare documents with master data.

Every comparison of names, tax IDs, IBANs, invoice and order numbers goes through here, so that an
invoice resent in another layout ("F-0012" vs "f 12") and an order printed as "PO-000123" or
"Pedido 123" land on the same key.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
_TOKENS = re.compile(r"[A-Z]+|[0-9]+")
_LEADING_ZEROS = re.compile(r"^([A-Z]*)0+(?=[0-9A-Z])")
# Words printed in front of an order number; only stripped at the start and as whole words.
_ORDER_PREFIX = re.compile(
    r"^(?:\s|[-#:./º°]|PURCHASE\s*ORDER|ORDEN\s*DE\s*COMPRA|ORDER|PEDIDO|ORDEN|"
    r"P\.?\s*O\.?(?![A-Z])|O\.?\s*C\.?(?![A-Z])|NO\.?(?![A-Z])|N[º°]|NUM(?:ERO|BER)?\.?(?![A-Z])|"
    r"REF(?:ERENCE|ERENCIA)?\.?(?![A-Z]))+"
)
_LEGAL_FORMS = frozenset(
    {"SL", "SLU", "SA", "SAU", "SLL", "SC", "SCOOP", "INC", "LTD", "LLC", "LLP", "PLC", "CORP",
     "CO", "CORPORATION", "INCORPORATED", "GMBH", "AG", "KG", "SARL", "SAS", "BV", "NV", "SPA",
     "SRL", "LIMITED", "COMPANY"}
)
UNITS_PER_CURRENCY = 10_000  # integer money keys are in 1/10,000 of the currency unit


def ascii_upper(text: str) -> str:
    """Capitals without accents ("peña" → "PENA"); `models.search` mirrors it in SQL."""
    if text.isascii():
        return text.upper()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


@lru_cache(maxsize=65_536)
def norm_name(name: str | None) -> str:
    """Company name without accents, punctuation, case and legal form ("Acme, S.L." → "ACME")."""
    if not name:
        return ""
    text = ascii_upper(name).replace(".", "")
    words = [w for w in _NON_ALNUM.split(text) if w]
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


@lru_cache(maxsize=65_536)
def norm_tax_id(tax_id: str | None) -> str:
    """Tax ID without separators, case and VAT country prefix ("ES B-58378431" → "B58378431")."""
    if not tax_id:
        return ""
    text = _NON_ALNUM.sub("", ascii_upper(tax_id))
    if len(text) > 8 and text[:2].isalpha():
        text = text[2:]
    return text


@lru_cache(maxsize=65_536)
def norm_iban(iban: str | None) -> str:
    return _NON_ALNUM.sub("", ascii_upper(iban)) if iban else ""


def _strip_zeros(text: str) -> str:
    return _LEADING_ZEROS.sub(r"\1", text)


@lru_cache(maxsize=262_144)
def norm_invoice_number(number: str | None) -> str:
    """Invoice number without separators, case and leading zeros of each digit group
    ("F-2024/0012" and "f 2024 12" → "F202412")."""
    if not number:
        return ""
    tokens = _TOKENS.findall(ascii_upper(number))
    return "".join(t.lstrip("0") or "0" if t.isdigit() else t for t in tokens)


@lru_cache(maxsize=262_144)
def invoice_number_keys(number: str | None) -> tuple[str, ...]:
    """Every key under which an invoice number is compared for duplicates: per digit group
    ("F-2024-001" → "F20241") and as one run ("F2024001"), so that both zero padding and
    separators lost in OCR are caught. Aggressive on purpose: a missed duplicate pays twice."""
    if not number:
        return ()
    grouped = norm_invoice_number(number)
    joined = _strip_zeros(_NON_ALNUM.sub("", ascii_upper(number)))
    return (grouped,) if joined == grouped else (grouped, joined)


@lru_cache(maxsize=262_144)
def norm_order_number(number: str | None) -> str:
    """Order number without prefixes, separators and leading zeros ("Pedido nº 0123" → "123")."""
    if not number:
        return ""
    text = ascii_upper(number).strip()
    stripped = _ORDER_PREFIX.sub("", text)
    core = _NON_ALNUM.sub("", stripped) or _NON_ALNUM.sub("", text)
    return _strip_zeros(core)


def to_units(value: Decimal) -> int:
    """Exact-enough integer key of an amount (truncated to 1/10,000), for set-based pre-filters."""
    return int(value * UNITS_PER_CURRENCY)


def seller_key(party_id: int | None, tax_id: str | None, name: str | None) -> str:
    """Identity of a counterparty: the party on file, else its tax ID, else its name."""
    if party_id is not None:
        return f"P:{party_id}"
    tax = norm_tax_id(tax_id)
    if tax:
        return f"T:{tax}"
    return f"N:{norm_name(name)}"

"""Tax IDs (Spanish NIF/CIF/NIE, EU VAT, US EIN) and IBANs, validated with python-stdnum.

Normalised forms: compact, as printed: Spanish IDs with or without their ``ES`` prefix
(``B12345674`` / ``ESB12345674``), other EU and UK VAT numbers with their prefix
(``DE355369209``), EINs as ``12-3456789``, IBANs compact (``ES91...``). ``normalize_*`` give
``None`` for a value that fails its checksum; ``plausible_*`` keep a well-shaped value that
fails it (a document may print a wrong ID, and validation must see it).
"""

from __future__ import annotations

import re

from stdnum import iban as std_iban
from stdnum.es import nif as es_nif
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.us import ein as us_ein

_TOKEN = re.compile(r"[^\W_][\w.\-/]*[^\W_]|[^\W_]")
_JOINER = re.compile(r"[ .\-]{1,2}")
_EIN_SHAPE = re.compile(r"\d{2}-\d{7}")
_ES_SHAPE = re.compile(r"[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z]|[XYZ]\d{7}[A-Z]")
_VAT_SHAPE = re.compile(r"(?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|FI|FR|GB|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT"
                        r"|RO|SE|SI|SK|CH|NO|XI)[A-Z0-9]{8,12}")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]){10,32}\b", re.IGNORECASE)


def normalize_tax_id(text: str) -> str | None:
    """The validated, normalised tax ID in ``text`` (the whole text), else ``None``."""
    if not text or len(text) > 40:
        return None
    raw = text.strip().upper()
    compact = re.sub(r"[\s.\-/]", "", raw)
    if not compact.isalnum() or not 8 <= len(compact) <= 16:
        return None
    found = _spanish(compact) or _eu_vat(compact) or _ein(raw, compact)
    for mended in _letter_o_for_zero(compact) if found is None else ():
        found = _spanish(mended) or _eu_vat(mended)
        if found:
            break
    return found


def _letter_o_for_zero(compact: str) -> list[str]:
    """The ID with a letter O read for a zero in its number ("BO3143229" → "B03143229",
    "FRO4659736250"), the commonest OCR slip in IDs; the checksum then decides. The leading
    letter (CIF letter) or two (country prefix) are kept."""
    out = []
    for keep in (1, 2):
        mended = compact[:keep] + compact[keep:].replace("O", "0")
        if mended != compact and mended not in out:
            out.append(mended)
    return out


def find_tax_ids(text: str) -> list[tuple[str, int, int]]:
    """Every valid tax ID in a line of text, with its span (longest windows first)."""
    text = text[:1000]
    tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(tokens):
        found = _window_at(text, tokens, i)
        if found is None:
            i += 1
            continue
        out.append(found[0])
        i = found[1]
    return out


Span = tuple[str, int, int]


def _window_at(text: str, tokens: list[Span], i: int) -> tuple[Span, int] | None:
    """The longest run of up to five tokens from ``i``, joined only by spaces, hyphens or
    dots, that is a valid tax ID."""
    first = tokens[i][0]
    if not (any(c.isdigit() for c in first) or (len(first) == 2 and first.isalpha())):
        return None
    stop = i + 1
    while stop < min(len(tokens), i + 5) and _JOINER.fullmatch(
        text[tokens[stop - 1][2] : tokens[stop][1]]
    ):
        stop += 1
    for j in range(stop, i, -1):
        chunk = "".join(t[0] for t in tokens[i:j])
        if not 8 <= len(chunk) <= 16:
            continue
        value = normalize_tax_id(chunk)
        if value:
            return (value, tokens[i][1], tokens[j - 1][2]), j
    return None


def plausible_tax_id(text: str) -> str | None:
    """A tax ID that has the right shape but may fail its checksum (compact), else ``None``."""
    raw = text.strip().upper()
    if _EIN_SHAPE.fullmatch(raw):
        return raw
    compact = re.sub(r"[\s.\-/]", "", raw)
    body = compact[2:] if compact.startswith("ES") else compact
    digits = sum(c.isdigit() for c in compact)
    if _ES_SHAPE.fullmatch(body) or (_VAT_SHAPE.fullmatch(compact) and digits >= 6):
        return compact
    return None


def plausible_iban(text: str) -> str | None:
    """An IBAN-shaped value (compact), checksum not required."""
    compact = re.sub(r"[\s\-]", "", text.strip().upper())
    return compact if _IBAN_SHAPE.fullmatch(compact) else None


def normalize_iban(text: str) -> str | None:
    """The compact IBAN if ``text`` holds a valid one, else ``None``."""
    if not text or len(text) > 60:
        return None
    compact = re.sub(r"[\s\-]", "", text.strip().upper())
    try:
        return str(std_iban.validate(compact))
    except Exception:  # stdnum raises its ValidationError subclasses
        return None


def find_iban(text: str) -> tuple[str, int, int] | None:
    """The first valid IBAN in a line of text with its span."""
    for match in _IBAN_CANDIDATE.finditer(text[:1000]):
        candidate = match.group(0)
        for end in range(len(candidate), 14, -1):
            if candidate[end - 1] in " -":
                continue
            value = normalize_iban(candidate[:end])
            if value:
                return value, match.start(), match.start() + end
    return None


def tax_id_country(tax_id: str) -> str | None:
    """Two-letter country of a normalised tax ID (``ES`` for bare Spanish IDs, ``US`` for EINs)."""
    if re.fullmatch(r"\d{2}-\d{7}", tax_id):
        return "US"
    if es_nif.is_valid(tax_id):
        return "ES"
    return tax_id[:2] if tax_id[:2].isalpha() else None


def _spanish(compact: str) -> str | None:
    """A Spanish NIF/CIF/NIE, keeping the ``ES`` prefix when it is printed (EU VAT form)."""
    prefix, body = ("ES", compact[2:]) if compact.startswith("ES") else ("", compact)
    if len(body) == 9 and es_nif.is_valid(body):
        return prefix + str(es_nif.compact(body))
    return None


def _eu_vat(compact: str) -> str | None:
    if not compact[:2].isalpha() or compact[:2] == "ES":
        return None
    try:
        if compact.startswith("GB"):
            return "GB" + str(gb_vat.validate(compact))
        return str(eu_vat.validate(compact))
    except Exception:  # stdnum raises its ValidationError subclasses
        return None


def _ein(raw: str, compact: str) -> str | None:
    if not re.fullmatch(r"\d{2}-\d{7}", raw) or not us_ein.is_valid(compact):
        return None
    return str(us_ein.format(compact))

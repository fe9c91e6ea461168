"""Seller and buyer: the block under "Bill To"/"Facturar a"/"Cliente" is the buyer; the issuer
block (a "From"/"Proveedor" block, else the name near the seller's tax ID, else the most
company-like name at the top of the first page, see `seller_guess`) is the seller."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from extractors.labels import LabelHit, find_labels
from extractors.layout import Line, Segment, norm
from extractors.name_repair import repair_name
from extractors.regions import right_of
from extractors.values import read_tax_id, text_of
from models.domain import Party, WordBox

_COMPANY = re.compile(
    r"\b(?:S\.?L\.?U?|S\.?A\.?U?|S\.?C\.?|S\.?Coop|GmbH|AG|Ltd|Limited|Inc|LLC|L\.L\.C|B\.V|N\.V|"
    r"SAS|SARL|S\.?r\.?l|S\.?p\.?A|Corp|Corporation|Co|PLC|LLP|Pty|KG|OHG|e\.K|"
    r"Sdn\.?\s?Bhd|Sdn|Bhd|Berhad|S/B|Pte|Pvt)\b\.?",
    re.IGNORECASE,
)
_NOT_NAME = re.compile(
    r"@|www\.|https?:|^\+?[\d\s()./-]+$|^tel|^phone|^fax|^[•·*>\-–—]", re.IGNORECASE
)
# A company registration number after the name: "... SDN BHD (139386-X)".
_REGISTRATION = re.compile(r"\s*\(\s*[\w .-]*\d[\w .-]*\)?\s*$")
_MONEY = re.compile(r"[€$£]\s?\d|\d\s?[€$£]")
_BLOCK_LINES = 7
_FIRST_HALVES = frozenset(("sdn", "co"))


@dataclass
class PartyRead:
    party: Party = field(default_factory=Party)
    name_words: list[WordBox] = field(default_factory=list)
    tax_words: list[WordBox] = field(default_factory=list)
    name_score: float = 0.0
    tax_valid: bool = False
    block_words: set[WordBox] = field(default_factory=set)


def block_lines(
    hit: LabelHit, lines: Sequence[Line], page_width: float, stops: Sequence[LabelHit] = ()
) -> tuple[list[list[WordBox]], set[int]]:
    """The party block of a label: the words right of it, then its column below
    (with the indices of the lines it covers)."""
    x0, x1 = _block_span(hit, page_width, stops)
    rows: list[list[WordBox]] = []
    used = {hit.line.index}
    beside = [w for w in right_of(hit, stops) if norm(w.text)]
    if beside:
        rows.append(beside)
    previous = hit.line
    for line in lines[hit.line.index + 1 : hit.line.index + 1 + _BLOCK_LINES * 2]:
        if line.page != previous.page or line.top - previous.bottom > 2.2 * previous.height:
            break
        words = _row_words(line, x0, x1)
        if words:
            rows.append(words)
            used.add(line.index)
            previous = line
        if len(rows) >= _BLOCK_LINES:
            break
    return rows, used


def _row_words(line: Line, x0: float, x1: float) -> list[WordBox]:
    """Words starting inside the block's column, and the words that run on from them."""
    out: list[WordBox] = []
    gap = line.height * 1.2
    for word in line.words:
        if x0 <= word.x0 < x1 or (out and word.x0 - out[-1].x1 <= gap):
            out.append(word)
        elif out:
            break
    return out


def _block_span(
    hit: LabelHit, page_width: float, stops: Sequence[LabelHit]
) -> tuple[float, float]:
    """From a little left of the label to the next label on its line (or ~half a page)."""
    line = hit.line
    x0 = hit.x0 - line.height * 2
    later = [s.x0 for s in stops if s.line is line and s.x0 > hit.x1]
    x1 = min(later) - line.height * 0.5 if later else hit.x0 + page_width * 0.45
    return x0, x1


def read_block(rows: list[list[WordBox]], strength: float) -> PartyRead:
    """Name = first name-like row; tax ID = first valid (or plausible) ID in the block."""
    out = PartyRead()
    for row in rows:
        name = clean_name(row)
        if out.party.name is None and name:
            out.party.name, out.name_words, out.name_score = name, row, strength
            continue
        _take_tax_id(out, row)
    address = [text_of(r) for r in rows if r is not out.name_words and r is not out.tax_words]
    out.party.address = ", ".join(a for a in address if not _NOT_NAME.search(a))[:200] or None
    return out


def _take_tax_id(out: PartyRead, row: list[WordBox]) -> None:
    if out.tax_valid:
        return
    found = read_tax_id(row)
    if found and (found[1] or out.party.tax_id is None):
        read, out.tax_valid = found
        out.party.tax_id, out.tax_words = read.value, read.words


def clean_name(row: list[WordBox]) -> str | None:
    text = name_text(row)
    if len(text) < 2 or _NOT_NAME.search(text) or not any(c.isalpha() for c in text):
        return None
    if sum(c.isdigit() for c in text) > len(text) * 0.2 or _MONEY.search(text):
        return None
    if find_labels_text_only(row):
        return None
    return text


def name_text(words: Sequence[WordBox]) -> str:
    """A name's text, OCR confusions repaired (`name_repair`), without a trailing company
    registration number."""
    text = " ".join(repair_name(words)).strip(" ,;:-|")
    if any(w.conf < 1.0 for w in words):
        text = tidy_brackets(text)
    forms = list(_COMPANY.finditer(text))
    if forms and any(c.isdigit() for c in text[forms[-1].end() :]):
        text = text[: forms[-1].end()]  # "KING'S CONFECTIONERY S/B 273500-U"
    return _REGISTRATION.sub("", text) or text


# a space on one side only: "(KL )"; "( M )", spaced on both sides, is taken as printed
_SPACED_BRACKET = re.compile(r"\((?:\s+([^()\s]{1,8})|([^()\s]{1,8})\s+)\)")
_BAR_FOR_BRACKET = re.compile(r"\(([A-Za-z]{1,8})\|\s*")


def tidy_brackets(text: str) -> str:
    """OCR spacing and bar slips around a short bracketed qualifier: "(KL )" is "(KL)",
    "(KL|SDN" is "(KL) SDN" (a vertical bar read for the closing bracket)."""
    text = _BAR_FOR_BRACKET.sub(r"(\1) ", text)
    return _SPACED_BRACKET.sub(lambda m: f"({m[1] or m[2]})", text)


def find_labels_text_only(row: list[WordBox]) -> bool:
    """True when the row reads as "label: value" (a field, not a name)."""
    text = text_of(row)
    has_value = ":" in text or any(c.isdigit() for c in text)
    hits = find_labels(as_line(row))
    return has_value and any(h.strength >= 0.7 and h.field != "seller" for h in hits)


def company_score(text: str) -> float:
    return 1.0 if _COMPANY.search(text) else 0.0


def ends_with_legal_form(text: str) -> bool:
    """``text`` ends with a legal form ("... SDN BHD", "... S/B", "... GmbH"); not with the
    first half of one ("SDN." of "SDN. BHD.", "Co." of "& Co. KG")."""
    end = len(text.rstrip(" .,"))
    return any(m.end() >= end and m.group().rstrip(". ").lower() not in _FIRST_HALVES
               for m in _COMPANY.finditer(text))


def as_line(words: list[WordBox]) -> Line:
    line = Line(list(words))
    line.segments = [Segment(list(words))]
    return line

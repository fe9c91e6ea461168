"""A printed VAT breakdown table (EN 16931 BG-23) and its rows, one per rate: "Base imponible
| % IVA | Cuota IVA", "VAT rate | Net | VAT | Gross", "BTW % | Grondslag | BTW bedrag |
Totaal", "USt. Satz | Nettopreis | Ust.-Betrag", FeRD's "Art (Kategorie) | Warenwert |
Zu-/Abschlag | Basisbetrag | Steuersatz [%] | Steuerbetrag".

The header is a run of column labels on one line (``_COLUMNS``, longest match first) with a
rate, a base and a tax column; a gross column and category columns ("Art (Kategorie)",
"Warenwert": their figures are not read) may stand among them. The run ends at a word that is
no column label, at a label whose cell goes on with other words ("Total" of "Total excl.
tax"), and at a column named again (a table beside the totals block shares its header line
with the block's first row: "Base | Tipo | Cuota   Base imponible 1.000,00"). A last column
with no figure under it is a label beside the table ("Gross amount 4,103.20"), not one of its
columns. A run after other words on a line that reads as a line items' header ("Description |
Qty | Net | VAT % | VAT | Gross") belongs to that header.

The rows are the lines right under it that print a rate in its rate column ("21%", "21 %",
or a bare "21,00" under a "%" label), each other figure placed by column; text under a
category column only ("Steuerfreie Leistungen") goes on a row's description; the first other
line ends the table. Two rows of one rate are no breakdown.

Its words are taken out of those the other fields are read from (``fields``): its column
labels name no field of the invoice ("Base imponible" over the first rate's base is not the
subtotal, "Total" over its gross not the total) and its rows are not line items.
``extractors.breakdown`` reads the rows as the invoice's breakdown when the totals tie them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from extractors.labels import segment_spans
from extractors.layout import Line, norm
from extractors.tables import column_roles, longest_phrase, phrase_index
from extractors.values import read_amounts
from models.domain import WordBox

# column labels per column, normalised words (``layout.norm``); the longest match wins
_COLUMNS: dict[str, tuple[str, ...]] = {
    "rate": ("%", "% iva", "iva %", "iva (%)", "tipo", "tipo iva", "tipo de iva", "% igic",
             "tipo igic", "rate", "vat rate", "vat %", "% vat", "tax rate", "tax %", "% tax",
             "btw %", "% btw", "btw tarief", "tarief", "satz", "steuersatz", "ust satz",
             "ust %", "mwst satz", "mwst %", "steuersatz %", "ust satz %", "taux", "taux tva",
             "taux de tva", "tva %", "percentage", "aliquota", "aliquota iva", "% rate",
             # the same glued, as OCR often reads them ("VAT%")
             "%iva", "iva%", "vat%", "%vat", "tax%", "%tax", "btw%", "%btw", "tva%", "ust%",
             "mwst%", "igic%"),
    "base": ("base", "base imponible", "importe base", "net", "net amount",
             "net value", "taxable amount", "taxable value", "neto", "importe neto", "netto",
             "nettobetrag", "nettopreis", "nettowert", "bemessungsgrundlage", "grondslag",
             "basis", "basisbetrag", "steuer basisbetrag", "base ht", "montant ht", "ht",
             "imponibile"),
    "tax": ("cuota", "cuota iva", "importe iva", "iva", "cuota igic", "vat", "vat amount",
            "tax", "tax amount", "tva", "montant tva", "montant", "btw", "btw bedrag",
            "ust", "ust.-betrag", "ust betrag", "mwst", "mwst.-betrag", "mwst betrag",
            "steuer", "steuerbetrag", "umsatzsteuer", "gst", "gst amount", "imposta"),
    "gross": ("total", "gross", "gross amount", "totaal", "brutto", "bruttobetrag",
              "total ttc", "importe total", "total con iva", "gesamt"),
    # columns a breakdown may have beside those (their figures are not read)
    "other": ("art", "art (kategorie)", "kategorie", "category", "vat category", "code",
              "categoria", "warenwert", "zu-/abschlag", "abschlag", "zuschlag"),
}
_INDEX = phrase_index(_COLUMNS)
_ITEM_COLUMNS = frozenset(("description", "quantity", "unit_price", "position"))
_MAX_ROWS = 8
_MAX_GAP = 3.5  # line heights between one row and the next (or the header)
_RATE = re.compile(r"^\(?(\d{1,2}(?:[.,]\d{1,3})?)\s?%?\)?$")
_MAX_RATE = Decimal(30)  # no VAT rate (with a surcharge) is higher
_THOUSANDS_HEAD = re.compile(r"^\d{1,3}$")  # "7" of "7 282,65", split by OCR
_RATE_WORDS = frozenset(tokens[0] for tokens, role in (
    entry for entries in _INDEX.values() for entry in entries) if role == "rate")


@dataclass(frozen=True)
class Cell:
    role: str
    x0: float
    x1: float


@dataclass(frozen=True)
class PrintedRow:
    """One rate's row as printed: its rate, its base when printed, its tax, and its words."""

    rate: Decimal
    base: Decimal | None
    tax: Decimal
    words: tuple[WordBox, ...]
    rate_words: tuple[WordBox, ...]


@dataclass(frozen=True)
class Grid:
    rows: tuple[PrintedRow, ...]
    words: frozenset[int]  # id() of every word of the table, its column labels included


def find_grid(lines: Sequence[Line], mark: str | None) -> Grid | None:
    """The document's first breakdown table with at least one row, or None."""
    for line in lines:
        cells = header_cells(line)
        if cells is None:
            continue
        grid = _read_rows(lines, line, cells, mark)
        if grid is not None:
            return grid
    return None


def header_cells(line: Line) -> list[Cell] | None:
    """The cells of the first run of column labels on ``line`` with a rate, a base and a
    tax column (see the module docstring), or None."""
    if not any("%" in w.text or norm(w.text) in _RATE_WORDS for w in line.words):
        return None  # most lines: no word a rate column's label starts with
    for cells in _label_runs(line):
        if {"rate", "base", "tax"} <= {c.role for c in cells}:
            return None if _after_item_labels(line, cells) else cells
    return None


def _label_runs(line: Line) -> Iterator[list[Cell]]:
    """Each run of column labels on ``line``: a word no label starts, a label whose cell
    goes on with other words, or a column named again ends a run."""
    tokens = [norm(w.text) for w in line.words]
    segment = [i for i, (start, stop) in enumerate(segment_spans(line)) for _ in range(start, stop)]
    run: list[Cell] = []
    index = 0
    while index < len(tokens):
        found = _phrase(tokens, index)
        if found is not None and (found[1] == "other" or found[1] not in {c.role for c in run}):
            words = line.words[index : index + found[0]]
            run.append(Cell(found[1], words[0].x0, words[-1].x1))
            index += found[0]
            continue
        if run and found is None and segment[index] == segment[index - 1]:
            run.pop()  # the last label's cell goes on: "Total" of "Total excl. tax"
        yield run
        run = []
        index += found is None
    yield run


def _phrase(tokens: list[str], index: int) -> tuple[int, str] | None:
    """(words, column) of the longest column label at ``index``."""
    return longest_phrase(_INDEX, tokens, index)


def _after_item_labels(line: Line, run: list[Cell]) -> bool:
    """Words before the run name a line item's description, quantity, price or position
    ("Description | Qty | Net | VAT % | VAT | Gross"): the run is part of that header."""
    before = [w for w in line.words if w.x1 < run[0].x0]
    return bool(column_roles(before) & _ITEM_COLUMNS)


def _read_rows(lines: Sequence[Line], header: Line, cells: list[Cell],
               mark: str | None) -> Grid | None:
    # a word is the table's when its right edge reaches the first column (numbers stand
    # right-aligned under their labels) and it starts before the last column ends
    lo = min(c.x0 for c in cells) - header.height
    hi = max(c.x1 for c in cells) + header.height * 2
    taken = [w for w in header.words if cells[0].x0 <= w.x0 and w.x1 <= cells[-1].x1]
    rows: list[PrintedRow] = []
    pending: list[WordBox] = []  # text under a category column, kept once a row follows
    previous = header
    for line in lines[header.index + 1 : header.index + 1 + _MAX_ROWS]:
        if line.page != previous.page or line.top - previous.bottom > _MAX_GAP * previous.height:
            break
        words = _with_heads([w for w in line.words if w.x1 >= lo and w.x0 <= hi], line)
        row = _row(words, cells, mark)
        if row is None and not _said_of_a_row(words, cells):
            break
        pending += words
        if row is not None:
            rows.append(row)
            taken += pending
            pending = []
        previous = line
    rates = [r.rate for r in rows]
    if not rows or len(set(rates)) != len(rates):
        return None
    if not _filled(cells[-1], rows):  # a label beside the table ("Gross amount 4,103.20")
        rest = cells[:-1]
        ok = {"rate", "base", "tax"} <= {c.role for c in rest}
        return _read_rows(lines, header, rest, mark) if ok else None
    return Grid(tuple(rows), frozenset(id(w) for w in taken))


def _with_heads(words: list[WordBox], line: Line) -> list[WordBox]:
    """`words`, and the thousands head that OCR split off an amount standing at their left
    edge ("7" of "7 282,65" under a narrow "Base" label, right-aligned past it). OCR words
    only: a text layer does not split an amount."""
    if not words or not words[0].text[:1].isdigit():
        return words
    first = words[0]
    heads = [w for w in line.words if _THOUSANDS_HEAD.match(w.text) and w.conf < 1.0
             and 0 <= first.x0 - w.x1 <= line.height * 0.6]
    return heads[-1:] + words


def _said_of_a_row(words: Sequence[WordBox], cells: list[Cell]) -> bool:
    """Text, no figure, all under category columns ("Umsatzsteuer (E)" / "Steuerfreie
    Leistungen" above its row's figures): a row's description going on."""
    return bool(words) and all(
        not any(ch.isdigit() for ch in w.text) and _column(cells, w.x0, w.x1) == "other"
        for w in words)


def _filled(cell: Cell, rows: Sequence[PrintedRow]) -> bool:
    """Some row has a figure (not a rate) under ``cell``."""
    return any(w.x1 >= cell.x0 and w.x0 <= cell.x1 and "%" not in w.text
               and any(ch.isdigit() for ch in w.text) for row in rows for w in row.words)


def _row(words: list[WordBox], cells: list[Cell], mark: str | None) -> PrintedRow | None:
    """A row: a rate under the rate column and a tax under the tax column, the other
    amounts under theirs."""
    found = rate_in([w for w in words if _column(cells, w.x0, w.x1) == "rate"])
    if found is None:
        return None
    rate, rate_words = found
    rest = [w for w in words if all(w is not r for r in rate_words)]
    placed: dict[str, Decimal] = {}
    for amount in read_amounts(rest, mark):
        role = _column(cells, amount.words[0].x0, amount.words[-1].x1)
        placed.setdefault(role, amount.value)
    if "tax" not in placed:  # a figure under the rate column alone: "Terms: Net 15"
        return None
    return PrintedRow(rate, placed.get("base"), placed["tax"], tuple(words),
                      tuple(rate_words))


def rate_in(words: Sequence[WordBox]) -> tuple[Decimal, list[WordBox]] | None:
    """The first rate among ``words``: "21%", "(21%)", "5,5%", "21 %" (two words), or a
    bare "21,00" (the caller knows the words stand in a rate column)."""
    for index, word in enumerate(words):
        value = parse_rate(word.text.rstrip(":"))
        if value is None:
            continue
        spaced = index + 1 < len(words) and words[index + 1].text == "%"
        return value, list(words[index : index + 1 + spaced])
    return None


def parse_rate(text: str) -> Decimal | None:
    """A VAT rate in percent from one word, or None (no figure of a rate, or above 30)."""
    found = _RATE.match(text.lstrip("@"))
    if found is None:
        return None
    try:
        value = Decimal(found.group(1).replace(",", "."))
    except InvalidOperation:
        return None
    return value if value <= _MAX_RATE else None


def _column(cells: list[Cell], x0: float, x1: float) -> str:
    """The column of the cell the words overlap most, else the nearest one."""
    def overlap(cell: Cell) -> float:
        return min(cell.x1, x1) - max(cell.x0, x0)

    best = max(cells, key=overlap)
    if overlap(best) > 0:
        return best.role
    middle = (x0 + x1) / 2
    return min(cells, key=lambda c: abs((c.x0 + c.x1) / 2 - middle)).role

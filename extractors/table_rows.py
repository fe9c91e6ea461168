"""Reading the body rows of a line-item table (see `tables`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from extractors.layout import Line, norm
from extractors.line_repair import repair_line
from extractors.tables import (
    Column,
    Table,
    header_columns,
    is_totals_line,
    parse_quantity,
    parse_rate,
)
from extractors.values import read_amounts, text_of
from models.domain import InvoiceLine, WordBox

_CONTINUATION_GAP = 1.2  # line heights: a description line this close belongs to the row above


def read_table(lines: Sequence[Line], mark: str | None) -> Table:
    """The document's line items (first table, joined across pages)."""
    return TableReader(lines, mark).read()


class TableReader:
    def __init__(self, lines: Sequence[Line], mark: str | None) -> None:
        self.lines = lines
        self.mark = mark
        self.table = Table()
        self.columns: list[Column] = []
        self.last_row_line: Line | None = None

    def read(self) -> Table:
        for line in self.lines:
            if self._step(line):
                break
        return self.table

    def _step(self, line: Line) -> bool:
        """Handle one line; True when the table has ended."""
        columns = header_columns(line)
        if columns is not None:
            if self.table.lines and not self._new_page(line):
                return True  # a second table (e.g. a VAT summary) on the same page
            self.columns = columns
            self.table.used.add(line.index)
            return False
        if not self.columns:
            return False
        if is_totals_line(line, bool(read_amounts(line.words, self.mark))):
            return bool(self.table.lines)
        self._body_line(line)
        return False

    def _new_page(self, line: Line) -> bool:
        return self.last_row_line is not None and line.page != self.last_row_line.page

    def _body_line(self, line: Line) -> None:
        cells = self._cells(line.words)
        item = self._item(cells)
        if item is not None and self.table.lines and _included_note(item.description):
            self._append_description(line, cells)  # its amount is already in the item above
            return
        if item is not None:
            self.table.lines.append(item)
            self.table.rows.append(list(line.words))
            self.table.used.add(line.index)
            self.last_row_line = line
        elif self._is_continuation(line, cells):
            self._append_description(line, cells)

    def _cells(self, words: Sequence[WordBox]) -> dict[str, list[WordBox]]:
        """A word under a header belongs to that column; a word under no header belongs to
        the column on its left (text running on, e.g. a long description)."""
        cells: dict[str, list[WordBox]] = {c.role: [] for c in self.columns}
        for word in words:
            cells[self._column_for(word).role].append(word)
        return cells

    def _column_for(self, word: WordBox) -> Column:
        tolerance = 2.0
        for column in self.columns:
            if word.x1 >= column.x0 - tolerance and word.x0 <= column.x1 + tolerance:
                return column
        left = [c for c in self.columns if c.x0 <= word.x0]
        return left[-1] if left else self.columns[0]

    def _item(self, cells: dict[str, list[WordBox]]) -> InvoiceLine | None:
        amount = self._amount(cells.get("amount"))
        price = self._amount(cells.get("unit_price"))
        if amount is None and (price is None or "amount" in cells):
            return None
        description = text_of(cells.get("description", [])) or None
        if description is None and "description" in cells:
            return None
        quantity = parse_quantity(text_of(cells.get("quantity", [])), self.mark)
        rate = parse_rate(text_of(cells.get("tax_rate", [])), self.mark)
        item = InvoiceLine(description, quantity, price, amount, rate)
        ocr = any(w.conf < 1.0 for words in cells.values() for w in words)
        return repair_line(item) if ocr else item

    def _amount(self, words: list[WordBox] | None) -> Decimal | None:
        found = read_amounts(words or [], self.mark)
        return found[-1].value if found else None

    def _is_continuation(self, line: Line, cells: dict[str, list[WordBox]]) -> bool:
        previous = self.last_row_line
        if previous is None or line.page != previous.page:
            return False
        close = line.top - previous.bottom <= _CONTINUATION_GAP * previous.height
        only_text = all(not v for k, v in cells.items() if k != "description")
        return close and only_text and bool(cells.get("description"))

    def _append_description(self, line: Line, cells: dict[str, list[WordBox]]) -> None:
        item = self.table.lines[-1]
        extra = text_of(cells["description"])
        if norm(extra):
            item.description = f"{item.description} {extra}" if item.description else extra
            self.table.rows[-1].extend(line.words)
            self.table.used.add(line.index)
            self.last_row_line = line


_INCLUDED = ("incl", "inclusief", "including", "included", "inkl", "inklusive", "incluye",
             "incluido", "incluida", "dont")


def _included_note(description: str | None) -> bool:
    """A row saying what the item above already includes ("Incl. Thuiskopieheffing: € 4,24",
    "Including recycling fee", "Incluye canon digital"): not an item of its own."""
    first = norm(description.split()[0]) if description and description.split() else ""
    return first in _INCLUDED

"""Drawing the VAT breakdown table (``generator.breakdown``) with the totals block: above it,
or beside it on the left with its column labels on the line of the totals block's first row."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from generator.model import BreakdownStyle, Document, TaxLine
from generator.render_base import MARGIN, Pen, famount

_ROW_H = 15.0
_WIDTHS = {"base": 80.0, "rate": 55.0, "tax": 75.0, "gross": 80.0}


class Totals(Protocol):
    """The part of a layout that draws the totals block (``generator.layouts.Layout``)."""

    def totals(self, pen: Pen, doc: Document, y: float) -> float: ...


def breakdown_height(doc: Document) -> float:
    """Room a table above the totals block takes (0 without one, or beside it: the footer
    below the totals keeps its place, and the table is no taller than the block)."""
    style = doc.breakdown
    if style is None or style.kind != "table" or style.position != "above":
        return 0.0
    return _ROW_H * (len(doc.tax_lines) + 1) + 16


def draw_totals(layout: Totals, pen: Pen, doc: Document, y: float) -> float:
    """The totals block at `y`, with the breakdown table when ``doc`` prints one; returns
    the y below both."""
    style = doc.breakdown
    if style is None or style.kind != "table":
        return layout.totals(pen, doc, y)
    if style.position == "beside":
        end = _table(pen, doc, style, y)
        return max(end, layout.totals(pen, doc, y))
    return layout.totals(pen, doc, _table(pen, doc, style, y) + 6)


def _table(pen: Pen, doc: Document, style: BreakdownStyle, y: float) -> float:
    """Column labels (right-aligned over their numbers), a rule, one row per rate."""
    x = MARGIN
    for key, name in style.columns:
        x += _WIDTHS[key]
        pen.text(x - 4, y, name, 8.5, bold=True, align="right")
    pen.hline(MARGIN, x, y + 4, 0.6)
    for tax in doc.tax_lines:
        y += _ROW_H
        x = MARGIN
        for key, _ in style.columns:
            x += _WIDTHS[key]
            pen.text(x - 4, y, _cell(doc, style, tax, key), 9, align="right")
    return y + 10


def _cell(doc: Document, style: BreakdownStyle, tax: TaxLine, key: str) -> str:
    if key == "rate":
        return rate_cell(tax.rate, style.rate, doc.amount_style.decimal)
    value = {"base": tax.base, "tax": tax.tax, "gross": tax.base + tax.tax}[key]
    return famount(doc, value, bare=True)


def rate_cell(rate: Decimal, notation: str, mark: str) -> str:
    """``21%``, ``21 %``, ``21,00%`` or ``21,00`` (under a "%" label), with the decimal mark."""
    if notation in ("places", "bare"):
        text = f"{rate:.2f}".replace(".", mark)
        return text if notation == "bare" else f"{text}%"
    text = f"{rate.normalize():f}".replace(".", mark)
    return f"{text} %" if notation == "spaced" else f"{text}%"

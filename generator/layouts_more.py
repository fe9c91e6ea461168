"""Two more layouts: modern two-column with a right-aligned header block, and compact."""

from __future__ import annotations

from typing import ClassVar

from generator.layouts import Layout, header_fields
from generator.model import Document
from generator.render_base import (
    MARGIN,
    RIGHT,
    Column,
    Pen,
    draw_row,
    heading_size,
    label,
    party_lines,
    text_width,
)

_FROM = {"es": "Emisor", "en": "From"}


class Modern(Layout):
    """(c) Seller name top left, a right-aligned key/value block, From | To columns."""

    row_h = 18.0
    widths: ClassVar[dict[str, float]] = {
        "description": 265.0, "quantity": 45.0, "unit_price": 75.0, "rate": 45.0,
        "amount": 85.0,
    }

    def header(self, pen: Pen, doc: Document) -> float:
        name, fields = doc.invoice.seller.name or "", header_fields(doc)
        beside = text_width(doc.labels[fields[0][0]], 9) if fields else 0.0  # on its line
        pen.text(MARGIN, 62, name, heading_size(name, 18, RIGHT - 120 - beside), bold=True)
        pen.text(MARGIN, 78, doc.seller_email, 9, gray=0.4)
        pen.text(RIGHT, 40, doc.labels["title"].upper(), 11, bold=True, align="right", gray=0.5)
        y = 62.0
        for key, value in fields:
            pen.text(RIGHT - 120, y, doc.labels[key], 9, align="right", gray=0.45)
            pen.text(RIGHT, y, value, 9, bold=True, align="right")
            y += 14
        top = max(y, 100) + 24
        pen.text(MARGIN, top, _FROM[doc.language].upper(), 8, bold=True, gray=0.5)
        pen.text(310, top, doc.labels["bill_to"].upper(), 8, bold=True, gray=0.5)
        left = pen.block(MARGIN, top + 15, party_lines(doc, seller=True), 9, 12,
                         bold_first=True)
        right = pen.block(310, top + 15, party_lines(doc, seller=False), 9, 12,
                          bold_first=True)
        return max(left, right) + 22

    def table_head(self, pen: Pen, doc: Document, cols: list[Column], y: float) -> float:
        width = sum(c.width for c in cols)
        cells = {c.key: doc.labels[c.key].upper() for c in cols}
        draw_row(pen, MARGIN, y + 12, cols, cells, size=8, bold=True)
        pen.hline(MARGIN, MARGIN + width, y + 17, 1.2)
        return y + 20

    def row_decoration(self, pen: Pen, cols: list[Column], y: float, index: int) -> None:
        pen.hline(MARGIN, MARGIN + sum(c.width for c in cols), y + 6, 0.25)


class Compact(Layout):
    """(d) Dense rows, inline "label value" header, line items run onto later pages."""

    row_h = 15.0
    size = 8.0
    first_max = 20
    widths: ClassVar[dict[str, float]] = {
        "description": 275.0, "quantity": 45.0, "unit_price": 70.0, "rate": 45.0,
        "amount": 80.0,
    }

    def header(self, pen: Pen, doc: Document) -> float:
        seller = party_lines(doc, seller=True)
        pen.text(MARGIN, 45, seller[0], 11, bold=True)
        pen.text(MARGIN, 58, "  ·  ".join(seller[1:]), 8)
        pen.text(MARGIN, 70, doc.seller_email, 8, gray=0.35)
        pen.text(RIGHT, 45, doc.labels["title"].upper(), 14, bold=True, align="right")
        x, y = MARGIN, 95.0
        for key, value in header_fields(doc):
            name = label(doc, key)
            width = text_width(name, 8, bold=True) + 4 + text_width(value, 8)
            if x + width > RIGHT:
                x, y = MARGIN, y + 12
            pen.text(x, y, name, 8, bold=True)
            pen.text(x + text_width(name, 8, bold=True) + 4, y, value, 8)
            x += width + 18
        if doc.invoice.payment_terms:
            name = label(doc, "terms")
            pen.text(MARGIN, y + 13, f"{name} {doc.invoice.payment_terms}", 8)
        buyer = party_lines(doc, seller=False)
        pen.text(MARGIN, y + 32, label(doc, "bill_to"), 8, bold=True)
        pen.text(MARGIN + 70, y + 32, buyer[0], 8, bold=True)
        pen.text(MARGIN + 70, y + 44, "  ·  ".join(buyer[1:]), 8)
        return y + 62

    def row_decoration(self, pen: Pen, cols: list[Column], y: float, index: int) -> None:
        if index % 2:
            pen.rect(MARGIN, y - 10.5, sum(c.width for c in cols), self.row_h, fill=0.94,
                     stroke=False)

    def footer_lines(self, doc: Document) -> list[str]:
        lines = super().footer_lines(doc)
        terms = doc.invoice.payment_terms
        return [x for x in lines if not (terms and x.endswith(terms))]

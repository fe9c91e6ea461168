"""The base layout (table, paging, footers) and two layouts: classic EN and boxed ES."""

from __future__ import annotations

from typing import ClassVar

from generator.model import Document
from generator.render_base import (
    MARGIN,
    PAGE_W,
    RIGHT,
    Column,
    Pen,
    currency_note,
    draw_row,
    fdate,
    heading_size,
    iban_text,
    label,
    net_rows,
    party_lines,
    text_width,
    totals_rows,
)


def header_fields(doc: Document) -> list[tuple[str, str]]:
    """(label key, printed value) for the header fields this document prints."""
    inv = doc.invoice
    pairs: list[tuple[str, str | None]] = [
        ("invoice_number", inv.invoice_number),
        ("preceding_invoice", inv.preceding_invoice),  # credit notes only (``credit_notes``)
        ("issue_date", fdate(doc, inv.issue_date) if inv.issue_date else None),
        ("due_date", fdate(doc, inv.due_date) if inv.due_date else None),
        ("order_number", inv.order_number),
    ]
    return [(k, v) for k, v in pairs if v is not None]


class Layout:
    """Draws a document; subclasses override the header, the totals and the style knobs."""

    row_h = 15.0
    size = 9.0
    first_max: int | None = None
    next_top = 60.0
    widths: ClassVar[dict[str, float]] = {
        "description": 255.0, "quantity": 50.0, "unit_price": 75.0, "rate": 50.0,
        "amount": 85.0,
    }

    def header(self, pen: Pen, doc: Document) -> float:
        raise NotImplementedError

    def continued(self, pen: Pen, doc: Document) -> float:
        title = f"{doc.labels['title']} {doc.invoice.invoice_number or ''}".strip()
        pen.text(MARGIN, 45, title, 9, bold=True)
        return self.next_top

    def table_head(self, pen: Pen, doc: Document, cols: list[Column], y: float) -> float:
        pen.rect(MARGIN, y, sum(c.width for c in cols), self.row_h + 2, fill=0.88)
        cells = {c.key: doc.labels[c.key] for c in cols}
        draw_row(pen, MARGIN, y + self.row_h - 3, cols, cells, size=self.size, bold=True)
        return y + self.row_h + 2

    def row_decoration(self, pen: Pen, cols: list[Column], y: float, index: int) -> None:
        return None

    def totals_height(self, doc: Document) -> float:
        extra = len(totals_rows(doc)) - len(doc.tax_lines) - 2  # withholding rows
        return 14.0 * (len(doc.tax_lines) + len(self.footer_lines(doc)) + 4 + extra) + 20

    def totals(self, pen: Pen, doc: Document, y: float) -> float:
        rows = totals_rows(doc)
        for i, (name, value) in enumerate(rows):
            last = i == len(rows) - 1
            pen.text(RIGHT - 200, y, name, self.size + last, bold=last)
            pen.text(RIGHT, y, value, self.size + last, bold=last, align="right")
            y += 15
        return y + 8

    def footer_lines(self, doc: Document) -> list[str]:
        inv = doc.invoice
        out = [f"{label(doc, 'terms')} {inv.payment_terms}"] if inv.payment_terms else []
        note = currency_note(doc)
        out += [note] if note else []
        out += [f"{label(doc, 'bank')} IBAN {iban_text(inv.iban)}"] if inv.iban else []
        return out + doc.notes

    def footer(self, pen: Pen, doc: Document, y: float) -> None:
        pen.block(MARGIN, y + 6, self.footer_lines(doc), 8.5, 12)

    def page_number(self, pen: Pen, doc: Document, page: int, pages: int) -> None:
        if pages > 1:
            text = f"{doc.labels['page']} {page} {doc.labels['of']} {pages}"
            pen.text(PAGE_W / 2, 815, text, 8, align="center", gray=0.3)


class Classic(Layout):
    """(a) English, labels left of their values, "Bill To" block, totals on the right."""

    def header(self, pen: Pen, doc: Document) -> float:
        seller, title = party_lines(doc, seller=True), doc.labels["title"]
        edge = RIGHT - text_width(title, 22, bold=True)
        pen.text(MARGIN, 55, seller[0], heading_size(seller[0], 15, edge), bold=True)
        y_left = pen.block(MARGIN, 72, [*seller[1:], doc.seller_email], 9, 12)
        pen.text(RIGHT, 55, title, 22, bold=True, align="right", gray=0.25)
        y = max(y_left, 110) + 22
        pen.text(MARGIN, y, label(doc, "bill_to", colon=False), 10, bold=True)
        buyer = party_lines(doc, seller=False)
        y_buyer = pen.block(MARGIN, y + 15, buyer, 9, 12, bold_first=True)
        y_info = y
        for key, value in header_fields(doc):
            pen.text(330, y_info, label(doc, key), 9, bold=True)
            pen.text(440, y_info, value, 9)
            y_info += 15
        return max(y_buyer, y_info) + 20


class Boxes(Layout):
    """(b) Spanish, every header value in a box with its label above it."""

    row_h = 16.0

    @staticmethod
    def _width(item: tuple[str, str]) -> float:
        return max(text_width(item[0], 7), text_width(item[1], 10, bold=True)) + 16

    def _box_rows(self, pen: Pen, items: list[tuple[str, str]], y: float) -> float:
        """Boxes left to right from the margin, wrapping to a new row; returns the y below."""
        row: list[tuple[str, str]] = []
        for item in items:
            if row and sum(map(self._width, [*row, item])) > RIGHT - MARGIN:
                self._boxes(pen, row, y, MARGIN + sum(map(self._width, row)))
                row, y = [], y + 40
            row.append(item)
        self._boxes(pen, row, y, MARGIN + sum(map(self._width, row)))
        return y + 34

    def _boxes(self, pen: Pen, items: list[tuple[str, str]], y: float, x_end: float) -> None:
        widths = [self._width(item) for item in items]
        x = x_end - sum(widths)
        for (name, value), width in zip(items, widths, strict=True):
            pen.rect(x, y, width, 34)
            pen.text(x + 6, y + 11, name, 7, gray=0.35)
            pen.text(x + 6, y + 27, value, 10, bold=True)
            x += width

    def header(self, pen: Pen, doc: Document) -> float:
        inv = doc.invoice
        seller, title = party_lines(doc, seller=True), doc.labels["title"].upper()
        edge = RIGHT - text_width(title, 20, bold=True)
        pen.text(MARGIN, 50, seller[0], heading_size(seller[0], 14, edge), bold=True)
        y = pen.block(MARGIN, 66, [*seller[1:], doc.seller_email], 8.5, 11)
        pen.text(RIGHT, 50, title, 20, bold=True, align="right")
        items = [(doc.labels[k], v) for k, v in header_fields(doc)]
        if inv.payment_terms:
            items.append((doc.labels["terms"], inv.payment_terms))
        y = self._box_rows(pen, items, max(y, 100) + 14)
        buyer = party_lines(doc, seller=False)
        top = y + 14
        pen.rect(MARGIN, top, 280, 20 + 12 * len(buyer))
        pen.text(MARGIN + 6, top + 11, doc.labels["bill_to"], 7, gray=0.35)
        pen.block(MARGIN + 6, top + 24, buyer, 9, 12, bold_first=True)
        return top + 20 + 12 * len(buyer) + 18

    def row_decoration(self, pen: Pen, cols: list[Column], y: float, index: int) -> None:
        pen.hline(MARGIN, MARGIN + sum(c.width for c in cols), y + 4, 0.3)

    def totals_height(self, doc: Document) -> float:
        if doc.adjustments is not None:
            return 30.0 + 40 * len(self._total_box_rows(doc)) + 12 * len(self.footer_lines(doc))
        extra = 40.0 if doc.invoice.withholding is not None else 0.0
        return 70.0 + extra + 12 * len(self.footer_lines(doc))

    def _total_box_rows(self, doc: Document) -> list[list[tuple[str, str]]]:
        """With discounts or charges: the rows down to the tax base, then the tax and total
        rows, each wrapped to the page width."""
        items = totals_rows(doc)
        head = len(net_rows(doc))
        out: list[list[tuple[str, str]]] = []
        for group in (items[:head], items[head:]):
            row: list[tuple[str, str]] = []
            for item in group:
                if row and sum(map(self._width, [*row, item])) > RIGHT - MARGIN:
                    out.append(row)
                    row = []
                row.append(item)
            out.append(row)
        return out

    def totals(self, pen: Pen, doc: Document, y: float) -> float:
        """One row of boxes; with a withholding, its box and the amount paid on a second;
        with discounts or charges, their rows first (`_total_box_rows`)."""
        if doc.adjustments is not None:
            for row in self._total_box_rows(doc):
                self._boxes(pen, row, y + 4, RIGHT)
                y += 40
            return y + 10
        items = totals_rows(doc)
        if doc.invoice.withholding is None:
            self._boxes(pen, items, y + 4, RIGHT)
            return y + 50
        self._boxes(pen, items[:-2], y + 4, RIGHT)
        self._boxes(pen, items[-2:], y + 44, RIGHT)
        return y + 90

    def footer_lines(self, doc: Document) -> list[str]:
        inv = doc.invoice
        out = [f"{doc.labels['bank']}: IBAN {iban_text(inv.iban)}"] if inv.iban else []
        note = currency_note(doc)
        return out + ([note] if note else []) + doc.notes

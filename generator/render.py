"""Render a `Document` to a digital PDF with reportlab (one canvas, no platypus: ~10 ms)."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from generator.layouts import Boxes, Classic, Layout
from generator.layouts_more import Compact, Modern
from generator.model import Document
from generator.render_base import MARGIN, Pen, columns, draw_row, paginate, row_cells
from generator.render_breakdown import breakdown_height, draw_totals

LAYOUT_CLASSES: dict[str, type[Layout]] = {
    "classic": Classic, "boxes": Boxes, "modern": Modern, "compact": Compact,
}


def render_pdf(doc: Document, path: Path) -> int:
    """Write `doc` as a PDF at `path`; returns the number of pages."""
    layout = LAYOUT_CLASSES[doc.layout]()
    canvas = Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(f"{doc.labels['title']} {doc.invoice.invoice_number or ''}".strip())
    canvas.setAuthor(doc.invoice.seller.name or "")
    pen = Pen(canvas)
    cols = columns(doc, layout.widths)
    top = layout.header(pen, doc)
    head_h = layout.row_h + 2
    pages = paginate(len(doc.invoice.lines), top + head_h, layout.next_top + head_h,
                     row_h=layout.row_h,
                     totals_h=layout.totals_height(doc) + breakdown_height(doc),
                     first_max=layout.first_max)
    for number, (start, end) in enumerate(pages, start=1):
        if number > 1:
            canvas.showPage()
            top = layout.continued(pen, doc)
        y = layout.table_head(pen, doc, cols, top) if end > start or number == 1 else top
        for index in range(start, end):
            y += layout.row_h
            layout.row_decoration(pen, cols, y, index)
            draw_row(pen, MARGIN, y, cols, row_cells(doc, index), size=layout.size)
        if number == len(pages):
            layout.footer(pen, doc, draw_totals(layout, pen, doc, y + 22))
        layout.page_number(pen, doc, number, len(pages))
    canvas.showPage()
    canvas.save()
    return len(pages)

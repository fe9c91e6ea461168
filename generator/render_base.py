"""Drawing helpers shared by the layouts: a top-down pen, value formatting, table paging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from generator import fmt, ids
from generator.model import Document, TaxLine

PAGE_W, PAGE_H = 595.0, 842.0   # A4 in points
MARGIN = 40.0
RIGHT = PAGE_W - MARGIN
BOTTOM = PAGE_H - 60.0          # lowest baseline used for content (above the page footer)


class Pen:
    """A reportlab canvas addressed from the top of the page (y grows downwards)."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas

    def text(self, x: float, y: float, value: str, size: float = 9, *, bold: bool = False,
             align: str = "left", gray: float = 0.0) -> None:
        c = self.canvas
        c.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        c.setFillGray(gray)
        if align == "right":
            c.drawRightString(x, PAGE_H - y, value)
        elif align == "center":
            c.drawCentredString(x, PAGE_H - y, value)
        else:
            c.drawString(x, PAGE_H - y, value)

    def block(self, x: float, y: float, values: Sequence[str], size: float = 9,
              leading: float = 12, *, bold_first: bool = False) -> float:
        """Draw lines of text; returns the y below the block."""
        for i, value in enumerate(values):
            self.text(x, y + i * leading, value, size, bold=bold_first and i == 0)
        return y + len(values) * leading

    def rect(self, x: float, y: float, w: float, h: float, *, fill: float | None = None,
             stroke: bool = True) -> None:
        c = self.canvas
        if fill is not None:
            c.setFillGray(fill)
        c.setStrokeGray(0.55)
        c.setLineWidth(0.6)
        c.rect(x, PAGE_H - y - h, w, h, stroke=int(stroke), fill=int(fill is not None))
        c.setFillGray(0)

    def hline(self, x0: float, x1: float, y: float, width: float = 0.6) -> None:
        self.canvas.setStrokeGray(0.4)
        self.canvas.setLineWidth(width)
        self.canvas.line(x0, PAGE_H - y, x1, PAGE_H - y)


def text_width(value: str, size: float, *, bold: bool = False) -> float:
    return float(stringWidth(value, "Helvetica-Bold" if bold else "Helvetica", size))


HEADING_GAP = 12.0  # points between a heading and what stands on its line to the right


def heading_size(value: str, size: float, right_edge: float, *, smallest: float = 9) -> float:
    """The bold `size` at which `value`, printed from the margin, ends a gap before
    `right_edge`: `size` itself when it fits (every name that fitted prints as before), else
    a point smaller at a time, down to `smallest`. A long name ("Oakridge Office Solutions
    GmbH & Co. KG" at 18 pt) otherwise ran into the label beside it."""
    room = right_edge - HEADING_GAP - MARGIN
    while size > smallest and text_width(value, size, bold=True) > room:
        size -= 1
    return size


def fdate(doc: Document, value: date) -> str:
    return fmt.format_date(value, doc.date_style)


def famount(doc: Document, value: Decimal, *, bare: bool = False) -> str:
    assert doc.invoice.currency is not None
    return doc.amount_style.amount(value, doc.invoice.currency, bare=bare)


def rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}%"


def tax_label(doc: Document, tax: TaxLine) -> str:
    """``IVA 21%``, ``VAT 20%``, ``Tax (0%)``..."""
    word = doc.labels["tax"]
    return f"{word} ({rate_text(tax.rate)})" if word == "Tax" else f"{word} {rate_text(tax.rate)}"


def totals_rows(doc: Document) -> list[tuple[str, str]]:
    """(label, printed amount) of the totals block: subtotal, each VAT rate, total; with a
    withholding (``generator.withholding``) the total is what is paid, and "Total factura"
    (when printed) and the withholding row come before it; with discounts or charges
    (``generator.discounts``) the subtotal is preceded by the lines' sum and their rows."""
    inv = doc.invoice
    assert inv.subtotal is not None and inv.total is not None
    rows = net_rows(doc) + tax_rows(doc)
    held, style = inv.withholding, doc.withholding
    if held is None or style is None:
        return [*rows, (label(doc, "total", colon=False), famount(doc, inv.total))]
    if style.gross_label is not None:
        rows.append((style.gross_label, famount(doc, inv.total)))
    rows.append((style.label, _signed(doc, held, negative=style.negative)))
    return [*rows, (style.due_label, famount(doc, inv.total - held))]


def tax_rows(doc: Document) -> list[tuple[str, str]]:
    """The totals block's tax rows: one per VAT rate ("IVA 21%  210,00"); with a breakdown
    printed as rows, each with its base ("IVA 21% s/ 1.000,00  210,00"); with a breakdown
    table that leaves the rates to itself, one row with the tax total (``generator.breakdown``)."""
    style, tax = doc.breakdown, doc.invoice.tax_total
    if style is not None and not style.per_rate:
        assert tax is not None
        return [(style.tax_label, famount(doc, tax))]
    if style is not None and style.kind == "rows":
        return [(f"{tax_label(doc, t)} {style.joiner} {famount(doc, t.base)}", famount(doc, t.tax))
                for t in doc.tax_lines]
    return [(tax_label(doc, t), famount(doc, t.tax)) for t in doc.tax_lines]


def net_rows(doc: Document) -> list[tuple[str, str]]:
    """The rows down to the tax base: the subtotal; with discounts or charges the lines' sum,
    each discount (signed as the style says) and charge, and the tax base if printed."""
    inv, style = doc.invoice, doc.adjustments
    assert inv.subtotal is not None
    if style is None:
        return [(label(doc, "subtotal", colon=False), famount(doc, inv.subtotal))]
    lines = sum((ln.amount for ln in inv.lines if ln.amount is not None), Decimal(0))
    rows = [(style.gross_label, famount(doc, lines))]
    rows += [(name, _signed(doc, -value, negative=style.negative) if value < 0
              else famount(doc, value)) for name, value in style.rows]
    if style.base_label is not None:
        rows.append((style.base_label, famount(doc, inv.subtotal)))
    return rows


def _signed(doc: Document, value: Decimal, *, negative: bool) -> str:
    """``-150,00 €``, ``-€150.00``, ``EUR -150.00`` (a code before the number keeps it first)."""
    text = famount(doc, value)
    if not negative:
        return text
    if doc.amount_style.currency == "code_prefix":
        return text.replace(" ", " -", 1)
    return f"-{text}"


def tax_id_label(country: str, language: str, tax_id: str = "") -> str:
    """The word printed before a tax ID: CIF, NIF-IVA, EIN, VAT Reg. No. ..."""
    if language == "es":
        return "CIF" if country == "ES" and not tax_id.startswith("ES") else "NIF-IVA"
    return {"US": "EIN", "GB": "VAT Reg. No.", "DE": "USt-IdNr.", "FR": "N° TVA"}.get(
        country, "VAT No.")


def party_lines(doc: Document, *, seller: bool) -> list[str]:
    party = doc.invoice.seller if seller else doc.invoice.buyer
    country = doc.seller_country if seller else doc.buyer_country
    out = [party.name or ""]
    out += (party.address or "").split(", ")
    if party.tax_id:
        out.append(f"{tax_id_label(country, doc.language, party.tax_id)}: {party.tax_id}")
    return out


def currency_note(doc: Document) -> str | None:
    """A line naming the currency when the amounts carry no symbol or code."""
    if doc.amount_style.currency != "none":
        return None
    return f"{doc.labels['currency']}: {doc.invoice.currency}"


def label(doc: Document, key: str, *, colon: bool = True) -> str:
    text = doc.labels[key]
    return f"{text}:" if colon and not text.endswith(("#", ":")) else text


@dataclass(frozen=True)
class Column:
    key: str
    width: float
    align: str = "left"


def columns(doc: Document, widths: dict[str, float]) -> list[Column]:
    """Description, quantity, unit price, [rate], amount — with the layout's widths."""
    keys = ["description", "quantity", "unit_price"]
    keys += ["rate"] if doc.line_rates_printed else []
    keys += ["amount"]
    extra = widths["rate"] if not doc.line_rates_printed else 0.0
    return [Column(k, widths[k] + (extra if k == "description" else 0.0),
                   "left" if k == "description" else "right") for k in keys]


def row_cells(doc: Document, index: int) -> dict[str, str]:
    line = doc.invoice.lines[index]
    assert line.quantity is not None and line.unit_price is not None and line.amount is not None
    return {
        "description": line.description or "",
        "quantity": doc.amount_style.quantity(line.quantity),
        "unit_price": famount(doc, line.unit_price, bare=True),
        "rate": rate_text(line.tax_rate) if line.tax_rate is not None else "",
        "amount": famount(doc, line.amount, bare=True),
    }


def draw_row(pen: Pen, x: float, y: float, cols: Sequence[Column], cells: dict[str, str], *,
             size: float, bold: bool = False) -> None:
    for col in cols:
        if col.align == "right":
            pen.text(x + col.width - 4, y, cells[col.key], size, bold=bold, align="right")
        else:
            pen.text(x + 4, y, cells[col.key], size, bold=bold)
        x += col.width


def paginate(n_rows: int, first_top: float, next_top: float, *, row_h: float,
             totals_h: float, first_max: int | None = None) -> list[tuple[int, int]]:
    """Split rows over pages: [(start, end), ...]; the last page keeps room for the totals."""
    pages: list[tuple[int, int]] = []
    start = 0
    while True:
        top = first_top if not pages else next_top
        capacity = int((BOTTOM - top) / row_h)
        if not pages and first_max is not None:
            capacity = min(capacity, first_max)
        remaining = n_rows - start
        if remaining * row_h + totals_h <= BOTTOM - top and remaining <= capacity:
            pages.append((start, n_rows))
            return pages
        take = min(capacity, remaining)
        pages.append((start, start + take))
        start += take


def iban_text(value: str) -> str:
    return ids.format_iban(value)

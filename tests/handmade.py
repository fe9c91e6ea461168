"""A hand-made one-page Spanish invoice (reportlab) with the totals rows a test asks for: two
line items (800,00 + 200,00 = 1.000,00) and the totals block below them."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

HEIGHT = A4[1]


def invoice_pdf(path: Path, totals: list[tuple[str, str]],
                extra: tuple[tuple[float, float, str], ...] = ()) -> Path:
    """A freelancer's one-page invoice with these totals rows (and `extra` texts at (x, y
    from the top))."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    rows = [(50, 40, "Laura Gómez Martín - Diseño gráfico", 14), (50, 60, "NIF: 12345678Z", 10),
            (50, 80, "C/ Mayor 5, 28013 Madrid", 10), (400, 100, "FACTURA", 16),
            (400, 120, "Nº factura: 2024-017", 10), (400, 140, "Fecha: 15/03/2024", 10),
            (50, 160, "Cliente: Ferretería del Norte SL - CIF B08181596", 10),
            (50, 190, "Concepto", 10), (350, 190, "Cantidad", 10), (430, 190, "Precio", 10),
            (500, 190, "Importe", 10), (50, 208, "Diseño de logotipo", 10), (350, 208, "1", 10),
            (430, 208, "800,00", 10), (500, 208, "800,00", 10),
            (50, 226, "Maquetación catálogo", 10), (350, 226, "2", 10),
            (430, 226, "100,00", 10), (500, 226, "200,00", 10)]
    rows += [(x, 256 + 18 * i, text, 10) for i, (name, value) in enumerate(totals)
             for x, text in ((350, name), (480, value))]
    rows.append((50, 256 + 18 * len(totals) + 20,
                 "Forma de pago: transferencia a ES91 2100 0418 4502 0005 1332", 10))
    rows += [(x, y, text, 10) for x, y, text in extra]
    for x, y, text, size in rows:
        pdf.setFont("Helvetica", size)
        pdf.drawString(x, HEIGHT - y, text)
    pdf.save()
    return path

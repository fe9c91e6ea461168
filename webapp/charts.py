"""Server-side SVG charts (no JavaScript, no CDN). Every label is escaped: counterparty names
come from invoices, which are untrusted input."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 560
BAR_H = 22
GAP = 6
LABEL_W = 190
COLORS = ("#2f6fb0", "#c0504d", "#4f9a5a", "#d08a2c", "#7d5ba6", "#3c9aa6")


def _label(text: str, limit: int = 28) -> str:
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def bar_chart(title: str, data: Sequence[tuple[str, float]], *, unit: str = "",
              color: str = COLORS[0]) -> Markup:
    """Horizontal bars, one per (label, value); an empty series says so."""
    if not data:
        return Markup(f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
                      '<p class="empty">No data.</p></figure>')
    top = max(value for _, value in data) or 1.0
    height = len(data) * (BAR_H + GAP) + GAP
    span = WIDTH - LABEL_W - 70
    scale = span / top
    rows = [_bar_row(i, label, f"{value:g}{unit}", scale * value, color)
            for i, (label, value) in enumerate(data)]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
           f'height="{height}" viewBox="0 0 {WIDTH} {height}" aria-label="{escape(title)}">'
           + "".join(rows) + "</svg>")
    return Markup(f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{svg}</figure>')


def _bar_row(index: int, label: str, shown: str, length: float, color: str) -> str:
    y = GAP + index * (BAR_H + GAP)
    width = max(1.0, length)
    return (f'<text x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"<title>{escape(label)}</title>{_label(label)}</text>"
            f'<rect x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR_H}" fill="{color}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text x="{LABEL_W + width + 6:.1f}" y="{y + 15}" font-size="12">'
            f"{escape(shown)}</text>")

"""Amounts printed in two currencies side by side (``USD  EUR`` column heads over
``TOTAL 119.95 109.15``): keep the amount in the invoice's currency column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from extractors.layout import Line
from extractors.parse import detect_currency
from extractors.values import read_amounts

if TYPE_CHECKING:
    from extractors.fields import FieldResult

_LOOK_UP = 8  # lines above an amount where the currency column heads may be


def prefer_currency_column(result: FieldResult, lines: Sequence[Line], mark: str | None) -> None:
    currency = result.invoice.currency
    if currency is None:
        return
    for name in ("subtotal", "tax_total", "total"):
        words = result.evidence.get(name)
        line = _line_with(lines, words[0]) if words else None
        if line is None:
            continue
        amounts = read_amounts(line.words, mark)
        head = _currency_head(lines, line, currency) if len(amounts) >= 2 else None
        if head is None:
            continue
        centre = (head[0] + head[1]) / 2
        best = min(amounts, key=lambda a: abs((a.words[0].x0 + a.words[-1].x1) / 2 - centre))
        if best.value != getattr(result.invoice, name):
            result.set(name, best.value, result.confidence.get(name, 0.5), best.words)


def _line_with(lines: Sequence[Line], word: object) -> Line | None:
    for line in lines:
        if word in line.words:
            return line
    return None


def _currency_head(lines: Sequence[Line], line: Line, currency: str) -> tuple[float, float] | None:
    """The x-span of ``currency``'s column head, on a line above with two or more heads."""
    for above in reversed(lines[max(0, line.index - _LOOK_UP) : line.index]):
        if above.page != line.page:
            break
        heads = [(w, detect_currency(w.text)) for w in above.words if len(w.text) <= 4]
        codes = [(w, code) for w, code in heads if code is not None]
        if len({code for _, code in codes}) >= 2:
            for word, code in codes:
                if code == currency:
                    return word.x0, word.x1
            return None
    return None

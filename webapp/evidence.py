"""Which evidence word boxes stand behind a reason's field.

A header field has its own boxes. A line field (`lines[2].unit_price`) is looked up in the
`lines` table evidence: its rows are the box groups sharing a baseline, in reading order;
within row 2 the word equal to the stored value is taken, else the whole row."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from models.corrections import LINE_FIELD
from models.domain import Invoice

Boxes = list[dict[str, Any]]
ROW_TOLERANCE = 2.0  # points: words of one table row share their top within this


def _rows(boxes: Boxes) -> list[list[int]]:
    """Indexes of `boxes` grouped into rows (page, then top)."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i].get("page", 0), boxes[i]["top"]))
    rows: list[list[int]] = []
    for i in order:
        last = boxes[rows[-1][0]] if rows else None
        same = (last is not None and last.get("page", 0) == boxes[i].get("page", 0)
                and abs(last["top"] - boxes[i]["top"]) <= ROW_TOLERANCE)
        rows[-1].append(i) if same else rows.append([i])
    return rows


def _number(text: str) -> Decimal | None:
    cleaned = text.strip().rstrip("%").replace(" ", "")
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(".", "") if cleaned.rfind(",") > cleaned.rfind(".") else \
            cleaned.replace(",", "")
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        return None


def _line_boxes(boxes: Boxes, index: int, value: object) -> list[int]:
    rows = _rows(boxes)
    if index >= len(rows):
        return []
    row = rows[index]
    if isinstance(value, Decimal):
        cells = [i for i in row if _number(str(boxes[i].get("text", ""))) == value]
        return cells or row
    return row


def hot_boxes(evidence: dict[str, Boxes], fields: Iterable[str],
              invoice: Invoice | None) -> set[tuple[str, int]]:
    """(evidence key, box index) of every box behind one of `fields`."""
    hot: set[tuple[str, int]] = set()
    for name in fields:
        line = LINE_FIELD.match(name)
        if name in evidence:
            hot.update((name, i) for i in range(len(evidence[name])))
        elif line is not None and "lines" in evidence:
            index, column = int(line.group(1)), line.group(2)
            value = (getattr(invoice.lines[index], column)
                     if invoice is not None and index < len(invoice.lines) else None)
            hot.update(("lines", i) for i in _line_boxes(evidence["lines"], index, value))
        elif (group := name.split(".", maxsplit=1)[0]) in evidence:
            hot.update((group, i) for i in range(len(evidence[group])))
    return hot

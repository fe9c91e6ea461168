"""Which evidence word boxes stand behind a reason's field.

A header field has its own boxes. A line field (`lines[2].unit_price`) is looked up in the
`lines` table evidence: its rows are the box groups sharing a baseline, in reading order;
within row 2 the word equal to the stored value is taken, else the whole row.

The boxes of a scan lie on the page as received (`extractors.ocr.pages`): on a tilted scan
the words of one printed line do not share a top, and on a page scanned sideways they share
a left edge instead. So the lines are looked for along the direction, level or turned up to
`MAX_TILT` degrees either way or a quarter turn, that groups the boxes into fewest lines."""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from models.corrections import LINE_FIELD
from models.domain import Invoice

Boxes = list[dict[str, Any]]
ROW_TOLERANCE = 2.0  # points: the centres of one table row's words lie within this of a line
MAX_TILT = 6.0  # degrees: the OCR levels pages tilted up to 5.5 degrees (extractors.ocr.geometry)
_STEP = 0.25    # degrees between the directions tried: 1.1 points of drift over 500 points
# level first, so that a tie keeps the level reading
_TILTS = sorted((_STEP * k for k in range(-round(MAX_TILT / _STEP), round(MAX_TILT / _STEP) + 1)),
                key=abs)
DIRECTIONS = (*_TILTS, *(90.0 + tilt for tilt in _TILTS))


def _rows(boxes: Boxes) -> list[list[int]]:
    """Indexes of `boxes` grouped into printed lines; page by page, each page's lines in the
    order their first box is listed (the table's reading order, whichever way the page
    lies)."""
    rows: list[list[int]] = []
    for page in sorted({_page(box) for box in boxes}):
        members = [i for i, box in enumerate(boxes) if _page(box) == page]
        lines = min((_lines(boxes, members, angle) for angle in DIRECTIONS), key=len)
        rows.extend(sorted((sorted(line) for line in lines), key=lambda line: line[0]))
    return rows


def _page(box: dict[str, Any]) -> int:
    return int(box.get("page", 0))


def _lines(boxes: Boxes, members: list[int], angle: float) -> list[list[int]]:
    """`members` grouped into lines running `angle` degrees counter-clockwise: boxes whose
    centres lie within `ROW_TOLERANCE` across such a line of the first box of their group."""
    across = {i: _across(boxes[i], math.radians(angle)) for i in members}
    lines: list[list[int]] = []
    for i in sorted(members, key=across.__getitem__):
        if lines and across[i] - across[lines[-1][0]] <= ROW_TOLERANCE:
            lines[-1].append(i)
        else:
            lines.append([i])
    return lines


def _across(box: dict[str, Any], radians: float) -> float:
    """How far down (y grows downwards) the box's centre lies across lines running at
    `radians` counter-clockwise: the same for every box on one such line."""
    x, y = (box["x0"] + box["x1"]) / 2, (box["top"] + box["bottom"]) / 2
    return float(y * math.cos(radians) + x * math.sin(radians))


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

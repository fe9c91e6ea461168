"""Line-level matching of invoice lines to order lines, and the 2-way / 3-way variances.

Assignment: every (invoice line, order line) pair gets a score from description similarity
(rapidfuzz `ratio`), unit-price closeness and quantity; pairs are then taken best score first
(a global best-first assignment, not first-come). Scores only rank pairs; every variance is then
decided with exact `Decimal` arithmetic against the tolerances.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from arflow.reasons import Reason
from arflow.settings import Tolerances
from matching.normalize import norm_name
from matching.orders import OrderLine
from matching.tolerance import price_ok
from models.domain import InvoiceLine, Problem

MIN_SCORE = 0.5
_ZERO = Decimal(0)


class Billed(NamedTuple):
    """One invoice line and the order line it bills (None when it is not on the order)."""

    invoice_line: int
    order_line: OrderLine | None
    quantity: Decimal | None
    unit_price: Decimal | None


def unit_price(line: InvoiceLine) -> Decimal | None:
    if line.unit_price is not None:
        return line.unit_price
    if line.amount is not None and line.quantity:
        return line.amount / line.quantity
    return None


def assign(lines: Sequence[InvoiceLine], order: Sequence[OrderLine]) -> list[Billed]:
    """Pair each invoice line with at most one order line, best pairs first."""
    if not order:
        return [Billed(i, None, ln.quantity, unit_price(ln)) for i, ln in enumerate(lines)]
    if _same_order(lines, order):
        return [Billed(i, order[i], ln.quantity, unit_price(ln)) for i, ln in enumerate(lines)]
    scores = _scores(lines, order)
    taken: dict[int, int] = {}
    used: set[int] = set()
    for flat in np.argsort(-scores, axis=None, kind="stable"):
        i, j = divmod(int(flat), len(order))
        if scores[i, j] < MIN_SCORE:
            break
        if i not in taken and j not in used:
            taken[i] = j
            used.add(j)
    return [
        Billed(i, order[taken[i]] if i in taken else None, ln.quantity, unit_price(ln))
        for i, ln in enumerate(lines)
    ]


def _same_order(lines: Sequence[InvoiceLine], order: Sequence[OrderLine]) -> bool:
    """Fast path: the invoice lists exactly the order's lines, in order, by (unique) description;
    then the diagonal is the best assignment and scoring every pair is not needed."""
    if len(lines) != len(order):
        return False
    texts = [norm_name(o.description) for o in order]
    return len(set(texts)) == len(texts) and all(
        norm_name(ln.description) == text for ln, text in zip(lines, texts, strict=True)
    )


def _scores(lines: Sequence[InvoiceLine], order: Sequence[OrderLine]) -> np.ndarray:
    texts = [norm_name(ln.description) for ln in lines]
    desc = process.cdist(texts, [norm_name(o.description) for o in order], scorer=fuzz.ratio,
                         dtype=np.float32) / 100.0
    price = _closeness([unit_price(ln) for ln in lines], [o.unit_price for o in order])
    qty = _closeness([ln.quantity for ln in lines], [o.quantity for o in order])
    return np.asarray(0.6 * desc + 0.3 * price + 0.1 * qty)


def _closeness(found: list[Decimal | None], expected: list[Decimal]) -> np.ndarray:
    """1 for equal values, falling linearly to 0 at a 100 % difference; 0 when unknown."""
    f = np.array([np.nan if v is None else float(v) for v in found])[:, None]
    e = np.array([float(v) for v in expected])[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(f - e) / np.maximum(np.abs(e), 1e-9)
    out: np.ndarray = np.nan_to_num(np.clip(1.0 - rel, 0.0, 1.0), nan=0.0)
    return out


def variances(
    billed: Sequence[Billed], billed_before: dict[int, Decimal], tol: Tolerances, order_no: str,
) -> list[Problem]:
    """PRICE_VARIANCE, QUANTITY_VARIANCE and OVER_BILLING for every billed line."""
    out: list[Problem] = []
    for item in billed:
        if item.order_line is None:
            out.append(Problem(Reason.QUANTITY_VARIANCE, "line is not on the order",
                               field=f"lines[{item.invoice_line}]",
                               expected=f"a line of order {order_no}", found="no such line"))
            continue
        out += _price(item, tol) + _quantity(item, billed_before)
    return out


def _price(item: Billed, tol: Tolerances) -> list[Problem]:
    ol = item.order_line
    if ol is None or item.unit_price is None or price_ok(ol.unit_price, item.unit_price, tol):
        return []
    return [Problem(Reason.PRICE_VARIANCE, "unit price differs from the order beyond tolerance",
                    field=_field(item, ol, "unit_price"),
                    expected=format(ol.unit_price, "f"), found=format(item.unit_price, "f"))]


def _quantity(item: Billed, billed_before: dict[int, Decimal]) -> list[Problem]:
    ol = item.order_line
    if ol is None or item.quantity is None:
        return []
    before = ol.quantity_invoiced + billed_before.get(ol.order_line_id, _ZERO)
    cumulative = before + item.quantity
    field = _field(item, ol, "quantity")
    if cumulative > ol.quantity:
        return [Problem(Reason.QUANTITY_VARIANCE, "cumulative billed quantity exceeds the order",
                        field=field, expected=f"<= {ol.quantity} ordered",
                        found=f"{cumulative} billed ({before} before)")]
    if cumulative > ol.quantity_received:
        return [Problem(Reason.OVER_BILLING, "cumulative billed quantity exceeds goods received",
                        field=field, expected=f"<= {ol.quantity_received} received",
                        found=f"{cumulative} billed ({before} before)")]
    return []


def _field(item: Billed, line: OrderLine, name: str) -> str:
    """`lines[i].name`, or the order line for an invoice without lines (invoice_line -1)."""
    if item.invoice_line < 0:
        return f"order line {line.line_no}: {name}"
    return f"lines[{item.invoice_line}].{name}"


def billed_value(billed: Sequence[Billed]) -> Decimal:
    """What the billed quantities are worth at order prices (the expected partial-invoice net)."""
    return sum(
        ((b.quantity or _ZERO) * b.order_line.unit_price for b in billed if b.order_line),
        _ZERO,
    )

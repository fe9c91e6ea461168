"""Arithmetic repair of an OCR-read line item: quantity x unit price = amount.

OCR misreads one figure of a row now and then ("55135" for 55.35, "9" for 5, "25:5" for
25.5). When the three figures disagree, or one is missing, each of them is recomputed from
the other two; a recomputed value is kept only if it is a clean figure (cents for money,
at most two decimals for a quantity) and, when the row had a reading for it, differs from
that reading by about one digit in three (a real discount or a rounded price is not
"repaired").
Of several candidate repairs the one closest to what was read wins. Only OCR rows are
repaired: a digital text layer is taken as printed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from models.domain import InvoiceLine

_CENT = Decimal("0.01")
_DIGITS_PER_EDIT = 3  # one misread digit allowed per three digits of the figure (at least one)


def repair_line(line: InvoiceLine) -> InvoiceLine:
    """``line`` with one inconsistent or missing figure recomputed (see module docstring)."""
    qty, price, amount = line.quantity, line.unit_price, line.amount
    if _consistent(qty, price, amount) or [qty, price, amount].count(None) > 1:
        return line
    options: list[tuple[int, InvoiceLine]] = []
    if price is not None and amount is not None:
        _offer(options, qty, _divide(amount, price), lambda v: replace(line, quantity=v))
    if qty is not None and amount is not None:
        _offer(options, price, _divide(amount, qty), lambda v: replace(line, unit_price=v))
    if qty is not None and price is not None:
        product = (qty * price).quantize(_CENT, ROUND_HALF_UP)
        _offer(options, amount, product, lambda v: replace(line, amount=v))
    return min(options, key=lambda o: o[0])[1] if options else line


def _consistent(qty: Decimal | None, price: Decimal | None, amount: Decimal | None) -> bool:
    if qty is None or price is None or amount is None:
        return False
    return abs(qty * price - amount) <= _CENT


def _divide(amount: Decimal, by: Decimal) -> Decimal | None:
    """``amount / by`` if it is a clean figure (at most two decimals) that multiplies back."""
    if by == 0:
        return None
    try:
        value = (amount / by).quantize(_CENT, ROUND_HALF_UP)
    except InvalidOperation:
        return None
    if value <= 0 or abs(value * by - amount) > _CENT / 2:
        return None
    return value.normalize() if value == value.to_integral_value() else value


def _offer(options: list[tuple[int, InvoiceLine]], read: Decimal | None, new: Decimal | None,
           build: Callable[[Decimal], InvoiceLine]) -> None:
    if new is None:
        return
    edits = digit_edits(read, new)
    if edits <= max(1, len(_digits(new)) // _DIGITS_PER_EDIT):
        options.append((edits, build(new)))


def digit_edits(read: Decimal | None, new: Decimal) -> int:
    """Edits between the digits of the reading and of the new value (0 for no reading but
    ranked after any exact-looking repair: a missing figure is the likeliest gap)."""
    if read is None:
        return 0
    a, b = _digits(read), _digits(new)
    return _levenshtein(a, b) if a != b else 0


def _digits(value: Decimal) -> str:
    return "".join(c for c in format(value, "f") if c.isdigit()).lstrip("0") or "0"


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]

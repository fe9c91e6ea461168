"""The order book: order lines grouped into orders, indexed for set-based lookups.

Orders get dense integer codes; order numbers and counterparties are factorised to integers so that
lookups for a whole batch are integer merges and sorted searches (PERF-NOTES traps 7 and 8), never a
Python scan of all orders per invoice. Amount keys are integers in 1/10,000 of the currency unit and
only pre-filter: every candidate is confirmed afterwards with exact `Decimal` arithmetic.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from matching.normalize import norm_order_number, to_units
from matching.parties import PartyIndex, opt_str

_ZERO = Decimal(0)


class OrderLine(NamedTuple):
    order_line_id: int
    line_no: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    quantity_received: Decimal
    quantity_invoiced: Decimal

    @property
    def value(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Order:
    code: int
    order_number: str
    party_key: str
    currency: str | None
    order_date: date | None
    lines: tuple[OrderLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.value for line in self.lines), _ZERO)

    def remaining(self, billed: dict[int, Decimal]) -> Decimal:
        """Value not yet invoiced, counting what earlier invoices of the batch billed."""
        return sum(
            (max(ln.quantity - ln.quantity_invoiced - billed.get(ln.order_line_id, _ZERO), _ZERO)
             * ln.unit_price for ln in self.lines),
            _ZERO,
        )

    def received_rest(self, billed: dict[int, Decimal]) -> Decimal:
        """Value received (up to the ordered quantity) and not yet invoiced: what an invoice
        billing the goods delivered so far is worth (the 3-way amount)."""
        return sum(
            (max(min(ln.quantity_received, ln.quantity) - ln.quantity_invoiced
                 - billed.get(ln.order_line_id, _ZERO), _ZERO)
             * ln.unit_price for ln in self.lines),
            _ZERO,
        )

    def amounts(self, billed: dict[int, Decimal]) -> tuple[Decimal, Decimal, Decimal]:
        """The values an invoice of this order may bill: all of it, the unbilled rest, and the
        received-but-unbilled rest."""
        return self.total, self.remaining(billed), self.received_rest(billed)


def _dec(value: object) -> Decimal:
    """A master-data number as Decimal (the contract says Decimal; None/NaN count as 0)."""
    if isinstance(value, Decimal):
        return value
    text = opt_str(value)
    return Decimal(text) if text else _ZERO


class OrderBook:
    """Orders built from the order-lines frame; `headers` has one row per order code."""

    def __init__(self, order_lines: pd.DataFrame, parties: PartyIndex) -> None:
        codes, numbers = pd.factorize(order_lines["order_number"].astype(object).fillna(""))
        self.numbers: list[str] = [str(n) for n in numbers]
        perm = np.argsort(codes, kind="stable")
        sorted_codes = codes[perm]
        self._starts = np.searchsorted(sorted_codes, np.arange(len(numbers)), side="left")
        self._ends = np.searchsorted(sorted_codes, np.arange(len(numbers)), side="right")
        self._cols = _line_columns(order_lines, perm)
        self.headers = self._build_headers(order_lines.iloc[perm[self._starts]], parties)
        self._party_keys: list[str] = self.headers["party_key"].tolist()
        self._currencies = [opt_str(c) for c in self.headers["currency"]]
        self._days: list[date | None] = (
            self.headers["order_day"].to_numpy().astype("datetime64[D]").astype(object).tolist())
        self._positions: dict[int, int] | None = None

    def _build_headers(self, head: pd.DataFrame, parties: PartyIndex) -> pd.DataFrame:
        """One row per order (from its first line), with integer amount keys summed over lines."""
        _, _, _, qty, price, received, billed = self._cols
        total = np.fromiter(map(to_units, map(operator.mul, qty, price)), np.int64, len(qty))
        rest = total if not any(billed) else _rest_units(qty, billed, price)
        got = rest if received == qty and not any(billed) else _rest_units(
            list(map(min, received, qty)), billed, price)
        n = len(head)
        return pd.DataFrame({
            "order_code": np.arange(n),
            "number_norm": [norm_order_number(num) for num in self.numbers],
            "party_key": parties.keys(head["counterparty_tax_id"], head["counterparty_name"]),
            "order_day": pd.to_datetime(head["order_date"]).to_numpy("datetime64[D]"),
            "currency": head["currency"].to_numpy(dtype=object),
            "total_units": self._group_sum(total),
            "remaining_units": self._group_sum(rest),
            "received_units": self._group_sum(got),
        })

    def _group_sum(self, values: np.ndarray) -> np.ndarray:
        """Per-order sums of per-line values (lines sorted by order; no order is empty)."""
        if not len(values):
            return np.zeros(0, dtype=np.int64)
        out: np.ndarray = np.add.reduceat(values, self._starts)
        return out

    @property
    def descriptions(self) -> list[str]:
        """Every order line's description, lines sorted by order code."""
        out: list[str] = self._cols[2]
        return out

    def line_order_codes(self) -> np.ndarray:
        """The order code of every line, in the order of `descriptions`."""
        return np.repeat(np.arange(len(self.numbers)), self._ends - self._starts)

    def line(self, order_line_id: int) -> tuple[int, OrderLine] | None:
        """The order code and the line with this id (the index is built on first use)."""
        if self._positions is None:
            self._positions = {ident: pos for pos, ident in enumerate(self._cols[0])}
        pos = self._positions.get(order_line_id)
        if pos is None:
            return None
        code = int(np.searchsorted(self._starts, pos, side="right")) - 1
        return code, OrderLine._make(col[pos] for col in self._cols)

    def order(self, code: int) -> Order:
        """The order with all its lines, as exact `Decimal` values."""
        start, end = int(self._starts[code]), int(self._ends[code])
        lines = tuple(map(OrderLine._make, zip(*(col[start:end] for col in self._cols),
                                                strict=True)))
        return Order(
            code=code, order_number=self.numbers[code], party_key=self._party_keys[code],
            currency=self._currencies[code], order_date=self._days[code], lines=lines,
        )


def _rest_units(qty: list[Any], billed: list[Any], price: list[Any]) -> np.ndarray:
    """Per-line integer amount keys of max(quantity - billed, 0) × price."""
    return np.fromiter(
        (to_units(max(q - b, _ZERO) * p) for q, b, p in zip(qty, billed, price, strict=True)),
        np.int64, len(qty))


def _line_columns(lines: pd.DataFrame, perm: np.ndarray) -> list[list[Any]]:
    """The `OrderLine` fields as Python lists in order-code order, cleaned once."""
    def ints(name: str) -> list[Any]:
        out: list[Any] = lines[name].to_numpy(dtype=np.int64)[perm].tolist()
        return out

    def decimals(name: str) -> list[Any]:
        values = lines[name].to_numpy(dtype=object)[perm]
        if pd.api.types.infer_dtype(values, skipna=False) == "decimal":  # the contract: no copy
            out: list[Any] = values.tolist()
            return out
        return [_dec(v) for v in values]

    desc = lines["description"].astype(object).fillna("").to_numpy(dtype=object)[perm]
    return [ints("order_line_id"), ints("line_no"), [str(d) for d in desc],
            decimals("quantity"), decimals("unit_price"), decimals("quantity_received"),
            decimals("quantity_invoiced")]

"""Candidate search by invoice lines, for invoices that print no order number and bill an amount
no order value explains (a part of what was received, say).

Set-based: every order line is keyed by (counterparty, normalised description) as one integer; the
invoice lines of a batch are looked up with one sorted search, and an order is a candidate when it
lists every described invoice line and its date is near the invoice date. `narrow` then confirms
candidates with exact `Decimal` arithmetic: prices within tolerance, quantities still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pandas as pd

from arflow.settings import Tolerances
from matching.lines import assign
from matching.lookup import date_filter
from matching.normalize import norm_name
from matching.orders import Order, OrderBook
from matching.tolerance import price_ok
from models.domain import Invoice

_DESC_BITS = 32
_ZERO = Decimal(0)


class LineIndex:
    """Order lines sorted by (counterparty code, description code), built once per batch."""

    def __init__(self, book: OrderBook) -> None:
        raw_codes, raw = pd.factorize(pd.Series(book.descriptions, dtype=object))
        norm_codes, norms = pd.factorize(pd.Series([norm_name(str(d)) for d in raw], dtype=object))
        party_codes, parties = pd.factorize(book.headers["party_key"].astype(object))
        self._desc = {str(text): code for code, text in enumerate(norms)}
        self._party = {str(key): code for code, key in enumerate(parties)}
        orders = book.line_order_codes()
        desc = norm_codes[raw_codes] if len(raw_codes) else np.zeros(0, dtype=np.int64)
        keys = (party_codes[orders].astype(np.int64) << _DESC_BITS) | desc.astype(np.int64)
        perm = np.argsort(keys, kind="stable")
        self._keys, self._orders = keys[perm], orders[perm]

    def key(self, party_key: str, description: str | None) -> int | None:
        """The integer key of an invoice line, None when no order line could share it."""
        party = self._party.get(party_key)
        desc = self._desc.get(norm_name(description)) if description else None
        if party is None or desc is None or not norm_name(description):
            return None
        return (party << _DESC_BITS) | desc

    def pairs(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, order code) for every order line with one of the query keys."""
        lo = np.searchsorted(self._keys, keys, "left")
        counts = np.searchsorted(self._keys, keys, "right") - lo
        rows = np.repeat(np.arange(len(keys)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return rows, self._orders[np.repeat(lo, counts) + offsets]


def line_candidates(
    index: LineIndex, headers: pd.DataFrame, invoices: Sequence[Invoice], *,
    party_keys: Sequence[str], frame: pd.DataFrame, wanted: np.ndarray,
) -> pd.DataFrame:
    """(inv_pos, order_code) for the wanted invoices: orders of the same counterparty listing
    every described line of the invoice, dated near it. `frame` is `prepare.lookup_frame`,
    whose row i is invoice i (its `inv_pos`)."""
    rows = [(pos, i, index.key(party_keys[pos], ln.description))
            for pos in map(int, np.flatnonzero(wanted))
            for i, ln in enumerate(invoices[pos].lines) if norm_name(ln.description)]
    need = pd.Series([r[0] for r in rows], dtype=np.int64).value_counts()
    found = [r for r in rows if r[2] is not None]
    if not found:
        return pd.DataFrame({"inv_pos": [], "order_code": []}, dtype=np.int64)
    pos, line, keys = (np.array(col, dtype=np.int64) for col in zip(*found, strict=True))
    at, codes = index.pairs(keys)
    hits = pd.DataFrame({"inv_pos": pos[at], "line": line[at], "order_code": codes})
    covered = hits.groupby(["inv_pos", "order_code"])["line"].nunique().reset_index()
    full = covered["line"].to_numpy() == need.reindex(covered["inv_pos"]).to_numpy()
    pairs = covered.loc[full, ["inv_pos", "order_code"]]
    pairs = pairs.assign(row=pairs["inv_pos"].to_numpy()).reset_index(drop=True)
    return date_filter(pairs, headers, frame)


def narrow(
    invoice: Invoice, orders: list[Order], billed: dict[int, Decimal], tol: Tolerances,
) -> list[Order]:
    """Among orders listing the invoice's items, keep those whose prices agree, then those with
    the billed quantities still open; a step that would leave none is skipped."""
    for test in (_prices_agree, _quantities_open):
        if len(orders) <= 1:
            break
        kept = [o for o in orders if test(invoice, o, billed, tol)]
        orders = kept or orders
    return orders


def _prices_agree(invoice: Invoice, order: Order, billed: dict[int, Decimal],
                  tol: Tolerances) -> bool:
    return all(b.order_line is not None and b.unit_price is not None
               and price_ok(b.order_line.unit_price, b.unit_price, tol)
               for b in assign(invoice.lines, order.lines))


def _quantities_open(invoice: Invoice, order: Order, billed: dict[int, Decimal],
                     tol: Tolerances) -> bool:
    return all(b.order_line is not None and b.quantity is not None
               and b.quantity <= b.order_line.quantity - b.order_line.quantity_invoiced
               - billed.get(b.order_line.order_line_id, _ZERO)
               for b in assign(invoice.lines, order.lines))

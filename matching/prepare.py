"""The set-based core: resolve sellers and look up order candidates for a whole batch at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from arflow.settings import Tolerances
from matching.context import Context
from matching.linesearch import line_candidates
from matching.lookup import amount_candidates, number_hits
from matching.normalize import norm_order_number, seller_key, to_units
from matching.parties import PartyHit
from matching.tolerance import total_limit
from models.domain import Invoice

SLACK_UNITS = 1_000  # 0.10 of widening for truncated amount keys; exact check follows


@dataclass
class Prepared:
    """What the batch lookups found for one invoice."""

    party: PartyHit | None
    party_key: str
    tol: Tolerances
    number_hits: list[tuple[int, bool]] = field(default_factory=list)  # (order code, same party)
    amount_hits: list[int] = field(default_factory=list)               # order codes
    line_hits: list[int] = field(default_factory=list)  # order codes listing every item billed


def net_amount(invoice: Invoice) -> Decimal | None:
    """The invoice net: subtotal, else total minus tax."""
    if invoice.subtotal is not None:
        return invoice.subtotal
    if invoice.total is not None and invoice.tax_total is not None:
        return invoice.total - invoice.tax_total
    return None


def prepare(invoices: Sequence[Invoice], ctx: Context) -> list[Prepared]:
    preps = [seller_of(inv, ctx) for inv in invoices]
    frame = lookup_frame(invoices, preps)
    hits = number_hits(ctx.orders.headers, frame)
    for pos, code, same in zip(hits["inv_pos"], hits["order_code"], hits["same_party"],
                               strict=True):
        preps[pos].number_hits.append((int(code), bool(same)))
    found = np.array([any(s for _, s in p.number_hits) for p in preps], dtype=bool)
    frame.loc[found, ["lo_units", "hi_units"]] = -1
    cands = amount_candidates(ctx.orders.headers, frame)
    for pos, code in zip(cands["inv_pos"], cands["order_code"], strict=True):
        preps[pos].amount_hits.append(int(code))
    _add_line_hits(invoices, preps, frame, ctx, wanted=frame["number_norm"].to_numpy() == "")
    return preps


def _add_line_hits(invoices: Sequence[Invoice], preps: list[Prepared], frame: pd.DataFrame,
                   ctx: Context, wanted: np.ndarray) -> None:
    """Orders listing every item billed, for invoices that print no order number (a number
    printed but not on file is a finding, not a reason to search by items)."""
    wanted = wanted & np.array([bool(inv.lines) for inv in invoices], dtype=bool)
    if not wanted.any():
        return
    keys = [p.party_key for p in preps]
    hits = line_candidates(ctx.line_index(), ctx.orders.headers, invoices,
                           party_keys=keys, frame=frame, wanted=wanted)
    for pos, code in zip(hits["inv_pos"], hits["order_code"], strict=True):
        preps[pos].line_hits.append(int(code))


def seller_of(inv: Invoice, ctx: Context) -> Prepared:
    """The seller resolved to the party master, its identity key and its tolerances."""
    hit = ctx.parties.resolve(inv.seller.tax_id, inv.seller.name)
    pid = hit.party_id if hit else None
    return Prepared(hit, seller_key(pid, inv.seller.tax_id, inv.seller.name),
                    ctx.tolerances.for_party(pid, inv.seller.tax_id))


def _window(inv: Invoice, tol: Tolerances) -> tuple[int, int]:
    net = net_amount(inv)
    if net is None:
        return -1, -1
    # The limit is a share of the order value, which may exceed the net: widen accordingly.
    limit = total_limit(net, tol) / max(1 - tol.total_pct / 100, Decimal("0.01"))
    return max(to_units(net - limit) - SLACK_UNITS, 0), to_units(net + limit) + SLACK_UNITS


def lookup_frame(invoices: Sequence[Invoice], preps: list[Prepared]) -> pd.DataFrame:
    """One row per invoice with the integer/str keys `matching.lookup` works on."""
    windows = np.array([_window(inv, p.tol) for inv, p in zip(invoices, preps, strict=True)],
                       dtype=np.int64).reshape(-1, 2)
    return pd.DataFrame({
        "inv_pos": np.arange(len(invoices)),
        "number_norm": pd.Series([norm_order_number(i.order_number) for i in invoices],
                                 dtype=object),
        "party_key": pd.Series([p.party_key for p in preps], dtype=object),
        "lo_units": windows[:, 0],
        "hi_units": windows[:, 1],
        "issue_day": pd.to_datetime(pd.Series([i.issue_date for i in invoices], dtype=object))
        .to_numpy("datetime64[D]"),
    })

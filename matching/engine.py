"""Validate and match a batch of invoices, in the given order, into one `Decision` each.

Set-based first (`matching.prepare`: seller resolution and order lookups for the whole batch), then
one short pass per invoice in batch order, so that earlier invoices of the same batch count: every
invoice enters the duplicate ledger, and an auto-approved invoice's quantities count as invoiced
for the next one (and may be credited by a credit note later in the batch, `matching.credit`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from arflow.settings import Tolerances
from matching.context import Context, MasterIndex, build_context
from matching.credit import referred_result
from matching.match import check_order, find_order
from matching.prepare import Prepared, prepare
from matching.tolerance import ToleranceBook
from matching.types import Candidate, Decision, LineMatch, MasterData
from matching.validate import findings
from models.domain import DocumentStatus, Problem


def evaluate_batch(
    candidates: Sequence[Candidate], master: MasterData,
    tol: Tolerances | ToleranceBook | None = None, today: date | None = None, *,
    index: MasterIndex | None = None,
) -> list[Decision]:
    """`index`: the indexes over `master`'s parties and order lines, built earlier (shared by
    several calls against the same master data), else built here."""
    with gc_paused():
        return evaluate_in(candidates, build_context(master, tol, today, index))


def evaluate_in(candidates: Sequence[Candidate], ctx: Context) -> list[Decision]:
    """Decide `candidates` in a context built earlier, which keeps what they add (the
    duplicate ledger, billed and credited quantities) for the next call: the channels that
    take one file at a time (drop folder, mailbox) decide the files of one pass in one
    context, as if they were one batch."""
    with gc_paused():
        preps = prepare([c.invoice for c in candidates], ctx)
        return [evaluate_one(c, p, ctx) for c, p in zip(candidates, preps, strict=True)]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a batch allocates millions of small acyclic objects
    (Decimals, tuples), and repeated full collections over them cost ~30 % of the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def evaluate_one(candidate: Candidate, prep: Prepared, ctx: Context) -> Decision:
    invoice = candidate.invoice
    order, order_problems = find_order(invoice, prep, ctx)
    if order is None:
        result = referred_result(invoice, prep.party_key, ctx, prep.tol)
    else:
        result = check_order(invoice, order, ctx, prep.tol)
    problems = _unique(
        list(candidate.problems) + findings(invoice, prep, ctx, order) + order_problems
        + result.problems
    )
    ctx.ledger.add_invoice(prep.party_key, invoice, candidate.key)
    approved = order is not None and not problems
    if approved:
        for item in result.billed:
            if item.order_line is not None and item.quantity is not None:
                ctx.add_billed(candidate.key, item.order_line.order_line_id, item.quantity)
    return Decision(
        status=DocumentStatus.AUTO_APPROVED if approved else DocumentStatus.NEEDS_REVIEW,
        order_number=result.order.order_number if result.order else None,
        party_id=prep.party.party_id if prep.party else None,
        reasons=problems,
        line_matches=[
            LineMatch(b.invoice_line, b.order_line.order_line_id if b.order_line else None,
                      None if b.quantity is None else format(b.quantity, "f"))
            for b in result.billed
        ],
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    """Drop repeats of the same code on the same field (extraction and validation may both
    report a missing field), keeping the first."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for p in problems:
        if (p.code, p.field) not in seen:
            seen.add((p.code, p.field))
            out.append(p)
    return out

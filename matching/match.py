"""Order matching: find the order an invoice bills, then check it line by line (2-way and 3-way).

The order is found by its printed number (normalised), else by candidate search: same counterparty,
order value, unbilled rest or received-but-unbilled rest within the total tolerance of the invoice
net, order date near the invoice date; failing that, the one order of the counterparty that lists
every item billed (`matching.linesearch`). Candidates come from the set-based lookups in
`matching.prepare`; here they are confirmed with exact `Decimal` arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arflow.reasons import Reason
from arflow.settings import Tolerances
from matching.context import Context, build_context
from matching.doctype import needs_order
from matching.lines import Billed, assign, billed_value, variances
from matching.linesearch import narrow
from matching.orders import Order, OrderLine
from matching.prepare import Prepared, net_amount, prepare
from matching.tolerance import ToleranceBook, total_ok
from matching.types import MasterData
from models.domain import Invoice, Problem

_ZERO = Decimal(0)


@dataclass
class MatchResult:
    order: Order | None
    problems: list[Problem] = field(default_factory=list)
    billed: list[Billed] = field(default_factory=list)


def find_order(
    invoice: Invoice, prep: Prepared, ctx: Context,
) -> tuple[Order | None, list[Problem]]:
    """The order this invoice bills, or a problem saying why there is none; none for a credit
    note or correction, which bills no order (``matching.doctype`` says why)."""
    return _order_of(invoice, prep, ctx) if needs_order(invoice) else (None, [])


def _order_of(
    invoice: Invoice, prep: Prepared, ctx: Context,
) -> tuple[Order | None, list[Problem]]:
    same = sorted({code for code, same in prep.number_hits if same})
    if not same and prep.party is None and len(prep.number_hits) == 1:
        same = [prep.number_hits[0][0]]  # unknown seller (flagged anyway): trust the number
    if len(same) == 1:
        return ctx.orders.order(same[0]), []
    if len(same) > 1:
        return None, [_ambiguous([ctx.orders.order(c) for c in same], "order number")]
    if invoice.order_number and not prep.number_hits:
        return None, [_unknown_number(invoice, prep, ctx)]
    fits = _by_amount(invoice, prep, ctx)
    by = "counterparty, amount and date"
    if not fits and prep.line_hits:
        fits, by = _by_lines(invoice, prep, ctx), "counterparty, items and date"
    if len(fits) == 1:
        return fits[0], []
    if len(fits) > 1:
        return None, [_ambiguous(fits, by)]
    return None, [_not_found(invoice, prep)]


def _by_amount(invoice: Invoice, prep: Prepared, ctx: Context) -> list[Order]:
    """Orders of the counterparty whose value, unbilled rest or received rest is the net."""
    net = net_amount(invoice)
    orders = [ctx.orders.order(c) for c in sorted(set(prep.amount_hits))]
    fits = [o for o in orders if net is not None and _fits(net, o, ctx.billed, prep.tol)]
    if len(fits) > 1 and net is not None:
        fits = _exact(fits, net, ctx.billed, prep.tol.line_rounding * max(len(invoice.lines), 1))
    if len(fits) > 1:  # the items billed may tell them apart
        listed = [o for o in fits if o.code in set(prep.line_hits)]
        fits = listed if len(listed) == 1 else fits
    return fits


def _by_lines(invoice: Invoice, prep: Prepared, ctx: Context) -> list[Order]:
    """Orders of the counterparty listing every item billed (a partial invoice, say)."""
    orders = [ctx.orders.order(c) for c in sorted(set(prep.line_hits))]
    return narrow(invoice, orders, ctx.billed, prep.tol)


def _fits(net: Decimal, order: Order, billed: dict[int, Decimal], tol: Tolerances) -> bool:
    return any(total_ok(value, net, tol) for value in order.amounts(billed))


def _exact(
    orders: list[Order], net: Decimal, billed: dict[int, Decimal], allowance: Decimal,
) -> list[Order]:
    """Among several orders within tolerance, the only one that matches to the cent (line
    rounding aside) wins; otherwise all stay candidates."""
    exact = [o for o in orders
             if min(abs(value - net) for value in o.amounts(billed)) <= allowance]
    return exact if len(exact) == 1 else orders


def _ambiguous(orders: list[Order], by: str) -> Problem:
    return Problem(Reason.AMBIGUOUS_ORDER, f"several orders match by {by}", field="order_number",
                   expected="exactly one order",
                   found=", ".join(o.order_number for o in orders))


def _unknown_number(invoice: Invoice, prep: Prepared, ctx: Context) -> Problem:
    """A printed order number that no order has: never replaced silently by a guess (a wrong
    reference is what a fraudulent or mistaken invoice looks like); a unique candidate by
    amount is named as evidence for the approver."""
    fits = _by_amount(invoice, prep, ctx)
    hint = f"; the only order fitting by amount is {fits[0].order_number}" if len(fits) == 1 else ""
    return Problem(Reason.ORDER_NOT_FOUND, "the printed order number matches no order",
                   field="order_number", expected="an existing order number",
                   found=f"{invoice.order_number}{hint}")


def _not_found(invoice: Invoice, prep: Prepared) -> Problem:
    found = invoice.order_number or "no order number"
    if prep.number_hits:
        found += " (an order with this number belongs to another counterparty)"
    return Problem(Reason.ORDER_NOT_FOUND, "no order matches this invoice", field="order_number",
                   expected="an open order of this counterparty", found=found)


def check_order(invoice: Invoice, order: Order, ctx: Context, tol: Tolerances) -> MatchResult:
    """2-way (price, quantity ordered) and 3-way (quantity received) checks, plus the total."""
    if invoice.lines:
        billed = assign(invoice.lines, order.lines)
    else:
        billed = _whole_order(invoice, order, ctx.billed, tol)
    problems = variances(billed, ctx.billed, tol, order.order_number)
    problems += _total(invoice, order, billed, ctx.billed, tol)
    return MatchResult(order, problems, billed)


def _whole_order(
    invoice: Invoice, order: Order, before: dict[int, Decimal], tol: Tolerances,
) -> list[Billed]:
    """An invoice without lines bills the unbilled rest of the order (or all of it)."""
    net = net_amount(invoice)
    if net is None:
        return []
    if total_ok(order.remaining(before), net, tol):
        return [Billed(-1, ln, _rest(ln, before), ln.unit_price) for ln in order.lines
                if _rest(ln, before) > 0]
    if total_ok(order.received_rest(before), net, tol):
        return [Billed(-1, ln, _rest(ln, before, received=True), ln.unit_price)
                for ln in order.lines if _rest(ln, before, received=True) > 0]
    if total_ok(order.total, net, tol):
        return [Billed(-1, ln, ln.quantity, ln.unit_price) for ln in order.lines]
    return []


def _rest(line: OrderLine, before: dict[int, Decimal], *, received: bool = False) -> Decimal:
    """Quantity not yet billed, of the order line or (`received`) of what was received."""
    limit = min(line.quantity, line.quantity_received) if received else line.quantity
    return limit - line.quantity_invoiced - before.get(line.order_line_id, _ZERO)


def _total(
    invoice: Invoice, order: Order, billed: list[Billed], before: dict[int, Decimal],
    tol: Tolerances,
) -> list[Problem]:
    net = net_amount(invoice)
    if net is None:
        return []
    expected = list(order.amounts(before))
    if any(b.order_line is not None for b in billed):
        expected.append(billed_value(billed))  # a partial invoice explains the difference
    if any(total_ok(value, net, tol) for value in expected):
        return []
    return [Problem(Reason.TOTAL_VARIANCE, "invoice net differs from the order beyond tolerance",
                    field="subtotal", expected=format(expected[-1], "f"), found=format(net, "f"))]


def match(
    invoice: Invoice, master: MasterData, tol: Tolerances | ToleranceBook | None = None,
    *, today: date | None = None,
) -> MatchResult:
    """Match one invoice against master data (builds the lookups; use `evaluate_batch` for many)."""
    ctx = build_context(master, tol, today)
    prep = prepare([invoice], ctx)[0]
    order, problems = find_order(invoice, prep, ctx)
    if order is None:
        return MatchResult(None, problems)
    result = check_order(invoice, order, ctx, prep.tol)
    result.problems = problems + result.problems
    return result

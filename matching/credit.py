"""What a credit note gives back: its lines paired with what the invoice it refers to billed.

A credit note is never paid or matched automatically (`matching.doctype`). When the invoice it
refers to was accepted (auto-approved or approved) and billed order lines, each credit-note line
is paired with one of those lines (`matching.lines.assign`):

- credited at the billed price, the line gives the quantity back (goods returned, a line
  cancelled). It is stored as a negative match, which counts once an approver approves the credit
  note, so the goods may be billed again without a false QUANTITY_VARIANCE or OVER_BILLING;
- credited at another price, it is a price adjustment and gives no quantity back;
- never more than the invoice billed on that line.

What was found is evidence for the approver: one CREDIT_NOTE finding on the lines.
"""

from __future__ import annotations

from decimal import Decimal

from arflow.reasons import Reason
from arflow.settings import Tolerances
from matching.context import Context
from matching.lines import Billed, assign
from matching.match import MatchResult
from matching.orders import OrderLine
from matching.tolerance import price_ok
from models.domain import Invoice, InvoiceType, Problem


def credit_result(invoice: Invoice, party_key: str, ctx: Context, tol: Tolerances) -> MatchResult:
    """The lines a credit note gives back, against the invoice it refers to (none otherwise)."""
    if invoice.invoice_type != InvoiceType.CREDIT_NOTE:
        return MatchResult(None)
    doc = ctx.ledger.received(party_key, invoice.preceding_invoice)
    if doc is None:
        return MatchResult(None)  # the type finding says the invoice was not received
    number = invoice.preceding_invoice
    billed = ctx.billed_by.get(doc, {})
    if not billed:
        return MatchResult(None, [_finding(
            number, "nothing: that invoice billed no order lines that count (not accepted)")])
    if not invoice.lines:
        return MatchResult(None, [_finding(number, "an amount without lines: no quantity")])
    found = {ident: hit for ident in billed if (hit := ctx.orders.line(ident)) is not None}
    pairs = assign(invoice.lines, [line for _, line in found.values()])
    given, notes = _given_back(pairs, billed, tol, number)
    codes = {found[b.order_line.order_line_id][0] for b in given if b.order_line is not None}
    order = ctx.orders.order(codes.pop()) if len(codes) == 1 else None
    return MatchResult(order, [_finding(number, "; ".join(notes))], given)


def _given_back(
    pairs: list[Billed], billed: dict[int, Decimal], tol: Tolerances, number: str | None,
) -> tuple[list[Billed], list[str]]:
    given: list[Billed] = []
    notes: list[str] = []
    for item in pairs:
        line, label = item.order_line, f"line {item.invoice_line + 1}"
        quantity = None if item.quantity is None else abs(item.quantity)
        price = None if item.unit_price is None else abs(item.unit_price)
        if line is None:
            notes.append(f"{label}: matches no line invoice {number} billed")
        elif quantity is None:
            notes.append(f"{label}: no quantity")
        elif price is not None and not price_ok(line.unit_price, price, tol):
            notes.append(f"{label}: a price adjustment ({price:f} against {line.unit_price:f}), "
                         "no quantity")
        else:
            back = min(quantity, billed[line.order_line_id])
            given.append(Billed(item.invoice_line, line, -back, price))
            notes.append(_returned(label, line, quantity, billed[line.order_line_id], number))
    return given, notes


def _returned(
    label: str, line: OrderLine, quantity: Decimal, billed: Decimal, number: str | None,
) -> str:
    text = f"{label}: {min(quantity, billed):f} of order line {line.line_no} ({line.description})"
    if quantity > billed:
        text += f", not the {quantity:f} credited: invoice {number} billed {billed:f}"
    return text


def _finding(number: str | None, gives_back: str) -> Problem:
    return Problem(Reason.CREDIT_NOTE, "what the credit note gives back", field="lines",
                   expected=f"what invoice {number} billed", found=f"gives back {gives_back}")

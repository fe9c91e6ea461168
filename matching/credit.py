"""What a credit note gives back, and what a corrective invoice changes: their lines paired with
what the invoice they refer to billed.

A credit note is never paid or matched automatically (`matching.doctype`). When the invoice it
refers to was accepted (auto-approved or approved) and billed order lines, each credit-note line
is paired with one of those lines (`matching.lines.assign`):

- credited at the billed price, the line gives the quantity back (goods returned, a line
  cancelled). It is stored as a negative match, which counts once an approver approves the credit
  note, so the goods may be billed again without a false QUANTITY_VARIANCE or OVER_BILLING;
- credited at another price, it is a price adjustment and gives no quantity back;
- never more than the invoice billed on that line less what other credit notes for that invoice
  already give back on it: those approved, those still waiting for review, and earlier ones of
  the same batch (`Context.given_back`). A rejected one gives nothing back, so after a
  rejection the next credit note may give back the whole quantity again. Without this, two
  pending credit notes for the same returned goods could each give back everything billed,
  and only the floor at zero on billed quantities (`models.master`) would hold once both
  were approved; now the second gives back only the rest, and its evidence names the credit
  note that already gives back the other part.

What was found is evidence for the approver: one CREDIT_NOTE finding on the lines. A
corrective invoice's lines are set beside what the corrected invoice billed and the order's
price, in one CORRECTED_INVOICE finding on the lines; nothing is counted (`_correction`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from arflow.reasons import Reason
from arflow.settings import Tolerances
from matching.context import Context, GivenBack
from matching.lines import Billed, assign
from matching.match import MatchResult
from matching.orders import Order, OrderLine
from matching.tolerance import price_ok
from models.domain import Invoice, InvoiceType, Problem


@dataclass(frozen=True)
class Referred:
    """What the invoice a document refers to billed, as accepted: quantity per order line."""

    number: str | None
    billed: dict[int, Decimal]                 # order_line_id → quantity
    lines: dict[int, tuple[int, OrderLine]]    # order_line_id → (order code, order line)
    # order_line_id → what other credit notes for this invoice already give back
    given_back: dict[int, list[GivenBack]] = field(default_factory=dict)

    def unmatched(self, label: str) -> str:
        return f"{label}: matches no line invoice {self.number} billed"

    def others(self, order_line_id: int) -> list[GivenBack]:
        return self.given_back.get(order_line_id, [])

    def room(self, order_line_id: int) -> Decimal:
        """What is left to give back on the line: what the invoice billed less what other
        credit notes already give back, never below nothing."""
        taken = sum((g.quantity for g in self.others(order_line_id)), Decimal(0))
        return max(self.billed[order_line_id] - taken, Decimal(0))

    def order_of(self, items: list[Billed], ctx: Context) -> Order | None:
        codes = {self.lines[b.order_line.order_line_id][0] for b in items
                 if b.order_line is not None}
        return ctx.orders.order(codes.pop()) if len(codes) == 1 else None


def referred_result(
    invoice: Invoice, party_key: str, ctx: Context, tol: Tolerances,
) -> MatchResult:
    """A credit note's or corrective invoice's lines against what the invoice it refers to
    billed; nothing for an invoice, or when the referred invoice was not received.

    What a credit note gives back is entered in the context at once, approved or not: it is
    stored as pending, so a later credit note of the batch for the same invoice counts it."""
    if invoice.invoice_type == InvoiceType.INVOICE:
        return MatchResult(None)
    doc = ctx.ledger.received(party_key, invoice.preceding_invoice)
    if doc is None:
        return MatchResult(None)  # the type finding says the invoice was not received
    billed = ctx.billed_by.get(doc, {})
    referred = Referred(invoice.preceding_invoice, billed,
                        {i: hit for i in billed if (hit := ctx.orders.line(i)) is not None},
                        ctx.given_back.get(doc, {}))
    if invoice.invoice_type != InvoiceType.CREDIT_NOTE:
        return _correction(invoice, referred, ctx)
    result = _credit(invoice, referred, ctx, tol)
    for item in result.billed:
        if item.order_line is not None and item.quantity is not None:
            ctx.add_given_back(doc, item.order_line.order_line_id,
                               GivenBack(invoice.invoice_number, -item.quantity))
    return result


def _credit(invoice: Invoice, referred: Referred, ctx: Context, tol: Tolerances) -> MatchResult:
    number = referred.number
    if not referred.billed:
        return MatchResult(None, [_finding(
            number, "nothing: that invoice billed no order lines that count (not accepted)")])
    if not invoice.lines:
        return MatchResult(None, [_finding(number, "an amount without lines: no quantity")])
    pairs = assign(invoice.lines, [line for _, line in referred.lines.values()])
    given, notes = _given_back(pairs, referred, tol)
    return MatchResult(referred.order_of(given, ctx), [_finding(number, "; ".join(notes))], given)


def _correction(invoice: Invoice, referred: Referred, ctx: Context) -> MatchResult:
    """Each line beside what the corrected invoice billed on the same order line, for the
    approver. Nothing is counted: whether the correction replaces the invoice or adds to it
    is the approver's call."""
    number = referred.number
    if not referred.billed or not invoice.lines:
        what = ("that invoice billed no order lines that count (not accepted)"
                if not referred.billed else "the corrective invoice has no lines")
        return MatchResult(None, [_compared_finding(number, f"nothing to compare: {what}")])
    pairs = assign(invoice.lines, [line for _, line in referred.lines.values()])
    notes = [_against_original(item, referred) for item in pairs]
    return MatchResult(referred.order_of(pairs, ctx), [_compared_finding(number, "; ".join(notes))])


def _against_original(item: Billed, referred: Referred) -> str:
    label, line = f"line {item.invoice_line + 1}", item.order_line
    if line is None:
        return referred.unmatched(label)
    quantity = "no quantity" if item.quantity is None else f"{item.quantity:f}"
    price = "" if item.unit_price is None else f" at {item.unit_price:f}"
    return (f"{label}: {quantity}{price} of order line {line.line_no} ({line.description}); "
            f"invoice {referred.number} billed {referred.billed[line.order_line_id]:f}, "
            f"order price {line.unit_price:f}")


def _compared_finding(number: str | None, found: str) -> Problem:
    return Problem(Reason.CORRECTED_INVOICE, "the corrective invoice beside the invoice it "
                   "corrects", field="lines", expected=f"what invoice {number} billed",
                   found=found)


def _given_back(
    pairs: list[Billed], referred: Referred, tol: Tolerances,
) -> tuple[list[Billed], list[str]]:
    given: list[Billed] = []
    notes: list[str] = []
    for item in pairs:
        line, label = item.order_line, f"line {item.invoice_line + 1}"
        quantity = None if item.quantity is None else abs(item.quantity)
        price = None if item.unit_price is None else abs(item.unit_price)
        if line is None:
            notes.append(referred.unmatched(label))
        elif quantity is None:
            notes.append(f"{label}: no quantity")
        elif price is not None and not price_ok(line.unit_price, price, tol):
            notes.append(f"{label}: a price adjustment ({price:f} against {line.unit_price:f}), "
                         "no quantity")
        else:
            back = min(quantity, referred.room(line.order_line_id))
            if back:
                given.append(Billed(item.invoice_line, line, -back, price))
            notes.append(_returned(label, line, quantity, back, referred))
    return given, notes


def _returned(
    label: str, line: OrderLine, quantity: Decimal, back: Decimal, referred: Referred,
) -> str:
    text = f"{label}: {back:f} of order line {line.line_no} ({line.description})"
    if quantity > back:
        billed = referred.billed[line.order_line_id]
        text += f", not the {quantity:f} credited: invoice {referred.number} billed {billed:f}"
        others = referred.others(line.order_line_id)
        if others:
            text += f", {_already(others)}"
    return text


def _already(others: list[GivenBack]) -> str:
    """Which other credit notes already give back part of the line, and how much."""
    total = sum((g.quantity for g in others), Decimal(0))
    if len(others) == 1:
        return f"credit note {_named(others[0])} already gives back {total:f}"
    each = ", ".join(f"{_named(g)} ({g.quantity:f})" for g in others)
    return f"credit notes {each} already give back {total:f}"


def _named(given: GivenBack) -> str:
    return given.credit_note or "without a number"


def _finding(number: str | None, gives_back: str) -> Problem:
    return Problem(Reason.CREDIT_NOTE, "what the credit note gives back", field="lines",
                   expected=f"what invoice {number} billed", found=f"gives back {gives_back}")

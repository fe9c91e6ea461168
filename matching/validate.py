"""Validation: every finding about an invoice, with a stable reason code and evidence.

`validate` is the one-invoice entry point (it builds the lookups from the master data);
`evaluate_batch` in `matching.engine` calls `findings` with a context shared by the batch.
"""

from __future__ import annotations

from datetime import date

from arflow.reasons import Reason
from arflow.settings import Tolerances
from matching import checks
from matching.context import Context, build_context
from matching.doctype import type_problems
from matching.match import find_order
from matching.normalize import norm_iban
from matching.orders import Order
from matching.parties import PartyHit
from matching.prepare import Prepared, prepare
from matching.tolerance import ToleranceBook
from matching.types import MasterData
from models.domain import Invoice, Problem


def validate(
    invoice: Invoice, master: MasterData, tol: Tolerances | ToleranceBook | None = None,
    *, today: date | None = None,
) -> list[Problem]:
    """All validation findings for one invoice (CURRENCY_MISMATCH when an order is found)."""
    ctx = build_context(master, tol, today)
    prep = prepare([invoice], ctx)[0]
    order, _ = find_order(invoice, prep, ctx)
    return findings(invoice, prep, ctx, order)


def findings(invoice: Invoice, prep: Prepared, ctx: Context, order: Order | None) -> list[Problem]:
    out = checks.missing_fields(invoice)
    out += checks.arithmetic(invoice, prep.tol)
    out += checks.dates(invoice, ctx.today)
    out += checks.identifiers(invoice)
    out += party_problems(invoice, prep.party)
    out += ctx.ledger.check(prep.party_key, invoice)
    out += type_problems(invoice, prep.party_key, ctx.ledger)
    out += currency_problems(invoice, order)
    return out


def party_problems(invoice: Invoice, party: PartyHit | None) -> list[Problem]:
    """UNKNOWN_PARTY when the seller is not on file; BANK_DETAILS_CHANGED when its IBAN differs."""
    seller = invoice.seller
    if party is None:
        if not (seller.name or seller.tax_id):
            return []  # nothing to look up: MISSING_FIELD says so already
        return [Problem(Reason.UNKNOWN_PARTY, "seller is not in the party master", field="seller",
                        expected="a known party (tax ID, or name ≥ 90 % similar)",
                        found=f"{seller.name or '?'} / {seller.tax_id or 'no tax ID'}")]
    found = norm_iban(invoice.iban)
    if party.iban and found and found != party.iban:
        return [Problem(Reason.BANK_DETAILS_CHANGED, "IBAN differs from the one on file",
                        field="iban", expected=party.iban, found=found)]
    return []


def currency_problems(invoice: Invoice, order: Order | None) -> list[Problem]:
    if order is None or not order.currency or not invoice.currency:
        return []
    if invoice.currency.strip().upper() == order.currency.strip().upper():
        return []
    return [Problem(Reason.CURRENCY_MISMATCH, f"currency differs from order {order.order_number}",
                    field="currency", expected=order.currency, found=invoice.currency)]

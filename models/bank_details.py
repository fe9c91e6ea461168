"""Accept a supplier's new bank account from a review item flagged BANK_DETAILS_CHANGED.

A changed IBAN is the most common invoice fraud, so the change itself is guarded: only the
role the approval matrix names for BANK_DETAILS_CHANGED (default: a finance lead) may accept
it, only for an IBAN that passed its checksum, for a seller known in the party master, and
after confirming it with the supplier through a known contact (the approver records how, in
`confirmation`: it is audited). The party master's IBAN is replaced, the item is validated
again against it, and the item stays open: the person who accepted the new account is its
corrector, so someone else must approve the invoice (four eyes, as for a corrected field).

The seller's other waiting items whose finding the change turns are decided again with it
(`siblings`): those stating the new account lose BANK_DETAILS_CHANGED, those still stating
the old one gain it (the supplier has just confirmed that account is no longer theirs). Each
is audited like the item, so its accepter cannot approve it either; an item another decision
holds locked at that moment is left as it is. Items stating a third account keep their
finding, and decided invoices are not touched. An `arflow import parties` that changes a
supplier's IBAN decides its waiting items again the same way (`decide_after_import`); one that
puts back the old account also warns (`models.party_accounts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from arflow.reasons import Reason
from arflow.settings import Tolerances
from matching.context import SharedMaster
from matching.normalize import norm_iban
from models.approval_matrix import ApprovalMatrix, rank
from models.approvals import DECIDABLE, ApprovalRefused, lock_item, reason_codes, save_change
from models.audit import append_audit
from models.corrections import carried, decide_again
from models.db import Document, Invoice, Party, ReviewItem, User, reason_codes_text
from models.master import load_master_data
from models.party_accounts import IbanChange
from models.queries import to_domain

ACTION = "review.correct"  # the accepter counts as a corrector (`approvals.corrected_by`)
IMPORT_ACTOR = "import"


def accept_bank_details(session: Session, item_id: int, *, user: User, expected_version: int,
                        matrix: ApprovalMatrix, confirmation: str,
                        tol: Tolerances | None = None) -> ReviewItem:
    """Put the invoice's IBAN on file for its seller and decide the item again; audited."""
    item = lock_item(session, item_id, expected_version)
    _check(item, user, matrix, confirmation)
    document = session.get_one(Document, item.document_id)
    invoice = document.invoice
    # the party row locked: two changes of one supplier's account (an acceptance, an import)
    # wait for each other, so each reads the account the other put on file
    party = None if invoice is None or invoice.party_id is None else (
        session.get(Party, invoice.party_id, with_for_update=True, populate_existing=True))
    if invoice is None or party is None or not invoice.iban:
        raise ApprovalRefused("the invoice states no IBAN, or its seller is not in the "
                              "party master: nothing to put on file")
    old, new = party.iban, (norm_iban(invoice.iban) or None)
    party.iban = new
    append_audit(session, actor=user.name, action="party.bank_details", entity="party",
                 entity_id=party.id, before={"iban": old},
                 after={"iban": new, "review_item": item.id, "confirmation": confirmation})
    change = {"old": old, "new": new, "confirmation": confirmation}
    others = siblings(session, party.id, {old, new}, exclude=item.id)
    session.flush()
    master = SharedMaster.of(load_master_data(session))  # the new IBAN on file
    context = Redecision(user.name, tol, master)
    _decide(session, item, invoice, context, change)
    for other, other_invoice in others:
        _decide(session, other, other_invoice, context, {**change, "accepted_on": item.id})
    return item


@dataclass(frozen=True)
class Redecision:
    """Who decides items again after a bank-account change, with which tolerances, against
    which master data (loaded and indexed once, the new account on file, for all the items)."""

    actor: str
    tol: Tolerances | None
    master: SharedMaster


def decide_after_import(session: Session, changes: Sequence[IbanChange], source: str, *,
                        tol: Tolerances | None = None) -> int:
    """The waiting items of each supplier whose IBAN an import changed, decided again as an
    acceptance decides its seller's other items (`siblings`: those stating the old or the
    new account, whose finding turns); audited with the file's name. How many were."""
    found = [(item, invoice, change) for change in changes
             for item, invoice in siblings(session, change.party_id, {change.old, change.new})]
    if not found:
        return 0
    context = Redecision(IMPORT_ACTOR, tol, SharedMaster.of(load_master_data(session)))
    for item, invoice, change in found:
        _decide(session, item, invoice, context,
                {"old": change.old, "new": change.new, "source": source})
    return len(found)


def _decide(session: Session, item: ReviewItem, invoice: Invoice, context: Redecision,
            change: Mapping[str, object]) -> None:
    """Validate and match the item's invoice again against the new account; audited as a
    correction of the seller's IBAN, so the actor counts as a corrector of it."""
    before, status = reason_codes(item), item.status
    decide_again(session, item, to_domain(invoice), carried(item), tol=context.tol,
                 master=context.master)
    item.status = status  # an item on hold stays on hold (waiting for the supplier's call)
    _settled(item)
    save_change(session, item, item.version)
    detail = {k: v for k, v in change.items() if k not in ("old", "new")}
    append_audit(session, actor=context.actor, action=ACTION, entity="review_item",
                 entity_id=item.id,
                 before={"field": "party.iban", "value": change["old"], "reasons": before},
                 after={"field": "party.iban", "value": change["new"],
                        "reasons": reason_codes(item), **detail})


def _settled(item: ReviewItem) -> None:
    """A bank-details finding the new account on file has cleared no longer decides who
    approves the item (`approvals.routing_codes`): the role the matrix names for it accepted
    the account (or the ERP filed it), which a correction of the IBAN does not do."""
    code = str(Reason.BANK_DETAILS_CHANGED)
    if code not in reason_codes(item):
        received = set((item.received_reason_codes or "").split()) - {code}
        item.received_reason_codes = reason_codes_text(received)


def siblings(session: Session, party_id: int, accounts: set[str | None], *,
             exclude: int | None = None) -> list[tuple[ReviewItem, Invoice]]:
    """The seller's waiting items but `exclude` (oldest first) whose invoice states one of
    `accounts` (the old IBAN on file, the new one), or any account when there was none on
    file (None among `accounts`: nothing was compared, so every stated account may now
    differ), row-locked; items that another decision holds locked are skipped."""
    other = [] if exclude is None else [ReviewItem.id != exclude]
    query = (select(ReviewItem, Invoice)
             .join(Invoice, Invoice.document_id == ReviewItem.document_id)
             .where(Invoice.party_id == party_id, ReviewItem.status.in_(DECIDABLE),
                    Invoice.iban.is_not(None), *other)
             .order_by(ReviewItem.id)
             .with_for_update(of=ReviewItem, skip_locked=True))
    return [(other, invoice) for other, invoice in session.execute(query).tuples()
            if None in accounts or (norm_iban(invoice.iban) or None) in accounts]


def _check(item: ReviewItem, user: User, matrix: ApprovalMatrix, confirmation: str) -> None:
    if item.status not in DECIDABLE:
        raise ApprovalRefused(f"review item {item.id} is already {item.status}")
    codes = reason_codes(item)
    if Reason.BANK_DETAILS_CHANGED not in codes:
        raise ApprovalRefused("this invoice's bank details match the ones on file")
    if Reason.INVALID_IBAN in codes:
        raise ApprovalRefused("the invoice's IBAN fails its checksum: it cannot go on file")
    role = matrix.reason_roles.get(Reason.BANK_DETAILS_CHANGED, matrix.bands[-1].role)
    if rank(user.role) < rank(role):
        raise ApprovalRefused(f"{user.name} ({user.role}) may not change bank details: "
                              f"it needs a {role}")
    if not confirmation.strip():
        raise ApprovalRefused("say how the new account was confirmed with the supplier "
                              "(who, through which known contact)")

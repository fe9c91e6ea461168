"""Who each waiting review item waits for: the approvers' digest (`arflow notify`).

An item is open or on hold until the people the approval matrix asks for decide it. Nobody is
told, so items wait. For every waiting item this module finds the users who may approve it now
(`models.approvals.refusal`: role, approval limit, not its corrector, not already a signer)
and gives it to those of the lowest role among them: a clerk's item goes to the clerks, and to
the managers only when no clerk may approve it (limits, four eyes). An item nobody may approve
is reported apart, since only an administrator can unblock it (a user, a limit, the matrix).

Set-based: three queries (items with their invoices, signatures, corrections) and one pass in
Python, whatever the number of items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.approval_matrix import ApprovalMatrix, rank, required_role
from models.approvals import lapse, refusal
from models.db import AuditEvent, Document, Invoice, ReviewApproval, ReviewItem, ReviewStatus, User

WAITING = (ReviewStatus.OPEN, ReviewStatus.ON_HOLD)


@dataclass(frozen=True)
class Waiting:
    """One item waiting for a decision, as a digest lists it."""

    item_id: int
    status: str
    source: str
    seller: str | None
    total: Decimal | None
    currency: str | None
    reasons: tuple[str, ...]
    role: str  # the role the matrix (or an escalation) asks for
    created_at: datetime
    signed: tuple[str, ...]  # approvers who signed already (two are needed above a threshold)

    def age(self, now: datetime) -> timedelta:
        return now - self.created_at


@dataclass(frozen=True)
class Digest:
    """The items waiting for one user."""

    user: User
    items: list[Waiting]


@dataclass(frozen=True)
class Digests:
    per_user: list[Digest]  # users with at least one item, by name
    unassignable: list[Waiting]  # items no active user may approve


def digests(session: Session, matrix: ApprovalMatrix) -> Digests:
    """Every waiting item given to the users who may approve it (see the module)."""
    users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))
    items, amounts = _waiting(session, matrix)
    items = [_standing(item, users, amounts[item.item_id], matrix) for item in items]
    corrected = _corrections(session)
    given: dict[int, list[Waiting]] = defaultdict(list)
    unassignable: list[Waiting] = []
    for item in items:
        able = [u for u in users if refusal(
            u, item.role, amounts[item.item_id], matrix.currency, signed=item.signed,
            corrected=(item.item_id, u.name) in corrected) is None]
        if not able:
            unassignable.append(item)
            continue
        lowest = min(rank(u.role) for u in able)
        for user in able:
            if rank(user.role) == lowest:
                given[user.id].append(item)
    per_user = [Digest(u, given[u.id]) for u in users if given.get(u.id)]
    return Digests(per_user, unassignable)


def _standing(item: Waiting, users: list[User], amount: Decimal | None,
              matrix: ApprovalMatrix) -> Waiting:
    """`item` with only the signatures that still count (`approvals.standing_signatures`:
    the signer active and still allowed to sign it); a lapsed one is not listed as signed,
    and its signer, no longer allowed, is not asked either."""
    active = {u.name: u for u in users}
    standing = tuple(name for name in item.signed
                     if lapse(name, active.get(name), item.role, amount, matrix.currency) is None)
    return replace(item, signed=standing)


def _waiting(session: Session,
             matrix: ApprovalMatrix) -> tuple[list[Waiting], dict[int, Decimal | None]]:
    """The waiting items, oldest first, and each one's amount in the matrix's currency."""
    query = (select(ReviewItem.id, ReviewItem.status, ReviewItem.reason_codes,
                    ReviewItem.assigned_role, ReviewItem.created_at, Document.source_name,
                    Invoice.seller_name, Invoice.total, Invoice.currency,
                    ReviewItem.received_total, ReviewItem.received_currency,
                    ReviewItem.received_reason_codes)
             .join(Document, Document.id == ReviewItem.document_id)
             .outerjoin(Invoice, Invoice.document_id == Document.id)
             .where(ReviewItem.status.in_([str(s) for s in WAITING]))
             .order_by(ReviewItem.created_at, ReviewItem.id))
    signers = _signatures(session)
    items: list[Waiting] = []
    amounts: dict[int, Decimal | None] = {}
    for (item_id, status, codes, assigned, created, source, seller, total, currency,
         received_total, received_currency, received_codes) in session.execute(query):
        reasons = tuple(codes.split())
        amounts[item_id] = matrix.routing_amount(total, currency, received_total,
                                                 received_currency)
        routed = required_role(matrix, amounts[item_id],
                               {*reasons, *(received_codes or "").split()})
        role = max([routed, assigned or routed], key=rank)
        items.append(Waiting(item_id, status, source, seller, total, currency, reasons, role,
                             created, tuple(signers.get(item_id, ()))))
    return items, amounts


def _signatures(session: Session) -> dict[int, list[str]]:
    """Per waiting item: who signed it so far."""
    query = (select(ReviewApproval.review_item_id, ReviewApproval.actor)
             .join(ReviewItem, ReviewItem.id == ReviewApproval.review_item_id)
             .where(ReviewItem.status.in_([str(s) for s in WAITING]))
             .order_by(ReviewApproval.id))
    out: dict[int, list[str]] = defaultdict(list)
    for item_id, actor in session.execute(query):
        out[item_id].append(actor)
    return out


def _corrections(session: Session) -> set[tuple[int, str]]:
    """(item, user) pairs where the user corrected a field of the item: they may not also
    approve it (four eyes)."""
    query = select(AuditEvent.entity_id, AuditEvent.actor).where(
        AuditEvent.entity == "review_item", AuditEvent.action == "review.correct").distinct()
    return {(int(entity_id), actor) for entity_id, actor in session.execute(query)}

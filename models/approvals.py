"""The reviewer's decisions on review items: approve, reject, hold, escalate.

Routing is `models.approval_matrix`. Decisions (approve, reject, hold, escalate) lock the
item (`SELECT ... FOR UPDATE` on PostgreSQL, the write lock on SQLite) and check the version
the reviewer saw, so of two simultaneous decisions exactly one lands; the other gets
`StorageError(code="REVIEW_CONFLICT")`. Every action appends an audit event.
Corrections of extracted fields live in `models.corrections`.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from arflow.db import storage_errors
from arflow.errors import ArflowError, StorageError
from models.approval_matrix import (
    ApprovalMatrix,
    Band,
    load_matrix,
    needs_two,
    rank,
    required_role,
)
from models.audit import append_audit, last_hash, verify_chain
from models.db import AuditEvent, Document, ReviewApproval, ReviewItem, ReviewStatus, User
from models.domain import DocumentStatus
from models.review import conflict
from models.types import utcnow
from models.users import ROLES

__all__ = ["ApprovalMatrix", "ApprovalRefused", "Band", "approve", "check_can_approve",
           "escalate", "hold", "load_matrix", "needs_two", "rank", "refusal", "reject",
           "required_role"]
DECIDABLE = (ReviewStatus.OPEN, ReviewStatus.ON_HOLD)


class ApprovalRefused(ArflowError):
    """The user may not take this decision (role, limit, four-eyes rule, item state)."""

    code = "APPROVAL_REFUSED"
    exit_code = 7


def item_amount(session: Session, item: ReviewItem, matrix: ApprovalMatrix) -> Decimal | None:
    """The item's amount for approval in the matrix's currency (the higher of its total now
    and as received, `ApprovalMatrix.routing_amount`); None when it cannot be valued."""
    invoice = session.get_one(Document, item.document_id).invoice
    if invoice is None:
        return None
    return matrix.routing_amount(invoice.total, invoice.currency, item.received_total,
                                 item.received_currency)


def reason_codes(item: ReviewItem) -> list[str]:
    return sorted({str(p["code"]) for p in item.reasons or []})


def effective_role(session: Session, item: ReviewItem, matrix: ApprovalMatrix) -> str:
    """The matrix's role, or the role the item was escalated to if that is higher."""
    routed = required_role(matrix, item_amount(session, item, matrix), routing_codes(item))
    return max([routed, item.assigned_role or routed], key=rank)


def routing_codes(item: ReviewItem) -> list[str]:
    """The reasons that decide who may approve: those now and those the item was opened
    with, so that a correction clearing a finding a role is named for (an IBAN corrected
    to the one on file clears BANK_DETAILS_CHANGED) does not lower the role needed."""
    return sorted(set(reason_codes(item)) | set((item.received_reason_codes or "").split()))


def lock_item(session: Session, item_id: int, expected_version: int) -> ReviewItem:
    """The item, row-locked, if it is still at the version the reviewer saw."""
    item = session.get(ReviewItem, item_id, with_for_update=True, populate_existing=True)
    if item is None:
        raise StorageError(f"review item {item_id} not found", code="REVIEW_NOT_FOUND")
    if item.version != expected_version:
        raise conflict(item_id, expected_version, item.version)
    return item


def save_change(session: Session, item: ReviewItem, expected_version: int) -> None:
    """Flush the item with a version bump (UPDATE ... WHERE version = expected)."""
    item.updated_at = utcnow()
    with storage_errors():
        try:
            session.flush()
        except StaleDataError as err:
            raise conflict(item.id, expected_version, None) from err


def corrected_by(session: Session, item_id: int, actor: str) -> bool:
    query = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity == "review_item", AuditEvent.entity_id == str(item_id),
        AuditEvent.action == "review.correct", AuditEvent.actor == actor)
    return bool(session.scalar(query))


def approvers(session: Session, item_id: int) -> list[str]:
    query = select(ReviewApproval.actor).where(ReviewApproval.review_item_id == item_id)
    return list(session.scalars(query.order_by(ReviewApproval.id)))


def _state(session: Session, item: ReviewItem) -> dict[str, Any]:
    document = session.get_one(Document, item.document_id)
    return {"review_status": item.status, "document_status": document.status,
            "assigned_role": item.assigned_role}


def _set_status(session: Session, item: ReviewItem, status: ReviewStatus) -> None:
    document = session.get_one(Document, item.document_id)  # before any change: no autoflush
    item.status = status
    document.status = {ReviewStatus.APPROVED: DocumentStatus.APPROVED,
                       ReviewStatus.REJECTED: DocumentStatus.REJECTED}.get(
                           status, DocumentStatus.NEEDS_REVIEW)


def _check_open(item: ReviewItem) -> None:
    if item.status not in DECIDABLE:
        raise ApprovalRefused(f"review item {item.id} is already {item.status}")


def _check_authority(session: Session, item: ReviewItem, user: User,
                     matrix: ApprovalMatrix) -> None:
    """The role and the approval limit an approval needs (a rejection needs them too: it
    decides the invoice as surely); four eyes and repeat signatures are approvals' own."""
    role = effective_role(session, item, matrix)
    if rank(user.role) < rank(role):
        raise ApprovalRefused(f"{user.name} ({user.role}) may not decide this item: "
                              f"it needs a {role}")
    refused = refusal(user, role, item_amount(session, item, matrix), matrix.currency,
                      signed=(), corrected=False)
    if refused is not None:
        raise ApprovalRefused(refused)


def check_can_approve(session: Session, item: ReviewItem, user: User,
                      matrix: ApprovalMatrix) -> None:
    """Raise `ApprovalRefused` unless `user` may approve `item` now."""
    _check_open(item)
    amount = item_amount(session, item, matrix)
    signed = approvers(session, item.id)
    refused = refusal(user, effective_role(session, item, matrix), amount, matrix.currency,
                      signed=signed, corrected=corrected_by(session, item.id, user.name))
    if refused is not None:
        raise ApprovalRefused(refused)


def refusal(user: User, role: str, amount: Decimal | None, currency: str, *,
            signed: Collection[str], corrected: bool) -> str | None:
    """Why `user` may not approve an open item that needs `role` and is worth `amount` (in
    the matrix's `currency`; None: cannot be valued), already signed by `signed`, which the
    user corrected if `corrected`; None when they may. Pure: the approval check and the
    approvers' digest (`models.digest`) decide alike."""
    if rank(user.role) < rank(role):
        return f"{user.name} ({user.role}) may not decide this item: it needs a {role}"
    if user.approval_limit is not None and (amount is None or amount > user.approval_limit):
        shown = f"{amount} {currency}" if amount is not None else (
            f"an amount that cannot be valued in {currency}")
        return f"{shown} is above {user.name}'s approval limit of {user.approval_limit}"
    if corrected:
        return (f"{user.name} corrected this item (a field, or by accepting its supplier's "
                "new bank account) and cannot also approve it")
    if user.name in signed:
        return f"{user.name} already approved this item; a second, different approver is needed"
    return None


def approve(session: Session, item_id: int, *, user: User, expected_version: int,
            matrix: ApprovalMatrix) -> ReviewItem:
    """Sign off; the item is approved when enough different approvers have signed."""
    item = lock_item(session, item_id, expected_version)
    check_can_approve(session, item, user, matrix)
    before = _state(session, item)
    needed = 2 if needs_two(matrix, item_amount(session, item, matrix)) else 1
    signed = [*approvers(session, item.id), user.name]
    if len(signed) >= needed:
        _set_status(session, item, ReviewStatus.APPROVED)
    save_change(session, item, expected_version)  # one UPDATE, one version step
    session.add(ReviewApproval(review_item_id=item.id, actor=user.name))
    append_audit(session, actor=user.name, action="review.approve", entity="review_item",
                 entity_id=item.id, before=before,
                 after={**_state(session, item), "approvers": signed, "needed": needed})
    return item


def reject(session: Session, item_id: int, *, user: User, expected_version: int,
           reason: str, matrix: ApprovalMatrix) -> ReviewItem:
    if not reason.strip():
        raise ApprovalRefused("a rejection needs a reason")
    item = lock_item(session, item_id, expected_version)
    _check_open(item)
    _check_authority(session, item, user, matrix)
    return _decide(session, item, user=user, expected_version=expected_version,
                   status=ReviewStatus.REJECTED, action="review.reject",
                   extra={"reason": reason.strip()})


def hold(session: Session, item_id: int, *, user: User, expected_version: int,
         note: str = "") -> ReviewItem:
    item = lock_item(session, item_id, expected_version)
    if item.status != ReviewStatus.OPEN:
        raise ApprovalRefused(f"review item {item.id} is {item.status}, not open")
    return _decide(session, item, user=user, expected_version=expected_version,
                   status=ReviewStatus.ON_HOLD, action="review.hold",
                   extra={"note": note.strip()})


def escalate(session: Session, item_id: int, *, user: User, expected_version: int,
             matrix: ApprovalMatrix, note: str = "") -> ReviewItem:
    """Route the item to the next higher role (and reopen it)."""
    item = lock_item(session, item_id, expected_version)
    _check_open(item)
    current = rank(effective_role(session, item, matrix))
    if current + 1 >= len(ROLES):
        raise ApprovalRefused(f"review item {item.id} is already with the highest role")
    before = _state(session, item)
    item.assigned_role = ROLES[current + 1]
    return _decide(session, item, user=user, expected_version=expected_version,
                   status=ReviewStatus.OPEN, action="review.escalate",
                   extra={"note": note.strip()}, before=before)


def _decide(session: Session, item: ReviewItem, *, user: User, expected_version: int,
            status: ReviewStatus, action: str, extra: dict[str, Any],
            before: dict[str, Any] | None = None) -> ReviewItem:
    before = before or _state(session, item)
    _set_status(session, item, status)
    save_change(session, item, expected_version)
    append_audit(session, actor=user.name, action=action, entity="review_item",
                 entity_id=item.id, before=before, after={**_state(session, item), **extra})
    return item


def history(session: Session, item_id: int) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.entity == "review_item",
                                     AuditEvent.entity_id == str(item_id))
    return list(session.scalars(query.order_by(AuditEvent.id)))


def audit_status(session: Session, head: str | None = None) -> tuple[int, str, int | None]:
    """(number of events, head hash, id of the first broken event or None). With `head` (a
    hash recorded earlier), a chain that no longer contains it counts as broken at 0: its
    tail was cut off, which the chain alone cannot show."""
    count = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    broken = verify_chain(session)
    if broken is None and head is not None:
        kept = session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.hash == head))
        broken = None if kept else 0
    return count, last_hash(session), broken

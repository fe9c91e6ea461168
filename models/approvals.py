"""The reviewer's decisions on review items: approve, reject, hold, release, escalate.

Routing is `models.approval_matrix`. Approving needs the role the item needs, an approval
limit at or above its amount, not having corrected it and not having signed it already;
rejecting needs the role and the limit. Holding, releasing a hold and escalating need the
role the item needs (at or above it), not the limit: someone whose limit is too low is
exactly who passes an item up or stops it to ask the supplier, while a clerk may neither
stop a manager's item nor reopen one a manager put on hold. Escalating only ever raises the
role an item needs. A hold is a payment block, "waiting for something, do not decide yet":
while an item is on hold nobody approves or rejects it, whatever their role and limit; the
refusal names who put it on hold and their note, and the hold is released first (by the
role the item needs). Decisions lock the
item (`SELECT ... FOR UPDATE` on PostgreSQL, the write lock on SQLite) and check the version
the reviewer saw, so of two simultaneous decisions exactly one lands; the other gets
`StorageError(code="REVIEW_CONFLICT")`. Every action appends an audit event.
Corrections of extracted fields live in `models.corrections`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
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

__all__ = ["ApprovalMatrix", "ApprovalRefused", "Band", "Hold", "act_refusal", "approve",
           "check_can_approve", "checked_note", "current_hold", "escalate", "hold",
           "load_matrix", "needs_two", "rank", "refusal", "reject", "release",
           "required_role"]
DECIDABLE = (ReviewStatus.OPEN, ReviewStatus.ON_HOLD)
NOTE_MAX = 500  # characters of a note, a rejection's reason, a confirmation


class ApprovalRefused(ArflowError):
    """The user may not take this decision (role, limit, four-eyes rule, item state)."""

    code = "APPROVAL_REFUSED"
    exit_code = 7


def control_character(text: str, allowed: str = "\t\n\r") -> bool:
    """Whether `text` holds a control character other than `allowed` (a NUL, which
    PostgreSQL cannot store, an escape sequence for a terminal reading the log)."""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def checked_note(text: str, what: str = "note") -> str:
    """`text` stripped, if it can go in the audit log as it is: at most `NOTE_MAX`
    characters (a form's maxlength is only the browser's) and no control characters but
    tabs and line breaks; else `ApprovalRefused` saying so."""
    text = text.strip()
    if len(text) > NOTE_MAX:
        raise ApprovalRefused(f"the {what} is too long ({len(text)} characters; at most "
                              f"{NOTE_MAX} characters)")
    if control_character(text):
        raise ApprovalRefused(f"the {what} holds a control character (such as NUL); type it "
                              "again without it")
    return text


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


@dataclass(frozen=True)
class Hold:
    """Who put an item on hold, when, and why (the note of its `review.hold` event)."""

    actor: str
    at: datetime
    note: str


def current_hold(session: Session, item: ReviewItem) -> Hold | None:
    """The hold `item` is under: the latest event that put it on hold (`review.hold`, with
    its note); None when it is not on hold."""
    if item.status != ReviewStatus.ON_HOLD:
        return None
    for event in reversed(history(session, item.id)):
        before, after = event.before or {}, event.after or {}
        if (after.get("review_status") == ReviewStatus.ON_HOLD
                and before.get("review_status") != ReviewStatus.ON_HOLD):
            return Hold(event.actor, event.at, str(after.get("note") or ""))
    return Hold("an unknown user", item.updated_at, "")  # no event put it there


def _check_not_held(session: Session, item: ReviewItem) -> None:
    """Approving and rejecting wait while the item is on hold (a payment block)."""
    held = current_hold(session, item)
    if held is not None:
        why = f"held by {held.actor}" + (f": {held.note}" if held.note else "")
        raise ApprovalRefused(f"review item {item.id} is on hold ({why}); release the hold "
                              "before approving or rejecting it")


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


def act_refusal(session: Session, item: ReviewItem, user: User, matrix: ApprovalMatrix,
                verb: str = "act on") -> str | None:
    """Why `user` may not hold, release or escalate `item` (`verb`): a role below the one the
    item needs; None when they may. The approval limit does not count here."""
    role = effective_role(session, item, matrix)
    if rank(user.role) < rank(role):
        return f"{user.name} ({user.role}) may not {verb} this item: it needs a {role}"
    return None


def _check_role(session: Session, item: ReviewItem, user: User, matrix: ApprovalMatrix,
                verb: str) -> None:
    refused = act_refusal(session, item, user, matrix, verb)
    if refused is not None:
        raise ApprovalRefused(refused)


def check_can_approve(session: Session, item: ReviewItem, user: User,
                      matrix: ApprovalMatrix) -> None:
    """Raise `ApprovalRefused` unless `user` may approve `item` now (not on hold)."""
    _check_open(item)
    _check_not_held(session, item)
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
    needed = 2 if needs_two(matrix, item_amount(session, item, matrix),
                            routing_codes(item)) else 1
    standing, lapsed = standing_signatures(session, item, matrix)
    signed = [*standing, user.name]
    if len(signed) >= needed:
        _set_status(session, item, ReviewStatus.APPROVED)
    save_change(session, item, expected_version)  # one UPDATE, one version step
    session.add(ReviewApproval(review_item_id=item.id, actor=user.name))
    after = {**_state(session, item), "approvers": signed, "needed": needed}
    if lapsed:
        after["lapsed"] = lapsed
    append_audit(session, actor=user.name, action="review.approve", entity="review_item",
                 entity_id=item.id, before=before, after=after)
    return item


def standing_signatures(session: Session, item: ReviewItem, matrix: ApprovalMatrix
                        ) -> tuple[list[str], dict[str, str]]:
    """The earlier signatures of an item still waiting for more, split into those that
    count and those that lapsed (signer -> why): a signature counts while its signer may
    still approve the item (active, of the role it needs, within their limit for its
    amount now). A signer deactivated, demoted or given a lower limit since (someone who
    left, or whose authority was withdrawn) no longer counts towards the four eyes; their
    signature stays in the history."""
    role, amount = effective_role(session, item, matrix), item_amount(session, item, matrix)
    standing, lapsed = [], {}
    for name in approvers(session, item.id):
        signer = session.scalar(select(User).where(User.name == name))
        why = lapse(name, signer, role, amount, matrix.currency)
        if why is None:
            standing.append(name)
        else:
            lapsed[name] = why
    return standing, lapsed


def lapse(name: str, signer: User | None, role: str, amount: Decimal | None,
          currency: str) -> str | None:
    """Why the signature of `name` (`signer`: their user row, None when gone) no longer
    counts on an item that needs `role` and is worth `amount`; None while it counts. Pure:
    the approval and the approvers' digest (`models.digest`) count alike."""
    if signer is None or not signer.active:
        return f"{name} is no longer an active user"
    return refusal(signer, role, amount, currency, signed=(), corrected=False)


def reject(session: Session, item_id: int, *, user: User, expected_version: int,
           reason: str, matrix: ApprovalMatrix) -> ReviewItem:
    reason = checked_note(reason, "reason")
    if not reason:
        raise ApprovalRefused("a rejection needs a reason")
    item = lock_item(session, item_id, expected_version)
    _check_open(item)
    _check_not_held(session, item)
    _check_authority(session, item, user, matrix)
    return _decide(session, item, user=user, expected_version=expected_version,
                   status=ReviewStatus.REJECTED, action="review.reject",
                   extra={"reason": reason})


def hold(session: Session, item_id: int, *, user: User, expected_version: int,
         matrix: ApprovalMatrix | None = None, note: str = "") -> ReviewItem:
    """Stop an open item (to ask the supplier, say); needs the role the item needs."""
    return _switch(session, item_id, user=user, expected_version=expected_version,
                   matrix=matrix, note=note, move=(ReviewStatus.OPEN, ReviewStatus.ON_HOLD),
                   action="hold")


def release(session: Session, item_id: int, *, user: User, expected_version: int,
            matrix: ApprovalMatrix | None = None, note: str = "") -> ReviewItem:
    """Open an item on hold again; needs the role the item needs."""
    return _switch(session, item_id, user=user, expected_version=expected_version,
                   matrix=matrix, note=note, move=(ReviewStatus.ON_HOLD, ReviewStatus.OPEN),
                   action="release")


def _switch(session: Session, item_id: int, *, user: User, expected_version: int,
            matrix: ApprovalMatrix | None, note: str,
            move: tuple[ReviewStatus, ReviewStatus], action: str) -> ReviewItem:
    """Move an item from `move[0]` to `move[1]` as `action` (hold, release), by someone
    with the role the item needs."""
    matrix, note = matrix or load_matrix(), checked_note(note)
    item = lock_item(session, item_id, expected_version)
    if item.status != move[0]:
        raise ApprovalRefused(f"review item {item.id} is {item.status.replace('_', ' ')}, "
                             f"not {move[0].replace('_', ' ')}")
    _check_role(session, item, user, matrix, action)
    return _decide(session, item, user=user, expected_version=expected_version,
                   status=move[1], action=f"review.{action}", extra={"note": note})


def escalate(session: Session, item_id: int, *, user: User, expected_version: int,
             matrix: ApprovalMatrix, note: str = "") -> ReviewItem:
    """Route the item to the next higher role; needs the role the item needs, so nobody
    passes on an item that is not theirs to decide. A held item stays on hold (a payment
    block is lifted by a release, never as a side effect): the higher role sees the hold
    and its note, and releases it to decide."""
    note = checked_note(note)
    item = lock_item(session, item_id, expected_version)
    _check_open(item)
    _check_role(session, item, user, matrix, "escalate")
    current = rank(effective_role(session, item, matrix))
    if current + 1 >= len(ROLES):
        raise ApprovalRefused(f"review item {item.id} is already with the highest role")
    return _decide(session, item, user=user, expected_version=expected_version,
                   status=ReviewStatus(item.status), action="review.escalate",
                   extra={"note": note}, assign=ROLES[current + 1])


def _decide(session: Session, item: ReviewItem, *, user: User, expected_version: int,
            status: ReviewStatus, action: str, extra: dict[str, Any],
            assign: str | None = None) -> ReviewItem:
    """Set the status (and, escalating, the role `assign`) in one UPDATE, one version step
    (QA: the role set first was flushed on its own by the next query, two steps), audited."""
    before = _state(session, item)
    _set_status(session, item, status)
    if assign is not None:
        item.assigned_role = assign
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

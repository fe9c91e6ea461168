"""The review queue: list open items, record a person's decision with optimistic locking.

A decision names the `version` the reviewer saw; if someone else changed the item since, the
decision is refused with `StorageError(code="REVIEW_CONFLICT")` instead of overwriting theirs.
An item on hold is not approved or rejected here either (`models.approvals`: a hold is a
payment block until it is released).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from arflow.db import storage_errors
from arflow.errors import StorageError
from models.audit import append_audit
from models.db import Document, ReviewItem, ReviewStatus
from models.domain import DocumentStatus

_DOCUMENT_STATUS = {
    ReviewStatus.APPROVED: DocumentStatus.APPROVED,
    ReviewStatus.REJECTED: DocumentStatus.REJECTED,
    ReviewStatus.ON_HOLD: DocumentStatus.NEEDS_REVIEW,
    ReviewStatus.OPEN: DocumentStatus.NEEDS_REVIEW,
}
_DECISIONS = (ReviewStatus.APPROVED, ReviewStatus.REJECTED)


def list_review_items(session: Session, *, status: ReviewStatus | None = ReviewStatus.OPEN,
                      role: str | None = None) -> list[ReviewItem]:
    query = select(ReviewItem).order_by(ReviewItem.created_at, ReviewItem.id)
    if status is not None:
        query = query.where(ReviewItem.status == status)
    if role is not None:
        query = query.where(ReviewItem.assigned_role == role)
    return list(session.scalars(query))


def decide_review(
    session: Session, item_id: int, *, status: ReviewStatus, expected_version: int, actor: str,
) -> ReviewItem:
    """Set a review item's status (and its document's), audited; refuses stale versions."""
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise StorageError(f"review item {item_id} not found", code="REVIEW_NOT_FOUND")
    if item.version != expected_version:
        raise conflict(item_id, expected_version, item.version)
    if item.status == ReviewStatus.ON_HOLD and status in _DECISIONS:
        from models.approvals import ApprovalRefused  # noqa: PLC0415 (approvals imports this)

        raise ApprovalRefused(f"review item {item_id} is on hold; release the hold before "
                              "approving or rejecting it")
    document = session.get_one(Document, item.document_id)
    before = {"review_status": item.status, "document_status": document.status}
    item.status = status
    document.status = _DOCUMENT_STATUS[status]
    with storage_errors():
        try:  # UPDATE ... WHERE version = expected: a concurrent change fails here
            session.flush()
        except StaleDataError as err:
            raise conflict(item_id, expected_version, None) from err
    append_audit(session, actor=actor, action="review.decide", entity="review_item",
                 entity_id=item.id, before=before,
                 after={"review_status": item.status, "document_status": document.status})
    return item


def conflict(item_id: int, expected: int, found: int | None) -> StorageError:
    now = f", it is now at version {found}" if found is not None else ""
    return StorageError(
        f"review item {item_id} was changed by someone else (you saw version {expected}{now}); "
        "reload it and decide again", code="REVIEW_CONFLICT")

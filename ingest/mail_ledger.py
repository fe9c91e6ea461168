"""The mail ledger (`mail_messages`): one row per (mailbox, UIDVALIDITY, UID) with its outcome.

A row is written only after the message's documents are committed; `acknowledged_at` is
stamped after the server-side flag/move. A message that gave no document has its reason in
`error` (sender, subject, what it held: `ingest.mailbox.no_invoice_reason`), and
`without_invoice` lists those messages: they are in no report of documents, so this is
where a person finds them. Repository style: take a Session, add/flush/select."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import db
from models.types import utcnow


class MailOutcome(StrEnum):
    INGESTED = "ingested"      # at least one attachment taken as a document
    NO_INVOICE = "no_invoice"  # nothing to take; recorded so it is never fetched again
    OVERSIZED = "oversized"    # over the size cap; not fetched
    MALFORMED = "malformed"    # could not be parsed


def known_uids(session: Session, mailbox: str, uidvalidity: int) -> set[int]:
    query = select(db.MailMessage.uid).where(db.MailMessage.mailbox == mailbox,
                                             db.MailMessage.uidvalidity == uidvalidity)
    return set(session.scalars(query))


def unacknowledged(session: Session, mailbox: str, uidvalidity: int) -> list[int]:
    query = (select(db.MailMessage.uid)
             .where(db.MailMessage.mailbox == mailbox, db.MailMessage.uidvalidity == uidvalidity,
                    db.MailMessage.acknowledged_at.is_(None))
             .order_by(db.MailMessage.uid))
    return list(session.scalars(query))


def record_message(
    session: Session, *, mailbox: str, uidvalidity: int, uid: int, outcome: MailOutcome,
    message_id: str | None = None, error: str | None = None, documents: list[str] | None = None,
) -> bool:
    """Insert the ledger row; False when another worker recorded this message first."""
    row = db.MailMessage(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid,
                         outcome=str(outcome), message_id=message_id, error=error,
                         documents=documents)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def mark_acknowledged(session: Session, mailbox: str, uidvalidity: int, uid: int) -> None:
    row = session.scalar(select(db.MailMessage).where(
        db.MailMessage.mailbox == mailbox, db.MailMessage.uidvalidity == uidvalidity,
        db.MailMessage.uid == uid))
    if row is not None:
        row.acknowledged_at = utcnow()
        session.flush()


def without_invoice(session: Session) -> list[db.MailMessage]:
    """Every message that gave no document (no invoice, oversized, malformed), oldest first,
    each with its reason in `error`."""
    query = (select(db.MailMessage)
             .where(db.MailMessage.outcome != str(MailOutcome.INGESTED))
             .order_by(db.MailMessage.seen_at, db.MailMessage.id))
    return list(session.scalars(query))

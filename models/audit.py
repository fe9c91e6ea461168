"""The append-only audit log, hash-chained: each event's hash covers its content and the
previous event's hash, so an edited or removed row breaks `verify_chain`.

The database refuses UPDATE/DELETE on `audit_events` (triggers in the first migration), and
`prev_hash` is unique, so the chain cannot fork. On PostgreSQL appends are serialised with a
transaction-scoped advisory lock; on SQLite the database write lock does the same.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models.db import AuditEvent
from models.types import utcnow

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x61756474  # advisory lock key for appends


def event_hash(prev_hash: str, at: datetime, fields: dict[str, Any]) -> str:
    payload = json.dumps(
        {"prev": prev_hash, "at": at.isoformat(), **fields},
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {"actor": event.actor, "action": event.action, "entity": event.entity,
            "entity_id": event.entity_id, "before": event.before, "after": event.after}


def last_hash(session: Session) -> str:
    latest = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return latest or GENESIS


def append_audit(
    session: Session, *, actor: str, action: str, entity: str, entity_id: str | int,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event at the end of the chain (flushed; the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({_PG_AUDIT_LOCK})"))
    event = AuditEvent(at=utcnow(), actor=actor, action=action, entity=entity,
                       entity_id=str(entity_id), before=before, after=after)
    event.prev_hash = last_hash(session)
    event.hash = event_hash(event.prev_hash, event.at, _fields(event))
    session.add(event)
    session.flush()
    return event


def verify_chain(session: Session) -> int | None:
    """The id of the first event whose hash does not verify, or None when the chain is intact.
    Reads the events as plain rows, a few thousand at a time (no ORM objects kept): it walks
    the whole log, which grows by a few events per invoice."""
    e = AuditEvent
    rows = session.execute(select(e.id, e.at, e.actor, e.action, e.entity, e.entity_id,
                                  e.before, e.after, e.prev_hash, e.hash)
                           .order_by(e.id).execution_options(yield_per=5000))
    prev = GENESIS
    for event_id, at, actor, action, entity, entity_id, before, after, prev_hash, hash_ in rows:
        fields = {"actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
                  "before": before, "after": after}
        if prev_hash != prev or hash_ != event_hash(prev, at, fields):
            return int(event_id)
        prev = hash_
    return None

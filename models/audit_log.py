"""The audit log as people read it: events newest first, filtered by who, what, on which
entity and when, paged in the database (`webapp` Audit page, `arflow audit list`).

Each event shows only what it changed: the keys whose value differs between `before` and
`after` (all of `after` for an event that created something), each value as compact JSON cut
to `MAX_VALUE` characters, so a page of 50 events stays readable whatever they hold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models.approvals import audit_status
from models.audit import append_audit
from models.db import AuditEvent
from models.types import utc_midnight

MAX_VALUE = 160


@dataclass(frozen=True)
class AuditQuery:
    """What to show; empty texts filter nothing. `action` ending in "." is a prefix
    ("review." for every review decision); days are UTC, both ends included."""

    actor: str = ""
    action: str = ""
    entity: str = ""
    entity_id: str = ""
    day_from: date | None = None
    day_to: date | None = None


@dataclass(frozen=True)
class Change:
    key: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    changes: tuple[Change, ...]


def conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.actor.strip():
        found.append(AuditEvent.actor == query.actor.strip())
    action = query.action.strip()
    if action:
        found.append(AuditEvent.action.startswith(action, autoescape=True)
                     if action.endswith(".") else AuditEvent.action == action)
    if query.entity.strip():
        found.append(AuditEvent.entity == query.entity.strip())
    if query.entity_id.strip():
        found.append(AuditEvent.entity_id == query.entity_id.strip())
    if query.day_from is not None:
        found.append(AuditEvent.at >= utc_midnight(query.day_from))
    if query.day_to is not None and query.day_to < date.max:
        found.append(AuditEvent.at < utc_midnight(query.day_to + timedelta(days=1)))
    return found


def count_events(session: Session, query: AuditQuery) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(*conditions(query))) or 0


def load_events(session: Session, query: AuditQuery, *, offset: int = 0,
                limit: int = 50) -> list[AuditEntry]:
    """Events that pass `query`, newest first (by id: the chain's order)."""
    rows = session.scalars(select(AuditEvent).where(*conditions(query))
                           .order_by(AuditEvent.id.desc()).offset(offset).limit(limit))
    return [entry(event) for event in rows]


def entry(event: AuditEvent) -> AuditEntry:
    return AuditEntry(event.id, event.at, event.actor, event.action, event.entity,
                      event.entity_id, changes(event.before, event.after))


# Keys that say what an event's other keys are about ("field": which field a correction set,
# "value" then being that field's): shown even when the same on both sides.
NAMING_KEYS = ("field",)


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[Change, ...]:
    """The keys whose value differs, in the order they first appear (after's, then
    before's others), each side shown or None when absent; a naming key (`NAMING_KEYS`)
    that is the same on both sides first, as a label (its value as "after" alone)."""
    old, new = before or {}, after or {}
    keys = [*new, *(k for k in old if k not in new)]
    named = [k for k in NAMING_KEYS if k in old and k in new and old[k] == new[k]]
    labels = tuple(Change(k, None, _shown(new, k)) for k in named)
    return labels + tuple(Change(k, _shown(old, k), _shown(new, k)) for k in keys
                          if k not in named and (old.get(k) != new.get(k)
                                                 or k not in old or k not in new))


def actions(session: Session) -> Sequence[str]:
    """Every action recorded, for a filter's choices."""
    return session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()


def _shown(values: dict[str, Any], key: str) -> str | None:
    if key not in values:
        return None
    value = values[key]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


VERIFY_ACTION = "audit.verify"


@dataclass(frozen=True)
class ChainCheck:
    """A verification of the whole chain: its events, head hash, and the first event that
    does not verify (None: intact); `at` and `actor` when it was recorded."""

    events: int
    head: str
    broken: int | None
    at: datetime | None = None
    actor: str | None = None


def verify_and_record(session: Session, actor: str, head: str | None = None) -> ChainCheck:
    """Verify the chain (`models.approvals.audit_status`) and record the outcome as an
    event of its own, so the Audit page can show when the log was last verified, by whom,
    without walking it (the nightly `audit-verify` deployment does this). With `head`, kept
    outside the database by the previous check (events cut off the end take the check events
    with them, leaving no trace inside it), a chain that no longer holds it counts as broken
    at 0."""
    return record_check(session, actor, ChainCheck(*audit_status(session, head)))


def record_check(session: Session, actor: str, check: ChainCheck) -> ChainCheck:
    """Append `check` (a verification just made) to the log as an `audit.verify` event."""
    append_audit(session, actor=actor, action=VERIFY_ACTION, entity="audit",
                 entity_id=check.head[:16],
                 after={"events": check.events, "head": check.head,
                        "intact": check.broken is None, "broken_at": check.broken})
    return check


def last_check(session: Session) -> ChainCheck | None:
    """The latest recorded verification, or None."""
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == VERIFY_ACTION)
                            .order_by(AuditEvent.id.desc()).limit(1)).first()
    if event is None:
        return None
    after = event.after or {}
    return ChainCheck(int(after.get("events", 0)), str(after.get("head", "")),
                      after.get("broken_at"), event.at, event.actor)
